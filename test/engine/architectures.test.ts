import { describe, expect, it } from 'vitest';
import {
  buildArchitecture,
  describeParams,
  measureSize,
  MODEL_NAMES,
} from '../../src/engine/architectures.ts';

const kernels = (
  model: (typeof MODEL_NAMES)[number],
  shape: [number, number, number] = [32, 32, 3],
) => describeParams(buildArchitecture(model, shape, 10)).filter((p) => p.prunable);
const count = (ps: { shape: number[] }[]) =>
  ps.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);

describe('architectures', () => {
  it('LeNet-300-100 has the paper’s 266,200 weights (Frankle & Carbin, Figure 2)', () => {
    const ks = kernels('lenet-300-100', [28, 28, 1]);
    expect(ks.map((p) => p.shape)).toEqual([
      [784, 300],
      [300, 100],
      [100, 10],
    ]);
    expect(count(ks)).toBe(266200);
    expect(ks.map((p) => p.isOutput)).toEqual([false, false, true]);
  });

  it('Conv-2/4/6 weights match the paper’s 4.3M / 2.4M and the 2.26M REFERENCES.md notes for Conv-6', () => {
    expect(count(kernels('conv-2')) / 1e6).toBeCloseTo(4.3, 1);
    expect(count(kernels('conv-4')) / 1e6).toBeCloseTo(2.4, 1);
    expect(count(kernels('conv-6')) / 1e6).toBeCloseTo(2.26, 2);
  });

  it('ResNet-20 has about 0.27M parameters with 1×1 shortcuts where shapes change', () => {
    const params = describeParams(buildArchitecture('resnet-20', [32, 32, 3], 10));
    expect(count(params.filter((p) => p.trainable)) / 1e6).toBeCloseTo(0.27, 1);
    expect(params.filter((p) => p.name.endsWith('shortcut.kernel')).map((p) => p.shape)).toEqual([
      [1, 1, 16, 32],
      [1, 1, 32, 64],
    ]);
  });

  it('LeNet-5 and VGG-11/16 build for their inputs, and too-small inputs are refused clearly', () => {
    expect(count(kernels('lenet-5', [28, 28, 1]))).toBe(20 * 25 + 50 * 20 * 25 + 800 * 500 + 5000);
    expect(kernels('vgg-11').length).toBe(9);
    // VGG-16 on CIFAR: 13 convolutions (14,710,464 weights, the 14.7M of OpenLTH's cifar_vgg_16) and the classifier
    expect(kernels('vgg-16').length).toBe(14);
    expect(count(kernels('vgg-16'))).toBe(14_710_464 + 512 * 10);
    expect(() => buildArchitecture('conv-6', [4, 4, 1], 10)).toThrowError(
      /conv-6: input 4×4×1 is too small/,
    );
  });

  it('counts parameters and FLOPs with pruned weights left out', () => {
    const specs = describeParams(buildArchitecture('lenet-300-100', [28, 28, 1], 10));
    const dense = measureSize(specs, (name) =>
      specs.find((p) => p.name === name)!.shape.reduce((a, b) => a * b),
    );
    expect(dense.flops).toBe(2 * 266200 + 410);
    expect(dense.totalParams).toBe(266200 + 410);
    const half = measureSize(specs, (name) =>
      name === 'fc1.kernel'
        ? 117600
        : specs.find((p) => p.name === name)!.shape.reduce((a, b) => a * b),
    );
    expect(half.flops).toBe(dense.flops - 2 * 117600);
    expect(half.remainingParams).toBe(dense.totalParams - 117600);
    expect(half.remainingFraction).toBeCloseTo((266200 - 117600) / 266200, 10);
    expect(half.layers[0]).toEqual({ layer: 'fc1.kernel', total: 235200, kept: 117600 });
    // conv FLOPs scale with output positions: conv1 of Conv-2 on 32×32 'same'
    const conv = describeParams(buildArchitecture('conv-2', [32, 32, 3], 10));
    const size = measureSize(conv, (name) =>
      conv.find((p) => p.name === name)!.shape.reduce((a, b) => a * b),
    );
    expect(size.layers[0]).toEqual({ layer: 'conv1.kernel', total: 1728, kept: 1728 });
    expect(size.flops).toBeGreaterThan(2 * 1728 * 1024);
  });
});
