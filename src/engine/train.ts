import * as tf from '@tensorflow/tfjs-core';
import { TicketLabError } from '../core/errors.ts';
import { BatchSampler, gatherExamples, type PreparedData, type Split } from '../data/split.ts';
import { exampleSize } from '../data/dataset.ts';
import type { Model, Weights } from './model.ts';

export interface TrainingSettings {
  optimizer: 'adam' | 'sgd';
  learningRate: number;
  momentum: number;
  weightDecay: number;
  batchSize: number;
  /** Iterations to run (from `startIteration`, exclusive of it, up to this count). */
  iterations: number;
  evalEvery: number;
}

export interface EvalPoint {
  iteration: number;
  epoch: number;
  /** mean training loss since the previous evaluation (null at iteration 0) */
  trainLoss: number | null;
  valLoss: number;
  valAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

export interface TrainProgress {
  iteration: number;
  iterations: number;
  epoch: number;
  loss: number;
}

export interface TrainResult {
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
  /** Iteration the weights correspond to (rewinding to θ_k continues from k). */
  startIteration?: number;
  captureAt?: number;
  onEval?: (point: EvalPoint) => void;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

const EVAL_BATCH = 1000;

/** Loss and accuracy over a whole split, in batches, on the model in inference mode. */
export async function evaluate(
  model: Model,
  split: Split,
): Promise<{ loss: number; accuracy: number }> {
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

function makeOptimizer(s: TrainingSettings): tf.Optimizer {
  if (s.optimizer === 'adam') return tf.train.adam(s.learningRate);
  return s.momentum > 0
    ? tf.train.momentum(s.learningRate, s.momentum)
    : tf.train.sgd(s.learningRate);
}

/**
 * The masked training loop. After every step the pruned weights are exactly zero: the
 * gradients are masked before the update and the weights after it. Evaluates on the
 * validation and test splits every `evalEvery` iterations and at the end, and stops with
 * TRAINING_DIVERGED on a NaN or infinite loss.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { model, data, settings, signal } = opts;
  const started = performance.now();
  const batchSize = Math.min(settings.batchSize, data.train.count);
  const itersPerEpoch = Math.floor(data.train.count / batchSize);
  const maskTensors = new Map<string, tf.Tensor>();
  for (const [name, m] of opts.masks)
    maskTensors.set(name, tf.tensor(m, model.v(name).shape, 'float32'));
  const applyMasks = () =>
    tf.tidy(() => {
      for (const [name, m] of maskTensors) model.v(name).assign(tf.mul(model.v(name), m));
    });
  applyMasks();

  const optimizer = makeOptimizer(settings);
  const sampler = new BatchSampler(data.train.count, opts.seed);
  const xBuf = new Float32Array(batchSize * exampleSize(data.train.shape));
  const yBuf = new Int32Array(batchSize);
  const evals: EvalPoint[] = [];
  let captured: Weights | undefined;
  let lossSinceEval = 0;
  let stepsSinceEval = 0;
  const start = opts.startIteration ?? 0;

  const evalAt = async (iteration: number) => {
    const val = await evaluate(model, data.val);
    const test = await evaluate(model, data.test);
    const point: EvalPoint = {
      iteration,
      epoch: iteration / itersPerEpoch,
      trainLoss: stepsSinceEval > 0 ? lossSinceEval / stepsSinceEval : null,
      valLoss: val.loss,
      valAccuracy: val.accuracy,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
    };
    lossSinceEval = 0;
    stepsSinceEval = 0;
    evals.push(point);
    opts.onEval?.(point);
  };

  try {
    if (opts.captureAt === start) captured = await model.readWeights();
    await evalAt(start);
    for (let it = start + 1; it <= settings.iterations; it++) {
      // On wasm/cpu every await resolves as a microtask: yield a macrotask so signals,
      // Ctrl-C and worker messages are handled while training runs.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw new TicketLabError('CANCELLED', 'Training was cancelled.');
      gatherExamples(data.train, sampler.next(batchSize), xBuf, yBuf);
      const bnUpdates: [tf.Variable, tf.Tensor][] = [];
      const lossTensor = tf.tidy(() => {
        const x = tf.tensor4d(xBuf, [batchSize, ...data.train.shape]);
        const y = tf.oneHot(tf.tensor1d(yBuf, 'int32'), data.classes);
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, model.apply(x, true, bnUpdates)) as tf.Scalar,
          model.trainable,
        );
        for (const [name, m] of maskTensors) {
          const g = grads[model.v(name).name];
          if (g) grads[model.v(name).name] = tf.mul(g, m);
        }
        if (settings.weightDecay > 0) {
          for (const v of model.trainable)
            grads[v.name] = tf.add(grads[v.name]!, tf.mul(v, settings.weightDecay));
        }
        optimizer.applyGradients(grads);
        return value;
      });
      for (const [variable, update] of bnUpdates) {
        variable.assign(update);
        update.dispose();
      }
      applyMasks();
      const loss = (await lossTensor.data())[0]!;
      lossTensor.dispose();
      if (!Number.isFinite(loss)) {
        throw new TicketLabError(
          'TRAINING_DIVERGED',
          `Training diverged at iteration ${it}: the loss is ${loss}. Lower the learning rate (now ${settings.learningRate}) or check the data.`,
        );
      }
      lossSinceEval += loss;
      stepsSinceEval++;
      if (it === opts.captureAt) captured = await model.readWeights();
      opts.onProgress?.({
        iteration: it,
        iterations: settings.iterations,
        epoch: it / itersPerEpoch,
        loss,
      });
      if (it % settings.evalEvery === 0 || it === settings.iterations) await evalAt(it);
    }
  } finally {
    optimizer.dispose();
    for (const m of maskTensors.values()) m.dispose();
  }
  const earlyStop = evals.reduce((best, p) => (p.valLoss < best.valLoss ? p : best));
  return {
    iterations: settings.iterations,
    evals,
    earlyStop,
    final: evals[evals.length - 1]!,
    captured,
    wallTimeMs: performance.now() - started,
  };
}
