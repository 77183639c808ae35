import * as tf from '@tensorflow/tfjs-core';
import { TicketLabError } from '../core/errors.ts';
import { deriveSeed } from '../core/random.ts';
import { exampleSize } from '../data/dataset.ts';
import { BatchSampler, gatherExamples, type PreparedData } from '../data/split.ts';
import { describeParams, type Architecture } from '../engine/architectures.ts';
import { BN_MOMENTUM, Model } from '../engine/model.ts';
import { NativeTrainingStep } from '../engine/native-step.ts';
import {
  evaluate,
  train,
  type TrainCheckpoint,
  type TrainProgress,
  type TrainingSettings,
} from '../engine/train.ts';
import type { Weights } from '../engine/weights.ts';
import { BN_RECOMPUTE_BATCHES } from './line-examples.ts';
import { applyMask, maskToFloat, type Mask } from './mask.ts';

/**
 * Instability analysis (Frankle, Dziugaite, Roy & Carbin 2020, "Linear Mode Connectivity
 * and the Lottery Ticket Hypothesis", §2): two copies of a network start from the same
 * θ_k (the ticket's mask applied), train to the end with different SGD noise (here the
 * data order: each copy's own batch-order seed, everything else equal), and their test
 * error is measured along the straight line between them. The error barrier is the highest
 * error on that line minus the mean of the two ends' errors; a network is stable at k
 * when the barrier is about zero (the paper: under 2%).
 */

/** Points on the line by default: the paper evaluates 30. */
export const DEFAULT_POINTS = 30;

export interface CurvePoint {
  /** 0 is the first copy, 1 the second */
  alpha: number;
  testError: number;
}

/** The two copies' batch-order seeds for rewind point k: equal but for the copy. */
export function copySeeds(seed: number, k: number): [number, number] {
  return [deriveSeed(seed, 'instability', k, 0), deriveSeed(seed, 'instability', k, 1)];
}

/** Error barrier: the highest error on the path minus the mean of the two ends' errors. */
export function errorBarrier(curve: CurvePoint[]): number {
  const ends = (curve[0]!.testError + curve[curve.length - 1]!.testError) / 2;
  return Math.max(...curve.map((p) => p.testError)) - ends;
}

export interface CopyTraining {
  arch: Architecture;
  data: PreparedData;
  /** the experiment's training settings; `iterations` is where it ends */
  training: TrainingSettings;
  mask: Mask;
  /** θ_k, unmasked */
  thetaK: Weights;
  k: number;
  seed: number;
  resumeFrom?: TrainCheckpoint;
  onProgress?: (p: TrainProgress) => void;
  onCheckpoint?: (c: TrainCheckpoint) => void | Promise<void>;
  signal?: AbortSignal;
  pauseSignal?: AbortSignal;
}

/** Trains one copy from θ_k (masked) to the end of training; returns its weights. */
export async function trainCopy(c: CopyTraining): Promise<Weights> {
  const model = new Model(c.arch, applyMask(c.thetaK, c.mask));
  try {
    await train({
      model,
      masks: maskToFloat(c.mask),
      data: c.data,
      // evaluations of the copies are not what is measured: only at their end
      settings: { ...c.training, evalEvery: c.training.iterations },
      seed: c.seed,
      startIteration: c.k,
      resumeFrom: c.resumeFrom,
      onProgress: c.onProgress,
      onCheckpoint: c.onCheckpoint,
      signal: c.signal,
      pauseSignal: c.pauseSignal,
    });
    return await model.readWeights();
  } finally {
    model.dispose();
  }
}

/**
 * θ_k of the dense network, when the experiment did not store it: the dense network
 * trained from θ0 for k iterations with the batch order of the experiment's own dense run
 * (`denseSeed`) and the learning rates of its whole training, which is deterministic, so it
 * equals what rewinding to k would capture.
 */
export async function denseWeightsAt(o: {
  arch: Architecture;
  data: PreparedData;
  training: TrainingSettings;
  theta0: Weights;
  k: number;
  denseSeed: number;
  signal?: AbortSignal;
  pauseSignal?: AbortSignal;
}): Promise<Weights> {
  if (o.k === 0) return o.theta0;
  const model = new Model(o.arch, o.theta0);
  try {
    const masks = new Map(
      describeParams(o.arch)
        .filter((p) => p.prunable)
        .map((p) => [p.name, new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(1)]),
    );
    const result = await train({
      model,
      masks,
      data: o.data,
      // the schedule spans the whole training, as in the dense run being retraced (a
      // cosine or a milestone at 50% gives other rates over a run that ends at k)
      settings: { ...o.training, evalEvery: o.k },
      stopAt: o.k,
      seed: o.denseSeed,
      captureAt: o.k,
      signal: o.signal,
      pauseSignal: o.pauseSignal,
    });
    return result.captured!;
  } finally {
    model.dispose();
  }
}

/** α_i = i / (points − 1): both ends and points − 2 between them. */
export function alphas(points: number): number[] {
  return Array.from({ length: points }, (_, i) => i / (points - 1));
}

/**
 * Test error at `points` evenly spaced α on (1 − α)·θ_A + α·θ_B, masks applied (both ends
 * are masked, so every point is). Batch-norm moving statistics are recomputed at each point
 * on BN_RECOMPUTE_BATCHES training batches (a cumulative average, as PyTorch's
 * momentum=None), since the averaged statistics of the ends describe neither network.
 *
 * The signals are checked before each point: a line on ResNet-20 takes minutes, and a pause
 * or cancel must not wait for it. Nothing of a line is stored until it is complete, so a
 * paused line starts again from its first point on resume (its copies are stored).
 */
export async function interpolationCurve(o: {
  arch: Architecture;
  data: PreparedData;
  mask: Mask;
  a: Weights;
  b: Weights;
  points: number;
  batchSize: number;
  signal?: AbortSignal;
  pauseSignal?: AbortSignal;
  /** after each point, with how many are done */
  onPoint?: (done: number) => void;
}): Promise<CurvePoint[]> {
  const specs = describeParams(o.arch);
  const statistics = specs.filter((p) => p.role === 'movingMean' || p.role === 'movingVariance');
  const curve: CurvePoint[] = [];
  const model = new Model(o.arch, o.a);
  let native: NativeTrainingStep | null = null;
  try {
    // the line's evaluations are most of an analysis's time: the native forward pass where it runs
    native = NativeTrainingStep.forEvaluation(model, o.batchSize);
    for (const alpha of alphas(o.points)) {
      // evaluation awaits only microtasks on wasm: a macrotask lets the worker hear a signal
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (o.signal?.aborted) throw new TicketLabError('CANCELLED', 'The analysis was cancelled.');
      if (o.pauseSignal?.aborted) {
        throw new TicketLabError(
          'PAUSED',
          `Paused on the line at point ${curve.length + 1} of ${o.points}; it starts again from its first point on resume.`,
        );
      }
      const mixed: Weights = new Map();
      for (const p of specs) {
        const wa = o.a.get(p.name)!;
        const wb = o.b.get(p.name)!;
        const out = new Float32Array(wa.length);
        for (let i = 0; i < wa.length; i++) out[i] = (1 - alpha) * wa[i]! + alpha * wb[i]!;
        mixed.set(p.name, out);
      }
      model.setWeights(applyMask(mixed, o.mask));
      if (statistics.length > 0) await recomputeBatchNorm(model, o.data, o.batchSize, native);
      const { accuracy } = await evaluate(model, o.data.test, native);
      curve.push({ alpha, testError: 1 - accuracy });
      o.onPoint?.(curve.length);
    }
  } finally {
    native?.dispose();
    model.dispose();
  }
  return curve;
}

/**
 * Batch norm's moving averages set to the mean of their values over BN_RECOMPUTE_BATCHES
 * training batches: on the native forward pass in training mode where `native` was planned
 * for batches of this size (each batch moving them by 1/b, which leaves the cumulative
 * average), else on tfjs's.
 */
export async function recomputeBatchNorm(
  model: Model,
  data: PreparedData,
  batchSize: number,
  native: NativeTrainingStep | null,
) {
  const n = Math.min(batchSize, data.train.count);
  const sampler = new BatchSampler(data.train.count, n, 0);
  const x = new Float32Array(n * exampleSize(data.train.shape));
  const y = new Int32Array(n);
  const batches = Math.min(BN_RECOMPUTE_BATCHES, sampler.batchesPerEpoch);
  if (native?.batchSize === n) {
    for (let b = 1; b <= batches; b++) {
      gatherExamples(data.train, sampler.batchAt(b), x, y);
      native.forwardTraining(x, 1 / b);
    }
    return;
  }
  const sums = new Map<tf.Variable, Float32Array>();
  for (let b = 1; b <= batches; b++) {
    gatherExamples(data.train, sampler.batchAt(b), x, y);
    const updates: [tf.Variable, tf.Tensor][] = [];
    tf.tidy(() => {
      model.apply(tf.tensor4d(x, [n, ...data.train.shape]), true, { bnUpdates: updates });
    });
    for (const [variable, update] of updates) {
      // update = (1 − m)·moving + m·batch: the batch's statistic, recovered exactly
      const [moving, next] = [await variable.data(), await update.data()];
      update.dispose();
      const sum = sums.get(variable) ?? new Float32Array(moving.length);
      for (let i = 0; i < sum.length; i++)
        sum[i]! += (next[i]! - (1 - BN_MOMENTUM) * moving[i]!) / BN_MOMENTUM;
      sums.set(variable, sum);
    }
  }
  for (const [variable, sum] of sums)
    tf.tidy(() =>
      variable.assign(
        tf.tensor(
          sum.map((s) => s / batches),
          variable.shape,
        ),
      ),
    );
}
