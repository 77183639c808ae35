import type { ResolvedSpec } from '../api/spec.ts';
import type { Size } from '../engine/architectures.ts';
import type { EvalPoint } from '../engine/train.ts';
import type { TicketMethod } from '../core/vocabulary.ts';
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
  spec: ResolvedSpec;
  /** the experiment's seed (replicates derive theirs) */
  seed: number;
  dataset: DatasetRef;
  resume: ResumeRef;
  /** for transfer experiments: the source ticket and the shape of the data it was found on */
  transfer: TransferRef | null;
}

export interface TransferRef {
  ticketId: string;
  maskBlob: string;
  initBlob: string;
  inputShape: [number, number, number];
  classes: number;
}

export type HostMessage =
  StartJob | { type: 'pause'; jobId: string } | { type: 'cancel'; jobId: string };

export interface RunRef {
  level: number;
  method: TicketMethod;
}

export type WorkerMessage =
  | { type: 'ready'; backend: string; device: string; skipped: string[] }
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
      /** runs in the whole job and how many were stored before this one */
      runsTotal: number;
      runsDone: number;
    }
  | { type: 'eval'; jobId: string; run: RunRef; point: EvalPoint }
  | {
      type: 'progress';
      jobId: string;
      run: RunRef;
      iteration: number;
      iterations: number;
      epoch: number;
      loss: number;
    }
  | { type: 'checkpoint'; jobId: string; run: RunRef; iteration: number; blob: string }
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
  'run-start',
  'eval',
  'progress',
  'checkpoint',
  'ticket',
  'log',
  'finished',
]);
const HOST_TYPES = new Set(['start', 'pause', 'cancel']);

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
