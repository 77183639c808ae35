import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { buildArchitecture, describeParams } from '../../src/engine/architectures.ts';
import { initWeights } from '../../src/engine/weights.ts';
import { pruneLevel, sizeOf, type ImpConfig } from '../../src/pruning/imp.ts';
import { pruneGlobal, pruneLayerwise, randomMaskLike } from '../../src/pruning/magnitude.ts';
import { countKept, denseMask } from '../../src/pruning/mask.ts';

const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
const specs = describeParams(arch);
const weights = initWeights(specs, 'glorot-normal', 0);
const config = (over: Partial<ImpConfig>) =>
  ({
    scope: 'layerwise',
    rates: { dense: 0.2, conv: 0.1, output: 0.1 },
    globalRate: 0.2,
    pruneOutput: true,
    ...over,
  }) as ImpConfig;

describe('magnitude pruning', () => {
  it('layer-wise 20% hidden / 10% output reproduces Frankle & Carbin’s Pm after rounds 3, 7, 9, 12, 15, 18', () => {
    let mask = denseMask(specs);
    const remaining: Record<number, string> = {};
    for (let round = 1; round <= 18; round++) {
      mask = pruneLevel(config({}), specs, weights, mask);
      remaining[round] = (sizeOf(specs, mask).remainingFraction * 100).toFixed(1);
    }
    expect([3, 7, 9, 12, 15, 18].map((r) => remaining[r])).toEqual([
      '51.3',
      '21.1',
      '13.5',
      '7.0',
      '3.6',
      '1.9',
    ]);
  });

  it('removes the smallest surviving weights of each layer', () => {
    const w = new Map([['a', Float32Array.from([0.5, -0.1, 0.3, -0.9, 0.05])]]);
    const m = new Map([['a', Uint8Array.from([1, 1, 1, 1, 0])]]);
    const next = pruneLayerwise(w, m, () => 0.5);
    expect(Array.from(next.get('a')!)).toEqual([1, 0, 0, 1, 0]);
  });

  it('global pruning takes 20% of the remaining weights with one threshold and never touches the output layer (OpenLTH)', () => {
    const mask = pruneLevel(
      config({ scope: 'global', pruneOutput: false }),
      specs,
      weights,
      denseMask(specs),
    );
    const kept = (n: string) => countKept(mask.get(n)!);
    expect(kept('fc3.kernel')).toBe(1000);
    expect(265200 - kept('fc1.kernel') - kept('fc2.kernel')).toBe(Math.ceil(265200 * 0.2));
    // one threshold: every pruned weight is smaller than every kept one across fc1 and fc2
    let maxPruned = 0;
    let minKept = Infinity;
    for (const n of ['fc1.kernel', 'fc2.kernel']) {
      const w = weights.get(n)!;
      mask
        .get(n)!
        .forEach((m, i) =>
          m
            ? (minKept = Math.min(minKept, Math.abs(w[i]!)))
            : (maxPruned = Math.max(maxPruned, Math.abs(w[i]!))),
        );
    }
    expect(maxPruned).toBeLessThanOrEqual(minKept);
    // different layer-wise sparsity emerges: Glorot gives fc1 smaller weights than fc2
    expect(kept('fc1.kernel') / 235200).not.toBeCloseTo(kept('fc2.kernel') / 30000, 2);
    expect(() => pruneGlobal(weights, mask, 1, () => true)).toThrowError(
      /remove every weight of fc1\.kernel/,
    );
  });

  it('random pruning keeps exactly the same count per layer, at other positions', () => {
    const mask = pruneLevel(config({}), specs, weights, denseMask(specs));
    const random = randomMaskLike(mask, new Rng(1));
    for (const [name, m] of mask) {
      expect(countKept(random.get(name)!)).toBe(countKept(m));
      expect(Array.from(random.get(name)!)).not.toEqual(Array.from(m));
    }
  });

  it('reports a layer that would be pruned to nothing', () => {
    const w = new Map([['tiny', Float32Array.from([0.1, 0.2])]]);
    expect(() =>
      pruneLayerwise(w, new Map([['tiny', Uint8Array.from([1, 1])]]), () => 1),
    ).toThrowError(/LAYER|remove every weight of tiny/);
  });
});
