import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { Client } from '../../src/api/client.ts';
import type { SequencedEvent } from '../../src/api/events.ts';

export const ClientContext = createContext<Client | null>(null);

export function useClient(): Client {
  const client = useContext(ClientContext);
  if (!client) throw new Error('no client');
  return client;
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** Loads once and on `reload`; keeps the last data while reloading (no flicker). */
export function useLoad<T>(load: (client: Client) => Promise<T>, deps: unknown[]): Loaded<T> {
  const client = useClient();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load(client).then(
      (d) => live && (setData(d), setError(null)),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [client, tick, ...deps]);
  return { data, error, reload: useCallback(() => setTick((t) => t + 1), []) };
}

/**
 * The tab names the page and, once loaded, what it shows ("Experiment quickstart — TicketLab").
 * Pages about one thing set it themselves; App names the others.
 */
export function useTitle(page: string, name: string | undefined): void {
  useEffect(() => {
    document.title = `${page}${name ? ` ${name}` : ''} — TicketLab`;
  }, [page, name]);
}

/** Where exports go by default: an `exports` folder in the data folder of the running core. */
export function useExportDir(): string {
  const info = useLoad((c) => c.call('system.info', {}), []);
  return info.data ? `${info.data.dataDir}/exports` : '';
}

/** Calls `onEvent` for every event from the core while mounted. */
export function useEvents(onEvent: (e: SequencedEvent) => void): void {
  const client = useClient();
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => client.subscribe((e) => handler.current(e)), [client]);
}

/** Reloads (at most every `ms`) when an event matching `when` arrives. */
export function useReloadOn(reload: () => void, when: (e: SequencedEvent) => boolean, ms = 500) {
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEvents((e) => {
    if (!when(e) || pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      reload();
    }, ms);
  });
}

/** `value` once it has stopped changing for `ms`: typing a search runs one query, not one a key. */
export function useDebounced<T>(value: T, ms = 150): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
