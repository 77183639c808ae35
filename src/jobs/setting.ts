import { checkAugmentation, checkDurations, durationToIterations } from '../api/spec.ts';
import { isTicketLabError } from '../core/errors.ts';
import { iterationsPerEpoch } from '../core/split-counts.ts';
import { datasetFromBundle, type DecodedDataset } from '../data/dataset.ts';
import { prepareData, type PreparedData } from '../data/split.ts';
import {
  buildArchitecture,
  describeParams,
  type Architecture,
  type ParamSpec,
} from '../engine/architectures.ts';
import { gpuDeviceLost } from '../engine/webgpu.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { StartJob, WorkerMessage } from './protocol.ts';

/**
 * What the compute side of every job kind starts from: the experiment's dataset, split as
 * its spec says, its architecture, and its training's length in iterations.
 */
export interface JobSetting {
  dataset: DecodedDataset;
  arch: Architecture;
  specs: ParamSpec[];
  data: PreparedData;
  /** the spec's batch size, at most the training split */
  batchSize: number;
  iterationsPerEpoch: number;
  /** where the experiment's training ends */
  iterations: number;
  /** the experiment's own rewind point (`spec.pruning.rewind`) */
  rewindIteration: number;
  /** spec.training with the batch size and the length resolved */
  training: StartJob['spec']['training'] & { batchSize: number; iterations: number };
}

/** Reads the job's dataset and resolves its spec against it, refusing durations or augmentation it cannot take. */
export function jobSetting(job: StartJob, blobs: BlobStore): JobSetting {
  const { spec, dataset: ref } = job;
  const dataset = datasetFromBundle(ref, blobs.getTensors(ref.tensorsBlob));
  const arch = buildArchitecture(spec.model, dataset.inputShape, dataset.classNames.length);
  const data = prepareData(dataset, spec.validationFraction);
  const batchSize = Math.min(spec.training.batchSize, data.train.count);
  const itersPerEpoch = iterationsPerEpoch(data.train.count, batchSize);
  checkDurations(spec, itersPerEpoch);
  checkAugmentation(spec.training, dataset.inputShape, dataset.name);
  const iterations = durationToIterations(spec.training.duration, itersPerEpoch);
  return {
    dataset,
    arch,
    specs: describeParams(arch),
    data,
    batchSize,
    iterationsPerEpoch: itersPerEpoch,
    iterations,
    rewindIteration: durationToIterations(spec.pruning.rewind, itersPerEpoch),
    training: { ...spec.training, batchSize, iterations },
  };
}

/**
 * Runs a job's work and ends it with exactly one `finished`: done, paused or cancelled as
 * the work ended, failed with the error's code and message otherwise. A WebAssembly trap
 * fails it as BACKEND_CRASHED: the likeliest cause is the wasm heap, which ends at 4 GiB
 * (VGG-16's GraSP on 100 images overflowed it before its product ran in chunks).
 */
export async function finishJob(
  job: StartJob,
  post: (m: WorkerMessage) => void,
  work: () => Promise<void>,
): Promise<void> {
  const finish = (
    outcome: 'done' | 'paused' | 'cancelled' | 'failed',
    error?: { code: string; message: string },
  ) => post({ type: 'finished', jobId: job.jobId, outcome, error });
  try {
    await work();
    finish('done');
  } catch (e) {
    if (isTicketLabError(e, 'PAUSED')) finish('paused');
    else if (isTicketLabError(e, 'CANCELLED')) finish('cancelled');
    else if (e instanceof WebAssembly.RuntimeError)
      finish('failed', {
        code: 'BACKEND_CRASHED',
        message: `The WebAssembly backend stopped (${e.message}). Its memory ends at 4 GiB, and this job most likely needed more: a smaller training.batchSize (or pai.samplesPerClass for SNIP and GraSP) needs less, and @tensorflow/tfjs-node has no such limit. The compute worker restarts for the next job.`,
      });
    else {
      const err = e as Error & { code?: string };
      finish('failed', { code: err.code ?? 'INTERNAL', message: err.message });
    }
  }
}

/**
 * Whether the worker must leave once this message is sent: its job ended after the GPU was
 * lost, or the WebAssembly backend trapped and its heap can no longer be trusted. The host
 * starts a fresh worker for the next job, which picks the backend again.
 */
export function endsWorker(m: WorkerMessage): boolean {
  return m.type === 'finished' && (gpuDeviceLost() !== null || m.error?.code === 'BACKEND_CRASHED');
}
