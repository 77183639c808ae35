import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { cpuDescription } from '../core/cpu.ts';
import { initBackend } from '../engine/backend.ts';
import { JOB_RUNNERS } from '../jobs/kinds/registry.ts';
import type { NodeMachine, WorkerMessage } from '../jobs/protocol.ts';
import { BlobStore } from '../store/blobs.ts';
import { appendReport, readReports, startFile, type JobFolderStart } from './job-folder.ts';
import { advanceStart } from './resume.ts';
import * as slurm from './slurm.ts';

function thisNode(): NodeMachine {
  const given = Number(process.env.SLURM_CPUS_PER_TASK);
  return {
    hostname: hostname(),
    cpu: cpuDescription(),
    cores: Number.isInteger(given) && given > 0 ? given : cpus().length,
  };
}

/** Progress reports only move the monitor: at most one a second goes to the shared log. */
const PROGRESS_EVERY_MS = 1000;

/**
 * The compute worker of one cluster job (`ticketlab worker --job <folder>`, the Slurm
 * job's step): trains from start.json, writing blobs to the data folder's blob store and
 * its reports to the folder's log. It never opens SQLite: the host ingests the log.
 *
 * Signals: Slurm's warning before the time limit (--signal=USR1), preemption (SIGTERM at
 * the start of the partition's GraceTime) and a scancel (SIGTERM) all stop training at the
 * next step with a checkpoint. After the warning or a preemption the worker requeues its
 * own job, which then resumes here from that checkpoint: a preempted job that ended by
 * itself would count as completed, however the cluster's PreemptMode is set. None of them
 * writes a 'finished' report: the job is not over, and the host reads how it ended from
 * Slurm.
 */
export async function runNodeWorker(folder: string): Promise<number> {
  const {
    start,
    blobs: blobRoot,
    logOffset,
  } = JSON.parse(readFileSync(startFile(folder), 'utf8')) as JobFolderStart;
  // A requeued job continues from what its earlier attempts reported.
  const earlier = readReports(folder, logOffset).map((r) => r.message);
  const job = advanceStart(start, earlier);
  const cancel = new AbortController();
  const pause = new AbortController();
  let stoppedBy: 'USR1' | 'TERM' | null = null;
  const stop = (signal: 'USR1' | 'TERM') => () => {
    stoppedBy ??= signal;
    pause.abort();
  };
  process.on('SIGUSR1', stop('USR1'));
  process.on('SIGTERM', stop('TERM'));
  process.on('SIGINT', () => cancel.abort());

  const backend = await initBackend();
  let lastProgress = 0;
  let checkpointIteration: number | null = null;
  const post = (m: WorkerMessage) => {
    if (m.type === 'progress') {
      if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
    }
    if (m.type === 'checkpoint') checkpointIteration = m.iteration;
    if (m.type === 'finished' && m.outcome === 'paused' && stoppedBy) return;
    appendReport(folder, m);
  };
  post({
    type: 'ready',
    backend: backend.name,
    device: backend.device,
    skipped: backend.skipped,
    node: thisNode(),
  });
  await JOB_RUNNERS[job.kind](job, new BlobStore(blobRoot), post, {
    cancel: cancel.signal,
    pause: pause.signal,
  });
  const slurmJob = process.env.SLURM_JOB_ID;
  if (!stoppedBy || !slurmJob) return 0;
  const warn = (message: string) =>
    post({ type: 'log', jobId: start.jobId, level: 'warn', message });
  const checkpoint =
    checkpointIteration === null ? '' : `, with a checkpoint at iteration ${checkpointIteration}`;
  // Where the job cannot go back to the queue itself, the host sees it end without a
  // 'finished' report and submits it again: it resumes from the same checkpoint.
  const fallback = 'the host submits it again when it sees the job end, and it resumes there';
  let why: string | null;
  try {
    // (a cluster with PreemptParameters=send_user_signal preempts with the USR1 warning)
    why = slurm.isPreempted(slurmJob)
      ? 'Slurm preempted it'
      : stoppedBy === 'USR1'
        ? 'its time limit is near'
        : null;
  } catch (e) {
    if (stoppedBy === 'USR1') why = 'its time limit is near';
    else {
      // A scancel must not be undone by a requeue, so the job is left to end.
      warn(
        `Slurm job ${slurmJob} stopped on SIGTERM${checkpoint}; whether Slurm preempted it is unknown (${(e as Error).message}). If it did, ${fallback}.`,
      );
      return 0;
    }
  }
  // A scancel (pause or cancel in the app): the host ends the job as it asked.
  if (!why) return 0;
  // The checkpoint is written: go back to the queue and resume from it. Said first, as a
  // requeue ends what still runs of the job.
  warn(
    `Slurm job ${slurmJob} stopped because ${why}${checkpoint}; requeued, it resumes there when it runs again.`,
  );
  try {
    slurm.requeue(slurmJob);
  } catch (e) {
    warn(`Slurm job ${slurmJob} could not requeue itself (${(e as Error).message}): ${fallback}.`);
  }
  return 0;
}
