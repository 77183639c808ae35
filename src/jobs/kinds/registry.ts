import type { JobKind } from '../../core/vocabulary.ts';
import { executeJob } from '../execute.ts';
import type { StartJob, WorkerMessage } from '../protocol.ts';
import type { BlobStore } from '../../store/blobs.ts';
import { executeInstability } from './instability.ts';

/**
 * The compute side of a job kind, run in the worker: it reports everything as messages
 * and ends with exactly one `finished`.
 */
export type JobRunner = (
  job: StartJob,
  blobs: BlobStore,
  post: (m: WorkerMessage) => void,
  signals: { cancel: AbortSignal; pause: AbortSignal },
) => Promise<void>;

/** Each job kind's runner, one line each; the host side reads its plan from the store. */
export const JOB_RUNNERS: Record<JobKind, JobRunner> = {
  imp: executeJob,
  instability: executeInstability,
};
