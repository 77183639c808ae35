import { describe, expect, it } from 'vitest';
import { inputReachesOutput } from '../../bench/layer-path.ts';
import { buildArchitecture } from '../../src/engine/architectures.ts';

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
