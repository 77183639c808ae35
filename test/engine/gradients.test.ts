import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.ts';
import { cosine, maxRelativeError } from '../helpers.ts';

/** Deterministic values in [−k, k]. */
const values = (shape: number[], seed: number, k = 0.7) =>
  tf.tensor(
    Float32Array.from(
      { length: shape.reduce((a, b) => a * b) },
      (_, i) => Math.sin(i * 12.9898 + seed) * k,
    ),
    shape,
  );

/**
 * The Hessian-vector product of `loss` at `weights` along a fixed direction, by tfjs's second
 * derivatives and by central differences of the gradient with step `eps`: their cosine, per
 * weight.
 */
function hessianVectorCosines(
  loss: (...ws: tf.Tensor[]) => tf.Tensor,
  weights: tf.Tensor[],
  eps: number,
): number[] {
  const direction = weights.map((w, i) => values(w.shape, 10 + i));
  const gradient = (ws: tf.Tensor[]) => tf.grads(loss)(ws);
  const hv = tf.grads((...ws: tf.Tensor[]) =>
    tf.addN(gradient(ws).map((g, i) => tf.sum(tf.mul(g, direction[i]!)))),
  )(weights);
  const shifted = (sign: number) =>
    gradient(weights.map((w, i) => tf.add(w, tf.mul(direction[i]!, sign * eps))));
  const plus = shifted(1);
  const minus = shifted(-1);
  return weights.map((_, i) =>
    cosine(hv[i]!.dataSync(), tf.div(tf.sub(plus[i]!, minus[i]!), 2 * eps).dataSync()),
  );
}

describe('second derivatives (GraSP on conv nets)', () => {
  it('Hessian-vector products through two convolutions, ReLU and max pooling match finite differences', async () => {
    await initBackend('cpu');
    const x = values([4, 14, 14, 1], 1);
    // conv → relu → pool → conv → relu → pool → dense: the second derivative needs the
    // gradients of Conv2DBackpropFilter (both inputs), Conv2DBackpropInput and MaxPoolGrad
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      let h = tf.relu(tf.conv2d(x as tf.Tensor4D, a as tf.Tensor4D, 1, 'valid'));
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.relu(tf.conv2d(h, b as tf.Tensor4D, 1, 'valid'));
      h = tf.maxPool(h, 2, 2, 'valid');
      return tf.sum(tf.square(tf.sin(tf.matMul(tf.reshape(h, [4, -1]), c))));
    };
    const weights = [
      values([3, 3, 1, 4], 2),
      values([3, 3, 4, 5], 3, 0.3),
      values([20, 3], 4, 0.3),
    ];
    // central differences, a step small enough not to cross ReLU kinks or pooling ties
    hessianVectorCosines(loss, weights, 1e-4).forEach((c, i) =>
      expect(c, `layer ${i}`).toBeGreaterThan(0.9999),
    );
  });
});

describe('second derivatives through batch norm (GraSP on batch-norm nets)', () => {
  it('Hessian-vector products through a convolution and batch norm on its batch statistics match finite differences', async () => {
    await initBackend('wasm');
    const x = values([4, 6, 6, 2], 1, 2);
    const readout = values([4, 4, 4, 3], 7);
    // conv → batch norm on the batch's moments → a smooth loss: the second derivative runs
    // through FusedBatchNorm's registered gradient and through the moments, twice
    const loss = (kernel: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
      const h = tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'valid');
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const normed = tf.batchNorm(h, mean, variance, beta, gamma, 1e-3);
      return tf.sum(tf.square(tf.sin(tf.mul(normed, readout))));
    };
    const weights = [values([3, 3, 2, 3], 2), tf.add(values([3], 3, 0.3), 1), values([3], 4)];
    hessianVectorCosines(loss, weights, 1e-3).forEach((c, i) =>
      expect(c, ['kernel', 'gamma', 'beta'][i]).toBeGreaterThan(0.999),
    );
  });
});

describe("Mean's gradient", () => {
  for (const { shape, axis } of [
    { shape: [4, 3, 5, 6], axis: [0, 1, 2] }, // batch norm's moments
    { shape: [4, 3, 5, 6], axis: [1, 2] }, // global average pooling
    { shape: [7, 5], axis: [1] },
  ])
    it(`is dy / n spread over the reduced axes: ${shape.join('×')} over ${axis.join(',')}`, async () => {
      await initBackend('wasm');
      const x = values(shape, 1);
      const expanded = shape.map((d, i) => (axis.includes(i) ? 1 : d));
      const dy = values(
        shape.filter((_, i) => !axis.includes(i)),
        2,
      );
      const n = axis.reduce((p, a) => p * shape[a]!, 1);
      let got: tf.Tensor | undefined;
      const profile = await tf.profile(() => {
        got = tf.grad((t: tf.Tensor) => tf.mean(t, axis))(x, dy);
      });
      const spread = tf.broadcastTo(tf.div(tf.reshape(dy, expanded), n), shape);
      expect(Array.from(await got!.data())).toEqual(Array.from(await spread.data()));
      // the ones are the backend's fill (tfjs's own gradient builds them in JavaScript)
      expect(profile.kernels.map((k) => k.name)).toContain('OnesLike');
    });
});

describe("FusedBatchNorm's gradient", () => {
  it('matches batch norm written out of elementwise ops, for every input, without tiling', async () => {
    await initBackend('wasm');
    const x = values([3, 4, 5, 6], 1, 2);
    const mean = values([6], 2, 0.5);
    const variance = tf.add(values([6], 3, 0.5), 1);
    const offset = values([6], 4);
    const scale = values([6], 5);
    const weights = values([3, 4, 5, 6], 6);
    const fused = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
      tf.sum(tf.mul(tf.batchNorm(a as tf.Tensor4D, m, v, o, s, 1e-3), weights));
    const written = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
      tf.sum(
        tf.mul(tf.add(tf.mul(tf.mul(tf.sub(a, m), tf.rsqrt(tf.add(v, 1e-3))), s), o), weights),
      );
    const inputs = [x, mean, variance, offset, scale];
    let ours: tf.Tensor[] = [];
    const profile = await tf.profile(() => {
      ours = tf.grads(fused)(inputs);
    });
    const reference = tf.grads(written)(inputs);
    for (const [i, name] of ['x', 'mean', 'variance', 'offset', 'scale'].entries()) {
      const [a, b] = [await ours[i]!.data(), await reference[i]!.data()];
      expect(maxRelativeError(a, b), name).toBeLessThan(1e-5);
    }
    expect(profile.kernels.map((k) => k.name)).not.toContain('Tile');
  });
});
