import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../src/api/events.ts';
import { alphas, errorBarrier } from '../../src/pruning/instability.ts';
import { Lab } from '../../src/services/lab.ts';
import { cli, tempDir } from '../helpers.ts';
import { waitForEvent } from './fixtures.ts';

/**
 * A little over an epoch (153 iterations) of LeNet-300-100 on the built-in MNIST: copies
 * from θ0 checkpoint once on the way.
 */
const SPEC = {
  model: 'lenet-300-100',
  preset: 'frankle-carbin-2019',
  training: { duration: '160it', evalEvery: 160 },
  pruning: { levels: 1 },
};

describe('error barrier', () => {
  it('is the highest error on the line minus the mean of its ends', () => {
    const curve = [0.1, 0.3, 0.5, 0.2, 0.14].map((testError, i) => ({
      alpha: alphas(5)[i]!,
      testError,
    }));
    expect(errorBarrier(curve)).toBeCloseTo(0.5 - (0.1 + 0.14) / 2, 12);
    expect(alphas(5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // a line no worse than its ends has no barrier (up to the ends' difference)
    expect(errorBarrier(alphas(3).map((alpha) => ({ alpha, testError: 0.1 })))).toBe(0);
  });
});

describe('instability analysis as a job', () => {
  it('trains two different copies per rewind point, pauses and resumes to the copies an uninterrupted job trains, and the CLI shows it', async () => {
    const dataDir = tempDir();
    let ticketId = '';
    let experimentId = '';
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: SPEC,
        start: true,
      });
      experimentId = experiment.id;
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      const ticket = (await lab.invoke('experiments.lineage', { id: experiment.id })).tickets.find(
        (t) => t.method === 'imp',
      )!;
      ticketId = ticket.id;

      // a rewind point past the end of training is refused before anything is queued
      await expect(
        lab.invoke('tickets.instability', { ticketId, rewinds: ['160it'] }),
      ).rejects.toThrow(/at or past the end of training \(160 iterations/);

      const started = await lab.invoke('tickets.instability', {
        ticketId,
        rewinds: ['0it', '20it'],
        points: 5,
      });
      const jobId = started.job!.id;
      const progress: { phase: string; progress: number }[] = [];
      lab.subscribe((e) => {
        if (e.type === 'job.progress' && e.jobId === jobId) progress.push(e);
      });
      expect(started.analyses.map((a) => a.rewindIteration)).toEqual([0, 20]);
      await waitForEvent(lab, (e) => e.type === 'job.progress' && e.jobId === jobId);
      await lab.invoke('jobs.pause', { jobId });
      const paused = await lab.scheduler.wait(jobId);
      expect(paused.state).toBe('paused');
      // the experiment's own status follows its training only
      expect((await lab.invoke('experiments.get', { id: experiment.id })).status).toBe('done');
      await lab.invoke('jobs.resume', { jobId });
      const done = await lab.scheduler.wait(jobId);
      expect(done).toMatchObject({ state: 'done', progress: 1 });
      // in order across the pause: each rewind point's copies, then its line
      const values = progress.map((p) => p.progress);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      const steps = ['0it', '20it'].flatMap((k) =>
        ['copy 1 of 2', 'copy 2 of 2', 'the line between the copies'].map(
          (step) => `instability ${k}: ${step}`,
        ),
      );
      expect([...new Set(progress.map((p) => p.phase))]).toEqual(steps);
      // where each step ends: a copy's share is the iterations it trains from its rewind point
      const end = (step: number) =>
        Math.max(...progress.filter((p) => p.phase === steps[step]).map((p) => p.progress));
      const fromZero = end(0);
      expect(end(1)).toBeCloseTo(2 * fromZero, 9);
      expect(end(3) - end(2)).toBeCloseTo((fromZero * (160 - 20)) / 160, 9);
      expect(end(4) - end(3)).toBeCloseTo((fromZero * (160 - 20)) / 160, 9);
      expect(end(5)).toBeCloseTo(1, 9);
    } finally {
      await lab.close();
    }

    // The same analysis with more points, uninterrupted, through the CLI.
    const run = cli(['instability', ticketId, '--rewind', '0it,20it', '--points', '9'], dataDir);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/barrier/);

    const check = Lab.open({ dataDir });
    try {
      const rows = await check.invoke('tickets.instabilityResults', { ticketId });
      expect(rows.map((r) => [r.rewind, r.points])).toEqual([
        ['0it', 5],
        ['20it', 5],
        ['0it', 9],
        ['20it', 9],
      ]);
      const stored = (id: string) =>
        check.store.db
          .prepare('SELECT copy_a_blob, copy_b_blob FROM instability WHERE id = ?')
          .get(id) as {
          copy_a_blob: string;
          copy_b_blob: string;
        };
      for (const r of rows) {
        expect(r.curve).toHaveLength(r.points);
        const errors = r.curve!.map((p) => p.testError);
        expect(r.barrier).toBeCloseTo(Math.max(...errors) - (errors[0]! + errors.at(-1)!) / 2, 12);
        // different data orders: different seeds and different trained copies
        expect(r.seeds![0]).not.toBe(r.seeds![1]);
        const copies = stored(r.id);
        expect(copies.copy_a_blob).not.toBe(copies.copy_b_blob);
        // θ0 for k = 0; the experiment resets to θ0, so θ_20 was retrained from it
        expect(r.thetaK).toBe(r.rewindIteration === 0 ? 'initial' : 'recomputed');
      }
      // the paused and resumed job trained exactly the copies the uninterrupted one did,
      // so their curves agree where their α do (0, 0.5, 1)
      for (const k of [0, 20]) {
        const [five, nine] = [5, 9].map((n) =>
          rows.find((r) => r.rewindIteration === k && r.points === n)!,
        );
        expect(stored(five!.id)).toEqual(stored(nine!.id));
        expect(five!.curve![0]).toEqual(nine!.curve![0]);
        expect(five!.curve![2]).toEqual(nine!.curve![4]);
        expect(five!.curve![4]).toEqual(nine!.curve![8]);
      }
    } finally {
      await check.close();
    }

    // --target reaches the contract, which checks it before anything is queued
    const badTarget = join(dataDir, 'slurm.json');
    writeFileSync(badTarget, JSON.stringify({ kind: 'slurm', cpusPerTask: 0 }));
    const refused = cli(
      ['instability', ticketId, '--rewind', '40it', '--target', badTarget],
      dataDir,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/target\.cpusPerTask/);
    const after = Lab.open({ dataDir });
    try {
      const rows = await after.invoke('tickets.instabilityResults', { ticketId });
      expect(rows.map((r) => r.rewind)).not.toContain('40it');
    } finally {
      await after.close();
    }

    const show = cli(['show', experimentId], dataDir);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/Instability/);
    expect(show.stdout.split('\n').filter((l) => l.startsWith(ticketId))).toHaveLength(4);
  });

  it('analyses a random re-initialisation from its own initial weights, and at k = 0 only', async () => {
    const lab = Lab.open({ dataDir: tempDir(), runAll: true });
    try {
      // controls at a level the spec does not prune are refused before anything is stored
      await expect(
        lab.invoke('experiments.create', {
          spec: { ...SPEC, pruning: { levels: 2 }, controls: { randomPrune: true, levels: [3] } },
        }),
      ).rejects.toThrow(/spec\.controls\.levels: 3 is past the last pruned level \(2\)/);
      expect((await lab.invoke('experiments.list', {})).total).toBe(0);
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: {
          ...SPEC,
          training: { duration: '40it', evalEvery: 40 },
          pruning: { levels: 2 },
          controls: { randomReinit: true, randomPrune: true, levels: [2] },
        },
        start: true,
      });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      const { tickets } = await lab.invoke('experiments.lineage', { id: experiment.id });
      // the controls train at the level the spec names only
      expect(tickets.map((t) => `${t.level}/${t.method}`).sort()).toEqual([
        '0/dense',
        '1/imp',
        '2/imp',
        '2/random-prune',
        '2/random-reinit',
      ]);
      const at = (method: string) => tickets.find((t) => t.level === 2 && t.method === method)!;
      await expect(
        lab.invoke('tickets.instability', { ticketId: at('random-reinit').id, rewinds: ['20it'] }),
      ).rejects.toThrow(/random re-initialisation.*Analyse it at 0it/);
      const copies = new Map<string, string[]>();
      for (const method of ['imp', 'random-reinit']) {
        const { job: analysis } = await lab.invoke('tickets.instability', {
          ticketId: at(method).id,
          rewinds: ['0it'],
          points: 3,
        });
        expect((await lab.scheduler.wait(analysis!.id)).state).toBe('done');
        const [row] = await lab.invoke('tickets.instabilityResults', { ticketId: at(method).id });
        expect(row).toMatchObject({ rewindIteration: 0, thetaK: 'initial' });
        const stored = lab.store.db
          .prepare('SELECT copy_a_blob, copy_b_blob FROM instability WHERE id = ?')
          .get(row!.id) as { copy_a_blob: string; copy_b_blob: string };
        copies.set(method, [stored.copy_a_blob, stored.copy_b_blob]);
      }
      // same mask, same copy seeds: only the re-initialisation's own θ0 tells them apart
      expect(copies.get('random-reinit')![0]).not.toBe(copies.get('imp')![0]);
      expect(copies.get('random-reinit')![1]).not.toBe(copies.get('imp')![1]);
    } finally {
      await lab.close();
    }
  });

  it('pauses or cancels while it evaluates the line, shows its progress point by point, and starts the line again on resume', async () => {
    const lab = Lab.open({ dataDir: tempDir(), runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: { ...SPEC, training: { duration: '40it', evalEvery: 40 } },
        start: true,
      });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      const ticket = (await lab.invoke('experiments.lineage', { id: experiment.id })).tickets.find(
        (t) => t.method === 'imp',
      )!;
      // the longest line allowed: many seconds, where a stop is heard in milliseconds
      const analyse = (rewind: string) =>
        lab.invoke('tickets.instability', { ticketId: ticket.id, rewinds: [rewind], points: 200 });
      // subscribed before the job is queued, so that its report cannot come first
      const onTheLine = (rewind: string) =>
        waitForEvent(
          lab,
          (e) => e.type === 'log' && e.message.startsWith(`instability at ${rewind}: evaluating`),
        );
      const row = async (rewind: string) =>
        (await lab.invoke('tickets.instabilityResults', { ticketId: ticket.id })).find(
          (r) => r.rewind === rewind,
        )!;
      const copiesOf = (id: string) =>
        lab.store.db
          .prepare('SELECT copy_a_blob, copy_b_blob FROM instability WHERE id = ?')
          .get(id);

      const pausedOnTheLine = onTheLine('0it');
      const paused = (await analyse('0it')).job!.id;
      await pausedOnTheLine;
      await lab.invoke('jobs.pause', { jobId: paused });
      expect((await lab.scheduler.wait(paused)).state).toBe('paused');
      const beforeResume = await row('0it');
      expect(beforeResume.curve).toBeNull();
      const copies = copiesOf(beforeResume.id);
      expect(copies).toMatchObject({
        copy_a_blob: expect.any(String),
        copy_b_blob: expect.any(String),
      });
      const lineProgress: Extract<ApiEvent, { type: 'job.progress' }>[] = [];
      const unsubscribe = lab.subscribe((e) => {
        if (e.type === 'job.progress' && e.jobId === paused) lineProgress.push(e);
      });
      await lab.invoke('jobs.resume', { jobId: paused });
      expect((await lab.scheduler.wait(paused)).state).toBe('done');
      unsubscribe();
      const resumed = await row('0it');
      expect(resumed.curve).toHaveLength(200);
      // the monitor follows the line point by point, in one phase, with no training loss
      expect(lineProgress.map((e) => e.step)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      for (const e of lineProgress) {
        expect(e).toMatchObject({
          phase: 'instability 0it: the line between the copies',
          steps: 200,
          loss: null,
        });
      }
      // and the job's progress moves with it, the line being the job's last share
      const progress = lineProgress.map((e) => e.progress);
      for (let i = 1; i < progress.length; i++)
        expect(progress[i]).toBeGreaterThan(progress[i - 1]!);
      expect(progress[0]).toBeLessThan(0.99);
      expect(progress.at(-1)).toBeCloseTo(1, 9);
      // the copies stored before the pause are the ones the line was drawn between
      expect(copiesOf(resumed.id)).toEqual(copies);

      const cancelledOnTheLine = onTheLine('20it');
      const cancelled = (await analyse('20it')).job!.id;
      await cancelledOnTheLine;
      await lab.invoke('jobs.cancel', { jobId: cancelled });
      expect((await lab.scheduler.wait(cancelled)).state).toBe('cancelled');
      expect((await row('20it')).curve).toBeNull();
    } finally {
      await lab.close();
    }
  });
});
