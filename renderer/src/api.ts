import {
  ApiError,
  bridgeTransport,
  createClient,
  httpTransport,
  type Client,
  type DesktopBridge,
} from '../../src/api/client.ts';
import { appWording } from './lib/errors.ts';

declare global {
  interface Window {
    /** The desktop app's preload bridge (electron/preload.ts). */
    ticketlab?: DesktopBridge;
  }
}

const TOKEN_KEY = 'ticketlab.token';

/**
 * The browser-mode token: taken from the printed URL once, kept for this tab only
 * (sessionStorage survives reloads), and removed from the address bar so it does not sit
 * in the history, in screenshots or in a shared link.
 */
function takeToken(): string {
  const params = new URLSearchParams(location.search);
  const given = params.get('token');
  if (given !== null) {
    sessionStorage.setItem(TOKEN_KEY, given);
    params.delete('token');
    const query = params.toString();
    history.replaceState(
      null,
      '',
      `${location.pathname}${query ? `?${query}` : ''}${location.hash}`,
    );
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/**
 * Whether the server can be reached, for the reconnect banner: down when a call gets no
 * answer at all or the event stream drops, up again on any answer or when the stream
 * reopens. An error the server sends back (a refused input) is an answer.
 */
export const connection = {
  up: true,
  listeners: new Set<(up: boolean) => void>(),
  set(up: boolean) {
    if (up === this.up) return;
    this.up = up;
    for (const l of this.listeners) l(up);
  },
};

/** The contract client: the desktop bridge when present, else HTTP + SSE with the URL's token. */
export function connect(): Client {
  const client = window.ticketlab
    ? createClient(bridgeTransport(window.ticketlab))
    : createClient(httpTransport(location.origin, takeToken(), (up) => connection.set(up)));
  return inAppWording(client);
}

/** Refusals read as the app says things, not the command line (lib/errors.ts); codes kept. */
function inAppWording(client: Client): Client {
  return {
    call: (method, input) =>
      client.call(method, input).catch((e: unknown) => {
        throw e instanceof ApiError ? new ApiError(e.code, appWording(e.message)) : e;
      }),
    subscribe: client.subscribe,
  };
}
