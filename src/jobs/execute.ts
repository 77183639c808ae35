import { runKey } from '../core/run-key.ts';
import { describeParams, type Architecture } from '../engine/architectures.ts';
import { nativeKernelThreads } from '../engine/native-blas.ts';
import { weightsToBundle } from '../engine/weights.ts';
import type { ImpHooks, InFlight, RunInfo } from '../pruning/imp.ts';
import { maskToBundle } from '../pruning/mask.ts';
import type { BlobStore } from '../store/blobs.ts';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import { METHOD_RUNNERS } from './methods/registry.ts';
import type { RunRef, StartJob, WorkerMessage } from './protocol.ts';
import { finishJob, jobSetting } from './setting.ts';

const PROGRESS_INTERVAL_MS = 250;

/**
 * The compute side of a job, run inside the worker: trains an experiment's remaining
 * runs, writes masks, weights and checkpoints to the blob folder, and reports everything
 * else as messages for the host to store. Never touches SQLite.
 */
export async function executeJob(
  job: StartJob,
  blobs: BlobStore,
  post: (m: WorkerMessage) => void,
  signals: { cancel: AbortSignal; pause: AbortSignal },
): Promise<void> {
  const { jobId, spec } = job;
  await finishJob(job, post, async () => {
    const setting = jobSetting(job, blobs);
    const { arch, specs, batchSize, iterationsPerEpoch, iterations, rewindIteration } = setting;
    // a structured ticket's weights belong to its compacted architecture
    const specsOf = (a: Architecture) => (a === arch ? specs : describeParams(a));
    const r = job.resume;
    const inFlight: InFlight | undefined = r.inFlight
      ? {
          level: r.inFlight.level,
          method: r.inFlight.method,
          checkpoint: decodeCheckpoint(
            blobs.get(r.inFlight.checkpointBlob),
            `checkpoint ${r.inFlight.checkpointBlob.slice(0, 12)}…`,
          ),
        }
      : undefined;

    // iterationsPerEpoch: what the schedule's epoch milestones meant (the UI plots it)
    const hyperparams = {
      ...spec.training,
      iterations,
      rewindIteration,
      batchSize,
      iterationsPerEpoch,
    };
    const ref_ = (run: RunInfo): RunRef => ({ level: run.level, method: run.method });
    let lastProgress = 0;
    /** the run whose kernel threads were last reported, and what they were */
    let threadsOf: { run: string; threads: number } | null = null;
    /** the last step's progress, when the interval held it back */
    let held: Extract<WorkerMessage, { type: 'progress' }> | null = null;

    const hooks: ImpHooks = {
      onRunStart: (run) =>
        post({
          type: 'run-start',
          jobId,
          run: ref_(run),
          seed: run.seed,
          parent: run.parent,
          maskBlob: blobs.putTensors(maskToBundle(specsOf(run.arch), run.mask)),
          initBlob: blobs.putTensors(weightsToBundle(specsOf(run.arch), run.startWeights)),
          size: run.size,
          structure: run.structure,
          startIteration: run.startIteration,
          hyperparams,
        }),
      onEval: (run, point) => {
        // the evaluated step's progress first, even when the interval held it back: the host
        // shows the evaluation at that step (src/jobs/scheduler.ts)
        const ref = ref_(run);
        if (held?.iteration === point.iteration && runKey(held.run) === runKey(ref)) post(held);
        held = null;
        post({ type: 'eval', jobId, run: ref, point });
      },
      onTrainLoss: (run, point) => post({ type: 'train-loss', jobId, run: ref_(run), point }),
      onWarning: (message) => post({ type: 'log', jobId, level: 'warn', message }),
      onInfo: (message) => post({ type: 'log', jobId, level: 'info', message }),
      onProgress: (run, p) => {
        // A thread change takes effect between steps (a worker's messages are handled as
        // train() yields before each step), so the step just taken ran on these threads.
        const ref = ref_(run);
        const threads = nativeKernelThreads();
        const key = runKey(ref);
        if (threads !== null && (threadsOf?.run !== key || threadsOf.threads !== threads)) {
          threadsOf = { run: key, threads };
          post({ type: 'kernel-threads', jobId, run: ref, fromIteration: p.iteration, threads });
        }
        const now = Date.now();
        const message = { type: 'progress' as const, jobId, run: ref, ...p };
        held = null;
        if (now - lastProgress < PROGRESS_INTERVAL_MS && p.iteration !== p.iterations) {
          held = message;
          return;
        }
        lastProgress = now;
        post(message);
      },
      onCheckpoint: (run, c) =>
        post({
          type: 'checkpoint',
          jobId,
          run: ref_(run),
          iteration: c.iteration,
          blob: blobs.put(encodeCheckpoint(c)),
        }),
      onTicket: (t) => {
        post({
          type: 'ticket',
          jobId,
          run: { level: t.level, method: t.method },
          trainedBlob: blobs.putTensors(weightsToBundle(specsOf(t.arch), t.trainedWeights)),
          rewindBlob: t.rewindWeights
            ? blobs.putTensors(weightsToBundle(specsOf(t.arch), t.rewindWeights))
            : null,
          structure: t.structure,
          inference: t.inference,
          earlyStop: t.training.earlyStop,
          final: t.training.final,
          iterations: t.training.iterations,
          wallTimeMs: Math.round(t.training.wallTimeMs),
        });
      },
    };
    const base = {
      arch,
      data: setting.data,
      init: spec.init,
      seed: job.seed,
      training: setting.training,
      rewindIteration,
      controls: spec.controls,
    };
    const options = { signal: signals.cancel, pauseSignal: signals.pause, inFlight };
    await METHOD_RUNNERS[spec.method].run({
      job,
      spec,
      blobs,
      base,
      hooks,
      options,
      completed: new Set(r.completed),
      iterationsPerEpoch,
      classes: setting.dataset.classNames.length,
    });
  });
}
