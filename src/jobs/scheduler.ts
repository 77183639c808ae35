import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ApiEvent, JobProgressEvent } from '../api/events.ts';
import { consecutiveShares, FORWARD_SHARE, runShares } from '../api/methods.ts';
import { replicateSeed, resolveSpec, type ResolvedSpec } from '../api/spec.ts';
import type { ComputeTargetSpec } from '../api/sweep.ts';
import { isTicketLabError, TicketLabError } from '../core/errors.ts';
import { runKey } from '../core/run-key.ts';
import { durationToIterations } from '../core/duration.ts';
import { specIterationsPerEpoch, splitCounts } from '../core/split-counts.ts';
import type { JobKind, TicketMethod } from '../core/vocabulary.ts';
import { buildArchitecture } from '../engine/architectures.ts';
import { workerThreads } from '../engine/native-blas.ts';
import { linePointExamples } from '../pruning/line-examples.ts';
import { diskFullError, isDiskFull } from '../store/disk.ts';
import { HostLock } from '../store/host-lock.ts';
import { setInstabilityCopy, setInstabilityCurve } from '../store/instability.ts';
import type { DatasetRow, JobRow, Store } from '../store/store.ts';
import { denseTrainingElsewhere, reuseTrainedDense } from './dense-reuse.ts';
import { instabilityRef } from './kinds/instability-host.ts';
import {
  instabilityLineStep,
  instabilityStep,
  type InstabilityRef,
  type ResumeRef,
  type RunRef,
  type StartJob,
  type StepRef,
  type TransferRef,
  type WorkerMessage,
} from './protocol.ts';
import { forkWorker, type WorkerFactory, type WorkerProcess } from './worker-host.ts';

export interface SchedulerOptions {
  store: Store;
  emit: (event: ApiEvent) => void;
  workerFactory?: WorkerFactory;
  /** compute jobs at a time (each in its own worker process) */
  concurrency?: number;
  /**
   * Only for jobs claimed before owner locks existed (migration 0005) by a host on another
   * machine, whose process cannot be checked: such a job whose heartbeat is older than this
   * is considered dead. Every other job belongs to its owner exactly while its lock is held.
   */
  staleMs?: number;
  /** starts of one job after which a crashing job is failed instead of resumed */
  maxAttempts?: number;
  /** where jobs with a cluster target run (they take no local worker slot) */
  remote?: RemoteTarget;
  /**
   * true for a long-lived host (browser mode, desktop app): runs every queued job and
   * requeues recovered ones. false for the CLI: runs only the jobs it was asked to.
   */
  runAll?: boolean;
}

/**
 * A compute target other than this host's worker pool (a Slurm cluster): the seam between
 * the scheduler and src/cluster. The scheduler queues, claims and stores as for a local job;
 * the target runs the job elsewhere and delivers its worker's reports through the same
 * WorkerProcess interface (send: pause and cancel; onExit: its job ended without a
 * 'finished' report).
 */
export interface RemoteTarget {
  /** records, when a job is first queued, that it runs on this target */
  assign(job: JobRow, target: ComputeTargetSpec): void;
  /** whether the job runs on this target */
  runs(jobId: string): boolean;
  /** submits the job, or attaches to it where it is still running from before */
  start(job: StartJob): WorkerProcess;
  /** stops the job where it may still run unattended (its host died), e.g. on cancel */
  stopDetached(jobId: string): void;
  /** stops following its jobs (they run on; the next host attaches to them) */
  close(): void;
}

const HEARTBEAT_MS = 2000;
const TERMINAL: JobRow['state'][] = ['done', 'failed', 'cancelled'];
/** The experiment's note when its job is paused or cancelled. */
const STOPPED_NOTES = {
  paused: 'Paused.',
  cancelled: 'Stopped by the user; finished levels are kept.',
} as const;

interface Slot {
  worker: WorkerProcess | null;
  ready: boolean;
  backend: { name: string; device: string } | null;
  jobId: string | null;
  pending: StartJob | null;
  /** a slot of the remote target: one per job, made when it starts and dropped when it ends */
  remote: boolean;
  /** the kernel threads its worker was last given (null: none started, or a remote slot) */
  threads: number | null;
}

/**
 * The backend stored with a run: its name, and for a GPU also the adapter and driver that
 * computed it (results may differ across GPUs and drivers).
 */
function storedBackend(b: { name: string; device: string } | null): string {
  if (!b) return 'unknown';
  return b.name === 'webgpu' || b.name === 'tensorflow-gpu' ? `${b.name}: ${b.device}` : b.name;
}

/** The phase a job shows while its compute worker loads the backend. */
export const WARMING_UP = 'warming up the compute backend';

/** What the host tracks of a running job between the worker's messages. */
interface Live {
  runId: string | null;
  ticketId: string | null;
  /**
   * each run's place in the job by its run key, from the spec: the progress when it starts,
   * its share and the iteration it starts from. The host works it out itself, so that a host
   * that attaches to a job running on a cluster shows the same progress as the one that
   * started it.
   */
  shares: Map<string, { before: number; share: number; start: number }>;
  startedAt: number;
  progressAtStart: number;
  lastWrite: number;
  /**
   * The last progress event sent. The worker reports an evaluated step's progress just
   * before its evaluation (src/jobs/execute.ts), so the evaluation is sent as a copy of it
   * that carries the test accuracy.
   */
  lastProgress: JobProgressEvent | null;
  /**
   * Set when a report of the worker could not be stored (a full disk above all): later
   * reports are dropped, since storing them would skip past the lost one, and the job ends
   * in this state once the worker has stopped.
   */
  halted: { state: 'paused' | 'failed'; message: string } | null;
}

/**
 * A job's progress with `run` `done` (0–1) of the way: the run's planned share of the job;
 * null for a run the plan does not know (none should be), whose report leaves it as it was.
 */
function jobProgress(live: Live, run: StepRef, done: number): number | null {
  const place = live.shares.get(runKey(run));
  return place ? place.before + place.share * done : null;
}

/**
 * Each run's place in a job: an experiment's runs by planned iterations (runShares). An
 * analysis's copies count their iterations from their rewind point, and its line as many
 * iterations' worth as its points' forward passes cost (the test set, and a batch-norm
 * model's recompute batches).
 */
function jobShares(
  spec: ResolvedSpec,
  dataset: DatasetRow,
  instability: InstabilityRef | null,
): Live['shares'] {
  const perEpoch = specIterationsPerEpoch(spec, dataset.trainCount, dataset.name);
  if (instability) {
    const end = durationToIterations(spec.training.duration, perEpoch);
    const pointExamples = linePointExamples(
      buildArchitecture(spec.model, dataset.inputShape, dataset.classNames.length),
      {
        train: splitCounts(dataset.trainCount, spec.validationFraction, dataset.name).train,
        test: dataset.testCount,
      },
      spec.training.batchSize,
    );
    const lineIterations =
      (instability.points * pointExamples * FORWARD_SHARE) / spec.training.batchSize;
    const steps = instability.rewinds.flatMap((point) => [
      ...([0, 1] as const).map((copy) => ({
        step: instabilityStep(point.id, copy),
        start: point.rewindIteration,
        iterations: Math.max(1, end - point.rewindIteration),
      })),
      { step: instabilityLineStep(point.id), start: 0, iterations: lineIterations },
    ]);
    const shares = consecutiveShares(steps.map((s) => s.iterations));
    return new Map(steps.map(({ step, start }, i) => [runKey(step), { ...shares[i]!, start }]));
  }
  return new Map(
    runShares(spec, perEpoch).map((r) => [
      runKey(r),
      { before: r.before, share: r.share, start: r.start },
    ]),
  );
}

/** States a job can be resumed from. */
export const RESUMABLE: JobRow['state'][] = ['paused', 'interrupted', 'cancelled', 'failed'];

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The job scheduler in the hosting process: keeps the queue in SQLite, runs jobs in
 * long-lived compute workers, and is the only writer of what they report. A worker that
 * dies marks its job interrupted and is replaced; the job resumes from its last
 * checkpoint. A host holds a lock (HostLock) for as long as it lives and records it on the
 * jobs it claims: a job whose owner's lock is free was left by a host that died, and may be
 * taken over; one whose lock is held is never touched, however old its heartbeat (a stopped
 * or busy host is not a dead one). A full disk pauses the job instead of crashing the host.
 */
export class Scheduler {
  readonly owner = `${hostname()}:${process.pid}`;
  private readonly slots: Slot[];
  private readonly live = new Map<string, Live>();
  private readonly waiters = new Map<string, ((job: JobRow) => void)[]>();
  /** jobs this host was asked to run (all queued jobs when runAll) */
  private readonly mine = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly store: Store;
  private readonly factory: WorkerFactory;
  /** taken when this host first claims a job, released on close */
  private lock: HostLock | null = null;
  private closed = false;
  /** set when close() starts: no job starts after it */
  private closing = false;

  constructor(private readonly options: SchedulerOptions) {
    this.store = options.store;
    this.factory = options.workerFactory ?? forkWorker;
    this.slots = Array.from({ length: options.concurrency ?? 1 }, () => ({
      worker: null,
      ready: false,
      backend: null,
      jobId: null,
      pending: null,
      remote: false,
      threads: null,
    }));
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Process ids of the live compute workers (for the app's process metrics, and tests). */
  workerPids(): number[] {
    return this.slots.flatMap((s) => (s.worker?.pid !== undefined ? [s.worker.pid] : []));
  }

  /** The backend the first worker reported, once one has started. */
  get backend(): { name: string; device: string } | null {
    return this.slots.find((s) => s.backend)?.backend ?? null;
  }

  private emit(e: ApiEvent) {
    this.options.emit(e);
  }

  private setState(job: JobRow, state: JobRow['state'], error: string | null = null) {
    this.store.updateJob(job.id, { state, error });
    this.emit({ type: 'job.state', jobId: job.id, experimentId: job.experimentId, state, error });
    const updated = this.store.getJob(job.id)!;
    if (TERMINAL.includes(state) || state === 'paused') {
      for (const resolve of this.waiters.get(job.id) ?? []) resolve(updated);
      this.waiters.delete(job.id);
    }
  }

  /**
   * An experiment's status follows its training job only: an analysis of its tickets
   * (another job kind) leaves it as it is.
   */
  private experimentStatus(
    job: JobRow,
    status: Parameters<Store['setExperimentStatus']>[1],
    note: string | null = null,
  ) {
    if (job.kind === 'imp') this.store.setExperimentStatus(job.experimentId, status, note);
  }

  /**
   * Records a job's end state (and its experiment's). When even that write finds the disk
   * full, the state is announced and waiters are told anyway: the row stays 'running' under
   * this host's lock with no worker on it, which `resume` takes over (here, or anywhere once
   * this process has ended).
   */
  private settle(job: JobRow, state: 'paused' | 'failed', error: string) {
    try {
      this.experimentStatus(job, state, error);
      this.setState(job, state, error);
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      this.emit({ type: 'job.state', jobId: job.id, experimentId: job.experimentId, state, error });
      for (const resolve of this.waiters.get(job.id) ?? []) resolve({ ...job, state, error });
      this.waiters.delete(job.id);
    }
  }

  private runningHere(id: string): boolean {
    return this.slots.some((s) => s.jobId === id);
  }

  /**
   * The live process that holds a running job (its owner's name), or null when none does
   * and the job may be taken over. Decided by the owner's lock, never by the heartbeat.
   */
  private holder(job: JobRow): string | null {
    if (job.state !== 'running') return null;
    if (this.runningHere(job.id)) return this.owner;
    if (job.ownerLock) {
      // This host's own lock with no worker on the job: it stopped it (a full disk).
      if (job.ownerLock === this.lock?.name) return null;
      return HostLock.isHeld(this.store.dataDir, job.ownerLock)
        ? (job.owner ?? 'another process')
        : null;
    }
    // Claimed before owner locks existed (migration 0005): a process on this machine can
    // still be checked; one on another machine only by its heartbeat.
    const [host, pid] = (job.owner ?? ':').split(':');
    if (host === hostname()) return pid && processAlive(Number(pid)) ? job.owner : null;
    const staleMs = this.options.staleMs ?? 30_000;
    const stale = !job.heartbeatAt || Date.now() - Date.parse(job.heartbeatAt) > staleMs;
    return stale ? null : job.owner;
  }

  /**
   * Whether a job is marked running but no live process holds it (its host died): it stays
   * so until a host runs it again (`resume`, or a long-lived host's start). Only looks.
   */
  isOrphaned(id: string): boolean {
    const job = this.store.getJob(id);
    return job !== undefined && job.state === 'running' && this.holder(job) === null;
  }

  private runningElsewhere(job: JobRow, holder: string): TicketLabError {
    return new TicketLabError(
      'JOB_RUNNING_ELSEWHERE',
      `Job ${job.id} (experiment ${job.experimentId}) is running in another live process (${holder}), which holds its lock${job.ownerLock ? ` ${join(this.store.dataDir, 'locks', job.ownerLock)}` : ''}; starting it here too would train it twice. Pause it there (Ctrl-C, or pause in the app) or end that process, then resume.`,
    );
  }

  /**
   * For pause and cancel, which act through the worker running the job: a job another live
   * process runs is refused (this host cannot reach its worker), and one whose owner died is
   * taken over first (it is interrupted, with its checkpoint).
   */
  private takeOverIfOrphaned(job: JobRow): JobRow {
    if (job.state !== 'running' || this.runningHere(job.id)) return job;
    const holder = this.holder(job);
    if (holder !== null) throw this.runningElsewhere(job, holder);
    this.takeOver(job, 'Its host stopped while this job was running.');
    return this.job(job.id);
  }

  /**
   * Finds jobs left running by a host that is gone (its lock is free), marks them
   * interrupted and, where auto-resume is on, queues them again. Only hosts that run jobs
   * call this: looking at the queue never changes it.
   */
  recover({ requeue = this.options.runAll ?? false } = {}): JobRow[] {
    const recovered: JobRow[] = [];
    for (const job of this.store.listJobs(['running'])) {
      if (this.holder(job) !== null) continue;
      const why = 'The app stopped while this job was running.';
      // Another host recovering at the same moment may win: then this one leaves it.
      if (!this.takeOver(job, why)) continue;
      if (requeue && job.autoResume) this.setState(job, 'queued');
      recovered.push(this.store.getJob(job.id)!);
    }
    this.pump();
    return recovered;
  }

  /** Marks a running job whose owner is gone interrupted, unless someone else just did. */
  private takeOver(job: JobRow, why: string): boolean {
    const taken = this.store.transitionJob(
      job.id,
      { states: ['running'], ownerLock: job.ownerLock },
      'interrupted',
      why,
    );
    if (!taken) return false;
    this.emit({
      type: 'job.state',
      jobId: job.id,
      experimentId: job.experimentId,
      state: 'interrupted',
      error: why,
    });
    this.experimentStatus(job, 'interrupted');
    return true;
  }

  /**
   * Queues a job for the experiment, or returns the one it already has. `target` sends a
   * new job to a cluster (a job already queued keeps the target it has).
   */
  enqueue(
    experimentId: string,
    { autoResume = true, target }: { autoResume?: boolean; target?: ComputeTargetSpec } = {},
  ): JobRow {
    const existing = this.store.activeJobOf(experimentId);
    if (existing) {
      if (existing.state === 'running') {
        if (this.runningHere(existing.id)) return existing;
        const holder = this.holder(existing);
        if (holder !== null) throw this.runningElsewhere(existing, holder);
        return this.resume(existing.id);
      }
      if (existing.state === 'paused' || existing.state === 'interrupted')
        return this.resume(existing.id);
      // Queued: this host runs it unless another claims it first (claims are atomic).
      this.mine.add(existing.id);
      this.pump();
      return this.store.getJob(existing.id)!;
    }
    return this.queueNew(experimentId, 'imp', { autoResume, target });
  }

  /** Stores a new job (on `target` where it is a cluster) and queues it here. */
  private queueNew(
    experimentId: string,
    kind: JobKind,
    o: { autoResume?: boolean; target?: ComputeTargetSpec; prepare?: (job: JobRow) => void },
  ): JobRow {
    const job = this.store.transaction(() => {
      const inserted = this.store.insertJob(experimentId, kind, o.autoResume);
      o.prepare?.(inserted);
      if (o.target && o.target.kind !== 'local') {
        if (!this.options.remote)
          throw new TicketLabError(
            'INVALID_INPUT',
            `This host has no ${o.target.kind} target; run the job locally or from a host that has one.`,
          );
        this.options.remote.assign(inserted, o.target);
      }
      return inserted;
    });
    this.mine.add(job.id);
    this.emit({ type: 'job.state', jobId: job.id, experimentId, state: 'queued', error: null });
    this.pump();
    return job;
  }

  /**
   * Queues a job of another kind than training (an analysis of the experiment's tickets);
   * `prepare` records what it will do, in the same transaction, before it can start.
   */
  enqueueAnalysis(
    experimentId: string,
    kind: JobKind,
    prepare: (job: JobRow) => void,
    target?: ComputeTargetSpec,
  ): JobRow {
    return this.queueNew(experimentId, kind, { prepare, target });
  }

  list(): JobRow[] {
    return this.store.listJobs();
  }

  private job(id: string): JobRow {
    const job = this.store.getJob(id);
    if (!job) throw new TicketLabError('NOT_FOUND', `No job ${id}; \`ticketlab jobs\` lists them.`);
    return job;
  }

  /** Pauses at the next step boundary, keeping a checkpoint; a queued job just waits. */
  pause(id: string): JobRow {
    const job = this.takeOverIfOrphaned(this.job(id));
    if (job.state === 'interrupted') {
      // A cluster job whose host died may still run there, unattended: it stops with a checkpoint.
      if (this.options.remote?.runs(id)) this.options.remote.stopDetached(id);
      this.setState(job, 'paused');
      this.experimentStatus(job, 'paused', STOPPED_NOTES.paused);
    } else if (job.state === 'running') {
      if (!this.stopWhileWarmingUp(job, 'paused'))
        this.slots.find((s) => s.jobId === id)?.worker?.send({ type: 'pause', jobId: id });
    } else if (job.state === 'queued') {
      this.setState(job, 'paused');
    } else {
      throw new TicketLabError(
        'INVALID_SPEC',
        `Job ${id} is ${job.state}; only a queued, running or interrupted job can be paused.`,
      );
    }
    return this.store.getJob(id)!;
  }

  /**
   * Queues a stopped job again. A job still marked running is resumed only when no live
   * process holds it (its host died, or this host stopped it for a full disk); one that a
   * live process runs is refused with JOB_RUNNING_ELSEWHERE.
   */
  resume(id: string): JobRow {
    try {
      let job = this.job(id);
      job = this.takeOverIfOrphaned(job);
      if (
        !RESUMABLE.includes(job.state) ||
        !this.store.transitionJob(id, { states: [job.state] }, 'queued')
      ) {
        throw new TicketLabError(
          'INVALID_SPEC',
          `Job ${id} is ${this.job(id).state}; only a paused, interrupted, cancelled or failed job can be resumed.`,
        );
      }
      this.emit({
        type: 'job.state',
        jobId: id,
        experimentId: job.experimentId,
        state: 'queued',
        error: null,
      });
      this.mine.add(id);
      this.pump();
      return this.store.getJob(id)!;
    } catch (e) {
      if (isDiskFull(e) && !isTicketLabError(e)) throw diskFullError(this.store.dataDir);
      throw e;
    }
  }

  /** Stops a job and keeps every finished level; the run in flight is dropped. */
  cancel(id: string): JobRow {
    const job = this.takeOverIfOrphaned(this.job(id));
    if (job.state === 'running') {
      if (!this.stopWhileWarmingUp(job, 'cancelled'))
        this.slots.find((s) => s.jobId === id)?.worker?.send({ type: 'cancel', jobId: id });
    } else if (!TERMINAL.includes(job.state)) {
      // A cluster job whose host died may still run there, unattended.
      if (this.options.remote?.runs(id)) this.options.remote.stopDetached(id);
      this.dropCheckpoint(job);
      this.setState(job, 'cancelled');
      this.experimentStatus(job, 'cancelled', STOPPED_NOTES.cancelled);
    }
    return this.store.getJob(id)!;
  }

  /**
   * Stops a job that waits for its worker to load the backend: it has not started there, and
   * the worker would not hear a pause or cancel until loaded (it would then start the job
   * anyway). So the host ends it itself, as the worker's 'finished' would; false where the
   * job is not waiting so.
   */
  private stopWhileWarmingUp(job: JobRow, outcome: 'paused' | 'cancelled'): boolean {
    const slot = this.slots.find((s) => s.pending?.jobId === job.id);
    if (!slot) return false;
    slot.pending = null;
    slot.jobId = null;
    this.live.delete(job.id);
    this.store.updateJob(job.id, { phase: null });
    this.end(job, outcome);
    return true;
  }

  /**
   * Ends a job as its worker reported (or, for one stopped while warming up, as it would
   * have): a cancelled job's checkpoint goes, the experiment and the job take the outcome,
   * and the next queued job may start.
   */
  private end(
    job: JobRow,
    outcome: 'done' | 'paused' | 'cancelled' | 'failed',
    error?: { code: string; message: string },
  ) {
    if (outcome === 'cancelled') this.dropCheckpoint(this.store.getJob(job.id)!);
    const note = { done: null, ...STOPPED_NOTES, failed: error?.message ?? 'failed' }[outcome];
    this.experimentStatus(job, outcome, note);
    if (outcome === 'done') this.store.updateJob(job.id, { progress: 1 });
    this.setState(job, outcome, outcome === 'failed' ? `${error?.code}: ${error?.message}` : null);
    this.pump();
  }

  /** Resolves when the job is done, failed, cancelled or paused. */
  wait(id: string): Promise<JobRow> {
    const job = this.job(id);
    if (TERMINAL.includes(job.state) || job.state === 'paused') return Promise.resolve(job);
    return new Promise((resolve) =>
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]),
    );
  }

  /**
   * Stops every worker. With `pauseRunning`, running jobs are paused first (checkpoint
   * written) so that quitting loses nothing. Closing again does nothing.
   */
  async close({ pauseRunning = true } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (pauseRunning) {
      // Cluster jobs run on without this host: the next host attaches to them again.
      const running = this.slots.filter((s) => s.jobId && !s.remote).map((s) => s.jobId!);
      for (const id of running) this.pause(id);
      await Promise.all(running.map((id) => this.wait(id)));
    }
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const slot of this.slots) {
      slot.worker?.kill();
      slot.worker = null;
    }
    this.options.remote?.close();
    this.lock?.release();
  }

  /** The heartbeat only shows the monitor that a host is alive; ownership is the lock's. */
  private beat() {
    const at = new Date().toISOString();
    try {
      for (const slot of this.slots)
        if (slot.jobId) this.store.updateJob(slot.jobId, { heartbeatAt: at });
    } catch (e) {
      // A full disk is reported by the job's next write; a timer must not crash the host.
      if (!isDiskFull(e)) throw e;
    }
  }

  private pump() {
    if (this.closing) return;
    for (const next of this.store.listJobs(['queued'])) {
      if (!this.options.runAll && !this.mine.has(next.id)) continue;
      const remote = this.options.remote?.runs(next.id) ?? false;
      // A cluster job takes a slot of its own; a local one waits for a free worker.
      const free = remote ? null : this.slots.find((s) => !s.remote && !s.jobId && !s.pending);
      if (!remote && !free) continue;
      // asked only of a job that could start now: it reads the running experiments' specs
      if (this.waitsForDense(next)) continue;
      const slot = free ?? this.remoteSlot();
      try {
        this.lock ??= HostLock.acquire(this.store.dataDir);
        // Another host on the same data folder may take it first.
        if (!this.store.claimJob(next.id, this.owner, this.lock.name, next.attempt + 1)) {
          this.release(slot);
          continue;
        }
        this.dispatch(slot, this.store.getJob(next.id)!);
        // A job that could not start (its dataset gone) leaves no remote slot behind.
        if (!slot.jobId) this.release(slot);
      } catch (e) {
        if (!isDiskFull(e)) throw e;
        // Starting it needs writes the disk cannot take: stop here, saying why.
        slot.jobId = null;
        this.release(slot);
        this.live.delete(next.id);
        this.settle(next, 'paused', diskFullError(this.store.dataDir).message);
        break;
      }
    }
    this.shareCores();
  }

  /**
   * An experiment job whose dense network another running job is training right now waits
   * for it, to copy it rather than train it a second time (dense-reuse.ts).
   */
  private waitsForDense(job: JobRow): boolean {
    if (job.kind !== 'imp' || this.live.size === 0) return false;
    const running = [...this.live.keys()].flatMap((id) => {
      const experimentId = this.store.getJob(id)?.experimentId;
      const experiment = experimentId ? this.store.getExperiment(experimentId) : undefined;
      return experiment ? [experiment] : [];
    });
    return denseTrainingElsewhere(this.store, this.store.getExperiment(job.experimentId)!, running);
  }

  private remoteSlot(): Slot {
    const slot: Slot = {
      worker: null,
      ready: true,
      backend: null,
      jobId: null,
      pending: null,
      remote: true,
      threads: null,
    };
    this.slots.push(slot);
    return slot;
  }

  /** Drops a remote slot whose job has ended (local slots stay for the next job). */
  private release(slot: Slot) {
    if (!slot.remote) return;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private resumeRef(experimentId: string, job: JobRow): ResumeRef {
    const tickets = this.store.listTickets(experimentId).filter((t) => t.trainedBlob);
    const completed = tickets.map(runKey);
    const lineage = tickets
      .filter((t) => t.method === 'dense' || t.method === 'imp')
      .sort((a, b) => b.level - a.level);
    const last = lineage[0];
    const dense = tickets.find((t) => t.method === 'dense');
    const [level, method] = (job.checkpointRun ?? '').split('/');
    return {
      completed,
      last: last
        ? {
            level: last.level,
            maskBlob: last.maskBlob!,
            trainedBlob: last.trainedBlob!,
            structure: last.structure,
          }
        : null,
      rewindBlob: dense ? (dense.rewindBlob ?? dense.initBlob) : null,
      inFlight:
        job.checkpointBlob && job.checkpointRun && !completed.includes(job.checkpointRun)
          ? {
              level: Number(level),
              method: method as TicketMethod,
              checkpointBlob: job.checkpointBlob,
            }
          : null,
    };
  }

  private transferRef(ticketId: string): TransferRef | null {
    const source = this.store.getTicket(ticketId);
    const dataset = source && this.store.getDataset(source.datasetId);
    if (!source || !dataset || !source.maskBlob || !source.initBlob) return null;
    return {
      ticketId,
      maskBlob: source.maskBlob,
      initBlob: source.initBlob,
      inputShape: dataset.inputShape,
      classes: dataset.classNames.length,
    };
  }

  private dispatch(slot: Slot, job: JobRow) {
    const experiment = this.store.getExperiment(job.experimentId)!;
    const spec = resolveSpec(JSON.parse(experiment.specJson));
    const dataset = this.store.getDataset(spec.dataset);
    if (!dataset) {
      this.setState(job, 'failed', `Dataset ${spec.dataset} is no longer in this data folder.`);
      return;
    }
    const kind = job.kind as JobKind;
    const instability = kind === 'instability' ? instabilityRef(this.store, job) : null;
    if (typeof instability === 'string') {
      this.setState(job, 'failed', instability);
      return;
    }
    const transfer =
      kind === 'imp' && spec.method === 'transfer' ? this.transferRef(spec.transfer.source!) : null;
    if (kind === 'imp' && spec.method === 'transfer' && !transfer) {
      const source = spec.transfer.source!;
      this.setState(job, 'failed', `Source ticket ${source} is no longer in this data folder.`);
      return;
    }
    if (kind === 'imp') {
      const donor = reuseTrainedDense(this.store, experiment);
      if (donor)
        this.emit({
          type: 'log',
          jobId: job.id,
          level: 'info',
          message: `Level 0: the dense network that experiment ${donor.experimentId} trained from the same θ0, data and training is reused, not trained again.`,
        });
    }
    let shares: Live['shares'];
    try {
      shares = jobShares(spec, dataset, instability);
    } catch (e) {
      // (checked when the experiment was created: the dataset's split leaves examples to train on)
      this.setState(job, 'failed', e instanceof Error ? e.message : String(e));
      return;
    }
    const start: StartJob = {
      type: 'start',
      jobId: job.id,
      spec,
      seed: replicateSeed(spec, experiment.replicate),
      dataset: {
        id: dataset.id,
        tensorsBlob: dataset.tensorsBlob,
        inputShape: dataset.inputShape,
        classNames: dataset.classNames,
        trainCount: dataset.trainCount,
        testCount: dataset.testCount,
      },
      resume: this.resumeRef(job.experimentId, job),
      transfer,
      kind,
      instability,
    };
    slot.jobId = job.id;
    this.experimentStatus(job, 'running');
    this.emit({
      type: 'job.state',
      jobId: job.id,
      experimentId: job.experimentId,
      state: 'running',
      error: null,
    });
    this.live.set(job.id, {
      runId: null,
      ticketId: null,
      shares,
      startedAt: Date.now(),
      progressAtStart: job.progress,
      lastWrite: 0,
      lastProgress: null,
      halted: null,
    });
    if (slot.remote) {
      this.attach(slot, this.options.remote!.start(start));
      return;
    }
    if (!slot.worker) this.startWorker(slot);
    if (slot.ready) slot.worker!.send(start);
    else {
      // Loading a backend can take minutes (a new GPU compiles its kernels on first use):
      // say so instead of showing a frozen 0%.
      slot.pending = start;
      this.store.updateJob(job.id, { phase: WARMING_UP });
    }
  }

  private startWorker(slot: Slot) {
    // its share if every slot were busy; shareCores gives it more once it is ready
    const threads = workerThreads(this.slots.filter((s) => !s.remote).length);
    const worker = this.factory({
      TICKETLAB_BLOBS: this.store.blobs.root,
      TICKETLAB_THREADS: process.env.TICKETLAB_THREADS ?? String(threads),
    });
    this.attach(slot, worker);
    slot.threads = threads;
  }

  /**
   * Divides this host's cores among the local jobs running now, so that a job left running
   * alone takes the cores the others freed (a campaign's last seed, the end of a queue), and
   * gives them back when another starts. A worker still loading its backend counts, and is
   * told once it is ready. TICKETLAB_THREADS, where set, fixes every worker's threads instead.
   */
  private shareCores() {
    if (this.closing || process.env.TICKETLAB_THREADS) return;
    const busy = this.slots.filter((s) => !s.remote && s.jobId);
    const count = workerThreads(busy.length);
    for (const slot of busy) {
      if (!slot.ready || !slot.worker || slot.threads === count) continue;
      slot.worker.send({ type: 'threads', count, jobs: busy.length });
      slot.threads = count;
    }
  }

  private attach(slot: Slot, worker: WorkerProcess) {
    slot.worker = worker;
    slot.ready = false;
    worker.onMessage((m) => this.handle(slot, m));
    worker.onExit((code, signal) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      slot.ready = false;
      const id = slot.jobId;
      slot.jobId = null;
      slot.pending = null;
      this.release(slot);
      if (id && !this.closed) {
        const job = this.store.getJob(id)!;
        const why = `The compute worker stopped unexpectedly (${signal ?? `exit code ${code}`}).`;
        const halted = this.live.get(id)?.halted;
        this.live.delete(id);
        this.emit({ type: 'log', jobId: id, level: 'error', message: why });
        try {
          if (halted) this.settle(job, halted.state, halted.message);
          else {
            this.setState(job, 'interrupted', why);
            this.experimentStatus(job, 'interrupted', why);
            if (job.autoResume && job.attempt < (this.options.maxAttempts ?? 3))
              this.setState(job, 'queued');
            else this.setState(job, 'failed', `${why} Gave up after ${job.attempt} attempts.`);
          }
        } catch (e) {
          if (!isDiskFull(e)) throw e;
          this.settle(job, 'paused', diskFullError(this.store.dataDir).message);
        }
      }
      this.pump();
    });
  }

  private dropCheckpoint(job: JobRow) {
    if (job.checkpointBlob) {
      this.store.updateJob(job.id, {
        checkpointBlob: null,
        checkpointRun: null,
        checkpointIteration: null,
      });
      this.store.deleteBlobIfUnused(job.checkpointBlob);
    }
  }

  /**
   * The ticket and run a report belongs to: those its run-start stored. A host that attached
   * to a cluster job mid-run (after a restart) never saw that run-start, which the host
   * before it stored: then they are the ones stored for the report's run.
   */
  private startedRun(job: JobRow, live: Live, run: RunRef): { ticketId: string; runId: string } {
    if (!live.ticketId || !live.runId) {
      const ticket = this.store.findTicket(job.experimentId, run.level, run.method);
      const started = ticket && this.store.runOfTicket(ticket.id);
      if (!ticket || !started)
        throw new Error(`a report of ${runKey(run)}, a run that was never started`);
      live.ticketId = ticket.id;
      live.runId = started.id;
    }
    return { ticketId: live.ticketId, runId: live.runId };
  }

  /**
   * Stores a worker's report. A write that fails (the database's disk full: SQLITE_FULL)
   * must not crash the host with the job half-recorded: the job is halted, its worker told
   * to stop, and it ends paused (a full disk) or failed (anything else), saying why.
   */
  private handle(slot: Slot, m: WorkerMessage) {
    try {
      this.onMessage(slot, m);
    } catch (e) {
      if (m.type === 'ready') throw e;
      const job = this.store.getJob(m.jobId);
      if (!job) throw e;
      const err = e as Error & { code?: string };
      const halted = isDiskFull(e)
        ? {
            state: 'paused' as const,
            message: diskFullError(
              String(err.code).startsWith('SQLITE') ? this.store.dataDir : this.store.blobs.root,
            ).message,
          }
        : {
            state: 'failed' as const,
            message: `${err.code ?? 'INTERNAL'}: storing the worker's report failed: ${err.message}`,
          };
      this.emit({ type: 'log', jobId: job.id, level: 'error', message: halted.message });
      const live = this.live.get(job.id);
      if (m.type === 'finished' || !live) {
        // The worker is done with it already: end it now.
        if (slot.jobId === job.id) {
          slot.jobId = null;
          this.release(slot);
        }
        this.live.delete(job.id);
        this.settle(job, halted.state, halted.message);
        this.pump();
        return;
      }
      if (live.halted) return;
      live.halted = halted;
      // Stop without a checkpoint: a later checkpoint would skip past the lost report.
      slot.worker?.send({ type: 'cancel', jobId: job.id });
    }
  }

  private onMessage(slot: Slot, m: WorkerMessage) {
    if (m.type === 'ready') {
      slot.ready = true;
      slot.backend = { name: m.backend, device: m.device };
      this.emit({
        type: 'log',
        jobId: slot.pending?.jobId ?? slot.jobId,
        level: 'info',
        message: `Compute worker ready: ${m.backend} — ${m.device}`,
      });
      if (slot.pending) slot.worker!.send(slot.pending);
      slot.pending = null;
      this.shareCores();
      return;
    }
    const job = this.store.getJob(m.jobId);
    const live = this.live.get(m.jobId);
    if (!job || !live) return;
    if (live.halted && m.type !== 'finished') return;
    switch (m.type) {
      case 'run-start': {
        this.store.transaction(() => {
          this.store.recordBlob(m.maskBlob, 'tensors');
          this.store.recordBlob(m.initBlob, 'tensors');
          let ticket = this.store.findTicket(job.experimentId, m.run.level, m.run.method);
          if (!ticket) {
            const experiment = this.store.getExperiment(job.experimentId)!;
            const parent = m.parent
              ? this.store.findTicket(job.experimentId, m.parent.level, m.parent.method)
              : undefined;
            ticket = this.store.insertTicket({
              experimentId: job.experimentId,
              parentId: parent?.id ?? null,
              method: m.run.method,
              level: m.run.level,
              datasetId: experiment.datasetId,
              architecture: experiment.model,
              remainingFraction: m.size.remainingFraction,
              remainingParams: m.size.remainingParams,
              totalParams: m.size.totalParams,
              flops: m.size.flops,
              layerRemaining: m.size.layers,
              maskBlob: m.maskBlob,
              initBlob: m.initBlob,
              rewindBlob: null,
              trainedBlob: null,
              sourceTicketId:
                m.run.method === 'transfer'
                  ? ((JSON.parse(experiment.specJson) as ResolvedSpec).transfer.source ?? null)
                  : null,
              structure: m.structure ?? null,
            });
          }
          const run =
            this.store.runOfTicket(ticket.id) ??
            this.store.startRun({
              ticketId: ticket.id,
              seed: m.seed,
              startIteration: m.startIteration,
              hyperparams: m.hyperparams,
              backend: storedBackend(slot.backend),
            });
          live.ticketId = ticket.id;
          live.runId = run.id;
        });
        this.store.updateJob(job.id, { phase: `level ${m.run.level} ${m.run.method}` });
        return;
      }
      case 'eval': {
        const p = m.point;
        const { runId } = this.startedRun(job, live, m.run);
        const step = live.lastProgress;
        if (
          step?.level === m.run.level &&
          step.method === m.run.method &&
          step.step === p.iteration
        )
          this.emit({ ...step, loss: null, accuracy: p.testAccuracy });
        this.store.insertMetrics([
          ...(p.trainLoss !== null
            ? [
                {
                  runId,
                  split: 'train' as const,
                  step: p.iteration,
                  epoch: p.epoch,
                  loss: p.trainLoss,
                  accuracy: null,
                },
              ]
            : []),
          {
            runId,
            split: 'val',
            step: p.iteration,
            epoch: p.epoch,
            loss: p.valLoss,
            accuracy: p.valAccuracy,
          },
          {
            runId,
            split: 'test',
            step: p.iteration,
            epoch: p.epoch,
            loss: p.testLoss,
            accuracy: p.testAccuracy,
          },
        ]);
        return;
      }
      case 'train-loss': {
        const { runId } = this.startedRun(job, live, m.run);
        const p = m.point;
        this.store.insertMetrics([
          {
            runId,
            split: 'train',
            step: p.iteration,
            epoch: p.epoch,
            loss: p.loss,
            accuracy: null,
          },
        ]);
        return;
      }
      case 'kernel-threads': {
        const { runId } = this.startedRun(job, live, m.run);
        this.store.noteKernelThreads(runId, m.fromIteration, m.threads);
        return;
      }
      case 'progress': {
        const start = live.shares.get(runKey(m.run))?.start ?? 0;
        const progress =
          jobProgress(live, m.run, (m.iteration - start) / Math.max(1, m.iterations - start)) ??
          job.progress;
        const elapsed = Date.now() - live.startedAt;
        const gained = progress - live.progressAtStart;
        const etaMs = gained > 0 && elapsed > 2000 ? (elapsed / gained) * (1 - progress) : null;
        const phase = m.phase ?? `level ${m.run.level} ${m.run.method}`;
        if (Date.now() - live.lastWrite > 1000) {
          live.lastWrite = Date.now();
          this.store.updateJob(job.id, { progress, phase, heartbeatAt: new Date().toISOString() });
        }
        live.lastProgress = {
          type: 'job.progress',
          jobId: job.id,
          experimentId: job.experimentId,
          phase,
          level: m.run.level,
          method: m.run.method,
          epoch: m.epoch,
          step: m.iteration,
          steps: m.iterations,
          loss: m.loss,
          accuracy: null,
          progress,
          etaMs,
        };
        this.emit(live.lastProgress);
        return;
      }
      case 'checkpoint': {
        const previous = job.checkpointBlob;
        this.store.transaction(() => {
          this.store.recordBlob(m.blob, 'raw');
          this.store.updateJob(job.id, {
            checkpointBlob: m.blob,
            checkpointRun: runKey(m.run),
            checkpointIteration: m.iteration,
          });
        });
        if (previous && previous !== m.blob) this.store.deleteBlobIfUnused(previous);
        return;
      }
      case 'ticket': {
        const { ticketId, runId } = this.startedRun(job, live, m.run);
        this.store.transaction(() => {
          this.store.recordBlob(m.trainedBlob, 'tensors');
          if (m.rewindBlob) this.store.recordBlob(m.rewindBlob, 'tensors');
          this.store.setTicketTrained(ticketId, m);
          this.store.finishRun(runId, {
            status: 'done',
            iterations: m.iterations,
            earlyStopIteration: m.earlyStop.iteration,
            bestValLoss: m.earlyStop.valLoss,
            valAccuracy: m.earlyStop.valAccuracy,
            testAccuracy: m.earlyStop.testAccuracy,
            finalTestAccuracy: m.final.testAccuracy,
            wallTimeMs: m.wallTimeMs,
            error: null,
          });
        });
        const current = this.store.getJob(job.id)!;
        if (current.checkpointRun === runKey(m.run)) this.dropCheckpoint(current);
        this.store.updateJob(job.id, { progress: jobProgress(live, m.run, 1) ?? job.progress });
        const ticket = this.store.getTicket(ticketId)!;
        this.emit({
          type: 'ticket.created',
          jobId: job.id,
          experimentId: job.experimentId,
          ticketId,
          level: ticket.level,
          method: ticket.method,
          remainingWeights: ticket.remainingFraction,
          testAccuracy: m.earlyStop.testAccuracy,
          earlyStopIteration: m.earlyStop.iteration,
          wallTimeMs: m.wallTimeMs,
        });
        // a job waiting to copy this dense network can start now, not when this job ends
        if (m.run.method === 'dense') this.pump();
        return;
      }
      case 'instability-copy': {
        this.store.transaction(() => {
          this.store.recordBlob(m.blob, 'tensors');
          setInstabilityCopy(this.store, m.id, m);
        });
        const current = this.store.getJob(job.id)!;
        const step = instabilityStep(m.id, m.copy);
        if (current.checkpointRun === runKey(step)) this.dropCheckpoint(current);
        this.store.updateJob(job.id, { progress: jobProgress(live, step, 1) ?? job.progress });
        return;
      }
      case 'instability-curve':
        setInstabilityCurve(this.store, m.id, m);
        return;
      case 'log':
        this.emit({ type: 'log', jobId: m.jobId, level: m.level, message: m.message });
        return;
      case 'finished': {
        slot.jobId = null;
        this.release(slot);
        this.live.delete(job.id);
        // A worker whose blob write found the disk full stops as failed with DISK_FULL, or
        // whose GPU was lost with GPU_LOST: that, like a report the host could not store,
        // pauses the job. Everything stored
        // so far stays; resuming continues from the last stored checkpoint.
        const halted =
          live.halted ??
          (m.outcome === 'failed' && (m.error?.code === 'DISK_FULL' || m.error?.code === 'GPU_LOST')
            ? { state: 'paused' as const, message: m.error.message }
            : null);
        if (halted) {
          this.settle(job, halted.state, halted.message);
          this.pump();
          return;
        }
        if (m.outcome === 'failed' && live.runId) {
          const run = this.store.getRun(live.runId);
          if (run && run.status === 'running')
            this.store.finishRun(live.runId, {
              ...run,
              status: 'failed',
              error: m.error?.message ?? null,
            });
        }
        this.end(job, m.outcome, m.error);
        return;
      }
    }
  }
}
