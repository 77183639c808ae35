import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Lab } from '../../src/services/lab.ts';
import { tempDir } from '../helpers.ts';
import { expectCompleteExperiment, SMALL_SPEC, waitForEvent } from './fixtures.ts';

const RUNS = ['0/dense', '1/imp', '2/imp'];
const EXPECTED = { runs: RUNS, iterations: 300, evalEvery: 50 };

describe('job scheduler with a real compute worker', () => {
  it('pauses mid-level with a checkpoint and resumes to a complete experiment', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: SMALL_SPEC,
        start: true,
      });
      await waitForEvent(lab, (e) => e.type === 'job.progress' && e.level === 1 && e.step > 130);
      await lab.invoke('jobs.pause', { jobId: job!.id });
      const paused = await lab.scheduler.wait(job!.id);
      expect(paused.state).toBe('paused');
      expect(paused.checkpointRun).toBe('1/imp');
      expect(paused.checkpointIteration).toBeGreaterThan(130);
      expect(existsSync(lab.store.blobs.pathOf(paused.checkpointBlob!))).toBe(true);
      expect((await lab.invoke('experiments.get', { id: experiment.id })).status).toBe('paused');

      await lab.invoke('jobs.resume', { jobId: job!.id });
      const done = await lab.scheduler.wait(job!.id);
      expect(done.state).toBe('done');
      expect(done.checkpointBlob).toBeNull();
      expect(existsSync(lab.store.blobs.pathOf(paused.checkpointBlob!))).toBe(false); // superseded checkpoints are removed
      expectCompleteExperiment(dataDir, experiment.id, EXPECTED);
    } finally {
      await lab.close();
    }
  });

  it('survives SIGKILL of the worker mid-level: the host restarts it and the job resumes', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: SMALL_SPEC,
        start: true,
      });
      await waitForEvent(lab, (e) => e.type === 'job.progress' && e.level === 1 && e.step > 150);
      const [pid] = lab.scheduler.workerPids();
      const interrupted = waitForEvent(
        lab,
        (e) => e.type === 'job.state' && e.state === 'interrupted',
      );
      process.kill(pid!, 'SIGKILL');
      const event = await interrupted;
      expect(event.type === 'job.state' && event.error).toMatch(
        /compute worker stopped unexpectedly \(SIGKILL\)/,
      );
      const done = await lab.scheduler.wait(job!.id);
      expect(done.state).toBe('done');
      expect(done.attempt).toBe(2);
      expect(lab.scheduler.workerPids()[0]).not.toBe(pid);
      expectCompleteExperiment(dataDir, experiment.id, EXPECTED);
    } finally {
      await lab.close();
    }
  });

  it('a failing job shows its error and the queue carries on', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const diverging = await lab.invoke('experiments.create', {
        spec: {
          ...SMALL_SPEC,
          training: { ...SMALL_SPEC.training, optimizer: 'sgd', learningRate: 1e12 },
        },
        start: true,
      });
      const fine = await lab.invoke('experiments.create', {
        spec: { ...SMALL_SPEC, pruning: { levels: 1 } },
        start: true,
      });
      expect((await lab.invoke('jobs.list', {})).map((j) => j.state)).toEqual([
        'running',
        'queued',
      ]);
      const failed = await lab.scheduler.wait(diverging.job!.id);
      expect(failed.state).toBe('failed');
      expect(failed.error).toMatch(/TRAINING_DIVERGED: Training diverged at iteration \d+/);
      expect((await lab.invoke('experiments.get', { id: diverging.experiment.id })).error).toMatch(
        /diverged/,
      );
      expect((await lab.scheduler.wait(fine.job!.id)).state).toBe('done');
    } finally {
      await lab.close();
    }
  });

  it('cancel stops a job and keeps its finished levels', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: SMALL_SPEC,
        start: true,
      });
      await waitForEvent(lab, (e) => e.type === 'job.progress' && e.level === 1 && e.step > 20);
      await lab.invoke('jobs.cancel', { jobId: job!.id });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('cancelled');
      const lineage = await lab.invoke('experiments.lineage', { id: experiment.id });
      expect(lineage.tickets.filter((t) => t.trained).map((t) => t.level)).toEqual([0]);
      expect((await lab.invoke('experiments.get', { id: experiment.id })).status).toBe('cancelled');
    } finally {
      await lab.close();
    }
  });
});
