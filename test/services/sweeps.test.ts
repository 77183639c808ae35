import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTicketLabError } from '../../src/core/errors.ts';
import { Lab } from '../../src/services/lab.ts';
import { tempDir } from '../helpers.ts';

const BASE = {
  model: 'lenet-300-100',
  training: { duration: '20it', evalEvery: 10 },
  pruning: { levels: 1 },
};

describe('sweeps', () => {
  it('expand to one experiment per combination, priced before anything is stored', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      const spec = { base: BASE, axes: { seed: [0, 1, 2], 'pruning.rewind': ['0it', '5it'] } };
      const plan = await lab.invoke('sweeps.plan', { spec });
      expect(plan.experiments.map((e) => e.point)).toEqual([
        { seed: 0, 'pruning.rewind': '0it' },
        { seed: 0, 'pruning.rewind': '5it' },
        { seed: 1, 'pruning.rewind': '0it' },
        { seed: 1, 'pruning.rewind': '5it' },
        { seed: 2, 'pruning.rewind': '0it' },
        { seed: 2, 'pruning.rewind': '5it' },
      ]);
      expect(new Set(plan.experiments.map((e) => e.specHash)).size).toBe(6);
      // Each experiment: the dense level (20 iterations) and one pruned level, which trains
      // 20 from θ0 or 15 from iteration 5: 3 × 40 + 3 × 35.
      expect(plan.cost).toEqual({
        experiments: 6,
        stored: 0,
        runs: 12,
        runsLeft: 12,
        iterations: 225,
        iterationsLeft: 225,
        iterationsAreUpperBound: false,
      });
      expect((await lab.invoke('experiments.list', {})).total).toBe(0);
      expect(await lab.invoke('sweeps.list', {})).toEqual([]);
    } finally {
      await lab.close();
    }
  });

  it('refuse a bad axis value naming its combination, and repeated combinations', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      await expect(
        lab.invoke('sweeps.plan', {
          spec: { base: BASE, axes: { seed: [0], 'pruning.rewind': ['0it', 'soon'] } },
        }),
      ).rejects.toSatisfy(
        (e: unknown) =>
          isTicketLabError(e, 'INVALID_SPEC') &&
          /seed=0, pruning\.rewind="soon"/.test((e as Error).message) &&
          /spec\.pruning\.rewind/.test((e as Error).message),
      );
      await expect(
        lab.invoke('sweeps.plan', { spec: { base: BASE, axes: { seed: [1, 1] } } }),
      ).rejects.toThrow(/1 of its 2 combinations are the same experiment/);
      await expect(
        lab.invoke('sweeps.plan', { spec: { base: BASE, axes: { seed: [] } } }),
      ).rejects.toThrow(/sweep\.axes\.seed/);
    } finally {
      await lab.close();
    }
  });

  it('share experiments by spec hash: running a sweep again continues it, never duplicating', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      const alone = await lab.invoke('experiments.create', { spec: { ...BASE, seed: 1 } });
      const first = await lab.invoke('sweeps.create', {
        spec: { name: 'seeds', base: BASE, axes: { seed: [0, 1] } },
        start: false,
      });
      expect(first.cost).toMatchObject({ experiments: 2, stored: 1 });
      expect(first.sweep.experiments.map((e) => e.experiment.id)).toContain(alone.experiment.id);
      expect(first.sweep.experiments[0]!.experiment.name).toBe('seeds · seed=0');
      // Written differently (a default spelled out, the values reordered): the same sweep.
      const again = await lab.invoke('sweeps.create', {
        spec: {
          name: 'seeds',
          base: { ...BASE, init: 'glorot-normal' },
          axes: { seed: [1, 0] },
        },
        start: false,
      });
      expect(again.sweep.id).toBe(first.sweep.id);
      expect((await lab.invoke('experiments.list', {})).total).toBe(2);
      expect(await lab.invoke('sweeps.list', {})).toHaveLength(1);
    } finally {
      await lab.close();
    }
  });

  it('run on the local worker pool to the end; once done, running it again trains nothing', async () => {
    const dataDir = tempDir();
    const spec = { name: 'two seeds', base: BASE, axes: { seed: [3, 4] } };
    const lab = Lab.open({ dataDir, concurrency: 2 });
    try {
      const { sweep, jobs } = await lab.invoke('sweeps.create', { spec });
      expect(jobs).toHaveLength(2);
      expect(jobs.every((j) => j.cluster === null)).toBe(true);
      const ended = await Promise.all(jobs.map((j) => lab.scheduler.wait(j.id)));
      expect(ended.map((j) => j.state)).toEqual(['done', 'done']);
      const view = await lab.invoke('sweeps.get', { id: sweep.id });
      expect(view).toMatchObject({ runs: 4, runsDone: 4, progress: 1, statusCounts: { done: 2 } });
      const again = await lab.invoke('sweeps.create', { spec });
      expect(again.jobs).toEqual([]);
      expect(again.cost).toMatchObject({ stored: 2, runsLeft: 0, iterationsLeft: 0 });
    } finally {
      await lab.close();
    }
    const db = new Database(join(dataDir, 'ticketlab.db'), { readonly: true });
    try {
      expect(
        db.prepare('SELECT COUNT(*) AS n FROM tickets WHERE trained_blob IS NOT NULL').get(),
      ).toEqual({ n: 4 });
    } finally {
      db.close();
    }
  });
});
