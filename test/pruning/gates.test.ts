import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { outputs } from './fixtures.ts';
import { Rng } from '../../src/core/random.ts';
import {
  buildArchitecture,
  describeParams,
  layerWidths,
  type Architecture,
  type ModelName,
  type Shape3,
} from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { Model } from '../../src/engine/model.ts';
import { Optimizer } from '../../src/engine/optimizer.ts';
import { initWeights, type Weights } from '../../src/engine/weights.ts';
import {
  foldUnitGates,
  INPUT_SELECTION,
  gatePenalty,
  gateSites,
  gateUnitMask,
  noiseLogAlpha,
  testGates,
  unitArchitecture,
  withUnitGates,
  type GateMethod,
} from '../../src/pruning/structured/gates.ts';
import { compact, zeroUnits } from '../../src/pruning/structured/surgery.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

/** Gate parameters spread so that some units are shut and some open. */
function gatedWeights(arch: Architecture, method: GateMethod, seed: number): Weights {
  const rng = new Rng(seed);
  const w = initWeights(describeParams(arch), 'kaiming-normal', seed);
  for (const [name, t] of w) {
    if (name.endsWith('.logAlpha')) t.forEach((_, i) => (t[i] = i % 3 === 0 ? -4 : rng.normal()));
    else if (name.endsWith('.noiseMean')) t.forEach((_, i) => (t[i] = 0.5 + rng.next()));
    else if (name.endsWith('.noiseLogVar'))
      t.forEach((_, i) => (t[i] = i % 3 === 0 ? 4 : -6 + rng.normal()));
    else if (name.endsWith('movingVariance')) t.forEach((_, i) => (t[i] = 0.5 + rng.next()));
    else if (!name.endsWith('.kernel')) t.forEach((_, i) => (t[i] = 0.2 * rng.normal()));
  }
  return w;
}

const CASES: [ModelName, Shape3, string][] = [
  ['lenet-300-100', [28, 28, 1], 'gates on dense layers'],
  ['conv-2', [12, 12, 3], 'gates on convolutions'],
  ['resnet-20', [16, 16, 3], 'gates after batch norm, channels coupled by skips'],
];

describe('unit gates: L0 hard-concrete and Bayesian group noise (Louizos et al.)', () => {
  it.each(
    CASES.flatMap(([m, s, what]) =>
      (['l0', 'bayesian'] as const).map((g) => [m, s, what, g] as const),
    ),
  )(
    '%s (%s), %s: the folded, compacted model computes what the gated model computes at test time',
    async (model, shape, _what, method) => {
      const arch = buildArchitecture(model, shape, 10);
      const gated = withUnitGates(arch, method);
      const weights = gatedWeights(gated, method, 3);
      const rng = new Rng(4);
      const n = 2;
      const input = Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () =>
        rng.next(),
      );
      const want = await outputs(gated, weights, input, n);
      const folded = foldUnitGates(method, gateSites(arch, method), weights);
      expect([...folded.keys()].sort()).toEqual(
        describeParams(arch)
          .map((p) => p.name)
          .sort(),
      );
      const plain = await outputs(arch, folded, input, n);
      const close = (a: Float32Array, tol: number) =>
        a.forEach((v, i) =>
          expect(Math.abs(v - want[i]!)).toBeLessThan(tol * (1 + Math.abs(want[i]!))),
        );
      close(plain, 1e-4);
      const mask = gateUnitMask(arch, method, weights, 3);
      const removed = [...mask.values()].reduce(
        (s, m) => s + m.length - m.reduce((a, b) => a + b, 0),
        0,
      );
      expect(removed).toBeGreaterThan(0);
      // L0 on LeNet-300-100 cuts input pixels too: an input selection before fc1
      const cut = unitArchitecture(arch, method);
      const small = compact(cut, folded, mask);
      const selection = small.arch.layers.find((l) => l.kind === 'select');
      if (method === 'l0' && model === 'lenet-300-100') {
        const kept = mask.get(INPUT_SELECTION)!.reduce((a, b) => a + b, 0);
        expect(kept).toBeLessThan(784);
        expect(selection).toMatchObject({ kind: 'select' });
        expect(layerWidths(small.arch).split('-')[0]).toBe(String(kept));
      } else expect(selection).toBeUndefined();
      const got = await outputs(small.arch, small.weights, input, n);
      // surgery computes what the folded model with those units zeroed computes…
      const masked = await outputs(cut, zeroUnits(cut, folded, mask), input, n);
      got.forEach((v, i) =>
        expect(Math.abs(v - masked[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(v))),
      );
      // …and for L0, whose removed units' gates are exactly 0, what the gated model computes
      if (method === 'l0') close(got, 1e-4);
    },
  );

  it('L0: test-time gate clip(σ(log α)(ζ − γ) + γ, 0, 1); a unit is removed exactly when it is 0', () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const weights = initWeights(describeParams(withUnitGates(arch, 'l0')), 'glorot-normal', 1);
    const la = weights.get('fc1.logAlpha')!;
    la[0] = 0; // σ = 0.5 → 0.5·1.2 − 0.1 = 0.5
    la[1] = -3; // σ ≈ 0.047 → < 0.1/1.2: gate 0
    la[2] = 9; // σ ≈ 0.9999 → 1.0999 → 1
    const z = testGates('l0', gateSites(arch, 'l0'), weights).get('fc1')!;
    expect(z[0]).toBeCloseTo(0.5, 6);
    expect(z[1]).toBe(0);
    expect(z[2]).toBe(1);
    const keep = gateUnitMask(arch, 'l0', weights, 0).get('fc1')!;
    expect([keep[0], keep[1], keep[2]]).toEqual([1, 0, 1]);
  });

  it('the regularisers: λ/N·Σ_g |g|·P(z_g ≠ 0) for L0 (|g|: the weights leaving a dense unit or an input pixel), KL/N with log α = log σ² − log μ² for Bayesian noise', async () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    for (const method of ['l0', 'bayesian'] as const) {
      const gated = withUnitGates(arch, method);
      const weights = gatedWeights(gated, method, 7);
      const model = new Model(gated, weights);
      const value = (
        await gatePenalty(method, gateSites(arch, method), 0.5, 1000)(model).data()
      )[0]!;
      model.dispose();
      let expected = 0;
      // L0 (Louizos et al.'s L0MLP): each pixel gates its row of fc1 (300 weights), each
      // fc1 unit its row of fc2 (100), each fc2 unit its row of fc3 (10)
      const groups: [string, number][] =
        method === 'l0'
          ? [
              ['input_select', 300],
              ['fc1', 100],
              ['fc2', 10],
            ]
          : [
              ['fc1', 0],
              ['fc2', 0],
            ];
      for (const [site, group] of groups) {
        if (method === 'l0') {
          for (const a of weights.get(`${site}.logAlpha`)!)
            expected += group / (1 + Math.exp(-(a - (2 / 3) * Math.log(0.1 / 1.1))));
        } else {
          for (const a of noiseLogAlpha(weights, site)) {
            const negKl =
              0.63576 / (1 + Math.exp(-(1.8732 + 1.48695 * a))) -
              0.5 * Math.log1p(Math.exp(-a)) -
              0.63576;
            expected -= negKl;
          }
        }
      }
      expected *= (method === 'l0' ? 0.5 : 1) / 1000;
      expect(Math.abs(value - expected) / Math.abs(expected)).toBeLessThan(1e-6);
    }
  });

  it('L0 on a convolution charges kh·kw·cᵢ weights per channel', async () => {
    const arch = buildArchitecture('conv-2', [12, 12, 3], 10);
    const gated = withUnitGates(arch, 'l0');
    const weights = gatedWeights(gated, 'l0', 5);
    const model = new Model(gated, weights);
    const sites = gateSites(arch, 'l0');
    // the first layer is a convolution: no input gates
    expect(sites.map((s) => s.site)).toEqual(['conv1', 'conv2', 'fc1', 'fc2']);
    const value = (await gatePenalty('l0', sites, 1, 1)(model).data())[0]!;
    model.dispose();
    const open = (site: string) =>
      [...weights.get(`${site}.logAlpha`)!].reduce(
        (sum, a) => sum + 1 / (1 + Math.exp(-(a - (2 / 3) * Math.log(0.1 / 1.1)))),
        0,
      );
    // conv1: 3×3×3 inputs per channel; conv2: 3×3×64; fc1's units their rows of fc2 (256
    // weights), fc2's their rows of fc3 (10)
    const expected =
      27 * open('conv1') + 576 * open('conv2') + 256 * open('fc1') + 10 * open('fc2');
    expect(Math.abs(value - expected) / expected).toBeLessThan(1e-6);
  });

  it('L0: log α is clamped to [log 0.01, log 100] as a parameter, never clipped where the penalty would lose its gradient', async () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const gated = withUnitGates(arch, 'l0');
    const spec = describeParams(gated).find((p) => p.name === 'fc1.logAlpha')!;
    expect(spec.bounds).toEqual([Math.log(0.01), Math.log(100)]);
    const weights = gatedWeights(gated, 'l0', 9);
    weights.get('fc1.logAlpha')!.fill(6); // past log 100, where a clip made the gradient 0
    const model = new Model(gated, weights);
    const logAlpha = model.variables.get('fc1.logAlpha')!;
    const penalty = gatePenalty('l0', gateSites(arch, 'l0'), 1, 1);
    const { value, grads } = tf.variableGrads(() => penalty(model), [logAlpha]);
    const g = await Object.values(grads)[0]!.data();
    expect(Math.min(...g)).toBeGreaterThan(0);
    // one optimiser step with the parameter's bounds brings it back into range
    const optimizer = new Optimizer(
      { optimizer: 'sgd', learningRate: 1e-3, momentum: 0, weightDecay: 0 },
      new Map([['fc1.logAlpha', logAlpha]]),
      new Map(),
      new Map([['fc1.logAlpha', spec.bounds!]]),
    );
    tf.tidy(() => optimizer.apply(new Map([['fc1.logAlpha', Object.values(grads)[0]!]])));
    expect(Math.max(...(await logAlpha.data()))).toBeCloseTo(Math.log(100), 5);
    tf.dispose([value, ...Object.values(grads)]);
    optimizer.dispose();
    model.dispose();
  });

  it('training noise is drawn per step: the same seed repeats it, another seed changes it', async () => {
    const arch = withUnitGates(buildArchitecture('lenet-300-100', [28, 28, 1], 10), 'l0');
    const weights = gatedWeights(arch, 'l0', 2);
    const input = Float32Array.from({ length: 784 }, (_, i) => (i % 7) / 7);
    const a = await outputs(arch, weights, input, 1, 5);
    expect(await outputs(arch, weights, input, 1, 5)).toEqual(a);
    expect(await outputs(arch, weights, input, 1, 6)).not.toEqual(a);
  });
});
