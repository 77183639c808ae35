import * as tf from '@tensorflow/tfjs-core';
import { TicketLabError } from '../core/errors.ts';
import { deriveSeed, Rng } from '../core/random.ts';
import { learningRateAt, resolveSchedule, type ScheduleSpec } from '../core/schedule.ts';
import { exampleSize } from '../data/dataset.ts';
import {
  BatchSampler,
  blackPixel,
  gatherAugmented,
  gatherExamples,
  type Augmentation,
  type PreparedData,
  type Split,
} from '../data/split.ts';
import type { Model } from './model.ts';
import type { Weights } from './weights.ts';
import { Optimizer, type OptimizerSettings, type OptimizerState } from './optimizer.ts';
import { NativeTrainingStep } from './native-step.ts';
import { gpuDeviceLost, gpuLostInstead } from './webgpu.ts';

/**
 * A training's settings: spec.training's, with the length in iterations. The schedule's
 * fields and augmentation may be left out (a constant rate, no augmentation).
 */
export interface TrainingSettings
  extends OptimizerSettings, Partial<Omit<ScheduleSpec, 'learningRate'>> {
  batchSize: number;
  /** The iteration training ends at (counted from 0, including any rewind start). */
  iterations: number;
  evalEvery: number;
  /** Iterations between training-loss points (`TrainLossPoint`); at evaluations only when absent. */
  lossEvery?: number;
  augmentation?: Augmentation;
}

export interface EvalPoint {
  iteration: number;
  epoch: number;
  /** mean training loss since the previous evaluation or training-loss point (null at the first) */
  trainLoss: number | null;
  valLoss: number;
  valAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

/**
 * The mean training loss of the steps since the previous evaluation or training-loss point,
 * taken every `lossEvery` iterations between evaluations: with the evaluations' `trainLoss`,
 * the training's loss course in consecutive windows, without evaluating.
 */
export interface TrainLossPoint {
  iteration: number;
  epoch: number;
  loss: number;
}

export interface TrainProgress {
  iteration: number;
  iterations: number;
  epoch: number;
  loss: number;
}

/** The state of a training in flight: enough to continue it exactly. */
export interface TrainCheckpoint {
  iteration: number;
  weights: Weights;
  optimizer: OptimizerState;
  evals: EvalPoint[];
  /** the loss summed over the steps since the previous evaluation or training-loss point */
  lossSinceEval: number;
  stepsSinceEval: number;
  captured: Weights | null;
  /** milliseconds spent training before this checkpoint (time paused is not counted) */
  elapsedMs?: number;
  /** what the caller keeps across epochs (`checkpointState`), as JSON */
  state?: unknown;
}

export interface TrainResult {
  /** the last iteration trained (before `settings.iterations` when `onEpochEnd` stopped it) */
  iterations: number;
  evals: EvalPoint[];
  /** The evaluation with minimum validation loss (Frankle & Carbin's early-stopping iteration). */
  earlyStop: EvalPoint;
  final: EvalPoint;
  /** Weights captured after `captureAt` iterations (for rewinding), when asked. */
  captured?: Weights;
  wallTimeMs: number;
}

export interface TrainOptions {
  model: Model;
  /** 0/1 masks by parameter name; pruned weights stay exactly zero. */
  masks: Map<string, Float32Array>;
  data: PreparedData;
  settings: TrainingSettings;
  /** Seed of the batch order. */
  seed: number;
  /** Iteration the model's weights correspond to (rewinding to θ_k continues from k). */
  startIteration?: number;
  captureAt?: number;
  /**
   * The last iteration to train when it is before `settings.iterations`: the learning-rate
   * schedule still spans the whole run, so a run retraced only to its rewind point takes the
   * rates the whole run took on the way there.
   */
  stopAt?: number;
  /** Continue a training from its checkpoint instead of from `model`'s weights. */
  resumeFrom?: TrainCheckpoint;
  onEval?: (point: EvalPoint) => void;
  /** Called every `settings.lossEvery` iterations that do not evaluate. */
  onTrainLoss?: (point: TrainLossPoint) => void;
  onProgress?: (p: TrainProgress) => void;
  /** Called at the end of every epoch and when pausing; training waits for it. */
  onCheckpoint?: (checkpoint: TrainCheckpoint) => void | Promise<void>;
  /** L1 penalty λ·Σ|w| on these parameters (network slimming's scale factors): λ·sign(w) joins their gradients. */
  sparsity?: { params: string[]; lambda: number };
  /** Called at the end of every epoch (1-based), before its checkpoint; true ends training there. */
  onEpochEnd?: (epoch: number, model: Model) => boolean | Promise<boolean>;
  /** A regulariser added to the loss (unit gates' expected L0 norm or KL), differentiated with it. */
  penalty?: (model: Model) => tf.Scalar;
  /** The caller's state to keep in checkpoints (JSON), handed back in `resumeFrom.state`. */
  checkpointState?: () => unknown;
  /** Aborting cancels: the training throws CANCELLED. */
  signal?: AbortSignal;
  /** Aborting pauses: a checkpoint is written, then the training throws PAUSED. */
  pauseSignal?: AbortSignal;
}

const EVAL_BATCH = 1000;

/**
 * Learning rates above which each optimiser usually diverges on these models: Adam's
 * published settings are 1e-4–3e-3 (1.2e-3 for LeNet), and SGD's effective step
 * lr / (1 − momentum) stays at or below 1 (OpenLTH: 0.1 plain; ResNets 0.1 with 0.9).
 */
export function usualMaxLearningRate(s: Pick<TrainingSettings, 'optimizer' | 'momentum'>): number {
  return s.optimizer === 'adam' ? 0.01 : Math.max(Number((1 - s.momentum).toPrecision(2)), 0.01);
}

/**
 * The hyper-parameter most likely at fault when the loss becomes NaN or infinite, worded
 * as a likely cause (a heuristic: bad data can diverge at any rate). It names the spec field
 * to change and a value to try.
 */
export function divergenceHint(
  s: Pick<TrainingSettings, 'optimizer' | 'learningRate' | 'momentum' | 'weightDecay'>,
): string {
  const usual = usualMaxLearningRate(s);
  const optimiser =
    s.optimizer === 'sgd' && s.momentum > 0 ? `sgd with momentum ${s.momentum}` : s.optimizer;
  if (s.learningRate > usual)
    return `Likely cause: the learning rate ${s.learningRate} is high for ${optimiser}; try spec.training.learningRate ≤ ${usual}.`;
  // SGD's coupled decay takes lr·wd of each weight per step: near 1 the weights flip sign
  // and grow (Adam divides it by the gradient's scale, so there it cannot diverge alone)
  if (s.optimizer === 'sgd' && s.learningRate * s.weightDecay >= 0.5)
    return `Likely cause: the weight decay ${s.weightDecay} is strong at learning rate ${s.learningRate} (lr × decay = ${Number((s.learningRate * s.weightDecay).toPrecision(3))}); try spec.training.weightDecay ≤ ${Number((0.1 / s.learningRate).toPrecision(1))}.`;
  return `The learning rate ${s.learningRate} is within the usual range for ${optimiser} (≤ ${usual}), so the data is the more likely cause (check the dataset's pixels and labels); a lower spec.training.learningRate may still help.`;
}

/**
 * Loss and accuracy over a whole split, in batches, on the model in inference mode: through
 * `native`'s forward pass where given (native-step.ts; several times faster than tfjs's
 * kernels on the batch-norm networks), else tfjs's.
 */
export async function evaluate(
  model: Model,
  split: Split,
  native?: NativeTrainingStep | null,
): Promise<{ loss: number; accuracy: number }> {
  if (native) return native.evaluate(split);
  let lossSum = 0;
  let correct = 0;
  const size = exampleSize(split.shape);
  for (let start = 0; start < split.count; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, split.count - start);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(split.x.subarray(start * size, (start + n) * size), [
        n,
        ...split.shape,
      ]);
      const labels = tf.tensor1d(Int32Array.from(split.y.subarray(start, start + n)), 'int32');
      const logits = model.apply(x, false);
      const onehot = tf.oneHot(labels, logits.shape[1]!);
      const loss = tf.sum(
        tf.losses.softmaxCrossEntropy(onehot, logits, undefined, undefined, tf.Reduction.NONE),
      );
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
      return [loss, hits];
    });
    lossSum += (await l.data())[0]!;
    correct += (await c.data())[0]!;
    l.dispose();
    c.dispose();
  }
  return { loss: lossSum / split.count, accuracy: correct / split.count };
}

/**
 * The masked training loop. After every step the pruned weights are exactly zero: the
 * optimiser masks the gradients before the update and the weights after it. Evaluates on the
 * validation and test splits every `evalEvery` iterations and at the end, reports the mean
 * training loss every `lossEvery` iterations between evaluations, checkpoints at
 * every epoch's end, and stops with TRAINING_DIVERGED on a NaN or infinite loss.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { model, data, settings, signal, pauseSignal } = opts;
  // a resumed training's wall time includes what it trained before its checkpoint
  const started = performance.now() - (opts.resumeFrom?.elapsedMs ?? 0);
  const batchSize = Math.min(settings.batchSize, data.train.count);
  const sampler = new BatchSampler(data.train.count, batchSize, opts.seed);
  const itersPerEpoch = sampler.batchesPerEpoch;
  // The schedule and the augmentation are functions of the iteration (and seed), so a
  // training resumed from any checkpoint continues exactly as it would have gone on.
  const schedule = resolveSchedule(
    {
      learningRate: settings.learningRate,
      schedule: settings.schedule ?? 'constant',
      milestones: settings.milestones ?? [],
      milestoneFactor: settings.milestoneFactor ?? 0.1,
      warmup: settings.warmup ?? '0it',
    },
    itersPerEpoch,
    settings.iterations,
  );
  const augmentation =
    settings.augmentation &&
    (settings.augmentation.cropPadding > 0 || settings.augmentation.horizontalFlip)
      ? settings.augmentation
      : null;
  const fill = blackPixel(data);
  const maskTensors = new Map<string, tf.Tensor>();
  for (const [name, m] of opts.masks)
    maskTensors.set(name, tf.tensor(m, model.v(name).shape, 'float32'));
  const trainable = new Map(
    model.specs.filter((p) => p.trainable).map((p) => [p.name, model.v(p.name)]),
  );
  const bounds = new Map(
    model.specs.flatMap((p) => (p.bounds ? [[p.name, p.bounds] as const] : [])),
  );
  const optimizer = new Optimizer(settings, trainable, maskTensors, bounds);
  // One native call per step where the model and loss allow it (native-step.ts plans the
  // layers it knows, and takes slimming's L1 term); tfjs's kernels otherwise
  const nativeStep = opts.penalty
    ? null
    : NativeTrainingStep.create({
        model,
        optimizer,
        settings,
        masks: opts.masks,
        batchSize,
        classes: data.classes,
        sparsity: opts.sparsity,
      });
  const xBuf = new Float32Array(batchSize * exampleSize(data.train.shape));
  const yBuf = new Int32Array(batchSize);

  const resume = opts.resumeFrom;
  if (resume) {
    model.setWeights(resume.weights);
    optimizer.load(resume.optimizer);
  }
  // Pruned weights start at zero; the optimiser keeps them there.
  tf.tidy(() => {
    for (const [name, m] of maskTensors) model.v(name).assign(tf.mul(model.v(name), m));
  });
  const evals: EvalPoint[] = resume ? [...resume.evals] : [];
  let captured: Weights | undefined = resume?.captured ?? undefined;
  let lossSinceEval = resume?.lossSinceEval ?? 0;
  let stepsSinceEval = resume?.stepsSinceEval ?? 0;
  const first = resume ? resume.iteration + 1 : (opts.startIteration ?? 0) + 1;
  const penalised = new Set(opts.sparsity?.params ?? []);
  const end = Math.min(opts.stopAt ?? settings.iterations, settings.iterations);
  let last = first - 1;

  /** The mean training loss of the window since the previous point (null when empty), which it closes. */
  const closeLossWindow = (): number | null => {
    const mean = stepsSinceEval > 0 ? lossSinceEval / stepsSinceEval : null;
    lossSinceEval = 0;
    stepsSinceEval = 0;
    return mean;
  };
  const evalAt = async (iteration: number) => {
    const val = await evaluate(model, data.val, nativeStep);
    const test = await evaluate(model, data.test, nativeStep);
    const point: EvalPoint = {
      iteration,
      epoch: iteration / itersPerEpoch,
      trainLoss: closeLossWindow(),
      valLoss: val.loss,
      valAccuracy: val.accuracy,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
    };
    evals.push(point);
    opts.onEval?.(point);
  };
  const checkpoint = async (iteration: number) =>
    opts.onCheckpoint?.({
      iteration,
      weights: await model.readWeights(),
      optimizer: await optimizer.state(),
      evals: [...evals],
      lossSinceEval,
      stepsSinceEval,
      captured: captured ?? null,
      elapsedMs: performance.now() - started,
      state: opts.checkpointState?.(),
    });

  /** One step through tfjs's kernels (any model, penalties, gates and scales); returns the loss. */
  const tfjsStep = async (it: number, learningRate: number): Promise<number> => {
    const bnUpdates: [tf.Variable, tf.Tensor][] = [];
    const lossTensor = tf.tidy(() => {
      const x = tf.tensor4d(xBuf, [batchSize, ...data.train.shape]);
      const y = tf.oneHot(tf.tensor1d(yBuf, 'int32'), data.classes);
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.apply(x, true, { bnUpdates, noiseSeed: opts.seed * 1_000_003 + it });
        const loss = tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        return opts.penalty ? tf.add(loss, opts.penalty(model)) : loss;
      }, [...trainable.values()]);
      const byName = new Map<string, tf.Tensor>();
      for (const [name, v] of trainable) {
        const g = grads[v.name]!;
        const penalty = penalised.has(name) ? tf.mul(tf.sign(v), opts.sparsity!.lambda) : null;
        byName.set(name, penalty ? tf.add(g, penalty) : g);
      }
      optimizer.apply(byName, learningRate);
      return value;
    });
    for (const [variable, update] of bnUpdates) {
      variable.assign(update);
      update.dispose();
    }
    const loss = (await lossTensor.data())[0]!;
    lossTensor.dispose();
    return loss;
  };

  try {
    if (!resume) {
      if (opts.captureAt === first - 1) captured = await model.readWeights();
      await evalAt(first - 1);
    }
    for (let it = first; it <= end; it++) {
      // On wasm/cpu every await resolves as a microtask: yield a macrotask so signals,
      // Ctrl-C and worker messages are handled while training runs.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw new TicketLabError('CANCELLED', 'Training was cancelled.');
      if (gpuDeviceLost()) throw gpuLostInstead(null);
      if (pauseSignal?.aborted) {
        await checkpoint(it - 1);
        throw new TicketLabError('PAUSED', `Training paused at iteration ${it - 1}.`);
      }
      if (augmentation) {
        const rng = new Rng(deriveSeed(opts.seed, 'augment', it));
        gatherAugmented(data.train, sampler.batchAt(it), xBuf, yBuf, augmentation, rng, fill);
      } else {
        gatherExamples(data.train, sampler.batchAt(it), xBuf, yBuf);
      }
      // iteration `it` is the step taken after it − 1 steps
      const lr = learningRateAt(schedule, it - 1);
      const loss = nativeStep ? nativeStep.step(xBuf, yBuf, lr) : await tfjsStep(it, lr);
      if (!Number.isFinite(loss)) {
        throw new TicketLabError(
          'TRAINING_DIVERGED',
          `Training diverged at iteration ${it}: the loss is ${loss}. ${divergenceHint(settings)}`,
        );
      }
      lossSinceEval += loss;
      stepsSinceEval++;
      if (it === opts.captureAt) captured = await model.readWeights();
      opts.onProgress?.({
        iteration: it,
        iterations: end,
        epoch: it / itersPerEpoch,
        loss,
      });
      last = it;
      const evaluated = it % settings.evalEvery === 0 || it === end;
      if (evaluated) await evalAt(it);
      else if (settings.lossEvery && it % settings.lossEvery === 0) {
        // this step is in the window, so it is never empty here
        opts.onTrainLoss?.({ iteration: it, epoch: it / itersPerEpoch, loss: closeLossWindow()! });
      }
      if (it % itersPerEpoch === 0) {
        const stop = (await opts.onEpochEnd?.(it / itersPerEpoch, model)) === true;
        if (it === end) break;
        if (stop) {
          if (!evaluated) await evalAt(it);
          break;
        }
        await checkpoint(it);
      }
    }
  } catch (e) {
    throw gpuLostInstead(e);
  } finally {
    nativeStep?.dispose();
    optimizer.dispose();
    for (const m of maskTensors.values()) m.dispose();
  }
  const earlyStop = evals.reduce((best, p) => (p.valLoss < best.valLoss ? p : best));
  return {
    iterations: last,
    evals,
    earlyStop,
    final: evals[evals.length - 1]!,
    captured,
    wallTimeMs: performance.now() - started,
  };
}
