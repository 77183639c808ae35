import {
  bridgeTransport,
  createClient,
  httpTransport,
  type Client,
  type DesktopBridge,
  type Transport,
} from '../../src/api/client.ts';
import type { SequencedEvent } from '../../src/api/events.ts';

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

const EVENT_TYPES = ['job.state', 'job.progress', 'ticket.created', 'log'];

/**
 * HTTP + SSE as in the contract's client, watched: the contract's transport keeps its
 * EventSource to itself, so the stream is opened here to see it drop and reopen.
 */
function watchedHttpTransport(base: string, token: string): Transport {
  const http = httpTransport(base, token);
  return {
    async invoke(method, input) {
      try {
        const result = await http.invoke(method, input);
        connection.set(true);
        return result;
      } catch (e) {
        // fetch rejects with a TypeError only when no response came (server gone, network)
        connection.set(!(e instanceof TypeError));
        throw e;
      }
    },
    subscribe(listener, after) {
      // EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed.
      const url = new URL('/api/events', base);
      url.searchParams.set('token', token);
      if (after !== undefined) url.searchParams.set('lastEventId', String(after));
      const source = new EventSource(url);
      const onMessage = (m: MessageEvent<string>) => listener(JSON.parse(m.data) as SequencedEvent);
      for (const type of EVENT_TYPES) source.addEventListener(type, onMessage);
      source.addEventListener('open', () => connection.set(true));
      source.addEventListener('error', () => connection.set(false));
      return () => source.close();
    },
  };
}

/** The contract client: the desktop bridge when present, else HTTP + SSE with the URL's token. */
export function connect(): Client {
  if (window.ticketlab) return createClient(bridgeTransport(window.ticketlab));
  return createClient(watchedHttpTransport(location.origin, takeToken()));
}
