import { describe, expect, it } from 'vitest';
import { inputReachesOutput, unitsReachOutput } from '../../bench/layer-path.ts';
import { buildArchitecture, describeParams, type Shape3 } from '../../src/engine/architectures.ts';

describe('inputReachesOutput', () => {
  const { layers } = buildArchitecture('resnet-20', [32, 32, 3], 10);
  /** every kernel keeps a weight but those of the layers named */
  const emptied =
    (...names: string[]) =>
    (kernel: string) =>
      names.includes(kernel.replace(/\.kernel$/, '')) ? 0 : 1;

  it('passes a residual block where its body or its shortcut keeps a path, and is cut where neither does', () => {
    expect(inputReachesOutput(layers, emptied())).toBe(true);
    // a projection shortcut emptied: the block's body still carries the input
    expect(inputReachesOutput(layers, emptied('block3.1.shortcut'))).toBe(true);
    // an identity shortcut always passes, whatever its body keeps
    expect(inputReachesOutput(layers, emptied('block3.2.conv1', 'block3.2.conv2'))).toBe(true);
    expect(inputReachesOutput(layers, emptied('block3.1.conv1', 'block3.1.shortcut'))).toBe(false);
    // a layer outside every block cuts the network alone; one not pruned (undefined) does not
    expect(inputReachesOutput(layers, emptied('conv'))).toBe(false);
    expect(inputReachesOutput(layers, (k) => (k === 'conv.kernel' ? undefined : 0))).toBe(false);
    expect(inputReachesOutput(layers, (k) => (k === 'conv.kernel' ? undefined : 1))).toBe(true);
  });
});

describe('unitsReachOutput', () => {
  /** A model's masks, every weight kept, and how to change them. */
  function masksOf(model: 'resnet-20' | 'conv-2' | 'lenet-300-100', inputShape: Shape3) {
    const arch = buildArchitecture(model, inputShape, 10);
    const params = describeParams(arch).filter((p) => p.prunable);
    const masks = new Map(
      params.map((p) => [p.name, new Uint8Array(p.shape.reduce((a, b) => a * b, 1)).fill(1)]),
    );
    /** keeps a layer's weights from input unit i to output unit o where `keep(i, o)`, at every window offset */
    const keepOnly = (layer: string, keep: (i: number, o: number) => boolean) => {
      const shape = params.find((p) => p.name === `${layer}.kernel`)!.shape;
      const [inputs, outputs] = shape.slice(-2) as [number, number];
      const mask = masks.get(`${layer}.kernel`)!;
      mask.forEach((_, w) => {
        mask[w] = keep(Math.floor(w / outputs) % inputs, w % outputs) ? 1 : 0;
      });
    };
    return {
      keepOnly,
      reaches: () => unitsReachOutput(arch.layers, inputShape, (k) => masks.get(k)),
      layersPass: () =>
        inputReachesOutput(arch.layers, (k) => masks.get(k)?.reduce((a, b) => a + b, 0)),
    };
  }

  it("is cut where every layer keeps weights but none of one layer's starts at a unit carrying the input", () => {
    const lenet = masksOf('lenet-300-100', [28, 28, 1]);
    expect(lenet.reaches()).toBe(true);
    lenet.keepOnly('fc1', (_, o) => o === 0);
    lenet.keepOnly('fc2', (i) => i === 1);
    expect(lenet.layersPass()).toBe(true);
    expect(lenet.reaches()).toBe(false);
    lenet.keepOnly('fc2', (i) => i === 0);
    expect(lenet.reaches()).toBe(true);
  });

  it('follows a channel through pooling and flattening (NHWC: feature pixel·C + channel)', () => {
    const conv2 = masksOf('conv-2', [32, 32, 3]);
    conv2.keepOnly('conv2', (_, o) => o === 3);
    conv2.keepOnly('fc1', (f) => f === 5 * 64 + 3); // pixel 5's channel 3
    expect(conv2.reaches()).toBe(true);
    conv2.keepOnly('fc1', (f) => f === 5 * 64 + 2);
    expect(conv2.layersPass()).toBe(true);
    expect(conv2.reaches()).toBe(false);
  });

  it("passes a residual block's channel through its shortcut, kept or identity", () => {
    const resnet = masksOf('resnet-20', [32, 32, 3]);
    // the stem feeds channel 0 alone, every block's body is cut, and the two projection
    // shortcuts keep one weight each: from channel 0 to 0, then from channel `from` to 5
    resnet.keepOnly('conv', (_, o) => o === 0);
    for (const block of ['1.1', '1.2', '1.3', '2.1', '2.2', '2.3', '3.1', '3.2', '3.3'])
      resnet.keepOnly(`block${block}.conv1`, (i) => i === 7);
    resnet.keepOnly('block2.1.shortcut', (i, o) => i === 0 && o === 0);
    resnet.keepOnly('block3.1.shortcut', (i, o) => i === 0 && o === 5);
    expect(resnet.layersPass()).toBe(true);
    expect(resnet.reaches()).toBe(true);
    resnet.keepOnly('block3.1.shortcut', (i, o) => i === 1 && o === 5);
    expect(resnet.layersPass()).toBe(true);
    expect(resnet.reaches()).toBe(false);
  });
});
