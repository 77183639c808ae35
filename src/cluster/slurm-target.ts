import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiEvent } from '../api/events.ts';
import { SlurmTarget as SlurmTargetSchema, type ComputeTargetSpec } from '../api/sweep.ts';
import type { StartJob, WorkerMessage } from '../jobs/protocol.ts';
import type { RemoteTarget } from '../jobs/scheduler.ts';
import type { WorkerProcess } from '../jobs/worker-host.ts';
import {
  getClusterJob,
  insertClusterJob,
  updateClusterJob,
  type ClusterJobRow,
} from '../store/cluster-jobs.ts';
import type { JobRow, Store } from '../store/store.ts';
import { readReports, reportLog, startFile, type JobFolderStart } from './job-folder.ts';
import * as slurm from './slurm.ts';

const BIN = fileURLToPath(new URL('../../bin/ticketlab.mjs', import.meta.url));
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface SlurmTargetOptions {
  store: Store;
  emit: (event: ApiEvent) => void;
  /** how often Slurm's states and the jobs' report logs are read */
  pollMs?: number;
}

/**
 * Whether Slurm says the job ended (or no longer knows it). Where Slurm cannot be asked now
 * it is taken to run on: following a job that ended costs a few polls, submitting one that
 * runs would train it twice.
 */
function endedThere(clusterJobId: string): boolean {
  try {
    return slurm.hasEnded(
      slurm.queryStates([clusterJobId]).get(clusterJobId)?.state ?? 'COMPLETED',
    );
  } catch {
    return false;
  }
}

function logSize(folder: string): number {
  try {
    return statSync(reportLog(folder)).size;
  } catch {
    return 0;
  }
}

/**
 * Slurm as a compute target (the scheduler's RemoteTarget): a job queued here is submitted
 * with sbatch (jobs started together with the same target as one job array), its worker's
 * report log is ingested as it grows, each report in the same transaction as the log
 * offset that passes it (exactly once, also when the host restarts and attaches again),
 * and its Slurm state is shown on the job. Pause and cancel are scancel: the worker
 * checkpoints on the SIGTERM, and the job ends paused or cancelled once Slurm says it ended.
 */
export class SlurmTarget implements RemoteTarget {
  /** measured work of this host for its cluster jobs (npm run bench:cluster reads it) */
  readonly stats = { submitted: 0, submitMs: 0, reports: 0, tickets: 0, ingestMs: 0 };
  private readonly attached = new Map<string, SlurmJobProcess>();
  private readonly unsubmitted: SlurmJobProcess[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly options: SlurmTargetOptions) {}

  get store() {
    return this.options.store;
  }

  assign(job: JobRow, target: ComputeTargetSpec) {
    insertClusterJob(this.store, job.id, JSON.stringify(target), join('cluster', job.id));
  }

  runs(jobId: string): boolean {
    return getClusterJob(this.store, jobId) !== undefined;
  }

  stopDetached(jobId: string) {
    const row = getClusterJob(this.store, jobId);
    if (!row?.clusterJobId) return;
    const state = slurm.queryStates([row.clusterJobId]).get(row.clusterJobId);
    if (state && !slurm.hasEnded(state.state)) slurm.cancel(row.clusterJobId);
  }

  start(start: StartJob): WorkerProcess {
    const row = getClusterJob(this.store, start.jobId)!;
    const folder = join(this.store.dataDir, row.folder);
    const process = new SlurmJobProcess(this, start, folder);
    this.attached.set(start.jobId, process);
    // Still queued or running there from before (this host restarted): follow it.
    const known =
      row.clusterJobId && (logSize(folder) > row.ingestedBytes || !endedThere(row.clusterJobId));
    if (known) {
      this.log(start.jobId, 'info', `Following Slurm job ${row.clusterJobId} again.`);
    } else {
      this.unsubmitted.push(process);
      // Jobs started in the same turn go together, as one job array where they can.
      if (this.unsubmitted.length === 1) setImmediate(() => this.submitPending());
    }
    this.timer ??= setInterval(() => this.poll(), this.options.pollMs ?? 1000);
    return process;
  }

  close() {
    for (const p of this.attached.values()) p.kill();
    this.unsubmitted.length = 0;
  }

  /** Stores a job's Slurm id, state and reason, and announces them (the monitor follows). */
  recordState(
    jobId: string,
    fields: Pick<ClusterJobRow, 'clusterState' | 'clusterReason'> &
      Partial<Pick<ClusterJobRow, 'clusterJobId' | 'submittedAt'>>,
  ) {
    updateClusterJob(this.store, jobId, fields);
    const row = getClusterJob(this.store, jobId)!;
    const job = this.store.getJob(jobId)!;
    this.options.emit({
      type: 'job.cluster',
      jobId,
      experimentId: job.experimentId,
      clusterJobId: row.clusterJobId,
      state: row.clusterState,
      reason: row.clusterReason,
    });
  }

  log(jobId: string | null, level: 'info' | 'warn' | 'error', message: string) {
    this.options.emit({ type: 'log', jobId, level, message });
  }

  detach(jobId: string) {
    this.attached.delete(jobId);
    if (this.attached.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private submitPending() {
    const groups = new Map<string, SlurmJobProcess[]>();
    for (const p of this.unsubmitted.splice(0)) {
      if (p.closed) continue;
      const key = getClusterJob(this.store, p.jobId)!.targetJson;
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    for (const [targetJson, processes] of groups) {
      const target = SlurmTargetSchema.parse(JSON.parse(targetJson));
      for (const p of processes) p.writeStart();
      const folders = processes.map((p) => p.folder);
      const cluster = join(this.store.dataDir, 'cluster');
      const script = slurm.batchScript({
        target,
        name: processes.length > 1 ? 'ticketlab-sweep' : `ticketlab-${processes[0]!.jobId}`,
        output:
          processes.length > 1
            ? join(cluster, 'slurm-%A_%a.out')
            : join(folders[0]!, 'slurm-%j.out'),
        workerCommand: target.command ?? `${quote(process.execPath)} ${quote(BIN)}`,
        folders,
      });
      try {
        const t0 = performance.now();
        const id = slurm.submit(script);
        this.stats.submitMs += performance.now() - t0;
        this.stats.submitted += processes.length;
        const at = new Date().toISOString();
        processes.forEach((p, i) => {
          const clusterJobId = processes.length > 1 ? `${id}_${i}` : id;
          this.recordState(p.jobId, {
            clusterJobId,
            clusterState: 'PENDING',
            clusterReason: null,
            submittedAt: at,
          });
          this.log(p.jobId, 'info', `Submitted to Slurm as job ${clusterJobId}.`);
        });
      } catch (e) {
        for (const p of processes) p.failSubmission((e as Error).message);
      }
    }
  }

  private poll() {
    const rows = [...this.attached.values()].map((p) => p.row());
    const ids = rows.flatMap((r) => (r?.clusterJobId ? [r.clusterJobId] : []));
    let states: Map<string, slurm.SlurmJobState>;
    try {
      states = slurm.queryStates(ids);
    } catch (e) {
      this.log(null, 'warn', (e as Error).message);
      return;
    }
    for (const p of [...this.attached.values()]) p.tick(states);
  }
}

/** One Slurm job as the scheduler sees a worker: reports in, pause and cancel out. */
class SlurmJobProcess implements WorkerProcess {
  readonly pid = undefined;
  readonly jobId: string;
  private listener: (m: WorkerMessage) => void = () => {};
  private exitListener: (code: number | null, signal: string | null) => void = () => {};
  /** what the host asked for (scancel sent), which says how an ended job ends */
  private requested: 'paused' | 'cancelled' | null = null;
  /** consecutive polls that found the job ended (one may catch Slurm mid-requeue) */
  private endedPolls = 0;
  /** its end is stored: only its Slurm state is followed, until Slurm says it ended */
  private finished = false;
  closed = false;

  constructor(
    private readonly target: SlurmTarget,
    private readonly start: StartJob,
    readonly folder: string,
  ) {
    this.jobId = start.jobId;
  }

  row(): ClusterJobRow | undefined {
    return getClusterJob(this.target.store, this.jobId);
  }

  writeStart() {
    mkdirSync(this.folder, { recursive: true });
    const content: JobFolderStart = {
      start: this.start,
      blobs: this.target.store.blobs.root,
      logOffset: logSize(this.folder),
    };
    updateClusterJob(this.target.store, this.jobId, { ingestedBytes: content.logOffset });
    // Replaced whole: a worker reading it never sees half of it.
    writeFileSync(`${startFile(this.folder)}.tmp`, JSON.stringify(content));
    renameSync(`${startFile(this.folder)}.tmp`, startFile(this.folder));
  }

  failSubmission(message: string) {
    this.deliverEnd({
      type: 'finished',
      jobId: this.jobId,
      outcome: 'failed',
      error: { code: 'INVALID_INPUT', message },
    });
  }

  send(m: { type: string }) {
    if (m.type !== 'pause' && m.type !== 'cancel') return;
    this.requested = m.type === 'pause' ? 'paused' : 'cancelled';
    const id = this.row()?.clusterJobId;
    if (id) slurm.cancel(id);
    else {
      // Not submitted yet: it never will be.
      this.closed = true;
      this.deliverEnd({ type: 'finished', jobId: this.jobId, outcome: this.requested });
    }
  }

  onMessage(listener: (m: WorkerMessage) => void) {
    this.listener = listener;
  }

  onExit(listener: (code: number | null, signal: string | null) => void) {
    this.exitListener = listener;
  }

  /** The host is closing: stop following the job (it runs on; the next host attaches). */
  kill() {
    this.closed = true;
    this.target.detach(this.jobId);
  }

  /** Stores the reports the log gained since the last ingest; true if one was 'finished'. */
  private ingest(): boolean {
    const row = this.row();
    if (!row) return false;
    const store = this.target.store;
    const stats = this.target.stats;
    const t0 = performance.now();
    try {
      for (const { message, end } of readReports(this.folder, row.ingestedBytes)) {
        store.transaction(() => {
          this.listener(message);
          updateClusterJob(store, this.jobId, { ingestedBytes: end });
        });
        stats.reports++;
        if (message.type === 'ticket') stats.tickets++;
        if (message.type === 'finished') return true;
      }
      return false;
    } finally {
      stats.ingestMs += performance.now() - t0;
    }
  }

  private deliverEnd(m: WorkerMessage) {
    this.closed = true;
    this.target.detach(this.jobId);
    this.listener(m);
  }

  tick(states: Map<string, slurm.SlurmJobState>) {
    if (this.closed) return;
    const row = this.row();
    if (!row?.clusterJobId) return;
    // The state first, then the log: a job seen ended has written all it will.
    const seen = states.get(row.clusterJobId) ?? {
      state: 'UNKNOWN',
      reason: 'no longer known to Slurm',
    };
    if (seen.state !== row.clusterState || seen.reason !== row.clusterReason) {
      this.target.recordState(this.jobId, {
        clusterState: seen.state,
        clusterReason: seen.reason,
      });
      if (seen.state !== 'RUNNING')
        this.target.store.updateJob(this.jobId, {
          phase: `Slurm ${seen.state}${seen.reason ? ` (${seen.reason})` : ''}`,
        });
    }
    const ended = seen.state === 'UNKNOWN' || slurm.hasEnded(seen.state);
    this.endedPolls = ended ? this.endedPolls + 1 : 0;
    if (!this.finished) this.finished = this.ingest();
    if (this.endedPolls < 2) return;
    if (this.finished) {
      this.closed = true;
      this.target.detach(this.jobId);
      return;
    }
    if (this.requested) {
      this.deliverEnd({ type: 'finished', jobId: this.jobId, outcome: this.requested });
      return;
    }
    this.closed = true;
    this.target.detach(this.jobId);
    this.exitListener(
      null,
      `Slurm job ${row.clusterJobId} ${seen.state}${seen.reason ? `: ${seen.reason}` : ''}`,
    );
  }
}
