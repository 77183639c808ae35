import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { exampleSize } from '../data/dataset.ts';
import type { Split } from '../data/split.ts';
import type { Architecture, LayerDef } from './architectures.ts';
import { BN_EPSILON, BN_MOMENTUM, type Model } from './model.ts';
import { nativeBlas, nativeKernelsOn, type NativeTrainer } from './native-blas.ts';
import { BETA1, BETA2, EPSILON, type Optimizer, type OptimizerSettings } from './optimizer.ts';
import { heapOffset } from './wasm-native-kernels.ts';

/**
 * A whole training step as one native call (native/trainer.c: forward pass, backward pass and
 * the masked update, with convolutions on oneDNN or im2col + sgemm and products on the system
 * BLAS or the addon's own sgemm), for the feed-forward networks of the lottery-ticket papers:
 * dense and convolutional layers with ReLU, max pooling and flattening (LeNet-300-100,
 * LeNet-5, Conv-2/4/6), and batch norm, residual blocks and global average pooling (VGG-11,
 * ResNet-20; native/layers.c). tfjs runs the same step as about a hundred kernels,
 * each paying its engine's bookkeeping, which was most of a LeNet-300-100 step
 * (BENCHMARKS.md).
 *
 * It computes what train.ts's tfjs step computes (softmax cross-entropy, Adam or SGD as in
 * optimizer.ts, pruned weights and their slots kept at zero, batch norm on the batch's
 * statistics with its moving averages updated as model.ts updates them), checked against it in
 * test/engine/native-step.test.ts. The model's and the optimiser's variables are updated in
 * place on the wasm heap, as `assign` would; a variable whose data another tensor shares is
 * first given its own copy, so that no other tensor sees the change.
 */

let enabled = true;

/** Whether train() takes the native step where it can (tests and benchmarks compare both). */
export function setNativeTrainingStep(on: boolean): void {
  enabled = on;
}

const LAYER = {
  dense: 1,
  conv: 2,
  maxpool: 3,
  batchnorm: 4,
  globalavgpool: 5,
  residual: 6,
  body: 7,
  residualEnd: 8,
} as const;

/**
 * The layer list as the native trainer reads it, with the parameters and the batch-norm
 * moving statistics in its order, or null for an architecture it does not cover (unit gates
 * or scales, nested residual blocks).
 */
export function nativeLayers(
  arch: Architecture,
  batch: number,
): { layers: number[]; params: string[]; moving: string[]; labels: string[] } | null {
  let [h, w, c] = arch.inputShape;
  const layers: number[] = [];
  const params: string[] = [];
  const moving: string[] = [];
  /** each native layer in words, for profiles */
  const labels: string[] = [];
  /** Appends a list of layers; false where one is not covered. */
  const plan = (list: LayerDef[], nested: boolean): boolean => {
    for (const layer of list) if (!planLayer(layer, nested)) return false;
    return true;
  };
  const planLayer = (layer: LayerDef, nested: boolean): boolean => {
    switch (layer.kind) {
      case 'flatten':
        [h, w, c] = [1, 1, h * w * c];
        break;
      case 'dense':
        if (layer.unitGate) return false;
        layers.push(LAYER.dense, h * w * c, layer.units, layer.activation === 'relu' ? 1 : 0, 1);
        params.push(`${layer.name}.kernel`, `${layer.name}.bias`);
        labels.push(`${layer.name}: dense ${h * w * c}→${layer.units}`);
        [h, w, c] = [1, 1, layer.units];
        break;
      case 'conv2d': {
        if (layer.unitGate) return false;
        const k = layer.kernel;
        const g = backend_util.computeConv2DInfo(
          [batch, h, w, c],
          [k, k, c, layer.filters],
          layer.stride,
          1,
          layer.padding,
        );
        const pad = g.padInfo;
        layers.push(
          LAYER.conv,
          ...[h, w, c, k, k, layer.filters, g.outHeight, g.outWidth, g.strideHeight],
          ...[g.strideWidth, pad.top, pad.left, pad.bottom, pad.right],
          layer.activation === 'relu' ? 1 : 0,
          layer.bias ? 1 : 0,
        );
        params.push(`${layer.name}.kernel`, ...(layer.bias ? [`${layer.name}.bias`] : []));
        labels.push(`${layer.name}: conv ${k}×${k} ${c}→${layer.filters} at ${h}×${w}`);
        [h, w, c] = [g.outHeight, g.outWidth, layer.filters];
        break;
      }
      case 'maxpool': {
        const g = backend_util.computePool2DInfo(
          [batch, h, w, c],
          layer.size,
          layer.size,
          1,
          'valid',
        );
        layers.push(LAYER.maxpool, h, w, c, layer.size, layer.size, g.outHeight, g.outWidth);
        labels.push(`max pool ${layer.size}×${layer.size} at ${h}×${w}×${c}`);
        [h, w] = [g.outHeight, g.outWidth];
        break;
      }
      case 'batchnorm':
        if (layer.unitGate) return false;
        layers.push(
          ...[LAYER.batchnorm, h * w * c, c, layer.activation === 'relu' ? 1 : 0],
          ...[BN_EPSILON, BN_MOMENTUM],
        );
        params.push(`${layer.name}.gamma`, `${layer.name}.beta`);
        moving.push(`${layer.name}.movingMean`, `${layer.name}.movingVariance`);
        labels.push(`${layer.name}: batch norm ${c} at ${h}×${w}`);
        break;
      case 'globalavgpool':
        layers.push(LAYER.globalavgpool, h, w, c);
        labels.push(`global average pool at ${h}×${w}×${c}`);
        [h, w] = [1, 1];
        break;
      case 'residual': {
        if (nested) return false;
        const input = [h, w, c] as const;
        layers.push(LAYER.residual, h * w * c);
        labels.push(`residual block at ${h}×${w}×${c}`);
        if (!plan(layer.shortcut, true)) return false;
        [h, w, c] = input;
        layers.push(LAYER.body);
        labels.push('its body');
        if (!plan(layer.body, true)) return false;
        layers.push(LAYER.residualEnd);
        labels.push(`its sum and ReLU at ${h}×${w}×${c}`);
        break;
      }
      default:
        // a kind the native step does not know (an input selection): tfjs's kernels train it
        return false;
    }
    return true;
  };
  return plan(arch.layers, false) ? { layers, params, moving, labels } : null;
}

/**
 * The native layer plan for this model at this batch size, or null where the native step
 * does not apply: switched off, another backend than wasm, the native kernels off, or an
 * architecture it does not cover (every trainable parameter must be one of its layers').
 */
function planFor(model: Model, batch: number): ReturnType<typeof nativeLayers> {
  if (!enabled || !nativeKernelsOn() || tf.getBackend() !== 'wasm') return null;
  const plan = nativeLayers(model.arch, batch);
  if (!plan) return null;
  const trainable = new Set(model.specs.filter((p) => p.trainable).map((p) => p.name));
  if (plan.params.length !== trainable.size || plan.params.some((p) => !trainable.has(p)))
    return null;
  return plan;
}

/** Mean milliseconds per step of each part of the native step. */
export interface NativeStepProfile {
  steps: number;
  layers: { layer: string; forwardMs: number; backwardMs: number }[];
  lossMs: number;
  updateMs: number;
}

/**
 * Gives each variable data of its own where it shares it with another tensor, so that the
 * native step can write it in place without changing that tensor.
 */
function ownData(wasm: BackendWasm, variables: (tf.Variable | null)[]): void {
  for (const v of variables)
    if (v && wasm.refCount(v.dataId) > 1) tf.tidy(() => v.assign(tf.mul(v, 1)));
}

export class NativeTrainingStep {
  private readonly offsets: Float64Array;

  private constructor(
    private trainer: NativeTrainer | null,
    private readonly model: Model,
    /** null: planned for evaluation only (forEvaluation) */
    private readonly optimizer: Optimizer | null,
    private readonly params: string[],
    private readonly slots: ('m' | 'v' | 'momentum' | null)[],
    /** batch norm's moving means and variances, updated in place too */
    private readonly moving: string[],
    private readonly labels: string[],
    /** the batch size the step was planned for */
    readonly batchSize: number,
  ) {
    this.offsets = new Float64Array(3 * params.length + moving.length);
  }

  /**
   * The native step for this model and training, or null where it does not apply: another
   * backend than wasm, the addon not built or switched off, or an architecture it does not
   * cover. `sparsity` adds λ·Σ|w| over the named parameters to the loss (network slimming's
   * penalty on the batch-norm scale factors); a loss with any other penalty is the caller's
   * tfjs step's, which differentiates it.
   */
  static create(opts: {
    model: Model;
    optimizer: Optimizer;
    settings: OptimizerSettings;
    masks: ReadonlyMap<string, Float32Array>;
    batchSize: number;
    classes: number;
    sparsity?: { params: string[]; lambda: number };
  }): NativeTrainingStep | null {
    const blas = nativeBlas();
    const plan = blas && planFor(opts.model, opts.batchSize);
    if (!plan) return null;
    const s = opts.settings;
    const adam = s.optimizer === 'adam';
    const decoupled = s.weightDecayMode === 'decoupled' ? 1 : 0;
    const optimizer = adam
      ? [0, s.learningRate, BETA1, BETA2, EPSILON, s.weightDecay, decoupled]
      : [1, s.learningRate, s.momentum, s.weightDecay, s.nesterov ? 1 : 0, decoupled];
    const penalised = new Set(opts.sparsity?.params ?? []);
    if ([...penalised].some((p) => !plan.params.includes(p))) return null;
    const trainer = blas.createTrainer(
      Float64Array.from(plan.layers),
      opts.batchSize,
      opts.classes,
      plan.params.map((p) => opts.masks.get(p) ?? null),
      Float64Array.from(optimizer),
      Float64Array.from(plan.params, (p) => (penalised.has(p) ? opts.sparsity!.lambda : 0)),
    );
    const slots = adam ? (['m', 'v'] as const) : s.momentum > 0 ? (['momentum'] as const) : [];
    for (const p of plan.params)
      for (const slot of slots)
        if (!opts.optimizer.slot(p, slot))
          throw new Error(
            `the optimiser has no ${slot} slot for ${p}: it must be keyed by parameter name`,
          );
    return new NativeTrainingStep(
      trainer,
      opts.model,
      opts.optimizer,
      plan.params,
      [...slots, ...Array<null>(2 - slots.length).fill(null)],
      plan.moving,
      plan.labels,
      opts.batchSize,
    );
  }

  /**
   * The native forward pass for evaluating `model` in batches of `batchSize` (evaluate), or
   * null where the native step does not apply (as create).
   */
  static forEvaluation(model: Model, batchSize: number): NativeTrainingStep | null {
    const blas = nativeBlas();
    const plan = blas && planFor(model, batchSize);
    if (!plan) return null;
    const trainer = blas.createTrainer(
      Float64Array.from(plan.layers),
      batchSize,
      model.arch.classes,
      plan.params.map(() => null),
      // never used: an evaluation takes no step
      Float64Array.from([1, 0, 0, 0]),
    );
    return new NativeTrainingStep(
      trainer,
      model,
      null,
      plan.params,
      [null, null],
      plan.moving,
      plan.labels,
      batchSize,
    );
  }

  /**
   * One training step on a batch (NHWC floats, integer labels) at the step's learning rate
   * (the schedule's; the settings' base rate where left out); returns its mean loss.
   */
  step(x: Float32Array, labels: Int32Array, learningRate?: number): number {
    const blas = nativeBlas()!;
    if (!this.trainer) throw new Error('the native training step was disposed');
    const optimizer = this.optimizer;
    if (!optimizer) throw new Error('a native step planned for evaluation takes no step');
    const wasm = tf.backend() as BackendWasm;
    const variables = this.params.map((name) => [
      this.model.v(name),
      ...this.slots.map((slot) => (slot ? optimizer.slot(name, slot)! : null)),
    ]);
    const moving = this.moving.map((name) => this.model.v(name));
    // Own data first (a copy may grow the heap, so offsets are read after).
    ownData(wasm, [...variables.flat(), ...moving]);
    variables.forEach((vs, i) =>
      vs.forEach((v, j) => (this.offsets[3 * i + j] = v ? heapOffset(wasm, v) : -1)),
    );
    moving.forEach((v, i) => (this.offsets[3 * variables.length + i] = heapOffset(wasm, v)));
    const memory = wasm.typedArrayFromHeap(variables[0]![0]!).buffer as ArrayBuffer;
    const step = optimizer.nextStep();
    return learningRate === undefined
      ? blas.trainStep(this.trainer, memory, this.offsets, x, labels, step)
      : blas.trainStep(this.trainer, memory, this.offsets, x, labels, step, learningRate);
  }

  /**
   * Loss and accuracy of the model as it is now on a split, through the native forward pass
   * in inference mode (what train.ts's tfjs `evaluate` computes). Reads the weights where
   * they are on the wasm heap and writes nothing.
   */
  evaluate(split: Split): { loss: number; accuracy: number } {
    const blas = nativeBlas()!;
    if (!this.trainer) throw new Error('the native training step was disposed');
    const { memory, offsets } = this.weightsOnHeap();
    const batch = this.batchSize;
    const size = exampleSize(split.shape);
    const x = new Float32Array(batch * size);
    const labels = new Int32Array(batch);
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < split.count; start += batch) {
      const n = Math.min(batch, split.count - start);
      // a last, smaller batch is padded with zeros, which the count leaves out
      if (n < batch) {
        x.fill(0);
        labels.fill(0);
      }
      x.set(split.x.subarray(start * size, (start + n) * size));
      labels.set(split.y.subarray(start, start + n));
      const [loss, hits] = blas.trainerEvaluate(this.trainer, memory, offsets, x, labels, n);
      lossSum += loss!;
      correct += hits!;
    }
    return { loss: lossSum / split.count, accuracy: correct / split.count };
  }

  /**
   * The forward pass in training mode on a batch of the step's size (NHWC floats): batch
   * norm normalises by the batch's statistics and moves the model's moving means and
   * variances toward them by `momentum` (0 to 1), in place; nothing else changes and no
   * step is taken. Momentum 1/b on the b-th of several batches leaves their statistics'
   * cumulative average.
   */
  forwardTraining(x: Float32Array, momentum: number): void {
    if (!this.trainer) throw new Error('the native training step was disposed');
    // written in place: the moving statistics own their data first (as in step)
    ownData(
      tf.backend() as BackendWasm,
      this.moving.map((name) => this.model.v(name)),
    );
    const { memory, offsets } = this.weightsOnHeap();
    nativeBlas()!.trainerForwardTraining(this.trainer, memory, offsets, x, momentum);
  }

  /** The wasm heap and the model's weights' and moving statistics' offsets on it (no slots). */
  private weightsOnHeap(): { memory: ArrayBuffer; offsets: Float64Array } {
    const wasm = tf.backend() as BackendWasm;
    const offsets = new Float64Array(this.offsets.length).fill(-1);
    this.params.forEach((name, i) => (offsets[3 * i] = heapOffset(wasm, this.model.v(name))));
    this.moving.forEach(
      (name, i) => (offsets[3 * this.params.length + i] = heapOffset(wasm, this.model.v(name))),
    );
    const memory = wasm.typedArrayFromHeap(this.model.v(this.params[0]!)).buffer as ArrayBuffer;
    return { memory, offsets };
  }

  /** Where this step's time went so far (bench:profile). */
  profile(): NativeStepProfile {
    if (!this.trainer) throw new Error('the native training step was disposed');
    const p = nativeBlas()!.trainerProfile(this.trainer);
    const steps = p[0]!;
    const ms = (ns: number) => ns / 1e6 / Math.max(steps, 1);
    return {
      steps,
      lossMs: ms(p[1]!),
      updateMs: ms(p[2]!),
      layers: this.labels.map((layer, l) => ({
        layer,
        forwardMs: ms(p[3 + 2 * l]!),
        backwardMs: ms(p[4 + 2 * l]!),
      })),
    };
  }

  /** Frees the native buffers (the layers' outputs and gradients) now rather than at GC. */
  dispose(): void {
    if (this.trainer) nativeBlas()?.freeTrainer(this.trainer);
    this.trainer = null;
  }
}
