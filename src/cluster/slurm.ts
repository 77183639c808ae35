import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import type { SlurmTargetSpec } from '../api/sweep.ts';
import { TicketLabError } from '../core/errors.ts';

/**
 * Slurm's command-line tools, as TicketLab uses them: sbatch to submit, squeue (then sacct,
 * for jobs the controller has forgotten) to read states, scancel to stop. They find the
 * cluster as a user's shell does (SLURM_CONF, or the node's own configuration).
 */

/** Slurm states after which a job runs no more (unless Slurm itself requeues it). */
const ENDED = new Set([
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'TIMEOUT',
  'REVOKED',
  'SPECIAL_EXIT',
]);

export interface SlurmJobState {
  /** e.g. PENDING, RUNNING, REQUEUED, COMPLETED, CANCELLED, TIMEOUT, PREEMPTED, NODE_FAIL */
  state: string;
  /** why it is pending (Resources, Priority, BeginTime, …), or None */
  reason: string | null;
}

export function hasEnded(state: string): boolean {
  return ENDED.has(state);
}

function run(command: string, args: string[], input?: string) {
  const r = spawnSync(command, args, { encoding: 'utf8', input });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new TicketLabError(
      'BACKEND_UNAVAILABLE',
      `${command} was not found: this host cannot reach Slurm. Run TicketLab on the cluster's login node (docs/cluster.md), or use the local target.`,
    );
  return r;
}

/** The #SBATCH lines of a target (the job's name, output and array come from the caller). */
export function sbatchOptions(target: SlurmTargetSpec): string[] {
  return [
    ...(target.partition ? [`--partition=${target.partition}`] : []),
    ...(target.account ? [`--account=${target.account}`] : []),
    ...(target.timeLimit ? [`--time=${target.timeLimit}`] : []),
    `--cpus-per-task=${target.cpusPerTask}`,
    ...(target.memory ? [`--mem=${target.memory}`] : []),
    ...(target.gpus > 0
      ? [`--gres=gpu:${target.gpuType ? `${target.gpuType}:` : ''}${target.gpus}`]
      : []),
    // to the job's steps: the worker is one (see batchScript)
    `--signal=USR1@${target.warnSeconds}`,
    '--requeue',
    // a requeued job's output goes on after its earlier attempts' instead of replacing it
    '--open-mode=append',
    '--ntasks=1',
    ...target.extraSbatch,
  ];
}

/**
 * The batch script of one job, or of a job array whose task i runs folders[i]. The worker
 * runs as the job's step (srun), not as the batch shell: a partition's preemption GraceTime
 * begins with SIGTERM to the job's steps only (the batch shell hears nothing until the
 * grace ends and the job is killed), and the time-limit warning is sent to the steps too.
 * srun is exec'd so that the signals that end the job reach it and, through it, the worker.
 */
export function batchScript(options: {
  target: SlurmTargetSpec;
  name: string;
  output: string;
  workerCommand: string;
  folders: string[];
}): string {
  const { target, folders } = options;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${options.name}`,
    `#SBATCH --output=${options.output}`,
    ...(folders.length > 1 ? [`#SBATCH --array=0-${folders.length - 1}`] : []),
    ...sbatchOptions(target).map((o) => `#SBATCH ${o}`),
    '',
    `export TICKETLAB_THREADS=\${SLURM_CPUS_PER_TASK:-${target.cpusPerTask}}`,
  ];
  // srun is told the job's CPUs per task: it does not take them from sbatch (Slurm 22.05)
  const step = `exec srun --ntasks=1 --cpus-per-task=\${SLURM_CPUS_PER_TASK:-${target.cpusPerTask}} ${options.workerCommand} worker --job`;
  if (folders.length > 1) {
    lines.push(`FOLDERS=(${folders.map(quote).join(' ')})`);
    lines.push(`${step} "\${FOLDERS[$SLURM_ARRAY_TASK_ID]}"`);
  } else {
    lines.push(`${step} ${quote(folders[0]!)}`);
  }
  return lines.join('\n') + '\n';
}

/** Submits a batch script; returns its job id (an array's: tasks are `<id>_<i>`). */
export function submit(script: string): string {
  const r = run('sbatch', ['--parsable'], script);
  if (r.status !== 0)
    throw new TicketLabError(
      'INVALID_INPUT',
      `sbatch refused the job: ${(r.stderr || r.stdout).trim()}. Check the Slurm target's partition, account, time limit and resources.`,
    );
  // --parsable prints "<id>" or "<id>;<cluster>"
  return r.stdout.trim().split(';')[0]!;
}

/**
 * The states of the given jobs that Slurm still knows, by id (`123` or `123_4`). The
 * controller (squeue) knows recent jobs; older ones are read from accounting (sacct) where
 * it is enabled. A job neither knows is absent from the result.
 */
export function queryStates(ids: string[]): Map<string, SlurmJobState> {
  const states = new Map<string, SlurmJobState>();
  if (ids.length === 0) return states;
  const wanted = new Set(ids);
  const q = run('squeue', [
    '-h',
    '-r',
    '--states=all',
    `--user=${userInfo().username}`,
    '-o',
    '%i|%T|%r',
  ]);
  // A controller busy or restarting must not read as every job gone (ended, to the host).
  if (q.status !== 0)
    throw new TicketLabError(
      'BACKEND_UNAVAILABLE',
      `squeue failed: ${(q.stderr || q.stdout).trim()}. Slurm's controller did not answer; try again once it does (the host reads the states again at its next poll).`,
    );
  for (const line of q.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id && state && wanted.has(id))
      states.set(id, { state, reason: reason && reason !== 'None' ? reason : null });
  }
  const missing = ids.filter((id) => !states.has(id));
  if (missing.length > 0) {
    const a = run('sacct', ['-n', '-P', '-X', '-j', missing.join(','), '-o', 'JobID,State,Reason']);
    if (a.status === 0) {
      for (const line of a.stdout.split('\n')) {
        const [id, state, reason] = line.trim().split('|');
        // sacct writes "CANCELLED by 0"
        if (id && state && wanted.has(id))
          states.set(id, {
            state: state.split(' ')[0]!,
            reason: reason && reason !== 'None' ? reason : null,
          });
      }
    }
  }
  return states;
}

export function cancel(id: string) {
  const r = run('scancel', [id]);
  if (r.status !== 0)
    throw new TicketLabError('INVALID_INPUT', `scancel ${id} failed: ${r.stderr.trim()}`);
}

/** How often a worker asks scontrol again when the controller did not answer. */
const SCONTROL_TRIES = 4;
const SCONTROL_RETRY_MS = 2000;

/**
 * scontrol from a job's worker, asked again after a failure: a controller busy with a
 * loaded cluster's RPCs can time one out, and the worker has its job's last seconds to act.
 */
function scontrol(args: string[]) {
  for (let attempt = 1; ; attempt++) {
    const r = run('scontrol', args);
    if (r.status === 0 || attempt === SCONTROL_TRIES) return r;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SCONTROL_RETRY_MS);
  }
}

/**
 * Whether Slurm has chosen the job for preemption (its PreemptTime is set): the SIGTERM a
 * worker gets then is preemption's, not a scancel's. Throws when scontrol cannot tell.
 */
export function isPreempted(id: string): boolean {
  const r = scontrol(['show', 'job', '-o', id]);
  if (r.status !== 0)
    throw new TicketLabError(
      'BACKEND_UNAVAILABLE',
      `scontrol show job ${id} failed: ${(r.stderr || r.stdout).trim()}`,
    );
  const at = /\bPreemptTime=(\S+)/.exec(r.stdout)?.[1];
  return at !== undefined && at !== 'None';
}

/** Puts a running job back in the queue; Slurm ends what still runs of it first. */
export function requeue(id: string) {
  const r = scontrol(['requeue', id]);
  if (r.status !== 0)
    throw new TicketLabError(
      'BACKEND_UNAVAILABLE',
      `scontrol requeue ${id} failed: ${(r.stderr || r.stdout).trim()}`,
    );
}
