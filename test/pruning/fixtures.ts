import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/random.ts';
import { describeParams, type Architecture } from '../../src/engine/architectures.ts';
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
