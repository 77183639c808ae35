import * as tf from '@tensorflow/tfjs-core';
import {
  describeParams,
  type Architecture,
  type LayerDef,
  type ParamSpec,
} from './architectures.ts';
import type { Weights } from './weights.ts';
import { scalars } from './scalars.ts';

/** Batch-norm moving averages follow PyTorch's momentum 0.1, ε 1e-5 (the native step's too). */
export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

let modelCount = 0;

export interface ApplyOptions {
  /** training mode: where batch norm puts its moving-average updates */
  bnUpdates?: [tf.Variable, tf.Tensor][];
  /** tensors to use instead of the model's variables (by parameter name), to differentiate by them */
  params?: Map<string, tf.Tensor>;
  /**
   * fused kernels (fast); false for ops whose second derivatives tfjs computes in reasonable
   * time (GraSP)
   */
  fused?: boolean;
  /** training mode: seeds the noise of unit gates, so a step's noise is reproducible */
  noiseSeed?: number;
}

// L0 hard-concrete constants (Louizos, Welling, Kingma 2018).
export const HARD_CONCRETE = { gamma: -0.1, zeta: 1.1, beta: 2 / 3, eps: 1e-6 };

/** Test-time hard-concrete gate: clip(σ(log α)(ζ − γ) + γ, 0, 1). */
export function hardConcreteTestGate(logAlpha: tf.Tensor): tf.Tensor {
  const { gamma, zeta } = HARD_CONCRETE;
  return tf.clipByValue(tf.add(tf.mul(tf.sigmoid(logAlpha), zeta - gamma), gamma), 0, 1);
}

/** A model living on the active backend: variables for every parameter. */
export class Model {
  readonly specs: ParamSpec[];
  readonly variables: Map<string, tf.Variable>;
  private readonly trainableList: tf.Variable[];
  /** each input selection's indices, as the gather reads them */
  private readonly selections: Map<string, tf.Tensor1D>;

  constructor(
    readonly arch: Architecture,
    weights: Weights,
  ) {
    modelCount++; // tfjs variable names are global and must be unique
    this.specs = describeParams(arch);
    this.variables = new Map(
      this.specs.map((p) => [
        p.name,
        tf.tidy(() =>
          tf.variable(
            tf.tensor(weights.get(p.name)!, p.shape, 'float32'),
            p.trainable,
            `m${modelCount}/${p.name}`,
          ),
        ),
      ]),
    );
    this.trainableList = this.specs
      .filter((p) => p.trainable)
      .map((p) => this.variables.get(p.name)!);
    this.selections = new Map(
      arch.layers.flatMap((l) =>
        l.kind === 'select' ? [[l.name, tf.keep(tf.tensor1d(l.indices, 'int32'))] as const] : [],
      ),
    );
  }

  get trainable(): tf.Variable[] {
    return this.trainableList;
  }

  v(name: string): tf.Variable {
    return this.variables.get(name)!;
  }

  setWeights(weights: Weights): void {
    for (const p of this.specs) {
      tf.tidy(() => this.v(p.name).assign(tf.tensor(weights.get(p.name)!, p.shape, 'float32')));
    }
  }

  async readWeights(): Promise<Weights> {
    const out: Weights = new Map();
    for (const p of this.specs) out.set(p.name, (await this.v(p.name).data()) as Float32Array);
    return out;
  }

  /**
   * The forward pass. In training mode batch norm uses batch statistics and pushes the
   * moving-average updates into `bnUpdates` (applied by the caller after the step).
   */
  apply(x: tf.Tensor, training: boolean, options: ApplyOptions = {}): tf.Tensor {
    const { bnUpdates, params, fused = true } = options;
    const k = scalars();
    const p = (name: string): tf.Tensor => params?.get(name) ?? this.v(name);
    let gateIndex = 0;
    // While gradients are recorded tfjs runs a fused op with an activation unfused, bias
    // included: in training fuse only the bias (one kernel) and apply the activation after.
    const fusedActivation = (activation: 'relu' | 'linear') => (training ? 'linear' : activation);
    /** A unit gate's multiplier: sampled per example and unit in training, its mean at test time. */
    const gate = (h: tf.Tensor, name: string, kind: 'hard-concrete' | 'gaussian'): tf.Tensor => {
      const units = h.shape[h.shape.length - 1]!;
      const noise = h.rank === 2 ? [h.shape[0]!, units] : [h.shape[0]!, 1, 1, units];
      const seed =
        options.noiseSeed === undefined ? undefined : options.noiseSeed * 64 + gateIndex++;
      if (kind === 'hard-concrete') {
        const logAlpha = p(`${name}.logAlpha`);
        if (!training) return tf.mul(h, hardConcreteTestGate(logAlpha));
        const { gamma, zeta, beta, eps } = HARD_CONCRETE;
        const u = tf.randomUniform(noise, eps, 1 - eps, 'float32', seed);
        const s = tf.sigmoid(
          tf.div(tf.add(tf.sub(tf.log(u), tf.log1p(tf.neg(u))), logAlpha), beta),
        );
        return tf.mul(h, tf.clipByValue(tf.add(tf.mul(s, zeta - gamma), gamma), 0, 1));
      }
      const mean = p(`${name}.noiseMean`);
      if (!training) return tf.mul(h, mean);
      const eps = tf.randomNormal(noise, 0, 1, 'float32', seed);
      return tf.mul(h, tf.add(mean, tf.mul(tf.exp(tf.mul(p(`${name}.noiseLogVar`), 0.5)), eps)));
    };
    const run = (layers: LayerDef[], input: tf.Tensor): tf.Tensor => {
      let h = input;
      for (const layer of layers) {
        switch (layer.kind) {
          case 'flatten':
            h = tf.reshape(h, [h.shape[0]!, -1]);
            break;
          case 'select':
            h = tf.gather(h, this.selections.get(layer.name)!, 1);
            if (layer.unitGate) h = gate(h, layer.name, layer.unitGate);
            break;
          case 'dense': {
            const kernel = p(`${layer.name}.kernel`) as tf.Tensor2D;
            const bias = p(`${layer.name}.bias`);
            if (layer.unitGate) {
              h = tf.add(tf.matMul(h as tf.Tensor2D, kernel), bias);
              h = gate(h, layer.name, layer.unitGate);
              if (layer.activation === 'relu') h = tf.relu(h);
            } else if (fused) {
              h = tf.fused.matMul({
                a: h as tf.Tensor2D,
                b: kernel,
                bias,
                activation: fusedActivation(layer.activation),
              });
              if (training && layer.activation === 'relu') h = tf.relu(h);
            } else {
              h = tf.add(tf.matMul(h as tf.Tensor2D, kernel), bias);
              if (layer.activation === 'relu') h = tf.relu(h);
            }
            break;
          }
          case 'conv2d': {
            const filter = p(`${layer.name}.kernel`) as tf.Tensor4D;
            const bias = layer.bias ? p(`${layer.name}.bias`) : undefined;
            if (layer.unitGate) {
              h = tf.conv2d(h as tf.Tensor4D, filter, layer.stride, layer.padding);
              if (bias) h = tf.add(h, bias);
              h = gate(h, layer.name, layer.unitGate);
              if (layer.activation === 'relu') h = tf.relu(h);
            } else if (fused) {
              h = tf.fused.conv2d({
                x: h as tf.Tensor4D,
                filter,
                strides: layer.stride,
                pad: layer.padding,
                bias,
                activation: fusedActivation(layer.activation),
              });
              if (training && layer.activation === 'relu') h = tf.relu(h);
            } else {
              h = tf.conv2d(h as tf.Tensor4D, filter, layer.stride, layer.padding);
              if (bias) h = tf.add(h, bias);
              if (layer.activation === 'relu') h = tf.relu(h);
            }
            break;
          }
          case 'batchnorm': {
            const gamma = p(`${layer.name}.gamma`);
            const beta = p(`${layer.name}.beta`);
            const movingMean = this.v(`${layer.name}.movingMean`);
            const movingVar = this.v(`${layer.name}.movingVariance`);
            if (training) {
              const { mean, variance } = tf.moments(h, [0, 1, 2]);
              h = tf.batchNorm(h, mean, variance, beta, gamma, BN_EPSILON);
              if (bnUpdates) {
                const n = h.size / h.shape[3]!;
                const unbiased = tf.mul(variance, k(n / Math.max(n - 1, 1)));
                bnUpdates.push(
                  [
                    movingMean,
                    tf.keep(
                      tf.add(tf.mul(movingMean, k(1 - BN_MOMENTUM)), tf.mul(mean, k(BN_MOMENTUM))),
                    ),
                  ],
                  [
                    movingVar,
                    tf.keep(
                      tf.add(
                        tf.mul(movingVar, k(1 - BN_MOMENTUM)),
                        tf.mul(unbiased, k(BN_MOMENTUM)),
                      ),
                    ),
                  ],
                );
              }
            } else {
              // moving statistics may be replaced too (SynFlow's rescaled network)
              const mean = p(`${layer.name}.movingMean`);
              const variance = p(`${layer.name}.movingVariance`);
              h = tf.batchNorm(h, mean, variance, beta, gamma, BN_EPSILON);
            }
            if (layer.unitGate) h = gate(h, layer.name, layer.unitGate);
            if (layer.activation === 'relu') h = tf.relu(h);
            break;
          }
          case 'maxpool':
            h = tf.maxPool(h as tf.Tensor4D, layer.size, layer.size, 'valid');
            break;
          case 'globalavgpool':
            h = tf.mean(h, [1, 2]);
            break;
          case 'residual': {
            const body = run(layer.body, h);
            const skip = layer.shortcut.length > 0 ? run(layer.shortcut, h) : h;
            h = tf.relu(tf.add(body, skip));
            break;
          }
        }
      }
      return h;
    };
    return run(this.arch.layers, x);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    for (const t of this.selections.values()) t.dispose();
  }
}
