import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import type { SequencedEvent } from '../../src/api/events.ts';
import { nativeBlas } from '../../src/engine/native-blas.ts';
import { WARMING_UP } from '../../src/jobs/scheduler.ts';
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
      // Until the worker has loaded its backend the job says it is warming up, not 0%.
      expect(lab.store.getJob(job!.id)!.phase).toBe(WARMING_UP);
      // Pause once training has begun. Where the worker is when the pause reaches it depends
      // on the machine's speed (a loaded one reports late): so nothing below assumes a level,
      // only what must hold wherever it stopped.
      await waitForEvent(lab, (e) => e.type === 'job.progress');
      await lab.invoke('jobs.pause', { jobId: job!.id });
      const paused = await lab.scheduler.wait(job!.id);
      expect(paused.state).toBe('paused');
      // It stopped inside a run, with a checkpoint of it: the runs before it are stored and
      // trained, none after it.
      expect(RUNS).toContain(paused.checkpointRun);
      expect(paused.checkpointIteration).toBeGreaterThanOrEqual(0);
      expect(paused.checkpointIteration).toBeLessThan(EXPECTED.iterations);
      expect(existsSync(lab.store.blobs.pathOf(paused.checkpointBlob!))).toBe(true);
      const trained = (await lab.invoke('experiments.lineage', { id: experiment.id })).tickets
        .filter((t) => t.trained)
        .map((t) => `${t.level}/${t.method}`);
      expect(trained).toEqual(RUNS.slice(0, RUNS.indexOf(paused.checkpointRun!)));
      expect((await lab.invoke('experiments.get', { id: experiment.id })).status).toBe('paused');

      // Resuming continues that run from its checkpoint: it does not train it from the start.
      const steps: number[] = [];
      const unsubscribe = lab.subscribe((e) => {
        if (e.type === 'job.progress' && `${e.level}/${e.method}` === paused.checkpointRun)
          steps.push(e.step);
      });
      await lab.invoke('jobs.resume', { jobId: job!.id });
      const done = await lab.scheduler.wait(job!.id);
      unsubscribe();
      expect(done.state).toBe('done');
      expect(steps.length).toBeGreaterThan(0);
      expect(Math.min(...steps)).toBeGreaterThan(paused.checkpointIteration!);
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

  it('closing pauses the running job and starts no queued one (none is left running without a process)', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true, concurrency: 1 });
    const first = await lab.invoke('experiments.create', { spec: SMALL_SPEC, start: true });
    const second = await lab.invoke('experiments.create', {
      spec: { ...SMALL_SPEC, seed: 1 },
      start: true,
    });
    await waitForEvent(lab, (e) => e.type === 'job.progress');
    await lab.close({ pauseRunning: true });
    await lab.close({ pauseRunning: true }); // closing twice is harmless
    const reopened = Lab.open({ dataDir });
    try {
      // the slot the paused job freed must not have started the queued one as the host quit
      expect(reopened.store.getJob(first.job!.id)!.state).toBe('paused');
      expect(reopened.store.getJob(second.job!.id)!.state).toBe('queued');
    } finally {
      await reopened.close();
    }
  });

  it('a failing job shows its error and the queue carries on', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const diverging = await lab.invoke('experiments.create', {
        spec: {
          ...SMALL_SPEC,
          training: { ...SMALL_SPEC.training, optimizer: 'sgd', learningRate: 10 },
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

  it("reports each evaluation's test accuracy once, at its iteration, as stored (the live charts' points), and stores the training loss between evaluations", async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const events: SequencedEvent[] = [];
      const unsubscribe = lab.subscribe((e) => void events.push(e));
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: {
          ...SMALL_SPEC,
          training: { ...SMALL_SPEC.training, lossEvery: 20 },
          pruning: { levels: 1 },
        },
        start: true,
      });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      unsubscribe();
      const progress = events.flatMap((e) => (e.type === 'job.progress' ? [e] : []));
      // every training step's event carries no accuracy: a stale one would draw a point there
      expect(progress.filter((e) => e.loss !== null).every((e) => e.accuracy === null)).toBe(true);
      const tickets = (await lab.invoke('experiments.lineage', { id: experiment.id })).tickets;
      expect(tickets.map((t) => `${t.level}/${t.method}`)).toEqual(['0/dense', '1/imp']);
      for (const t of tickets) {
        const shown = progress
          .filter((e) => e.accuracy !== null && e.level === t.level && e.method === t.method)
          .map((e) => [e.step, e.accuracy]);
        const { points } = await lab.invoke('runs.metrics', { runId: t.runId!, split: 'test' });
        // the evaluation before the first step (iteration 0) has no progress to go with it
        expect(shown).toEqual(points.filter((p) => p.step > 0).map((p) => [p.step, p.accuracy]));
        expect(shown.map(([step]) => step)).toEqual([50, 100, 150, 200, 250, 300]);
        // the training loss is stored every 20 iterations and at every evaluation
        const train = await lab.invoke('runs.metrics', { runId: t.runId!, split: 'train' });
        const steps = Array.from({ length: 300 }, (_, i) => i + 1);
        expect(train.points.map((p) => p.step)).toEqual(
          steps.filter((step) => step % 20 === 0 || step % 50 === 0),
        );
        expect(train.points.every((p) => Number.isFinite(p.loss) && p.loss > 0)).toBe(true);
      }
    } finally {
      await lab.close();
    }
  });

  it('runs jobs side by side in separate workers when concurrency allows, sharing identical checkpoints safely', async () => {
    const lab = Lab.open({ dataDir: tempDir(), runAll: true, concurrency: 2 });
    try {
      // Two structured experiments from the same seed, cutting different shares of units:
      // their dense trainings are identical and write identical, content-addressed
      // checkpoints (over two epochs, so one is superseded); neither job may delete the
      // checkpoint the other still holds. (A structured experiment trains its own dense
      // network, src/jobs/dense-reuse.ts, so the two run side by side.)
      const tiny = (rate: number) => ({
        ...SMALL_SPEC,
        seed: 1,
        method: 'structured' as const,
        structured: { method: 'l1-filter', rates: [rate], fineTune: '20it', latencyRuns: 3 },
        training: { duration: '400it', evalEvery: 100 },
      });
      const a = await lab.invoke('experiments.create', { spec: tiny(0.5), start: true });
      const b = await lab.invoke('experiments.create', { spec: tiny(0.8), start: true });
      expect((await lab.invoke('jobs.list', {})).map((j) => j.state)).toEqual([
        'running',
        'running',
      ]);
      expect(lab.scheduler.workerPids()).toHaveLength(2);
      // each worker's native kernels get half the cores
      if (existsSync('/proc/self/environ') && !process.env.TICKETLAB_THREADS) {
        const share = Math.max(1, Math.floor(availableParallelism() / 2));
        for (const pid of lab.scheduler.workerPids())
          expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(
            `TICKETLAB_THREADS=${share}`,
          );
      }
      expect((await lab.scheduler.wait(a.job!.id)).state).toBe('done');
      expect((await lab.scheduler.wait(b.job!.id)).state).toBe('done');
    } finally {
      await lab.close();
    }
  });

  it('stops a job paused or cancelled while its worker still loads the backend, before it starts', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      // the worker would hear neither message until loaded, and would then start the job
      const paused = await lab.invoke('experiments.create', { spec: SMALL_SPEC, start: true });
      expect(lab.store.getJob(paused.job!.id)!.phase).toBe(WARMING_UP);
      await lab.invoke('jobs.pause', { jobId: paused.job!.id });
      expect(lab.store.getJob(paused.job!.id)!).toMatchObject({ state: 'paused', phase: null });
      const cancelled = await lab.invoke('experiments.create', {
        spec: { ...SMALL_SPEC, seed: 2 },
        start: true,
      });
      expect(lab.store.getJob(cancelled.job!.id)!.phase).toBe(WARMING_UP);
      await lab.invoke('jobs.cancel', { jobId: cancelled.job!.id });
      expect(lab.store.getJob(cancelled.job!.id)!.state).toBe('cancelled');
      // The same worker, once loaded, runs the paused job resumed, and nothing of the other:
      // it runs one job at a time, in the order they reach it.
      await lab.invoke('jobs.resume', { jobId: paused.job!.id });
      expect((await lab.scheduler.wait(paused.job!.id)).state).toBe('done');
      expectCompleteExperiment(dataDir, paused.experiment.id, EXPECTED);
      expect(lab.store.getJob(cancelled.job!.id)!.state).toBe('cancelled');
      expect(lab.store.listTickets(cancelled.experiment.id)).toEqual([]);
    } finally {
      await lab.close();
    }
  });

  // Only the native kernels (under the WebAssembly backend) take a new thread count, and only
  // where there are cores to share.
  it.skipIf(!!process.env.TICKETLAB_THREADS || !nativeBlas() || availableParallelism() < 2)(
    'gives a job left running alone the cores another job freed, and takes them back when another starts',
    { timeout: 300_000 },
    async (context) => {
      const cores = availableParallelism();
      const lab = Lab.open({ dataDir: tempDir(), runAll: true, concurrency: 2 });
      const logs: SequencedEvent[] = [];
      lab.subscribe((e) => {
        if (e.type === 'log') logs.push(e);
      });
      // the worker's own word that its kernels changed threads, since the log's `from`th event
      const told = (jobId: string, threads: number, from: number) =>
        vi.waitFor(
          () =>
            expect(
              logs
                .slice(from)
                .some(
                  (e) =>
                    e.type === 'log' &&
                    e.jobId === jobId &&
                    e.message.startsWith(`The native kernels now run on ${threads} thread`),
                ),
            ).toBe(true),
          { timeout: 120_000, interval: 50 },
        );
      try {
        // long enough to run through all of it; different seeds, so neither waits to copy
        // the other's dense network
        const long = (seed: number) => ({
          ...SMALL_SPEC,
          seed,
          training: { duration: '100000it', evalEvery: 10000 },
        });
        const half = Math.floor(cores / 2);
        // the threads each run recorded, span by span
        const spans = (jobId: string) =>
          lab.store.listRunsOfExperiment(lab.store.getJob(jobId)!.experimentId)[0]?.kernelThreads ??
          [];
        const recorded = (jobId: string, threads: number) =>
          vi.waitFor(() => expect(spans(jobId).at(-1)?.threads).toBe(threads), {
            timeout: 120_000,
            interval: 50,
          });
        const a = (await lab.invoke('experiments.create', { spec: long(1), start: true })).job!;
        await waitForEvent(lab, (e) => e.type === 'job.progress' && e.jobId === a.id);
        if (lab.scheduler.backend?.name !== 'wasm') context.skip();
        // started with half the cores (its share were both slots busy), then given them all
        await told(a.id, cores, 0);
        await recorded(a.id, cores);
        let mark = logs.length;
        const b = (await lab.invoke('experiments.create', { spec: long(2), start: true })).job!;
        await told(a.id, half, mark);
        await recorded(a.id, half);
        await waitForEvent(lab, (e) => e.type === 'job.progress' && e.jobId === b.id);
        // b started beside a, on its share from its first step on
        expect(spans(b.id)).toEqual([{ fromIteration: 1, threads: half }]);
        mark = logs.length;
        await lab.invoke('jobs.cancel', { jobId: b.id });
        expect((await lab.scheduler.wait(b.id)).state).toBe('cancelled');
        await told(a.id, cores, mark);
        await recorded(a.id, cores);
        expect(lab.store.getJob(a.id)!.state).toBe('running');
        // a's run: all the cores, half beside b, all again (and half for its first steps
        // where they came before the worker was given all of them)
        const ofA = spans(a.id);
        expect(ofA.map((s) => s.threads).slice(-3)).toEqual([cores, half, cores]);
        expect(ofA.length).toBeLessThanOrEqual(4);
        expect(ofA[0]!.fromIteration).toBe(1);
        for (let i = 1; i < ofA.length; i++)
          expect(ofA[i]!.fromIteration).toBeGreaterThan(ofA[i - 1]!.fromIteration);
        // as the API gives them (the ticket page, the exports)
        const shown = await lab.invoke('experiments.get', {
          id: lab.store.getJob(a.id)!.experimentId,
        });
        expect(shown.tickets.find((t) => t.level === 0)!.kernelThreads).toEqual(ofA);
        await lab.invoke('jobs.cancel', { jobId: a.id });
        expect((await lab.scheduler.wait(a.id)).state).toBe('cancelled');
      } finally {
        await lab.close();
      }
    },
  );

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

describe('recovery after a host died', () => {
  it('marks running jobs whose owner lock is free interrupted, requeues only those with auto-resume on, and never touches a live owner', async () => {
    const { Store } = await import('../../src/store/store.ts');
    const { Scheduler } = await import('../../src/jobs/scheduler.ts');
    const { HostLock } = await import('../../src/store/host-lock.ts');
    const { createExperiment } = await import('../../src/services/experiments.ts');
    const dataDir = tempDir();
    const store = Store.open(dataDir);
    // Another host's lock, held for the whole test (a process that is alive, however busy).
    const liveHost = HostLock.acquire(dataDir);
    const deadHost = HostLock.acquire(dataDir);
    deadHost.release();
    try {
      const a = createExperiment(store, { model: 'lenet-5', seed: 1 }).experiment;
      const b = createExperiment(store, { model: 'lenet-5', seed: 2 }).experiment;
      const live = createExperiment(store, { model: 'lenet-5', seed: 3 }).experiment;
      const legacy = createExperiment(store, { model: 'lenet-5', seed: 4 }).experiment;
      const hourAgo = new Date(Date.now() - 3600_000).toISOString();
      const resumeMe = store.insertJob(a.id, 'imp', true);
      const leaveMe = store.insertJob(b.id, 'imp', false);
      const otherHost = store.insertJob(live.id, 'imp', true);
      const beforeLocks = store.insertJob(legacy.id, 'imp', true);
      for (const j of [resumeMe, leaveMe])
        store.updateJob(j.id, {
          state: 'running',
          owner: 'elsewhere:1',
          ownerLock: deadHost.name,
          heartbeatAt: new Date().toISOString(),
        });
      // A job a live host holds is left alone, however old its heartbeat.
      store.updateJob(otherHost.id, {
        state: 'running',
        owner: 'elsewhere:2',
        ownerLock: liveHost.name,
        heartbeatAt: hourAgo,
      });
      // Claimed before locks existed, on another machine: only its heartbeat can tell.
      store.updateJob(beforeLocks.id, {
        state: 'running',
        owner: 'elsewhere:3',
        heartbeatAt: new Date().toISOString(),
      });
      const events: string[] = [];
      const scheduler = new Scheduler({
        store,
        emit: (e) => e.type === 'job.state' && events.push(`${e.jobId}:${e.state}`),
      });
      const recovered = scheduler.recover({ requeue: true });
      const states = Object.fromEntries(recovered.map((j) => [j.id, j.state]));
      expect(states).toEqual({ [resumeMe.id]: 'queued', [leaveMe.id]: 'interrupted' });
      expect(events).toContain(`${resumeMe.id}:interrupted`);
      expect(events.indexOf(`${resumeMe.id}:queued`)).toBeGreaterThan(
        events.indexOf(`${resumeMe.id}:interrupted`),
      );
      expect(events.filter((e) => e.startsWith(leaveMe.id))).toEqual([`${leaveMe.id}:interrupted`]);
      expect(store.getJob(otherHost.id)!.state).toBe('running');
      expect(store.getJob(beforeLocks.id)!.state).toBe('running');
      expect(store.getExperiment(b.id)!.status).toBe('interrupted');
      // resuming, pausing or cancelling the live host's job is refused, naming the process
      // that runs it (only its host can reach its worker)
      for (const act of ['resume', 'pause', 'cancel'] as const)
        expect(() => scheduler[act](otherHost.id)).toThrowError(
          /is running in another live process \(elsewhere:2\)/,
        );
      expect(store.getJob(otherHost.id)!.state).toBe('running');
      await scheduler.close({ pauseRunning: false });
    } finally {
      liveHost.release();
      store.close();
    }
  });
});

describe('pruning at initialisation as a job', () => {
  it('trains the dense network and one SynFlow ticket per compression ratio, with controls', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const spec = {
        model: 'lenet-300-100',
        method: 'pai',
        training: { duration: '60it', evalEvery: 30 },
        pai: { score: 'synflow', compressions: [1, 2], rounds: 5 },
        controls: { randomPrune: true },
      };
      const { experiment, job } = await lab.invoke('experiments.create', { spec, start: true });
      expect(experiment.name).toBe('lenet-300-100 synflow on builtin:mnist');
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      const { tickets } = await lab.invoke('experiments.lineage', { id: experiment.id });
      expect(tickets.map((t) => `${t.level}/${t.method}`)).toEqual([
        '0/dense',
        '1/synflow',
        '1/random-prune',
        '2/synflow',
        '2/random-prune',
      ]);
      const dense = tickets[0]!;
      expect(tickets[1]!.parentId).toBe(dense.id);
      expect(tickets[2]!.parentId).toBe(tickets[1]!.id);
      expect(tickets[1]!.remainingWeights).toBeCloseTo(0.1, 4);
      expect(tickets[3]!.remainingWeights).toBeCloseTo(0.01, 4);
      // The random control keeps SynFlow's per-layer sparsity.
      expect(tickets[2]!.remainingWeightsPerLayer.map((l) => l.kept)).toEqual(
        tickets[1]!.remainingWeightsPerLayer.map((l) => l.kept),
      );
      expect(tickets.every((t) => t.trained && t.testAccuracy !== null)).toBe(true);
    } finally {
      await lab.close();
    }
  });
});
