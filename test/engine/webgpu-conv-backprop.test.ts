import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxRelativeError } from '../helpers.ts';
import { webGpuForTests } from './fixtures.ts';

/**
 * The split-K Conv2DBackpropFilter on WebGPU (src/engine/webgpu-conv-backprop.ts) against
 * the cpu backend. Runs wherever Dawn finds an adapter (in CI, Mesa's lavapipe).
 */
const gpu = await webGpuForTests();

type Pad = 'same' | 'valid' | number;
type Shape4 = [number, number, number, number];

/** The kernel itself, as a gradient calls it. */
const backpropFilter = (x: tf.Tensor, dy: tf.Tensor, filterShape: number[], s: number, p: Pad) =>
  tf
    .engine()
    .runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { strides: s, pad: p, dataFormat: 'NHWC', filterShape },
    ) as tf.Tensor;
const CASES: { x: Shape4; f: Shape4; s: number; p: Pad }[] = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 16], s: 1, p: 'same' }, // a first layer
  { x: [3, 9, 7, 5], f: [3, 3, 5, 7], s: 2, p: 'same' }, // odd sizes, stride 2
  { x: [2, 10, 10, 17], f: [3, 3, 17, 33], s: 1, p: 'valid' }, // channels past a tile
  { x: [4, 8, 8, 16], f: [1, 1, 16, 32], s: 2, p: 'valid' }, // ResNet's 1×1 shortcut
  { x: [2, 6, 6, 4], f: [5, 5, 4, 6], s: 1, p: 2 }, // LeNet-5's 5×5, explicit padding
  { x: [16, 16, 16, 8], f: [3, 3, 8, 8], s: 1, p: 'same' }, // 4,096 rows: several chunks
];

const values = (shape: number[], seed: number) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) =>
    Math.sin(i * 12.9898 + seed),
  );

async function filterGradient(
  backend: 'webgpu' | 'cpu',
  c: (typeof CASES)[number],
  dyShape: number[],
): Promise<Float32Array> {
  await tf.setBackend(backend);
  const dw = tf.tidy(() =>
    backpropFilter(
      tf.tensor4d(values(c.x, 1), c.x),
      tf.tensor4d(values(dyShape, 2), dyShape as Shape4),
      c.f,
      c.s,
      c.p,
    ),
  );
  const data = (await dw.data()) as Float32Array;
  dw.dispose();
  return data;
}

describe.skipIf(!gpu.ok)('WebGPU filter gradient (split-K)', () => {
  for (const c of CASES)
    it(`matches the cpu backend: x ${c.x.join('×')}, filter ${c.f.join('×')}, stride ${c.s}, pad ${c.p}`, async () => {
      await tf.setBackend('cpu');
      const dyShape = tf.tidy(
        () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.s, c.p).shape,
      );
      const ours = await filterGradient('webgpu', c, dyShape);
      const cpu = await filterGradient('cpu', c, dyShape);
      expect(ours.length).toBe(cpu.length);
      expect(maxRelativeError(ours, cpu)).toBeLessThan(1e-4);
    });

  it('frees its partial sums', async () => {
    await tf.setBackend('webgpu');
    const x = tf.tensor4d(values([16, 16, 16, 8], 1), [16, 16, 16, 8]);
    const dy = tf.tensor4d(values([16, 16, 16, 8], 2), [16, 16, 16, 8]);
    const run = () => backpropFilter(x, dy, [3, 3, 8, 8], 1, 'same').dispose();
    run();
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds); // partial sums and their sum freed
    x.dispose();
    dy.dispose();
  });
});
