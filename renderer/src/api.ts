import {
  bridgeTransport,
  createClient,
  httpTransport,
  type Client,
  type DesktopBridge,
} from '../../src/api/client.ts';

declare global {
  interface Window {
    /** The desktop app's preload bridge (electron/preload.ts). */
    ticketlab?: DesktopBridge;
  }
}

/** The contract client: the desktop bridge when present, else HTTP + SSE with the URL's token. */
export function connect(): Client {
  if (window.ticketlab) return createClient(bridgeTransport(window.ticketlab));
  const token = new URLSearchParams(location.search).get('token') ?? '';
  return createClient(httpTransport(location.origin, token));
}
