import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReports } from '../../src/cluster/job-folder.ts';
import { isPreempted } from '../../src/cluster/slurm.ts';
import type { WorkerMessage } from '../../src/jobs/protocol.ts';
import { Lab } from '../../src/services/lab.ts';
import { getClusterJob } from '../../src/store/cluster-jobs.ts';
import { expectCompleteExperiment } from '../jobs/fixtures.ts';
import { tempDir } from '../helpers.ts';
import { slurmUnavailable, startOneNodeSlurm, type OneNodeSlurm } from './one-node-slurm.ts';

/**
 * Sweeps on a real one-node Slurm cluster (started here, stopped after): the host submits,
 * follows and ingests; the workers on the node never open the database.
 */
const unavailable = slurmUnavailable();
const SLURM = { kind: 'slurm', cpusPerTask: 1, memory: '1000M' } as const;
const POLL = { clusterPollMs: 300 };

let cluster: OneNodeSlurm;
beforeAll(async () => {
  if (unavailable) return;
  cluster = await startOneNodeSlurm({ cpus: 2, memoryMb: 4000 });
  // The host's sbatch/squeue/scancel and the batch jobs (sbatch exports the environment)
  // reach this cluster.
  Object.assign(process.env, cluster.env);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** The Slurm states and log lines a host saw, for a failed assertion to show. */
function history(lab: Lab): string[] {
  const seen: string[] = [];
  lab.subscribe((e) => {
    if (e.type === 'job.cluster') seen.push(`${e.clusterJobId} ${e.state} ${e.reason ?? ''}`);
    if (e.type === 'log') seen.push(`${e.level}: ${e.message}`);
  });
  return seen;
}

/** What a host saw of a job and what its workers wrote to Slurm's output, for a failed assertion. */
function story(lab: Lab, jobId: string, seen: string[]): string {
  const folder = join(lab.store.dataDir, getClusterJob(lab.store, jobId)!.folder);
  const outputs = readdirSync(folder)
    .filter((f) => /^slurm-.*\.out$/.test(f))
    .map((f) => `${f}:\n${readFileSync(join(folder, f), 'utf8').slice(-4000)}`);
  return [...seen, ...outputs].join('\n');
}

function reportsOf(lab: Lab, jobId: string): WorkerMessage[] {
  const row = getClusterJob(lab.store, jobId)!;
  return readReports(join(lab.store.dataDir, row.folder), 0).map((r) => r.message);
}

/**
 * The store after a case: an intact database, no ticket and no run twice, and each
 * experiment in `complete` whole (every level's ticket trained, every evaluation stored).
 */
function expectWholeStore(
  dataDir: string,
  complete?: { experimentIds: string[]; runs: string[]; iterations: number; evalEvery: number },
) {
  const db = new Database(join(dataDir, 'ticketlab.db'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(
      db
        .prepare(
          'SELECT experiment_id, level, method, COUNT(*) AS n FROM tickets GROUP BY experiment_id, level, method HAVING n > 1',
        )
        .all(),
    ).toEqual([]);
    expect(
      db.prepare('SELECT ticket_id, COUNT(*) AS n FROM runs GROUP BY ticket_id HAVING n > 1').all(),
    ).toEqual([]);
  } finally {
    db.close();
  }
  if (!complete) return;
  const { experimentIds, ...levels } = complete;
  for (const id of experimentIds) expectCompleteExperiment(dataDir, id, levels);
}

/**
 * The second attempt's first progress is in the run of the first attempt's last checkpoint,
 * at or past its iteration: it resumed there rather than from the run's start.
 */
function expectResumedFromCheckpoint(reports: WorkerMessage[]) {
  const second = reports.findIndex((m, i) => m.type === 'ready' && i > 0);
  expect(second).toBeGreaterThan(0);
  const lastCheckpoint = reports
    .slice(0, second)
    .filter((m) => m.type === 'checkpoint')
    .at(-1);
  expect(lastCheckpoint).toBeDefined();
  const resumed = reports.slice(second).find((m) => m.type === 'progress');
  expect(resumed).toMatchObject({ run: lastCheckpoint!.run });
  expect((resumed as { iteration: number }).iteration).toBeGreaterThanOrEqual(
    (lastCheckpoint as { iteration: number }).iteration,
  );
}

describe.skipIf(unavailable)(
  `a sweep on Slurm${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    it('runs as one job array, and the host that restarts mid-sweep ingests every report exactly once', async () => {
      const dataDir = tempDir();
      const base = {
        model: 'lenet-300-100',
        // a dense run long enough that the first host goes while it trains
        training: { duration: '4000it', evalEvery: 1000 },
        pruning: { levels: 1 },
      };
      const spec = { name: 'on slurm', base, axes: { seed: [0, 1] }, target: SLURM };
      // each job's progress as both hosts report it: the second attaches mid-run, without
      // the run-start the first ingested, and must place the run in the job all the same
      const progress = new Map<string, { host: number; level: number; progress: number }[]>();
      const follow = (host: Lab, n: number) =>
        host.subscribe((e) => {
          if (e.type !== 'job.progress') return;
          progress.set(e.jobId, [...(progress.get(e.jobId) ?? []), { ...e, host: n }]);
        });
      let lab = Lab.open({ dataDir, runAll: true, ...POLL });
      follow(lab, 1);
      const { sweep, jobs } = await lab.invoke('sweeps.create', { spec });
      expect(jobs).toHaveLength(2);
      await expect
        .poll(async () => (await lab.invoke('jobs.list', {})).map((j) => j.cluster?.jobId ?? ''))
        .toEqual([expect.stringMatching(/^\d+_0$/), expect.stringMatching(/^\d+_1$/)]);
      const listed = await lab.invoke('jobs.list', {});
      expect(listed[0]!.cluster!.jobId!.split('_')[0]).toBe(
        listed[1]!.cluster!.jobId!.split('_')[0],
      );
      // The host goes away once it has shown progress (so it took in the dense run's start);
      // the jobs run on without it.
      await expect
        .poll(() => progress.get(jobs[0]!.id)?.length ?? 0, { timeout: 120_000 })
        .toBeGreaterThan(0);
      await lab.close();
      lab = Lab.open({ dataDir, runAll: true, ...POLL });
      follow(lab, 2);
      try {
        const ended = await Promise.all(jobs.map((j) => lab.scheduler.wait(j.id)));
        expect(ended.map((j) => `${j.state} ${j.error ?? ''}`.trim())).toEqual(['done', 'done']);
        // Submitted once: the new host followed the running jobs instead of submitting again.
        for (const j of jobs) {
          expect(reportsOf(lab, j.id).filter((m) => m.type === 'ready')).toHaveLength(1);
          const row = getClusterJob(lab.store, j.id)!;
          expect(row.ingestedBytes).toBe(readReports(join(dataDir, row.folder), 0).at(-1)!.end);
        }
        await expect
          .poll(async () => (await lab.invoke('jobs.list', {})).map((j) => j.cluster!.state))
          .toEqual(['COMPLETED', 'COMPLETED']);
        // two runs of 4,000 iterations: the dense one is the job's first half, also for the
        // second host, which took the dense run up after the first had ingested its start
        const ofFirst = progress.get(jobs[0]!.id)!;
        expect(ofFirst.some((p) => p.host === 2 && p.level === 0)).toBe(true);
        for (const j of jobs) {
          const seen = progress.get(j.id) ?? [];
          for (const p of seen) {
            if (p.level === 0) expect(p.progress).toBeLessThanOrEqual(0.5);
            else expect(p.progress).toBeGreaterThanOrEqual(0.5);
            expect(p.progress).toBeLessThanOrEqual(1);
          }
          const values = seen.map((p) => p.progress);
          expect(values).toEqual([...values].sort((a, b) => a - b));
        }
        const view = await lab.invoke('sweeps.get', { id: sweep.id });
        expect(view).toMatchObject({ runs: 4, runsDone: 4, progress: 1 });
        expectWholeStore(dataDir, {
          experimentIds: view.experiments.map((e) => e.experiment.id),
          runs: ['0/dense', '1/imp'],
          iterations: 4000,
          evalEvery: 1000,
        });
        // Cluster results are results like any: compare reads them.
        const { rows } = await lab.invoke('compare', {
          experimentIds: view.experiments.map((e) => e.experiment.id),
        });
        expect(rows).toHaveLength(4);
      } finally {
        await lab.close();
      }
    }, 400_000);

    it('checkpoints at the time limit, is requeued and resumes from its checkpoint; cancel is scancel', async () => {
      const dataDir = tempDir();
      const lab = Lab.open({ dataDir, runAll: true, ...POLL });
      const seen = history(lab);
      try {
        // Longer than one time slice on any machine: the test stops it once it has resumed.
        const spec = {
          base: {
            model: 'lenet-300-100',
            training: { duration: '50000it', evalEvery: 1000 },
            pruning: { levels: 3 },
          },
          axes: { seed: [7] },
          // Slurm may send the warning up to 60 s early (sbatch(1)): 30 s before a 2-minute
          // limit, it comes 30 to 90 s into the job, after the worker has started and
          // before the limit. (An earlier warning reached no worker now and then.)
          target: { ...SLURM, timeLimit: '2', warnSeconds: 30 },
        };
        const { jobs } = await lab.invoke('sweeps.create', { spec });
        const jobId = jobs[0]!.id;
        // The second attempt has reported progress.
        await expect
          .poll(
            () => {
              const reports = reportsOf(lab, jobId);
              const second = reports.findIndex((m, i) => m.type === 'ready' && i > 0);
              return second > 0 && reports.slice(second).some((m) => m.type === 'progress');
            },
            { timeout: 330_000, interval: 1000 },
          )
          .toBe(true);
        const reports = reportsOf(lab, jobId);
        const slurmJob = getClusterJob(lab.store, jobId)!.clusterJobId!;
        const controller = `slurmctld on job ${slurmJob}:\n${cluster.controllerLog(slurmJob)}`;
        expectResumedFromCheckpoint(reports);
        // Stopped by the warning, not by the limit: no 'finished' report, the job ran on.
        expect(reports.some((m) => m.type === 'finished')).toBe(false);
        expect(reports, controller).toContainEqual(
          expect.objectContaining({
            type: 'log',
            message: expect.stringContaining('stopped because its time limit is near'),
          }),
        );
        expect(lab.store.getJob(jobId)!, story(lab, jobId, seen)).toMatchObject({
          state: 'running',
          attempt: 1,
        });

        await lab.invoke('jobs.cancel', { jobId });
        const ended = await lab.scheduler.wait(jobId);
        expect(ended.state).toBe('cancelled');
        await expect
          .poll(async () => (await lab.invoke('jobs.list', {}))[0]!.cluster!.state)
          .toBe('CANCELLED');
        expectWholeStore(dataDir);
      } finally {
        await lab.close();
      }
    }, 480_000);

    it('recovers from its node going down mid-job, resuming from its last checkpoint', async () => {
      const dataDir = tempDir();
      const lab = Lab.open({ dataDir, runAll: true, ...POLL });
      try {
        const spec = {
          base: {
            model: 'lenet-300-100',
            training: { duration: '1500it', evalEvery: 100 },
            pruning: { levels: 2 },
          },
          axes: { seed: [11] },
          target: SLURM,
        };
        const { sweep, jobs } = await lab.invoke('sweeps.create', { spec });
        const jobId = jobs[0]!.id;
        await expect
          .poll(() => lab.store.getJob(jobId)!.checkpointIteration, {
            timeout: 120_000,
            interval: 100,
          })
          .not.toBeNull();
        cluster.command('scontrol', [
          'update',
          `nodename=${cluster.node}`,
          'state=down',
          'reason=test',
        ]);
        await expect
          .poll(() => getClusterJob(lab.store, jobId)!.clusterState, { timeout: 60_000 })
          .not.toBe('RUNNING');
        cluster.command('scontrol', ['update', `nodename=${cluster.node}`, 'state=resume']);
        const ended = await lab.scheduler.wait(jobId);
        expect(ended.state).toBe('done');
        const reports = reportsOf(lab, jobId);
        expect(reports.filter((m) => m.type === 'ready')).toHaveLength(2);
        expectResumedFromCheckpoint(reports);
        expectWholeStore(dataDir, {
          experimentIds: [
            (await lab.invoke('sweeps.get', { id: sweep.id })).experiments[0]!.experiment.id,
          ],
          runs: ['0/dense', '1/imp', '2/imp'],
          iterations: 1500,
          evalEvery: 100,
        });
      } finally {
        await lab.close();
      }
    }, 400_000);

    it('is preempted by a job of a higher partition: checkpoints on the signal, is requeued by itself and resumes when the node is free', async () => {
      const dataDir = tempDir();
      const lab = Lab.open({ dataDir, runAll: true, ...POLL });
      const seen = history(lab);
      const logs: string[] = [];
      lab.subscribe((e) => {
        if (e.type === 'log') logs.push(e.message);
      });
      try {
        const spec = {
          base: {
            model: 'lenet-300-100',
            training: { duration: '1200it', evalEvery: 100 },
            pruning: { levels: 1 },
          },
          axes: { seed: [13] },
          // the test cluster's default partition, which the 'urgent' one preempts
          target: SLURM,
        };
        const { sweep, jobs } = await lab.invoke('sweeps.create', { spec });
        const jobId = jobs[0]!.id;
        await expect
          .poll(() => lab.store.getJob(jobId)!.checkpointIteration, {
            timeout: 120_000,
            interval: 100,
          })
          .not.toBeNull();
        const slurmJob = getClusterJob(lab.store, jobId)!.clusterJobId!;
        // Needs both of the node's CPUs: Slurm preempts the TicketLab job to start it.
        const blocker = cluster
          .command('sbatch', [
            '--parsable',
            '--partition=urgent',
            '--cpus-per-task=2',
            '--mem=100M',
            '--output=/dev/null',
            '--wrap=sleep 5',
          ])
          .trim();
        // Back in the queue while the blocker has the node.
        await expect
          .poll(() => getClusterJob(lab.store, jobId)!.clusterState, { timeout: 60_000 })
          .toBe('PENDING');
        const ended = await lab.scheduler.wait(jobId);
        expect(ended, story(lab, jobId, seen)).toMatchObject({ state: 'done', attempt: 1 });
        // Slurm requeued the same job: the host submitted nothing again.
        expect(getClusterJob(lab.store, jobId)!.clusterJobId).toBe(slurmJob);
        expect(
          cluster.command('squeue', ['-h', '-j', blocker, '--states=all', '-o', '%T']).trim(),
        ).toBe('COMPLETED');
        const reports = reportsOf(lab, jobId);
        expect(reports.filter((m) => m.type === 'ready')).toHaveLength(2);
        expectResumedFromCheckpoint(reports);
        // The first attempt's last report says why it stopped, after the checkpoint it wrote
        // on the signal, which the second attempt resumed from.
        const second = reports.findIndex((m, i) => m.type === 'ready' && i > 0);
        const stopped = reports[second - 1]!;
        const checkpoint = reports.slice(0, second).findLast((m) => m.type === 'checkpoint')!;
        // written where the signal stopped the training: nothing came between them
        expect(reports[second - 2]).toBe(checkpoint);
        expect(stopped).toMatchObject({
          type: 'log',
          message: expect.stringContaining(
            `Slurm preempted it, with a checkpoint at iteration ${(checkpoint as { iteration: number }).iteration}`,
          ),
        });
        // The app said so as it happened.
        expect(
          logs.some((m) => m.includes(`Slurm job ${slurmJob} stopped because Slurm preempted it`)),
        ).toBe(true);
        expectWholeStore(dataDir, {
          experimentIds: [
            (await lab.invoke('sweeps.get', { id: sweep.id })).experiments[0]!.experiment.id,
          ],
          runs: ['0/dense', '1/imp'],
          iterations: 1200,
          evalEvery: 100,
        });
      } finally {
        await lab.close();
      }
    }, 400_000);

    it("asks scontrol again when the controller does not answer, as a worker's last seconds need", () => {
      const held = cluster
        .command('sbatch', ['--parsable', '--hold', '--output=/dev/null', '--wrap', 'true'])
        .trim();
      // The real scontrol, behind a first call that fails as a busy controller's RPC does.
      const dir = tempDir();
      const real = spawnSync('sh', ['-c', 'command -v scontrol'], {
        encoding: 'utf8',
      }).stdout.trim();
      writeFileSync(
        join(dir, 'scontrol'),
        `#!/bin/sh\nif [ ! -e '${dir}/failed' ]; then : > '${dir}/failed'; echo 'slurm_load_jobs error: Socket timed out on send/recv operation' >&2; exit 1; fi\nexec '${real}' "$@"\n`,
        { mode: 0o755 },
      );
      const path = process.env.PATH;
      process.env.PATH = `${dir}:${path}`;
      try {
        expect(isPreempted(held)).toBe(false);
        expect(existsSync(join(dir, 'failed'))).toBe(true);
      } finally {
        process.env.PATH = path;
        cluster.command('scancel', [held]);
      }
    }, 60_000);
  },
);
