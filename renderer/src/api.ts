import { createClient, httpTransport, type Client, type Transport } from '../../src/api/client.ts';

declare global {
  interface Window {
    /** Electron's preload exposes the same transport (issue 5). */
    ticketlab?: Transport;
  }
}

/** The contract client: Electron's preload bridge when present, else HTTP + SSE with the URL's token. */
export function connect(): Client {
  if (window.ticketlab) return createClient(window.ticketlab);
  const token = new URLSearchParams(location.search).get('token') ?? '';
  return createClient(httpTransport(location.origin, token));
}
