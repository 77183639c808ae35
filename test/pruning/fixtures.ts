import * as tf from '@tensorflow/tfjs-core';
import type { Architecture } from '../../src/engine/architectures.ts';
import { Model } from '../../src/engine/model.ts';
import type { Weights } from '../../src/engine/weights.ts';

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
