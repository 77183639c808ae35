import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { initBackend } from '../engine/backend.ts';
import { executeJob } from '../jobs/execute.ts';
import type { WorkerMessage } from '../jobs/protocol.ts';
import { BlobStore } from '../store/blobs.ts';
import { appendReport, readReports, startFile, type JobFolderStart } from './job-folder.ts';
import { advanceResume } from './resume.ts';

/** Progress reports only move the monitor: at most one a second goes to the shared log. */
const PROGRESS_EVERY_MS = 1000;

/**
 * The compute worker of one cluster job (`ticketlab worker --job <folder>`, exec'd by the
 * Slurm batch script): trains from start.json, writing blobs to the data folder's blob store
 * and its reports to the folder's log. It never opens SQLite: the host ingests the log.
 *
 * Signals: Slurm's warning before the time limit (--signal=B:USR1) and a preemption or
 * scancel (SIGTERM) both stop training at the next step with a checkpoint; after USR1 the
 * worker requeues its own job, which then resumes here from that checkpoint. Neither writes
 * a 'finished' report: the job is not over, and the host reads how it ended from Slurm.
 */
export async function runNodeWorker(folder: string): Promise<number> {
  const {
    start,
    blobs: blobRoot,
    logOffset,
  } = JSON.parse(readFileSync(startFile(folder), 'utf8')) as JobFolderStart;
  // A requeued job continues from what its earlier attempts reported.
  const earlier = readReports(folder, logOffset).map((r) => r.message);
  const job = { ...start, resume: advanceResume(start.resume, earlier) };
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
  const post = (m: WorkerMessage) => {
    if (m.type === 'progress') {
      if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
    }
    if (m.type === 'finished' && m.outcome === 'paused' && stoppedBy) return;
    appendReport(folder, m);
  };
  post({ type: 'ready', backend: backend.name, device: backend.device, skipped: backend.skipped });
  await executeJob(job, new BlobStore(blobRoot), post, {
    cancel: cancel.signal,
    pause: pause.signal,
  });
  if (stoppedBy === 'USR1' && process.env.SLURM_JOB_ID) {
    // The checkpoint is written: go back to the queue and resume from it.
    const r = spawnSync('scontrol', ['requeue', process.env.SLURM_JOB_ID], { encoding: 'utf8' });
    if (r.status !== 0) process.stderr.write(`scontrol requeue failed: ${r.stderr}\n`);
  }
  return 0;
}
