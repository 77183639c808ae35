import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../../bench/campaign/record.ts';
import { renderBenchmarks } from '../../bench/report.ts';
import { SlurmTarget } from '../../src/api/sweep.ts';
import { readReports } from '../../src/cluster/job-folder.ts';
import { isPreempted } from '../../src/cluster/slurm.ts';
import { cpuDescription } from '../../src/core/cpu.ts';
import type { WorkerMessage } from '../../src/jobs/protocol.ts';
import { Lab } from '../../src/services/lab.ts';
import { getClusterJob } from '../../src/store/cluster-jobs.ts';
import { expectCompleteExperiment } from '../jobs/fixtures.ts';
import { hasShared, SHARED_DATASETS, tempDir } from '../helpers.ts';
import { slurmUnavailable, startOneNodeSlurm, type OneNodeSlurm } from './one-node-slurm.ts';

/**
 * Sweeps on a real one-node Slurm cluster (started here, stopped after): the host submits,
 * follows and ingests; the workers on the node never open the database.
 */
const unavailable = slurmUnavailable();
const SLURM = { kind: 'slurm', cpusPerTask: 1, memory: '1000M' } as const;
/** the target as the data folder stores it, its defaults filled in */
const SLURM_RESOLVED = SlurmTarget.parse(SLURM);
const ROOT = resolve(import.meta.dirname, '..', '..');
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

    it('preempts an instability analysis mid-copy: it checkpoints on the signal, is requeued by itself and resumes there, keeping the copy it had', async () => {
      const dataDir = tempDir();
      const lab = Lab.open({ dataDir, runAll: true, ...POLL });
      const seen = history(lab);
      try {
        // the experiment trains on this host; the analysis of its dense network on the cluster
        const spec = {
          model: 'lenet-300-100',
          seed: 17,
          training: { duration: '6000it', evalEvery: 1000 },
          pruning: { levels: 1 },
        };
        const created = await lab.invoke('experiments.create', { spec, start: true });
        expect((await lab.scheduler.wait(created.job!.id)).state).toBe('done');
        const { tickets } = await lab.invoke('experiments.get', { id: created.experiment.id });
        const dense = tickets.find((t) => t.level === 0)!;
        const { job } = await lab.invoke('tickets.instability', {
          ticketId: dense.id,
          rewinds: ['0it'],
          points: 5,
          target: SLURM,
        });
        const jobId = job!.id;
        // the first copy stored, the second one under way with a checkpoint
        await expect
          .poll(
            () => {
              const reports = reportsOf(lab, jobId);
              const copy = reports.findIndex((m) => m.type === 'instability-copy');
              return copy >= 0 && reports.slice(copy).some((m) => m.type === 'checkpoint');
            },
            { timeout: 180_000, interval: 100 },
          )
          .toBe(true);
        const slurmJob = getClusterJob(lab.store, jobId)!.clusterJobId!;
        cluster.command('sbatch', [
          ...['--parsable', '--partition=urgent', '--cpus-per-task=2', '--mem=100M'],
          ...['--output=/dev/null', '--wrap=sleep 5'],
        ]);
        const ended = await lab.scheduler.wait(jobId);
        expect(ended, story(lab, jobId, seen)).toMatchObject({ state: 'done', attempt: 1 });
        expect(getClusterJob(lab.store, jobId)!.clusterJobId).toBe(slurmJob);
        const reports = reportsOf(lab, jobId);
        expect(
          reports.filter((m) => m.type === 'ready'),
          story(lab, jobId, seen),
        ).toHaveLength(2);
        expectResumedFromCheckpoint(reports);
        // each copy trained once: the second attempt took the first copy from the log
        const copies = reports.filter((m) => m.type === 'instability-copy');
        expect(copies.map((m) => m.copy)).toEqual([0, 1]);
        const second = reports.findIndex((m, i) => m.type === 'ready' && i > 0);
        expect(reports.indexOf(copies[0]!)).toBeLessThan(second);
        expect(reports.indexOf(copies[1]!)).toBeGreaterThan(second);
        const [analysis] = await lab.invoke('tickets.instabilityResults', { ticketId: dense.id });
        expect(analysis).toMatchObject({ rewindIteration: 0, points: 5 });
        expect(analysis!.curve).toHaveLength(5);
        expect(analysis!.barrier).not.toBeNull();
        expectWholeStore(dataDir);
      } finally {
        await lab.close();
      }
    }, 400_000);

    it.skipIf(!hasShared('mnist-10k'))(
      "runs a campaign part on the data folder's target, its analyses too: a record per experiment naming its nodes, and a second run skips what is recorded",
      async () => {
        const dir = tempDir();
        const targetFile = join(dir, 'slurm.json');
        writeFileSync(targetFile, JSON.stringify(SLURM));
        const [dataDir, records] = [join(dir, 'data'), join(dir, 'records')];
        const part = 'frankle2020-lenet-rewinding';
        const campaign = (...extra: string[]) =>
          spawnSync(
            process.execPath,
            [
              ...['--import', 'tsx', 'bench/campaign.ts', '--part', part],
              ...['--seeds', '1', '--iterations', '200', '--levels', '1', '--dataset', 'mnist-10k'],
              ...['--datasets-dir', SHARED_DATASETS, '--data-dir', dataDir, '--records', records],
              ...extra,
            ],
            { cwd: ROOT, encoding: 'utf8', timeout: 300_000 },
          );
        const first = campaign('--target', targetFile);
        expect(first.status, `${first.stdout}\n${first.stderr}`).toBe(0);
        expect(first.stdout).toContain(
          `jobs on Slurm (the data folder's target): ${JSON.stringify(SLURM_RESOLVED)}`,
        );
        // the plan: the three experiments' jobs at once, each on the target's one core
        expect(first.stdout).toMatch(/from start to end with 3 at a time on 1 of 3 cores each/);
        const folder = join(records, 'campaign', part);
        const files = readdirSync(folder).sort();
        expect(files).toEqual(
          ['100', '2000', '500'].map((k) =>
            expect.stringMatching(new RegExp(`^rewind-${k}it-seed0-[0-9a-f]{12}\\.json$`)),
          ),
        );
        const node = { hostname: hostname(), cpu: cpuDescription(), cores: 1 };
        for (const file of files) {
          const r = JSON.parse(readFileSync(join(folder, file), 'utf8')) as CampaignRecord;
          expect(r.cluster).toEqual({ target: SLURM_RESOLVED, nodes: [node] });
          expect(r.tickets.map((t) => `${t.level}/${t.method}`).sort()).toEqual([
            '0/dense',
            '1/imp',
          ]);
          for (const t of r.tickets) expect(t.testAccuracy).toBeGreaterThan(0.5);
          expect(r.instability).toHaveLength(1);
          expect(r.instability![0]!.curve).toHaveLength(r.instability![0]!.points);
        }
        // every experiment and every analysis was a job on the cluster
        const lab = Lab.open({ dataDir });
        try {
          const jobs = await lab.invoke('jobs.list', {});
          // (the campaign ends with its last record: Slurm's COMPLETED may not be read by then)
          expect(jobs.map((j) => `${j.kind} ${j.state} ${j.cluster?.jobId}`).sort()).toEqual(
            ['imp', 'imp', 'imp', 'instability', 'instability', 'instability'].map((kind) =>
              expect.stringMatching(new RegExp(`^${kind} done \\d+(_\\d+)?$`)),
            ),
          );
          expect((await lab.invoke('settings.get', {})).computeTarget).toEqual(SLURM_RESOLVED);
        } finally {
          await lab.close();
        }
        // BENCHMARKS.md names where they trained
        const rendered = await renderBenchmarks(
          `# x\n\n<!-- report: campaign ${part} -->\n<!-- /report -->\n`,
          records,
        );
        expect(rendered).toContain(
          `on Slurm (1 × ${node.cpu} per job; submitted from ${cpus().length} × ${node.cpu}),`,
        );

        // Run again (the data folder keeps its target): everything is recorded, nothing submitted.
        const again = campaign();
        expect(again.status, `${again.stdout}\n${again.stderr}`).toBe(0);
        expect(again.stdout).toContain('to run: 0 of 3 experiments');
        expect(readdirSync(folder).sort()).toEqual(files);
        const after = Lab.open({ dataDir });
        try {
          expect(await after.invoke('jobs.list', {})).toHaveLength(6);
        } finally {
          await after.close();
        }
      },
      400_000,
    );

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
