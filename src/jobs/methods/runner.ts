import type { ResolvedSpec } from '../../api/spec.ts';
import type { ImpHooks, InFlight, TrainerConfig } from '../../pruning/imp.ts';
import type { BlobStore } from '../../store/blobs.ts';
import type { StartJob } from '../protocol.ts';

/** What executeJob hands a method's runner: everything it needs to train and resume. */
export interface MethodRun {
  job: StartJob;
  spec: ResolvedSpec;
  blobs: BlobStore;
  /** the settings every training of the job shares */
  base: TrainerConfig;
  hooks: ImpHooks;
  options: { signal: AbortSignal; pauseSignal: AbortSignal; inFlight?: InFlight };
  /** runs stored before this start (`level/method` keys): a resumed job skips them */
  completed: Set<string>;
  iterationsPerEpoch: number;
  classes: number;
}

/**
 * The compute side of an experiment method, run inside the worker: trains its levels
 * through `hooks` and resumes from what `job.resume` says is stored.
 */
export interface MethodRunner {
  run(r: MethodRun): Promise<void>;
}
