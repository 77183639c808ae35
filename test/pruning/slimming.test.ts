import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { buildArchitecture, describeParams } from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { initWeights, type Weights } from '../../src/engine/weights.ts';
import {
  checkSlimmable,
  EarlyBird,
  maskDistance,
  maskFromString,
  maskString,
  scaleFactors,
  slimmingMask,
} from '../../src/pruning/structured/slimming.ts';
import { compactedSize } from '../../src/pruning/structured/run.ts';
import { compact } from '../../src/pruning/structured/surgery.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('Early-Bird detection (You et al. 2020)', () => {
  it('fires at the first epoch whose mask is within the threshold of each of the window’s older masks', () => {
    // 20 units; each step below flips units, so distances are multiples of 0.05.
    const flip = (m: string, ...at: number[]) =>
      [...m].map((c, i) => (at.includes(i) ? (c === '1' ? '0' : '1') : c)).join('');
    const e1 = '11111111110000000000';
    const e2 = flip(e1, 0, 10, 1, 11, 2, 12); // 0.30 from e1
    const e3 = flip(e2, 3); // 0.05 from e2
    const e4 = flip(e3, 4); // 0.05 from e3, 0.10 from e2
    const e5 = e4;
    const e6 = e4; // e6 vs e2 0.10, e3 0.05, e4 0, e5 0: all ≤ 0.1
    expect(maskDistance(e1, e2)).toBeCloseTo(0.3, 10);
    const bird = new EarlyBird(5, 0.1);
    // epoch 5's window is e1…e5: e5 is 0.4 from e1, so no ticket yet
    expect([e1, e2, e3, e4, e5].map((m) => bird.push(m))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(bird.push(e6)).toBe(true);
    expect(bird.detectedEpoch).toBe(6);
    expect(bird.push(e6)).toBe(false); // drawn once
    const d = bird.distances();
    expect(d).toHaveLength(7);
    expect(d[5]![1]).toBeCloseTo(0.1, 10);
    expect(d[0]![0]).toBe(0);

    // the threshold is inclusive; the state survives a checkpoint round trip
    const strict = new EarlyBird(5, 0.09);
    [e1, e2, e3, e4, e5, e6].forEach((m) => strict.push(m));
    expect(strict.detectedEpoch).toBeNull();
    const resumed = new EarlyBird(5, 0.09, JSON.parse(JSON.stringify(strict.state())));
    expect(resumed.push(e6)).toBe(true); // e3…e7 are all within 0.05
    expect(resumed.detectedEpoch).toBe(7);
  });
});

describe('network slimming', () => {
  it('scale factors: batch-norm γ where a layer has one, a unit scale otherwise; never the output layer', () => {
    const vgg = scaleFactors(buildArchitecture('vgg-11', [32, 32, 3], 10));
    expect(vgg).toHaveLength(8);
    expect(vgg[0]).toEqual({ layer: 'conv1', param: 'bn1.gamma' });
    const mlp = scaleFactors(buildArchitecture('lenet-300-100', [28, 28, 1], 10));
    expect(mlp).toEqual([
      { layer: 'fc1', param: 'fc1.scale' },
      { layer: 'fc2', param: 'fc2.scale' },
    ]);
    const resnet = scaleFactors(buildArchitecture('resnet-20', [32, 32, 3], 10));
    expect(resnet).toHaveLength(21); // stem, 9 blocks × 2 convs, 2 shortcuts
    expect(resnet.find((f) => f.layer === 'block2.1.shortcut')).toEqual({
      layer: 'block2.1.shortcut',
      param: 'block2.1.shortcut_bn.gamma',
    });
  });

  it('refuses models without batch norm, whose unit scales trade against the weights (Liu et al. §3)', () => {
    for (const model of ['lenet-300-100', 'lenet-5', 'conv-2', 'conv-4', 'conv-6'] as const)
      expect(() => checkSlimmable(buildArchitecture(model, [28, 28, 1], 10))).toThrowError(
        expect.objectContaining({
          code: 'INVALID_SPEC',
          message: expect.stringContaining(`${model} has no batch norm after`),
        }),
      );
    expect(() => checkSlimmable(buildArchitecture('conv-4', [28, 28, 1], 10))).toThrowError(
      /has no batch norm after conv1, conv2, conv3, conv4, fc1, fc2: .*Use a model with batch norm \(vgg-11, vgg-16, resnet-20\)/,
    );
    for (const model of ['vgg-11', 'vgg-16', 'resnet-20'] as const)
      expect(() => checkSlimmable(buildArchitecture(model, [32, 32, 3], 10))).not.toThrow();
  });

  it('prunes the smallest |γ| under one global threshold, keeps one unit per layer, and round-trips as a string', () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const factors = scaleFactors(arch);
    const weights: Weights = new Map([
      ['fc1.scale', Float32Array.from({ length: 300 }, (_, i) => (i < 100 ? 0.001 : 1 + i))],
      ['fc2.scale', Float32Array.from({ length: 100 }, (_, i) => -0.01 * (i + 1))],
    ]);
    // 400 factors, half removed: fc1's 100 tiny ones and the 100 of fc2 (|γ| ≤ 1)…
    const mask = slimmingMask(arch, factors, weights, 0.5);
    // …but fc2 keeps its largest-magnitude unit so the network stays connected
    expect(mask.get('fc2')!.reduce((a, b) => a + b, 0)).toBe(1);
    expect(mask.get('fc2')![99]).toBe(1);
    expect(
      mask
        .get('fc1')!
        .slice(0, 100)
        .every((k) => k === 0),
    ).toBe(true);
    expect(
      mask
        .get('fc1')!
        .slice(100)
        .every((k) => k === 1),
    ).toBe(true);
    const s = maskString(mask);
    expect(s).toHaveLength(400);
    expect(maskFromString(factors, [300, 100], s)).toEqual(mask);
  });

  it('in a ResNet, channels joined by skip connections rank by their mean |γ| and share one mask', () => {
    const arch = buildArchitecture('resnet-20', [32, 32, 3], 10);
    const factors = scaleFactors(arch);
    const rng = new Rng(5);
    const weights: Weights = new Map(
      factors.map((f) => {
        const n = f.param.startsWith('bn') || f.param.startsWith('block1') ? 16 : 64;
        const size = f.layer.startsWith('block2') ? 32 : n;
        return [f.param, Float32Array.from({ length: size }, () => rng.normal())];
      }),
    );
    const mask = slimmingMask(arch, factors, weights, 0.5);
    const stage1 = ['conv', 'block1.1.conv2', 'block1.2.conv2', 'block1.3.conv2'];
    for (const layer of stage1) expect(mask.get(layer)).toBe(mask.get('conv'));
    expect(mask.get('block2.1.shortcut')).toBe(mask.get('block2.3.conv2'));
    // the stage-1 stream's channel with the largest mean |γ| is kept
    const mean = Array.from({ length: 16 }, (_, u) =>
      stage1.reduce(
        (a, l) => a + Math.abs(weights.get(factors.find((f) => f.layer === l)!.param)![u]!),
        0,
      ),
    );
    expect(mask.get('conv')![mean.indexOf(Math.max(...mean))]).toBe(1);
    // and the result is a mask surgery accepts
    const dense = initWeights(describeParams(arch), 'kaiming-normal', 1);
    expect(() => compact(arch, dense, mask)).not.toThrow();
  });

  it('a compacted model’s size comes from its real shapes, against the dense model', () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const weights = initWeights(describeParams(arch), 'glorot-normal', 1);
    const keep = (n: number, k: number) =>
      Uint8Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
    const small = compact(
      arch,
      weights,
      new Map([
        ['fc1', keep(300, 120)],
        ['fc2', keep(100, 30)],
      ]),
    );
    const size = compactedSize(describeParams(arch), describeParams(small.arch));
    const kernels = 784 * 120 + 120 * 30 + 30 * 10;
    expect(size.remainingParams).toBe(kernels + 120 + 30 + 10);
    expect(size.totalParams).toBe(784 * 300 + 300 * 100 + 100 * 10 + 410);
    expect(size.remainingFraction).toBeCloseTo(kernels / (784 * 300 + 300 * 100 + 1000), 12);
    expect(size.flops).toBe(2 * kernels + 160);
    expect(size.layers.find((l) => l.layer === 'fc2.kernel')).toEqual({
      layer: 'fc2.kernel',
      total: 30000,
      kept: 3600,
    });
  });
});
