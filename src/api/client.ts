import type { MethodInput, MethodName, MethodOutput, WireError } from './contract.ts';
import { API_EVENT_TYPES, type SequencedEvent } from './events.ts';

/**
 * The renderer's (and scripts') view of the contract: one generic, typed proxy over any
 * transport. Electron's preload, HTTP + SSE and the in-process Lab each provide the two
 * functions of a Transport and nothing else.
 */
export interface Transport {
  invoke(method: string, input: unknown): Promise<unknown>;
  subscribe(listener: (e: SequencedEvent) => void, after?: number): () => void;
}

/** An error rebuilt on the client side of a boundary; test `code`, not the class. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Client {
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  subscribe(listener: (e: SequencedEvent) => void, after?: number): () => void;
}

export function createClient(transport: Transport): Client {
  return {
    call: async (method, input) => (await transport.invoke(method, input)) as never,
    subscribe: (listener, after) => transport.subscribe(listener, after),
  };
}

/**
 * HTTP + SSE transport for browser mode: POST /api/<method>, events from /api/events.
 * `onReachable` hears whether the server answers: false when a call gets no response at all
 * or the event stream drops, true on any response (a refusal is one) or when it reopens.
 */
export function httpTransport(
  base: string,
  token: string,
  onReachable: (up: boolean) => void = () => {},
): Transport {
  return {
    async invoke(method, input) {
      let res: Response;
      try {
        res = await fetch(new URL(`/api/${method}`, base), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(input ?? {}),
        });
      } catch (e) {
        onReachable(false); // fetch rejects only when no response came
        throw e;
      }
      onReachable(true);
      const body = (await res.json()) as { ok: boolean; result?: unknown; error?: WireError };
      if (!body.ok)
        throw new ApiError(
          body.error?.code ?? 'INTERNAL',
          body.error?.message ?? `HTTP ${res.status}`,
        );
      return body.result;
    },
    subscribe(listener, after) {
      // EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed.
      const url = new URL('/api/events', base);
      url.searchParams.set('token', token);
      if (after !== undefined) url.searchParams.set('lastEventId', String(after));
      const source = new EventSource(url);
      const onMessage = (m: MessageEvent<string>) => listener(JSON.parse(m.data) as SequencedEvent);
      for (const type of API_EVENT_TYPES) source.addEventListener(type, onMessage);
      source.addEventListener('open', () => onReachable(true));
      source.addEventListener('error', () => onReachable(false));
      return () => source.close();
    },
  };
}

/** A contract call's result as it crosses Electron IPC (errors as data: IPC drops their fields). */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: WireError };

/** What the desktop preload exposes as `window.ticketlab` (contextBridge). */
export interface DesktopBridge {
  invoke(method: string, input: unknown): Promise<IpcReply>;
  subscribe(listener: (e: SequencedEvent) => void): () => void;
}

/** The transport over the desktop bridge: same errors as over HTTP. */
export function bridgeTransport(bridge: DesktopBridge): Transport {
  return {
    async invoke(method, input) {
      const reply = await bridge.invoke(method, input ?? {});
      if (!reply.ok) throw new ApiError(reply.error.code, reply.error.message);
      return reply.result;
    },
    subscribe: (listener) => bridge.subscribe(listener),
  };
}
