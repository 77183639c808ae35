import { beforeAll, describe, expect, it } from 'vitest';
import { outputs, trainedLike } from './fixtures.ts';
import { Rng } from '../../src/core/random.ts';
import {
  buildArchitecture,
  describeParams,
  measureSize,
  type Architecture,
  type ModelName,
  type Shape3,
} from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { measureLatency } from '../../src/engine/latency.ts';
import { l1UnitMask } from '../../src/pruning/structured/l1-filter.ts';
import { compact, couplingGroups, zeroUnits } from '../../src/pruning/structured/surgery.ts';
import { maskToBundle, removedUnits } from '../../src/pruning/mask.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

const CASES: [ModelName, string, Shape3][] = [
  ['lenet-300-100', 'dense neurons', [28, 28, 1]],
  ['lenet-5', 'conv filters through flatten into dense rows', [28, 28, 1]],
  ['conv-2', 'same-padded convs, pooling, flatten', [16, 16, 3]],
  ['vgg-11', 'batch norm and global average pooling', [32, 32, 3]],
  ['resnet-20', 'channels coupled by skip connections, 1×1 shortcuts', [16, 16, 3]],
];

describe('structured surgery', () => {
  it.each(CASES)(
    '%s: the compacted model computes what the masked model computes (%s)',
    async (model, _what, shape) => {
      const arch = buildArchitecture(model, shape, 10);
      const weights = trainedLike(arch, 4);
      const units = l1UnitMask(arch, weights, 0.5);
      const n = 3;
      const rng = new Rng(8);
      const input = Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () =>
        rng.next(),
      );
      const masked = await outputs(arch, zeroUnits(arch, weights, units), input, n);
      const small = compact(arch, weights, units);
      const got = await outputs(small.arch, small.weights, input, n);
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i]! - masked[i]!));
      expect(diff).toBeLessThan(1e-5);
      expect(Math.max(...masked) - Math.min(...masked)).toBeGreaterThan(1e-3); // not vacuous

      // a smaller ordinary model: its shapes, parameters and FLOPs come from itself
      const before = measureSize(describeParams(arch), () => 0);
      const specs = describeParams(small.arch);
      for (const p of specs)
        expect(small.weights.get(p.name)!.length).toBe(p.shape.reduce((a, b) => a * b, 1));
      const after = measureSize(specs, (name) => small.weights.get(name)!.length);
      expect(after.totalParams).toBeLessThan(before.totalParams * 0.6);
      // and it saves and loads as itself (plain data), no pruning steps replayed
      const reloaded = JSON.parse(JSON.stringify(small.arch)) as Architecture;
      expect(await outputs(reloaded, small.weights, input, n)).toEqual(got);
    },
  );

  it('keeps the output layer whole and removes from the previous layer’s outputs and the next one’s inputs', () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const weights = trainedLike(arch, 1);
    const units = l1UnitMask(arch, weights, 0.25);
    expect([...units.keys()]).toEqual(['fc1', 'fc2']);
    const small = compact(arch, weights, units);
    expect(small.arch.layers.map((l) => (l.kind === 'dense' ? l.units : l.kind))).toEqual([
      'flatten',
      225,
      75,
      10,
    ]);
    expect(small.weights.get('fc2.kernel')!.length).toBe(225 * 75);
  });

  it('prunes a ResNet stage’s coupled channels together and refuses masks that split them', () => {
    const resnet = buildArchitecture('resnet-20', [16, 16, 3], 10);
    expect(couplingGroups(resnet)).toEqual([
      ['conv', 'block1.1.conv2', 'block1.2.conv2', 'block1.3.conv2'],
      ['block2.1.conv2', 'block2.1.shortcut', 'block2.2.conv2', 'block2.3.conv2'],
      ['block3.1.conv2', 'block3.1.shortcut', 'block3.2.conv2', 'block3.3.conv2'],
    ]);
    const weights = trainedLike(resnet, 6);
    const units = l1UnitMask(resnet, weights, 0.25);
    expect(units.get('block1.2.conv2')).toEqual(units.get('conv'));
    expect(units.get('block1.1.conv1')!.reduce((a, b) => a + b, 0)).toBe(12);
    const small = compact(resnet, weights, units);
    const widths = describeParams(small.arch)
      .filter((p) => p.role === 'kernel')
      .map((p) => `${p.layer}:${p.shape.at(-1)}`);
    expect(widths).toContain('conv:12');
    expect(widths).toContain('block2.1.shortcut:24');
    expect(widths).toContain('block3.3.conv1:48');
    expect(widths.at(-1)).toBe('fc:10');
    const split = new Map(units);
    split.set(
      'block1.3.conv2',
      Uint8Array.from(units.get('conv')!, (k, i) => (i === 0 ? 1 - k : k)),
    );
    expect(() => compact(resnet, weights, split)).toThrowError(
      /block1\.3\.conv2 shares its output channels with conv, block1\.1\.conv2, block1\.2\.conv2 through skip connections/,
    );
  });

  it('refuses a layer pruned to nothing, with the reason', () => {
    const lenet = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    expect(() =>
      compact(lenet, trainedLike(lenet, 2), new Map([['fc1', new Uint8Array(300)]])),
    ).toThrowError(/fc1: every unit removed/);
  });

  it('L1 filter pruning keeps the filters with the largest absolute sums', () => {
    const arch = buildArchitecture('lenet-5', [28, 28, 1], 10);
    const weights = trainedLike(arch, 3);
    const k = weights.get('conv1.kernel')!; // [5, 5, 1, 20]
    for (let i = 0; i < k.length; i++) k[i] = i % 20 === 7 ? 10 : i % 20 === 3 ? 0 : k[i]!;
    const keep = l1UnitMask(arch, weights, 0.5).get('conv1')!;
    expect(keep.reduce((a, b) => a + b, 0)).toBe(10);
    expect(keep[7]).toBe(1);
    expect(keep[3]).toBe(0);
  });

  it('measures inference latency of the compacted model (median after warm-up)', async () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const lat = await measureLatency(arch, trainedLike(arch, 5), 8, { warmup: 1, runs: 5 });
    expect(lat).toMatchObject({ batch: 8, runs: 5 });
    expect(lat.medianMs).toBeGreaterThan(0);
    expect(lat.throughput).toBeCloseTo((8 * 1000) / lat.medianMs, 6);
  });
});

describe('units an unstructured mask removes', () => {
  it('counts neurons and filters left without any incoming weight', () => {
    const arch = buildArchitecture('lenet-5', [28, 28, 1], 10);
    const specs = describeParams(arch);
    const mask = new Map(
      specs
        .filter((p) => p.prunable)
        .map((p) => [p.name, new Uint8Array(p.shape.reduce((a, b) => a * b, 1)).fill(1)]),
    );
    const conv1 = mask.get('conv1.kernel')!; // [5, 5, 1, 20]: filter = index % 20
    conv1.forEach((_, i) => (conv1[i] = i % 20 === 4 || i % 20 === 9 ? 0 : 1));
    conv1[3 * 20 + 9] = 1; // one weight left: filter 9 still lives
    const units = removedUnits(maskToBundle(specs, mask));
    expect(units.find((u) => u.layer === 'conv1.kernel')).toEqual({
      layer: 'conv1.kernel',
      total: 20,
      removed: 1,
    });
    expect(units.find((u) => u.layer === 'fc1.kernel')).toEqual({
      layer: 'fc1.kernel',
      total: 500,
      removed: 0,
    });
  });
});
