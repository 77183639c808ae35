import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.ts';
import { expectCompleteExperiment, SMALL_SPEC } from '../jobs/fixtures.ts';
import { readEvents, serve } from './serve.ts';

interface Job {
  id: string;
  state: string;
  checkpointIteration: number | null;
}

describe('browser mode: the contract over HTTP and SSE (ticketlab serve)', () => {
  it('drives a whole experiment: create, start, watch, pause, resume, finish, read the lineage', async () => {
    const dataDir = tempDir();
    let experimentId = '';
    const s = await serve(dataDir);
    try {
      expect(s.url.hostname).toBe('127.0.0.1');
      // The token guards everything under /api.
      expect((await s.call('experiments.list', {}, 'wrong')).status).toBe(401);
      const noToken = await fetch(new URL('/api/jobs.list', s.url).origin + '/api/jobs.list', {
        method: 'POST',
      });
      expect(noToken.status).toBe(401);
      // Invalid input is refused at the boundary, naming the field.
      const bad = await s.call('experiments.list', { limit: 'ten' });
      expect(bad.status).toBe(400);
      expect(bad.body.error!.message).toMatch(/input\.limit: /);
      const badSpec = await s.call('experiments.create', {
        spec: { model: 'lenet-300-100', pruning: { level: 3 } },
      });
      expect(badSpec.status).toBe(400);
      expect(badSpec.body.error).toMatchObject({ code: 'INVALID_SPEC' });
      expect(badSpec.body.error!.message).toMatch(
        /spec\.pruning\.level: unknown field \(did you mean "levels"\?\)/,
      );

      const created = await s.call<{ experiment: { id: string }; job: Job }>('experiments.create', {
        spec: SMALL_SPEC,
        start: true,
      });
      expect(created.status).toBe(200);
      const { experiment, job } = created.body.result;
      experimentId = experiment.id;

      // Watch live progress until level 1 is under way, then pause.
      const seen = await readEvents(
        s,
        (e) => e.data.type === 'job.progress' && e.data.level === 1 && (e.data.step ?? 0) > 130,
      );
      expect(seen.some((e) => e.data.type === 'ticket.created' && e.data.level === 0)).toBe(true);
      const ids = seen.map((e) => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b)); // ordered
      const paused = await s.call<Job>('jobs.pause', { jobId: job.id });
      expect(paused.status).toBe(200);
      const pausedEvents = await readEvents(
        s,
        (e) => e.data.type === 'job.state' && e.data.state === 'paused',
        seen.at(-1)!.id,
      );
      // A reconnecting stream gets what it missed, starting right after its last id.
      expect(pausedEvents[0]!.id).toBe(seen.at(-1)!.id + 1);
      const jobs = (await s.call<Job[]>('jobs.list')).body.result;
      expect(jobs[0]).toMatchObject({ id: job.id, state: 'paused' });
      // The pause keeps a checkpoint. Its iteration can be anything: a level's 300 steps
      // take a fraction of a second, so the run seen past step 130 may have ended, and the
      // next one paused at its start, by the time the pause arrives.
      expect(jobs[0]!.checkpointIteration).not.toBeNull();

      await s.call('jobs.resume', { jobId: job.id });
      await readEvents(
        s,
        (e) => e.data.type === 'job.state' && e.data.state === 'done' && e.data.jobId === job.id,
        pausedEvents.at(-1)!.id,
      );

      const lineage = (
        await s.call<{
          tickets: {
            id: string;
            parentId: string | null;
            level: number;
            trained: boolean;
            testAccuracy: number;
            runId: string;
          }[];
        }>('experiments.lineage', { id: experiment.id })
      ).body.result;
      expect(lineage.tickets.map((t) => t.level)).toEqual([0, 1, 2]);
      expect(lineage.tickets[1]!.parentId).toBe(lineage.tickets[0]!.id);
      expect(lineage.tickets.every((t) => t.trained && t.testAccuracy > 0.5)).toBe(true);
      type Series = {
        points: { step: number; loss: number; accuracy: number }[];
        count: number;
        bestAccuracy: number;
        lowestLoss: number;
      };
      const metrics = async (maxPoints: number) =>
        (
          await s.call<Series>('runs.metrics', {
            runId: lineage.tickets[1]!.runId,
            split: 'val',
            maxPoints,
          })
        ).body.result;
      const [series, whole] = [await metrics(3), await metrics(500)];
      expect(series.points.length).toBeLessThanOrEqual(3); // downsampled in SQL
      expect(series.points.at(-1)!.step).toBe(300);
      expect(whole.points.map((p) => p.step)).toEqual([0, 50, 100, 150, 200, 250, 300]);
      // the extremes are of every evaluation, not of the downsampled series' bucket means
      expect(series).toMatchObject({
        count: 7,
        bestAccuracy: Math.max(...whole.points.map((p) => p.accuracy)),
        lowestLoss: Math.min(...whole.points.map((p) => p.loss)),
      });

      const compared = (
        await s.call<{ rows: { level: number; remainingWeights: number; testAccuracy: number }[] }>(
          'compare',
          { experimentIds: [experiment.id] },
        )
      ).body.result;
      expect(compared.rows.map((r) => r.level)).toEqual([0, 1, 2]);
      expect(compared.rows[2]!.remainingWeights).toBeLessThan(compared.rows[1]!.remainingWeights);
      const info = (await s.call<{ backend: string; dataDir: string }>('system.info')).body.result;
      expect(info).toMatchObject({ backend: 'wasm', dataDir });
      const renamed = (
        await s.call<{ name: string; tags: string[] }>('experiments.rename', {
          id: experiment.id,
          name: 'renamed',
        })
      ).body.result;
      expect(renamed.name).toBe('renamed');
      await s.call('experiments.tag', { id: experiment.id, tags: ['lenet', 'http'] });
      const byTag = (
        await s.call<{ items: { id: string }[]; total: number }>('experiments.list', {
          tag: 'http',
        })
      ).body.result;
      expect(byTag).toMatchObject({ total: 1, items: [{ id: experiment.id }] });
      expect(
        (await s.call<{ total: number }>('experiments.list', { tag: 'none' })).body.result.total,
      ).toBe(0);
      expect(
        (await s.call<{ total: number }>('experiments.list', { search: 'renam' })).body.result
          .total,
      ).toBe(1);
    } finally {
      s.child.kill('SIGTERM');
      await s.stopped;
    }
    expectCompleteExperiment(dataDir, experimentId, {
      runs: ['0/dense', '1/imp', '2/imp'],
      iterations: 300,
      evalEvery: 50,
    });
  });

  it('survives SIGKILL of the whole host mid-level: the next start resumes the job', async () => {
    const dataDir = tempDir();
    const first = await serve(dataDir);
    const { experiment, job } = (
      await first.call<{ experiment: { id: string }; job: Job }>('experiments.create', {
        spec: SMALL_SPEC,
        start: true,
      })
    ).body.result;
    await readEvents(
      first,
      (e) => e.data.type === 'job.progress' && e.data.level === 1 && (e.data.step ?? 0) > 150,
    );
    first.child.kill('SIGKILL');
    await first.stopped;

    const second = await serve(dataDir);
    try {
      const jobs = (await second.call<Job[]>('jobs.list')).body.result;
      expect(['queued', 'running']).toContain(jobs[0]!.state); // recovered and requeued
      await readEvents(
        second,
        (e) => e.data.type === 'job.state' && e.data.state === 'done' && e.data.jobId === job.id,
        0,
      );
      const done = (await second.call<(Job & { attempt: number })[]>('jobs.list')).body.result[0]!;
      expect(done).toMatchObject({ state: 'done', attempt: 2 });
    } finally {
      second.child.kill('SIGTERM');
      await second.stopped;
    }
    expectCompleteExperiment(dataDir, experiment.id, {
      runs: ['0/dense', '1/imp', '2/imp'],
      iterations: 300,
      evalEvery: 50,
    });
  });
});
