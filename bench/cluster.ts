/**
 * What running on Slurm costs the host, on a one-node Slurm started here (as the tests do;
 * needs root, slurm-wlm and munge):
 *
 *   npm run bench:cluster [-- --experiments 6 --singles 10 --record]
 *
 * - submission overhead per job: sbatch of one held single job (median of --singles), and a
 *   sweep's job array divided by its tasks (the sweep below);
 * - ingest time per ticket: the host's time storing a ticket's reports (run start, every
 *   evaluation, progress, checkpoints, the ticket), summed over the sweep's tickets;
 * - the sweep's wall time: --experiments LeNet-300-100 IMP experiments (100 iterations a
 *   level, one pruned level) on the node, one CPU each; and the same sweep on this machine's
 *   local worker pool (one worker per core, in a data folder of its own) for comparison.
 * --record writes bench/records/cluster-<date>.json (BENCHMARKS.md cites those).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../src/cli/args.ts';
import { cancel, submit } from '../src/cluster/slurm.ts';
import { machineDescription } from '../src/core/cpu.ts';
import { Lab } from '../src/services/lab.ts';
import { slurmUnavailable, startOneNodeSlurm } from '../test/cluster/one-node-slurm.ts';
import { recordPath } from './records.ts';

const { options } = parseArgs(process.argv.slice(2), ['experiments', 'singles']);
const num = (k: string, d: number) =>
  typeof options.get(k) === 'string' ? Number(options.get(k)) : d;
const EXPERIMENTS = num('experiments', 6);
const SINGLES = num('singles', 10);

const why = slurmUnavailable();
if (why) throw new Error(`bench:cluster: ${why}`);
const startedAt = new Date().toISOString();
const loadAtStart = loadavg()[0];
const cluster = await startOneNodeSlurm({ cpus: cpus().length, memoryMb: 8000 });
Object.assign(process.env, cluster.env);
try {
  const singles: number[] = [];
  for (let i = 0; i < SINGLES; i++) {
    const t0 = performance.now();
    const id = submit('#!/bin/bash\n#SBATCH --hold\n#SBATCH --output=/dev/null\ntrue\n');
    singles.push(performance.now() - t0);
    cancel(id);
  }
  singles.sort((a, b) => a - b);

  /** The sweep on a target, in a data folder of its own: its wall time, and the Lab's stats. */
  const sweep = async (
    target: { kind: 'local' } | { kind: 'slurm'; cpusPerTask: number; memory: string },
  ) => {
    const lab = Lab.open({
      dataDir: mkdtempSync(join(tmpdir(), 'ticketlab-bench-cluster-')),
      runAll: true,
      clusterPollMs: 500,
      concurrency: cpus().length,
    });
    const t0 = performance.now();
    const { jobs } = await lab.invoke('sweeps.create', {
      spec: {
        name: 'bench:cluster',
        base: {
          model: 'lenet-300-100',
          training: { duration: '100it', evalEvery: 50 },
          pruning: { levels: 1 },
        },
        axes: { seed: Array.from({ length: EXPERIMENTS }, (_, i) => i) },
        target,
      },
    });
    const ended = await Promise.all(jobs.map((j) => lab.scheduler.wait(j.id)));
    const wallS = (performance.now() - t0) / 1000;
    const stats = { ...lab.cluster.stats };
    await lab.close();
    if (ended.some((j) => j.state !== 'done'))
      throw new Error(`a job of the ${target.kind} sweep did not finish`);
    return { wallS, stats };
  };
  const { wallS, stats } = await sweep({ kind: 'slurm', cpusPerTask: 1, memory: '1000M' });
  const local = await sweep({ kind: 'local' });

  const result = {
    command: `npm run bench:cluster -- --experiments ${EXPERIMENTS} --singles ${SINGLES}`,
    startedAt,
    machine: machineDescription(),
    // other work shares these cores: the 1-minute load average before and after
    loadAtStart,
    loadAtEnd: loadavg()[0],
    slurm: spawnSync('sbatch', ['--version'], { encoding: 'utf8' }).stdout.trim(),
    singleSubmitMs: { median: singles[Math.floor(singles.length / 2)], all: singles },
    sweep: {
      experiments: EXPERIMENTS,
      wallS,
      submitted: stats.submitted,
      arraySubmitMsPerJob: stats.submitMs / stats.submitted,
      tickets: stats.tickets,
      reports: stats.reports,
      ingestMsPerTicket: stats.ingestMs / stats.tickets,
      localWallS: local.wallS,
      localWorkers: cpus().length,
    },
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  if (options.has('record')) {
    const file = recordPath('cluster', startedAt);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`recorded: ${file}\n`);
  }
} finally {
  await cluster.stop();
}
