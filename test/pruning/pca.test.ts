import { beforeAll, describe, expect, it } from 'vitest';
import { outputs, trainedLike } from './fixtures.ts';
import { maxRelativeError } from '../helpers.ts';
import { Rng } from '../../src/core/random.ts';
import {
  buildArchitecture,
  describeParams,
  type Architecture,
  type LayerDef,
} from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import {
  lowRankApproximate,
  lowRankReplace,
  rankForEnergy,
  symmetricEigen,
} from '../../src/pruning/structured/pca.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('PCA low-rank replacement (Zhang et al.)', () => {
  it('Jacobi eigen-decomposition: A = V Λ Vᵀ (n = 12 and n = 300) with orthonormal V and eigenvalues descending', () => {
    for (const n of [12, 300]) {
      const rng = new Rng(n);
      const b = Float64Array.from({ length: n * n }, () => rng.normal());
      const a = new Float64Array(n * n); // BᵀB: symmetric, positive semi-definite
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          for (let k = 0; k < n; k++) a[i * n + j]! += b[k * n + i]! * b[k * n + j]!;
      const { values, vectors } = symmetricEigen(a, n);
      for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let vtv = 0;
          let rebuilt = 0;
          for (let k = 0; k < n; k++) {
            vtv += vectors[k * n + i]! * vectors[k * n + j]!;
            rebuilt += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
          }
          expect(vtv).toBeCloseTo(i === j ? 1 : 0, 10);
          expect(rebuilt).toBeCloseTo(a[i * n + j]!, 6);
        }
    }
  });

  it('keeps the fewest components holding the requested energy', () => {
    const values = Float64Array.from([5, 3, 1, 0.5, 0.5, -1e-9]);
    expect(rankForEnergy(values, 0.5)).toBe(1);
    expect(rankForEnergy(values, 0.8)).toBe(2);
    expect(rankForEnergy(values, 0.9)).toBe(3);
    expect(rankForEnergy(values, 1)).toBe(5);
  });

  it.each([
    ['lenet-300-100', 'fc1', [28, 28, 1]],
    ['lenet-5', 'conv2', [28, 28, 1]],
    ['vgg-11', 'conv3', [32, 32, 3]],
  ] as const)(
    '%s: replacing %s at full rank reproduces the layer (dense; conv with a 1×1 conv; conv before batch norm)',
    async (model, name, shape) => {
      const arch = buildArchitecture(model, [...shape], 10);
      const weights = trainedLike(arch, 4);
      const index = arch.layers.findIndex((l) => 'name' in l && l.name === name);
      const layer = arch.layers[index] as Extract<LayerDef, { kind: 'dense' | 'conv2d' }>;
      const d = layer.kind === 'dense' ? layer.units : layer.filters;
      // any orthonormal basis and any mean: at full rank V Vᵀ = I
      const rng = new Rng(9);
      const sym = Float64Array.from({ length: d * d }, () => rng.normal());
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) sym[i * d + j] = sym[j * d + i]!;
      const { vectors } = symmetricEigen(sym, d);
      const mean = Float64Array.from({ length: d }, () => rng.normal());
      const pair = lowRankReplace(layer, weights, vectors, mean, d);
      const replaced: Architecture = {
        ...arch,
        layers: [...arch.layers.slice(0, index), ...pair.layers, ...arch.layers.slice(index + 1)],
      };
      const n = 2;
      const input = Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () =>
        rng.next(),
      );
      const want = await outputs(arch, weights, input, n);
      const got = await outputs(replaced, new Map([...weights, ...pair.weights]), input, n);
      expect(maxRelativeError(got, want)).toBeLessThan(1e-4);
    },
  );

  it('approximates layer by layer: thinner pairs, ranks recorded, outputs close on the calibration data', async () => {
    const arch = buildArchitecture('lenet-5', [28, 28, 1], 10);
    const weights = trainedLike(arch, 5);
    const rng = new Rng(1);
    // inputs with low-dimensional structure, as images have
    const count = 200;
    const basis = Array.from({ length: 6 }, () =>
      Float32Array.from({ length: 784 }, () => rng.normal()),
    );
    const x = new Float32Array(count * 784);
    for (let e = 0; e < count; e++) {
      const c = basis.map(() => rng.normal());
      for (let p = 0; p < 784; p++)
        x[e * 784 + p] = basis.reduce((s, b, i) => s + c[i]! * b[p]!, 0);
    }
    const want = await outputs(arch, weights, x.subarray(0, 20 * 784), 20);
    const error = async (energy: number) => {
      const result = await lowRankApproximate(arch, weights, { x, count }, energy);
      const got = await outputs(result.arch, result.weights, x.subarray(0, 20 * 784), 20);
      let diff = 0;
      let norm = 0;
      got.forEach((g, i) => {
        diff += (g - want[i]!) ** 2;
        norm += want[i]! ** 2;
      });
      return { result, relative: Math.sqrt(diff / norm) };
    };
    const coarse = await error(0.9);
    const fine = await error(0.99);
    const { result } = coarse;
    expect(result.ranks.map((r) => r.layer)).toEqual(['conv1', 'conv2', 'fc1']);
    // conv1 (5×5×1 → 20) gets cheaper only below rank 12; the others are replaced
    for (const r of result.ranks.slice(1)) expect(r.kept).toBeLessThan(r.total);
    const names = describeParams(result.arch).map((p) => p.name);
    expect(names).toContain('conv2_lowrank.kernel');
    expect(names).toContain('fc1_lowrank.kernel');
    const count_ = (a: Architecture) =>
      describeParams(a).reduce((s, p) => s + p.shape.reduce((x, y) => x * y, 1), 0);
    for (const p of describeParams(result.arch))
      expect(result.weights.get(p.name)!.length).toBe(p.shape.reduce((a, b) => a * b, 1));
    expect(count_(result.arch)).toBeLessThan(count_(arch));
    // more energy kept, closer to the original network
    expect(fine.relative).toBeLessThan(coarse.relative);
    expect(fine.relative).toBeLessThan(0.1);
  });
});
