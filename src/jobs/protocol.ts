import type { ResolvedSpec } from '../api/spec.ts';
import type { Size } from '../engine/architectures.ts';
import type { EvalPoint, TrainLossPoint } from '../engine/train.ts';
import type { JobKind, ThetaKSource, TicketMethod } from '../core/vocabulary.ts';
import type { CurvePoint } from '../pruning/instability.ts';
import type { InferenceMeasurement, TicketStructure } from '../pruning/structured/record.ts';

/**
 * Messages between the host (the only SQLite writer) and the compute worker (which owns
 * the tfjs backend and writes tensor blobs). A tagged union both ways; an unknown tag is
 * an error (STYLE.md §6). Tensors never cross: the worker sends blob hashes.
 */

export interface DatasetRef {
  id: string;
  tensorsBlob: string;
  inputShape: [number, number, number];
  classNames: string[];
  trainCount: number;
  testCount: number;
}

/** Where an experiment stands, as the host read it from the store. */
export interface ResumeRef {
  completed: string[];
  last: {
    level: number;
    maskBlob: string;
    trainedBlob: string;
    structure: TicketStructure | null;
  } | null;
  rewindBlob: string | null;
  inFlight: { level: number; method: TicketMethod; checkpointBlob: string } | null;
}

export interface StartJob {
  type: 'start';
  jobId: string;
  /** what the job does (src/jobs/kinds/registry.ts): train the experiment, or analyse a ticket */
  kind: JobKind;
  spec: ResolvedSpec;
  /** the experiment's seed (replicates derive theirs) */
  seed: number;
  dataset: DatasetRef;
  resume: ResumeRef;
  /** for transfer experiments: the source ticket and the shape of the data it was found on */
  transfer: TransferRef | null;
  /** for instability jobs: the ticket, the rewind points and what is stored of each */
  instability: InstabilityRef | null;
}

/** An instability analysis (Frankle et al. 2020) as the host read it from the store. */
export interface InstabilityRef {
  ticketId: string;
  maskBlob: string;
  /** the experiment's dense θ0 */
  theta0Blob: string;
  /** θ_k the experiment stored at its own rewind point (`spec.pruning.rewind`), if any */
  storedRewindBlob: string | null;
  /** the batch-order seed of the experiment's dense run, to recompute θ_k exactly */
  denseSeed: number;
  points: number;
  /** one per rewind point, in order: the copies already trained (blob hashes) */
  rewinds: {
    id: string;
    rewind: string;
    rewindIteration: number;
    copies: [string | null, string | null];
    done: boolean;
  }[];
  /** a copy cut short, continued from its checkpoint */
  inFlight: { id: string; copy: 0 | 1; checkpointBlob: string } | null;
}

export interface TransferRef {
  ticketId: string;
  maskBlob: string;
  initBlob: string;
  inputShape: [number, number, number];
  classes: number;
}

/**
 * A local worker's share of the host's cores changed: `jobs` run at once now (one ended, or
 * another started), and this worker's native kernels take `count` threads from here on.
 */
export interface ShareCores {
  type: 'threads';
  count: number;
  jobs: number;
}

export type HostMessage =
  StartJob | ShareCores | { type: 'pause'; jobId: string } | { type: 'cancel'; jobId: string };

export interface RunRef {
  level: number;
  method: TicketMethod;
}

/** What a progress report or checkpoint belongs to: a run, or a step of another job kind. */
export interface StepRef {
  level: number;
  method: string;
}

/** An instability copy's step: `<copy>/instability:<row id>` as a checkpoint's run key. */
export const instabilityStep = (id: string, copy: 0 | 1): StepRef => ({
  level: copy,
  method: `instability:${id}`,
});

/** The step that evaluates a rewind point's line between its copies: progress only, never checkpointed. */
export const instabilityLineStep = (id: string): StepRef => ({
  level: 2,
  method: `instability:${id}`,
});

/** A cluster node as its worker reports it: what a job's wall times were measured on. */
export interface NodeMachine {
  hostname: string;
  cpu: string;
  /** the cores Slurm gave the job, where it says (SLURM_CPUS_PER_TASK), else the node's */
  cores: number;
}

export type WorkerMessage =
  | {
      type: 'ready';
      backend: string;
      device: string;
      skipped: string[];
      /** where a cluster job's worker runs (a local worker runs on the host) */
      node?: NodeMachine;
    }
  | {
      type: 'run-start';
      jobId: string;
      run: RunRef;
      seed: number;
      parent: RunRef | null;
      maskBlob: string;
      initBlob: string;
      size: Size;
      structure?: TicketStructure;
      startIteration: number;
      hyperparams: Record<string, unknown>;
    }
  | { type: 'eval'; jobId: string; run: RunRef; point: EvalPoint }
  | { type: 'train-loss'; jobId: string; run: RunRef; point: TrainLossPoint }
  /** from step `fromIteration` on, the run's native kernels take `threads` (its first step's, then each change) */
  | { type: 'kernel-threads'; jobId: string; run: RunRef; fromIteration: number; threads: number }
  | {
      type: 'progress';
      jobId: string;
      run: StepRef;
      /** what the monitor shows; `level <level> <method>` when absent */
      phase?: string;
      iteration: number;
      iterations: number;
      epoch: number;
      /** the training loss; null for a step that trains nothing (an analysis's line) */
      loss: number | null;
    }
  | { type: 'checkpoint'; jobId: string; run: StepRef; iteration: number; blob: string }
  | {
      type: 'instability-copy';
      jobId: string;
      /** the rewind point's row */
      id: string;
      copy: 0 | 1;
      blob: string;
      rewindIteration: number;
      seeds: [number, number];
      thetaK: ThetaKSource;
    }
  | {
      type: 'instability-curve';
      jobId: string;
      id: string;
      curve: CurvePoint[];
      barrier: number;
    }
  | {
      type: 'ticket';
      jobId: string;
      run: RunRef;
      trainedBlob: string;
      rewindBlob: string | null;
      structure?: TicketStructure;
      inference?: InferenceMeasurement;
      earlyStop: EvalPoint;
      final: EvalPoint;
      iterations: number;
      wallTimeMs: number;
    }
  | { type: 'log'; jobId: string; level: 'info' | 'warn' | 'error'; message: string }
  | {
      type: 'finished';
      jobId: string;
      outcome: 'done' | 'paused' | 'cancelled' | 'failed';
      error?: { code: string; message: string };
    };

const WORKER_TYPES = new Set([
  'ready',
  'instability-copy',
  'instability-curve',
  'run-start',
  'eval',
  'train-loss',
  'kernel-threads',
  'progress',
  'checkpoint',
  'ticket',
  'log',
  'finished',
]);
const HOST_TYPES = new Set(['start', 'threads', 'pause', 'cancel']);

export function asWorkerMessage(m: unknown): WorkerMessage {
  const type = (m as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !WORKER_TYPES.has(type))
    throw new Error(`unknown worker message ${JSON.stringify(type)}`);
  return m as WorkerMessage;
}

export function asHostMessage(m: unknown): HostMessage {
  const type = (m as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !HOST_TYPES.has(type))
    throw new Error(`unknown host message ${JSON.stringify(type)}`);
  return m as HostMessage;
}
