import { TicketLabError } from '../../core/errors.ts';
import { bundleToWeights, weightsToBundle, type Weights } from '../../engine/weights.ts';
import {
  copySeeds,
  denseWeightsAt,
  errorBarrier,
  interpolationCurve,
  trainCopy,
} from '../../pruning/instability.ts';
import { bundleToMask } from '../../pruning/mask.ts';
import type { BlobStore } from '../../store/blobs.ts';
import type { ThetaKSource } from '../../core/vocabulary.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../checkpoint.ts';
import {
  instabilityLineStep,
  instabilityStep,
  type StartJob,
  type WorkerMessage,
} from '../protocol.ts';
import { finishJob, jobSetting } from '../setting.ts';

const PROGRESS_INTERVAL_MS = 250;

/**
 * The compute side of an instability job (kind `instability`), run inside the worker: for
 * each rewind point k still open, θ_k (stored, or retraced from θ0), two copies of the
 * ticket trained from it to the end of the experiment's training with different batch
 * orders, then the test error along the line between them. Each copy is stored as it
 * finishes and checkpointed every epoch, so a paused or killed job continues where it was.
 */
export async function executeInstability(
  job: StartJob,
  blobs: BlobStore,
  post: (m: WorkerMessage) => void,
  signals: { cancel: AbortSignal; pause: AbortSignal },
): Promise<void> {
  const { jobId, spec } = job;
  await finishJob(job, post, async () => {
    const plan = job.instability!;
    const setting = jobSetting(job, blobs);
    const { arch, specs, data, batchSize, iterations, training } = setting;
    const mask = bundleToMask(blobs.getTensors(plan.maskBlob));
    const theta0 = bundleToWeights(blobs.getTensors(plan.theta0Blob));
    const signalOptions = { signal: signals.cancel, pauseSignal: signals.pause };
    let lastProgress = 0;

    const thetaAt = async (k: number): Promise<[Weights, ThetaKSource]> => {
      if (k === 0) return [theta0, 'initial'];
      if (plan.storedRewindBlob && k === setting.rewindIteration)
        return [bundleToWeights(blobs.getTensors(plan.storedRewindBlob)), 'stored'];
      post({
        type: 'log',
        jobId,
        level: 'info',
        message: `θ_${k} is not stored (the experiment rewinds to ${spec.pruning.rewind}): retraining the dense network from θ0 to iteration ${k} with its own batch order and learning rates.`,
      });
      const weights = await denseWeightsAt({
        arch,
        data,
        training,
        theta0,
        k,
        denseSeed: plan.denseSeed,
        ...signalOptions,
      });
      return [weights, 'recomputed'];
    };

    for (const point of plan.rewinds) {
      if (point.done) continue;
      const k = point.rewindIteration;
      if (k >= iterations) {
        throw new TicketLabError(
          'INVALID_INPUT',
          `rewind ${point.rewind} is iteration ${k}, at or past the end of training (${iterations} iterations): choose an earlier one.`,
        );
      }
      const seeds = copySeeds(job.seed, k);
      let theta: [Weights, ThetaKSource] | null = null;
      const copies: Weights[] = [];
      for (const copy of [0, 1] as const) {
        const stored = point.copies[copy];
        if (stored) {
          copies.push(bundleToWeights(blobs.getTensors(stored)));
          continue;
        }
        theta ??= await thetaAt(k);
        const step = instabilityStep(point.id, copy);
        const inFlight =
          plan.inFlight?.id === point.id && plan.inFlight.copy === copy ? plan.inFlight : null;
        const phase = `instability ${point.rewind}: copy ${copy + 1} of 2`;
        const weights = await trainCopy({
          arch,
          data,
          training,
          mask,
          thetaK: theta[0],
          k,
          seed: seeds[copy],
          resumeFrom: inFlight
            ? decodeCheckpoint(
                blobs.get(inFlight.checkpointBlob),
                `checkpoint ${inFlight.checkpointBlob.slice(0, 12)}…`,
              )
            : undefined,
          onProgress: (p) => {
            const now = Date.now();
            if (now - lastProgress < PROGRESS_INTERVAL_MS && p.iteration !== p.iterations) return;
            lastProgress = now;
            post({ type: 'progress', jobId, run: step, phase, ...p });
          },
          onCheckpoint: (c) =>
            post({
              type: 'checkpoint',
              jobId,
              run: step,
              iteration: c.iteration,
              blob: blobs.put(encodeCheckpoint(c)),
            }),
          ...signalOptions,
        });
        post({
          type: 'instability-copy',
          jobId,
          id: point.id,
          copy,
          blob: blobs.putTensors(weightsToBundle(specs, weights)),
          rewindIteration: k,
          seeds,
          thetaK: theta[1],
        });
        copies.push(weights);
      }
      post({
        type: 'log',
        jobId,
        level: 'info',
        message: `instability at ${point.rewind}: evaluating the test error at ${plan.points} points on the line between the copies.`,
      });
      const line = instabilityLineStep(point.id);
      const curve = await interpolationCurve({
        arch,
        data,
        mask,
        a: copies[0]!,
        b: copies[1]!,
        points: plan.points,
        batchSize,
        onPoint: (done) =>
          post({
            type: 'progress',
            jobId,
            run: line,
            phase: `instability ${point.rewind}: the line between the copies`,
            iteration: done,
            iterations: plan.points,
            epoch: 0,
            loss: null,
          }),
        ...signalOptions,
      });
      const barrier = errorBarrier(curve);
      post({ type: 'instability-curve', jobId, id: point.id, curve, barrier });
      post({
        type: 'log',
        jobId,
        level: 'info',
        message: `instability at ${point.rewind} (iteration ${k}): error barrier ${(barrier * 100).toFixed(2)}%`,
      });
    }
  });
}
