import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.ts';
import {
  BETA1,
  BETA2,
  EPSILON,
  Optimizer,
  type OptimizerSettings,
} from '../../src/engine/optimizer.ts';

/**
 * The optimisers against PyTorch's update rules written out in plain numbers (torch.optim.SGD
 * with nesterov=True; torch.optim.AdamW; SGDW as Loshchilov & Hutter 2019's Algorithm 1 in
 * PyTorch's parametrisation), on every backend present: on wasm with the addon, Adam runs
 * through the fused native kernel.
 */
const W0 = [1, -2, 0.5, 3];
const GRADS = [
  [0.3, -0.1, 0.2, -0.4],
  [-0.2, 0.5, 0.1, 0.05],
  [0.1, 0.1, -0.3, 0.2],
];
const RATES = [0.1, 0.05, 0.01]; // a schedule's per-step rates
const MASK = [1, 1, 0, 1];

function reference(s: OptimizerSettings): number[] {
  const w = W0.map((v, i) => v * MASK[i]!);
  const buf = w.map(() => 0);
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  GRADS.forEach((grads, t) => {
    const lr = RATES[t]!;
    for (let i = 0; i < w.length; i++) {
      if (MASK[i] === 0) continue;
      let g = grads[i]!;
      if (s.weightDecayMode === 'decoupled') w[i]! *= 1 - lr * s.weightDecay;
      else g += s.weightDecay * w[i]!;
      if (s.optimizer === 'sgd') {
        buf[i] = s.momentum * buf[i]! + g;
        w[i]! -= lr * (s.nesterov ? g + s.momentum * buf[i]! : buf[i]!);
      } else {
        m[i] = BETA1 * m[i]! + (1 - BETA1) * g;
        v[i] = BETA2 * v[i]! + (1 - BETA2) * g * g;
        const mHat = m[i]! / (1 - BETA1 ** (t + 1));
        const vHat = v[i]! / (1 - BETA2 ** (t + 1));
        w[i]! -= (lr * mHat) / (Math.sqrt(vHat) + EPSILON);
      }
    }
  });
  return w;
}

const CASES: [string, OptimizerSettings][] = [
  [
    'SGD with Nesterov momentum and L2 decay',
    { optimizer: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 },
  ],
  [
    'SGDW: momentum with decoupled decay',
    {
      optimizer: 'sgd',
      learningRate: 0.1,
      momentum: 0.9,
      weightDecay: 0.5,
      weightDecayMode: 'decoupled',
    },
  ],
  [
    'AdamW: Adam with decoupled decay',
    {
      optimizer: 'adam',
      learningRate: 0.1,
      momentum: 0,
      weightDecay: 0.5,
      weightDecayMode: 'decoupled',
    },
  ],
  ['Adam with L2 decay', { optimizer: 'adam', learningRate: 0.1, momentum: 0, weightDecay: 0.5 }],
];

describe('optimisers at per-step learning rates', () => {
  for (const backend of ['cpu', 'wasm'] as const)
    for (const [name, s] of CASES)
      it(`${backend}: ${name} follows PyTorch's update`, async () => {
        await initBackend(backend);
        const w = tf.variable(tf.tensor1d(W0.map((v, i) => v * MASK[i]!)));
        const mask = tf.tensor1d(MASK);
        const optimizer = new Optimizer(s, new Map([['w', w]]), new Map([['w', mask]]));
        GRADS.forEach((g, t) =>
          tf.tidy(() => optimizer.apply(new Map([['w', tf.tensor1d(g)]]), RATES[t])),
        );
        const got = Array.from(w.dataSync());
        const want = reference(s);
        got.forEach((v, i) => expect(v, `w[${i}]`).toBeCloseTo(want[i]!, 5));
        expect(got[2]).toBe(0);
        optimizer.dispose();
        w.dispose();
        mask.dispose();
      });
});
