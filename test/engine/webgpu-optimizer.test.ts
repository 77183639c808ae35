import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BETA1,
  BETA2,
  EPSILON,
  Optimizer,
  type OptimizerSettings,
} from '../../src/engine/optimizer.ts';
import { SGD_UPDATE } from '../../src/engine/webgpu-optimizer.ts';
import { ADAM_UPDATE } from '../../src/engine/wasm-native-adam.ts';
import { maxRelativeError } from '../helpers.ts';
import { webGpuForTests } from './fixtures.ts';

/**
 * The fused SGD and Adam updates on WebGPU (src/engine/webgpu-optimizer.ts). Runs wherever
 * Dawn finds an adapter (in CI, Mesa's lavapipe).
 */
const gpu = await webGpuForTests();

// a conv filter, a vector shorter than a workgroup, and a matrix past one
const SHAPES = [[3, 3, 4, 5], [7], [65, 3]];
const values = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
const size = (shape: number[]) => shape.reduce((a, b) => a * b);
/** about half the weights kept, in a scattered pattern */
const mask = (n: number) =>
  Float32Array.from({ length: n }, (_, i) => (Math.imul(i + 7, 2654435761) >>> 31 ? 1 : 0));

/** Weights and slots after three updates on `backend` (masked: the first two parameters). */
async function threeSteps(backend: string, settings: OptimizerSettings) {
  await tf.setBackend(backend);
  const params = new Map(
    SHAPES.map((s, p) => [
      `p${p}`,
      tf.variable(
        tf.tensor(
          values(size(s), p).map((x) => x * 0.5 * (p + 1)),
          s,
        ),
      ),
    ]),
  );
  const masks = new Map(SHAPES.slice(0, 2).map((s, p) => [`p${p}`, tf.tensor(mask(size(s)), s)]));
  // pruned weights start at zero, as a ticket's do
  for (const [name, m] of masks) params.get(name)!.assign(tf.mul(params.get(name)!, m));
  const optimizer = new Optimizer(settings, params, masks);
  let profile: Awaited<ReturnType<typeof tf.profile>> | undefined;
  for (let step = 0; step < 3; step++) {
    const grads = new Map(
      SHAPES.map((s, p) => [`p${p}`, tf.tensor(values(size(s), 10 * step + p), s)]),
    );
    const run = () => tf.tidy(() => optimizer.apply(grads, 0.1 / (step + 1)));
    if (step === 2) profile = await tf.profile(run);
    else run();
    for (const g of grads.values()) g.dispose();
  }
  const out = new Map<string, Float32Array>();
  for (const [name, w] of params) out.set(name, (await w.data()) as Float32Array);
  for (const slot of ['m', 'v', 'momentum'] as const)
    for (const name of params.keys()) {
      const s = optimizer.slot(name, slot);
      if (s) out.set(`${name}/${slot}`, (await s.data()) as Float32Array);
    }
  optimizer.dispose();
  for (const t of [...params.values(), ...masks.values()]) t.dispose();
  return { out, kernels: profile!.kernels.map((k) => k.name) };
}

describe.skipIf(!gpu.ok)('fused optimiser updates on WebGPU', () => {
  for (const nesterov of [false, true])
    it(`SGD with momentum${nesterov ? ' (Nesterov)' : ''} and weight decay matches the tfjs ops on the cpu backend, masks included`, async () => {
      const settings: OptimizerSettings = {
        optimizer: 'sgd',
        learningRate: 0.1,
        momentum: 0.9,
        nesterov,
        weightDecay: 5e-4,
      };
      const ours = await threeSteps('webgpu', settings);
      const cpu = await threeSteps('cpu', settings);
      expect(ours.kernels).toContain(SGD_UPDATE);
      expect(cpu.kernels).not.toContain(SGD_UPDATE);
      expect([...ours.out.keys()]).toEqual([...cpu.out.keys()]);
      for (const [name, x] of cpu.out)
        expect(maxRelativeError(ours.out.get(name)!, x), name).toBeLessThan(1e-6);
      // pruned weights and their momentum stay at exactly zero
      const kept = mask(size(SHAPES[0]!));
      for (const key of ['p0', 'p0/momentum'])
        expect(
          ours.out
            .get(key)!
            .filter((_, i) => kept[i] === 0)
            .every((x) => x === 0),
        ).toBe(true);
    });

  it("Adam computes the native addon's update (bias corrections folded in), masks included", async () => {
    const settings: OptimizerSettings = {
      optimizer: 'adam',
      learningRate: 0.1,
      momentum: 0,
      weightDecay: 1e-4,
    };
    const ours = await threeSteps('webgpu', settings);
    expect(ours.kernels).toContain(ADAM_UPDATE);
    // the reference: native/kernels.h adam_element in double precision, step by step, from
    // the same float32 constants (in float32, 1 − β2 is 1.3e-5 below 0.001, relatively)
    const [b1, b2, eps, wd] = [BETA1, BETA2, EPSILON, 1e-4].map(Math.fround) as [
      number,
      number,
      number,
      number,
    ];
    for (const [p, shape] of SHAPES.entries()) {
      const n = size(shape);
      const keep = p < 2 ? mask(n) : new Float32Array(n).fill(1);
      let w = Float64Array.from(values(n, p), (x, i) => x * 0.5 * (p + 1) * keep[i]!);
      let m = new Float64Array(n);
      let v = new Float64Array(n);
      for (let step = 1; step <= 3; step++) {
        const g = values(n, 10 * (step - 1) + p);
        const rate = Math.fround(0.1 / step / (1 - BETA1 ** step));
        const invSqrtBc2 = Math.fround(1 / Math.sqrt(1 - BETA2 ** step));
        const grad = Float64Array.from(g, (x, i) => x + wd * w[i]!);
        m = Float64Array.from(m, (x, i) => keep[i]! * (b1 * x + (1 - b1) * grad[i]!));
        v = Float64Array.from(v, (x, i) => keep[i]! * (b2 * x + (1 - b2) * grad[i]! ** 2));
        w = Float64Array.from(
          w,
          (x, i) => keep[i]! * (x - (rate * m[i]!) / (Math.sqrt(v[i]!) * invSqrtBc2 + eps)),
        );
      }
      expect(maxRelativeError(ours.out.get(`p${p}`)!, w), `p${p}`).toBeLessThan(1e-5);
      expect(maxRelativeError(ours.out.get(`p${p}/m`)!, m), `p${p}/m`).toBeLessThan(1e-5);
      expect(maxRelativeError(ours.out.get(`p${p}/v`)!, v), `p${p}/v`).toBeLessThan(1e-5);
    }
  });
});
