import type { ApiEvent, SequencedEvent } from '../api/events.ts';

/**
 * Fans events out to subscribers with a sequence number, and keeps the latest ones so a
 * reconnecting client can ask for everything after the last sequence it saw.
 */
export class EventBus {
  private seq = 0;
  private readonly recent: SequencedEvent[] = [];
  private readonly listeners = new Set<(e: SequencedEvent) => void>();

  constructor(private readonly keep = 10_000) {}

  emit(event: ApiEvent): void {
    const e = { ...event, seq: ++this.seq } as SequencedEvent;
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
    for (const l of this.listeners) l(e);
  }

  /** Subscribes; with `after`, first replays the kept events with a larger sequence. */
  subscribe(listener: (e: SequencedEvent) => void, after?: number): () => void {
    if (after !== undefined) for (const e of this.recent) if (e.seq > after) listener(e);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
