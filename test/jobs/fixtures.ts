import Database from 'better-sqlite3';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { SequencedEvent } from '../../src/api/events.ts';
import type { Lab } from '../../src/services/lab.ts';

/** A tiny LeNet IMP spec: ~2.5 epochs per level on the built-in MNIST, checkpoints at 122 and 244. */
export const SMALL_SPEC = {
  model: 'lenet-300-100',
  preset: 'frankle-carbin-2019',
  training: { duration: '300it', evalEvery: 50 },
  pruning: { levels: 2 },
};

export function waitForEvent(
  lab: Lab,
  predicate: (e: SequencedEvent) => boolean,
  timeoutMs = 120_000,
): Promise<SequencedEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error('timed out waiting for an event'));
    }, timeoutMs);
    const unsubscribe = lab.subscribe((e) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(e);
    });
  });
}

/**
 * What a finished experiment must look like after any interruption: every level once,
 * every run's evaluations complete and evenly spaced, and an intact database.
 */
export function expectCompleteExperiment(
  dataDir: string,
  experimentId: string,
  expected: { runs: string[]; iterations: number; evalEvery: number },
) {
  const db = new Database(join(dataDir, 'ticketlab.db'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const tickets = db
      .prepare(
        'SELECT id, level, method, trained_blob FROM tickets WHERE experiment_id = ? ORDER BY level, method',
      )
      .all(experimentId) as {
      id: string;
      level: number;
      method: string;
      trained_blob: string | null;
    }[];
    expect(tickets.map((t) => `${t.level}/${t.method}`)).toEqual(expected.runs);
    expect(tickets.every((t) => t.trained_blob !== null)).toBe(true);
    for (const t of tickets) {
      const runs = db
        .prepare('SELECT id, status, start_iteration FROM runs WHERE ticket_id = ?')
        .all(t.id) as { id: string; status: string; start_iteration: number }[];
      expect(runs).toHaveLength(1);
      expect(runs[0]!.status).toBe('done');
      const steps = (
        db
          .prepare("SELECT step FROM metrics WHERE run_id = ? AND split = 'val' ORDER BY step")
          .all(runs[0]!.id) as { step: number }[]
      ).map((r) => r.step);
      const want: number[] = [];
      for (let s = runs[0]!.start_iteration; s < expected.iterations; s += expected.evalEvery)
        want.push(s);
      want.push(expected.iterations);
      expect(steps).toEqual([...new Set(want)]);
    }
  } finally {
    db.close();
  }
}
