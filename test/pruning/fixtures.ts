import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/random.ts';
import {
  conv,
  dense,
  describeParams,
  flatten,
  type Architecture,
} from '../../src/engine/architectures.ts';
import { Model } from '../../src/engine/model.ts';
import { initWeights, type Weights } from '../../src/engine/weights.ts';

/**
 * A model's outputs on `n` NHWC inputs: at test time, or in training mode with unit-gate
 * noise drawn from `noiseSeed` when one is given.
 */
export async function outputs(
  arch: Architecture,
  weights: Weights,
  input: Float32Array,
  n: number,
  noiseSeed?: number,
): Promise<Float32Array> {
  const model = new Model(arch, weights);
  const y = tf.tidy(() =>
    model.apply(tf.tensor4d(input, [n, ...arch.inputShape]), noiseSeed !== undefined, {
      noiseSeed,
    }),
  );
  const out = (await y.data()) as Float32Array;
  y.dispose();
  model.dispose();
  return out;
}

/** Random weights with biases, γ, β and batch-norm statistics away from 0/1, as after training. */
export function trainedLike(arch: Architecture, seed: number): Weights {
  const rng = new Rng(seed);
  const w = initWeights(describeParams(arch), 'kaiming-normal', seed);
  for (const [name, t] of w) {
    if (name.endsWith('.kernel')) continue;
    t.forEach(
      (_, i) => (t[i] = name.endsWith('movingVariance') ? 0.5 + rng.next() : 0.2 * rng.normal()),
    );
  }
  return w;
}

/**
 * The smallest convolutional net for MNIST-shaped data: conv (4 filters, stride 2), then
 * batch norm and ReLU (or the ReLU alone, without `batchNorm`), then a dense layer to 10.
 */
export function tinyConvNet(batchNorm = true): Architecture {
  return {
    model: 'lenet-5',
    inputShape: [28, 28, 1],
    classes: 10,
    layers: [
      conv('conv1', 4, { stride: 2, bias: false, activation: batchNorm ? 'linear' : 'relu' }),
      ...(batchNorm
        ? [{ kind: 'batchnorm' as const, name: 'bn1', activation: 'relu' as const }]
        : []),
      flatten,
      dense('fc', 10, 'linear'),
    ],
  };
}
