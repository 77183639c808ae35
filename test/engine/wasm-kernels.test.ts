import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.ts';
import { Optimizer } from '../../src/engine/optimizer.ts';
import { ADAM_UPDATE } from '../../src/engine/wasm-native-adam.ts';
import {
  kernelThreads,
  nativeBlas,
  nativeBlasStatus,
  setNativeKernels,
} from '../../src/engine/native-blas.ts';
import { maxRelativeError, ROOT } from '../helpers.ts';

type Pad = 'same' | 'valid' | number;
type Shape4 = [number, number, number, number];
const CASES: {
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number | [number, number];
  p: Pad;
}[] = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 1, p: 'same' },
  { x: [3, 9, 7, 2], f: [3, 3, 2, 5], s: 2, p: 'same' },
  { x: [2, 10, 10, 3], f: [5, 5, 3, 4], s: 1, p: 'valid' },
  { x: [1, 11, 11, 2], f: [3, 3, 2, 3], s: [2, 3], p: 'valid' },
  { x: [4, 6, 6, 8], f: [1, 1, 8, 16], s: 2, p: 'same' },
  { x: [2, 7, 7, 3], f: [3, 3, 3, 2], s: 1, p: 1 },
  { x: [2, 8, 8, 2], f: [3, 3, 2, 2], s: 3, p: 'valid' }, // leftover rows past the last window
  { x: [1, 5, 5, 1], f: [2, 2, 1, 1], s: 1, p: 3 }, // padding wider than the kernel: the fallback path
  { x: [64, 16, 16, 16], f: [3, 3, 16, 8], s: 1, p: 'same' }, // large enough to be chunked
];

type Path =
  | 'native BLAS'
  | 'native BLAS, 3 threads'
  | 'native oneDNN'
  | 'native oneDNN, 3 threads'
  | 'WebAssembly';
/** Both paths where the native kernels are built. */
const PATHS: Path[] = nativeBlas() ? ['native BLAS', 'WebAssembly'] : ['WebAssembly'];
/**
 * The native kernels that split their work over threads (convolutions by images, products
 * by batch or columns, Adam by weights) also on three.
 */
const THREAD_PATHS: Path[] = nativeBlas()
  ? ['native BLAS', 'native BLAS, 3 threads', 'WebAssembly']
  : ['WebAssembly'];
/**
 * Products and convolutions also on oneDNN where it runs ('native BLAS': BLAS and im2col).
 */
const ONEDNN_PATHS: Path[] =
  nativeBlas()?.oneDnn() != null
    ? ['native oneDNN', 'native oneDNN, 3 threads', ...THREAD_PATHS]
    : THREAD_PATHS;

/** Runs `check` with the kernels of one path, then restores the defaults. */
async function onPath<T>(path: Path, check: () => Promise<T>): Promise<T> {
  await initBackend('wasm');
  setNativeKernels(path !== 'WebAssembly');
  nativeBlas()?.setThreads(path.endsWith('threads') ? 3 : 1);
  nativeBlas()?.useOneDnn(path.startsWith('native oneDNN'));
  try {
    return await check();
  } finally {
    setNativeKernels(true);
    nativeBlas()?.setThreads(kernelThreads());
    nativeBlas()?.useOneDnn(true);
    await tf.setBackend('wasm');
  }
}

/** Gradients of sum(conv2d(x, w) ⊙ dy) with respect to x and w on the given backend. */
async function convGrads(
  backend: 'wasm' | 'cpu',
  c: (typeof CASES)[number],
  xv: Float32Array,
  wv: Float32Array,
  dyv: Float32Array,
) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const y = tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.f), c.s, c.p);
    const [dx, dw] = tf.grads((x, w) => {
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.p);
      return tf.sum(tf.mul(y, tf.tensor(dyv, y.shape)));
    })([tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.f)]);
    return {
      y: y.dataSync() as Float32Array,
      dx: dx!.dataSync() as Float32Array,
      dw: dw!.dataSync() as Float32Array,
    };
  });
}

describe('wasm backward convolutions', () => {
  it('is registered so convnets can train on wasm', async () => {
    await initBackend('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  for (const path of ONEDNN_PATHS)
    for (const c of CASES) {
      it(`${path}: matches the cpu backend: x ${c.x.join('×')}, filter ${c.f.join('×')}, stride ${c.s}, pad ${c.p}`, async () => {
        await initBackend('wasm');
        const rand = (n: number, seed: number) =>
          Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
        const xv = rand(
          c.x.reduce((a, b) => a * b),
          1,
        );
        const wv = rand(
          c.f.reduce((a, b) => a * b),
          2,
        );
        const outShape = tf.tidy(
          () =>
            tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.s, c.p).shape,
        );
        const dyv = rand(
          outShape.reduce((a, b) => a * b),
          3,
        );
        await onPath(path, async () => {
          const wasm = await convGrads('wasm', c, xv, wv, dyv);
          const cpu = await convGrads('cpu', c, xv, wv, dyv);
          expect(maxRelativeError(wasm.y, cpu.y), 'output').toBeLessThan(1e-4);
          expect(maxRelativeError(wasm.dw, cpu.dw), 'filter gradient').toBeLessThan(1e-4);
          expect(maxRelativeError(wasm.dx, cpu.dx), 'input gradient').toBeLessThan(1e-4);
        });
      });
    }

  it('does not leak wasm memory', async () => {
    await initBackend('wasm');
    const x = tf.randomNormal([4, 8, 8, 3]);
    const dy = tf.randomNormal([4, 8, 8, 5]);
    const backend = tf.engine().backend;
    const run = () =>
      (
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 5] },
          ) as tf.Tensor
      ).dispose();
    run();
    const dataIds = backend.numDataIds();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run();
    expect(backend.numDataIds()).toBe(dataIds); // temporaries (transposes, dilated dy, rotated filter) are freed
    expect(tf.memory().numTensors).toBe(tensors);
  });
});

describe('wasm matrix products with transposed operands', () => {
  const MATMUL: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [60, 784], b: [60, 300], ta: true, tb: false }, // a weight gradient xᵀ·dy
    { a: [60, 300], b: [784, 300], ta: false, tb: true }, // an input gradient dy·Wᵀ
    { a: [7, 5], b: [9, 7], ta: true, tb: true },
    { a: [3, 6, 4], b: [3, 6, 5], ta: true, tb: false }, // batched
    { a: [2, 4, 6], b: [1, 5, 6], ta: false, tb: true }, // batch broadcast
    { a: [8, 16], b: [16, 3], ta: false, tb: false }, // untouched path
    { a: [3, 200, 300], b: [3, 300, 100], ta: false, tb: false }, // batched, large enough for threads
  ];
  const values = (shape: number[], seed: number) =>
    Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) =>
      Math.sin(i * 12.9898 + seed),
    );
  const product = async (backend: 'wasm' | 'cpu', c: (typeof MATMUL)[number], fused: boolean) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const a = tf.tensor(values(c.a, 1), c.a);
      const b = tf.tensor(values(c.b, 2), c.b);
      if (!fused) return tf.matMul(a, b, c.ta, c.tb).dataSync() as Float32Array;
      const cols = c.tb ? c.b[c.b.length - 2]! : c.b[c.b.length - 1]!;
      const bias = tf.tensor1d(values([cols], 3));
      return tf.fused
        .matMul({ a, b, transposeA: c.ta, transposeB: c.tb, bias, activation: 'relu' })
        .dataSync() as Float32Array;
    });
  };

  for (const path of ONEDNN_PATHS)
    for (const c of MATMUL) {
      // tfjs-backend-wasm's own _FusedMatMul is wrong for batched (rank-3) operands even
      // untransposed; the engine only fuses rank-2 products, so only those are checked fused
      for (const fused of c.a.length === 2 ? [false, true] : [false]) {
        it(`${path}, ${fused ? 'fused (bias, relu)' : 'plain'}: a ${c.a.join('×')}${c.ta ? 'ᵀ' : ''} · b ${c.b.join('×')}${c.tb ? 'ᵀ' : ''} matches the cpu backend`, async () => {
          await onPath(path, async () => {
            const wasm = await product('wasm', c, fused);
            const cpu = await product('cpu', c, fused);
            expect(wasm.length).toBe(cpu.length);
            expect(maxRelativeError(wasm, cpu)).toBeLessThan(1e-5);
          });
        });
      }
    }

  it('uses the native kernels where they are built, and they refuse operands outside the memory', async () => {
    const built = existsSync(join(ROOT, 'native', 'build', 'Release', 'ticketlab_blas.node'));
    if (!built || process.env.TICKETLAB_NATIVE === '0') {
      expect(nativeBlas()).toBeNull();
      expect(nativeBlasStatus()).toMatch(/^WebAssembly; native BLAS/);
      return;
    }
    const blas = nativeBlas()!;
    expect(nativeBlasStatus()).toMatch(
      /^native kernels, (products and convolutions on oneDNN \d+\.\d+\.\d+, the rest on |products on )(the system BLAS|TicketLab's own sgemm \([^)]+\))(, convolutions as im2col \+ sgemm)?$/,
    );
    // [[1, 2], [3, 4]]ᵀ · [[5, 6], [7, 8]] at byte offsets 0 and 16, into offset 32
    const memory = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
    blas.sgemm(memory.buffer, true, false, 1, 2, 2, 2, 0, 16, 32, 0, 0);
    expect([...memory.subarray(8)]).toEqual([26, 30, 38, 44]);
    expect(() => blas.sgemm(memory.buffer, false, false, 1, 2, 2, 2, 0, 16, 40, 0, 0)).toThrow(
      /outside the memory/,
    );
  });

  it('frees its transposed copies', async () => {
    await initBackend('wasm');
    const a = tf.randomNormal([30, 20]);
    const b = tf.randomNormal([30, 10]);
    const backend = tf.engine().backend;
    tf.matMul(a, b, true, false).dispose();
    const dataIds = backend.numDataIds();
    for (let i = 0; i < 5; i++) tf.matMul(a, b, true, false).dispose();
    expect(backend.numDataIds()).toBe(dataIds);
  });
});

describe('native fused Adam update', () => {
  /** Enough weights for the update to be split over threads; every third pruned. */
  const SHAPE = [400, 250];
  const MASK = Float32Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? 0 : 1));

  /**
   * Three Adam steps with weight decay on the given backend (with the mask: from weights
   * already masked, as training starts): weights and both moments.
   */
  const steps = async (backend: 'wasm' | 'cpu', masked = false) => {
    await tf.setBackend(backend);
    const init = Float32Array.from(MASK, (keep, i) => (masked ? Math.sin(i) * keep : Math.sin(i)));
    const w = tf.variable(tf.tensor(init, SHAPE), true, `adam-${backend}`);
    const mask = tf.tensor(MASK, SHAPE);
    const optimizer = new Optimizer(
      { optimizer: 'adam', learningRate: 1e-2, momentum: 0, weightDecay: 1e-3 },
      new Map([['w', w]]),
      masked ? new Map([['w', mask]]) : new Map(),
    );
    for (let s = 1; s <= 3; s++)
      tf.tidy(() => {
        const g = tf.tensor(
          Float32Array.from(init, (x, i) => Math.cos(i * s) * (i % 7 === 0 ? 0 : 1) + x),
          SHAPE,
        );
        optimizer.apply(new Map([['w', g]]));
      });
    const out = { w: (await w.data()) as Float32Array, state: await optimizer.state() };
    optimizer.dispose();
    w.dispose();
    mask.dispose();
    return out;
  };

  it('is one kernel on wasm where the addon is built, and agrees with the tfjs ops on cpu', async () => {
    await initBackend('wasm');
    expect(tf.getKernel(ADAM_UPDATE, 'wasm') !== undefined).toBe(nativeBlas() !== null);
    expect(tf.getKernel(ADAM_UPDATE, 'cpu')).toBeUndefined();
    const wasm = await steps('wasm');
    const cpu = await steps('cpu');
    // 1e-4 relative, issue 9's tolerance: the compiler may contract a·b + c into one rounding
    expect(maxRelativeError(wasm.w, cpu.w)).toBeLessThan(1e-4);
    for (const slot of ['w/m', 'w/v'])
      expect(
        maxRelativeError(wasm.state.slots.get(slot)!, cpu.state.slots.get(slot)!),
      ).toBeLessThan(1e-4);
    expect(wasm.state.step).toBe(3);
    await tf.setBackend('wasm');
  });

  for (const path of THREAD_PATHS)
    it(`${path}: keeps pruned weights and their moments at exactly zero in the same pass, as the tfjs ops do`, async () => {
      await onPath(path, async () => {
        const wasm = await steps('wasm', true);
        const cpu = await steps('cpu', true);
        for (const [name, values] of [
          ['w', wasm.w],
          ['w/m', wasm.state.slots.get('w/m')!],
          ['w/v', wasm.state.slots.get('w/v')!],
        ] as const) {
          expect(
            values.filter((_, i) => MASK[i] === 0 && values[i] !== 0),
            `${name} where pruned`,
          ).toHaveLength(0);
          expect(values.filter((x, i) => MASK[i] === 1 && x !== 0).length, `${name} kept`).toBe(
            MASK.filter((keep) => keep === 1).length,
          );
        }
        expect(maxRelativeError(wasm.w, cpu.w)).toBeLessThan(1e-4);
        expect(
          maxRelativeError(wasm.state.slots.get('w/v')!, cpu.state.slots.get('w/v')!),
        ).toBeLessThan(1e-4);
      });
    });
});

describe('native bias sums, max-pool gradients, and copies without copying', () => {
  const values = (shape: number[], seed: number) =>
    Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) =>
      Math.sin(i * 12.9898 + seed),
    );
  const on = async <T extends tf.TensorContainer>(
    backend: 'wasm' | 'cpu',
    f: () => T,
  ): Promise<T> => {
    await tf.setBackend(backend);
    return tf.tidy(f);
  };

  const SUMS: { shape: number[]; axis: number[]; keepDims?: boolean }[] = [
    { shape: [60, 32, 32, 64], axis: [0, 1, 2] }, // a conv layer's bias gradient
    { shape: [60, 300], axis: [0] }, // a dense layer's
    { shape: [4, 5, 6], axis: [1, 0], keepDims: true },
    { shape: [4, 5, 6], axis: [-3] },
    { shape: [4, 5, 6], axis: [1, 2] }, // trailing axes: tfjs-backend-wasm's kernel
    { shape: [7], axis: [0] }, // everything: tfjs-backend-wasm's kernel
  ];
  for (const path of PATHS)
    for (const c of SUMS)
      it(`${path}: sum of ${c.shape.join('×')} over [${c.axis}]${c.keepDims ? ' (keepDims)' : ''} matches the cpu backend`, async () => {
        await onPath(path, async () => {
          const sum = () => tf.sum(tf.tensor(values(c.shape, 1), c.shape), c.axis, c.keepDims);
          const wasm = await on('wasm', () => ({ v: sum().dataSync(), shape: sum().shape }));
          const cpu = await on('cpu', () => ({ v: sum().dataSync(), shape: sum().shape }));
          expect(wasm.shape).toEqual(cpu.shape);
          expect(maxRelativeError(wasm.v as Float32Array, cpu.v as Float32Array)).toBeLessThan(
            1e-4,
          );
        });
      });

  const POOLS: { x: number[]; size: number | [number, number]; stride: number; pad: Pad }[] = [
    { x: [60, 32, 32, 16], size: 2, stride: 2, pad: 'valid' }, // Conv-4's pooling
    { x: [2, 7, 7, 3], size: 3, stride: 2, pad: 'same' }, // overlapping windows, padding
    { x: [3, 6, 5, 2], size: [2, 3], stride: 1, pad: 'valid' },
    { x: [1, 5, 5, 4], size: 2, stride: 2, pad: 'same' }, // a window past the edge
  ];
  // 'WebAssembly': TicketLab's heap kernel, which stands in for tfjs-backend-wasm's own (that
  // one breaks ties otherwise, misses windows past the edge, and misplaces every gradient of
  // a convolution's output)
  for (const path of PATHS)
    for (const c of POOLS)
      it(`${path}: max-pool gradient of ${c.x.join('×')}, window ${c.size}, stride ${c.stride}, pad ${c.pad} matches the cpu backend`, async () => {
        await onPath(path, async () => {
          // with ties too (rounded values): the first largest gets the gradient, as on cpu
          const xv = values(c.x, 1).map((v) => Math.round(v * 4) / 4);
          const grad = () =>
            tf
              .grad((x: tf.Tensor) => {
                const y = tf.maxPool(x as tf.Tensor4D, c.size, c.stride, c.pad);
                return tf.sum(tf.mul(y, tf.tensor(values(y.shape, 2), y.shape)));
              })(tf.tensor(xv, c.x))
              .dataSync() as Float32Array;
          expect(maxRelativeError(await on('wasm', grad), await on('cpu', grad))).toBeLessThan(
            1e-5,
          );
        });
      });

  for (const path of PATHS)
    it(`${path}: gradients through a convolution and the max pooling of its output match the cpu backend`, async () => {
      await onPath(path, async () => {
        const x = [4, 12, 12, 3];
        const f = [3, 3, 3, 5];
        const grads = () =>
          tf
            .grads((a: tf.Tensor, b: tf.Tensor) => {
              const y = tf.maxPool(
                tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'),
                2,
                2,
                'valid',
              );
              return tf.sum(tf.mul(y, tf.tensor(values(y.shape, 3), y.shape)));
            })([tf.tensor(values(x, 1), x), tf.tensor(values(f, 2), f)])
            .map((g) => g.dataSync() as Float32Array);
        const [wdx, wdw] = await on('wasm', grads);
        const [cdx, cdw] = await on('cpu', grads);
        expect(maxRelativeError(wdx!, cdx!), 'the input gradient').toBeLessThan(1e-4);
        expect(maxRelativeError(wdw!, cdw!), 'the filter gradient').toBeLessThan(1e-4);
      });
    });

  for (const path of ONEDNN_PATHS)
    it(`${path}: a convolution with its bias added in the same pass, and its bias gradient, match the cpu backend`, async () => {
      await onPath(path, async () => {
        const x = [3, 8, 8, 4];
        const f = [3, 3, 4, 6];
        const run = () => {
          const filter = tf.tensor4d(values(f, 2), f as Shape4);
          const conv = (input: tf.Tensor, bias: tf.Tensor) =>
            tf.fused.conv2d({ x: input as tf.Tensor4D, filter, strides: 1, pad: 'same', bias });
          const inference = tf.fused.conv2d({
            x: tf.tensor4d(values(x, 1), x as Shape4),
            filter,
            strides: 1,
            pad: 'same',
            bias: tf.tensor1d(values([6], 3)),
            activation: 'relu',
          });
          // a bias that is not one value per channel (tfjs-backend-wasm refuses it)
          const broadcast =
            path === 'WebAssembly'
              ? tf.ones([1])
              : conv(tf.tensor(values(x, 1), x), tf.tensor(values([6], 3), [1, 1, 1, 6]));
          const [dx, dbias] = tf.grads((input: tf.Tensor, bias: tf.Tensor) =>
            tf.sum(tf.mul(conv(input, bias), tf.tensor(values([3, 8, 8, 6], 4), [3, 8, 8, 6]))),
          )([tf.tensor(values(x, 1), x), tf.tensor1d(values([6], 3))]);
          return [inference, broadcast, dx!, dbias!].map((t) => t.dataSync() as Float32Array);
        };
        const wasm = await on('wasm', run);
        const cpu = await on('cpu', run);
        wasm.forEach((v, i) =>
          expect(maxRelativeError(v, cpu[i]!), `output ${i}`).toBeLessThan(1e-4),
        );
      });
    });

  it('clones and same-type casts share the data on wasm, and disposing either keeps the other', async () => {
    await initBackend('wasm');
    const backend = tf.engine().backend;
    const x = tf.tensor([1, 2, 3]);
    const before = backend.numDataIds();
    const copy = tf.clone(x);
    const cast = tf.cast(x, 'float32');
    expect(backend.numDataIds()).toBe(before); // no new buffers
    x.dispose();
    expect([...copy.dataSync()]).toEqual([1, 2, 3]);
    copy.dispose();
    expect([...cast.dataSync()]).toEqual([1, 2, 3]);
    cast.dispose();
    expect(backend.numDataIds()).toBe(before - 1);
    expect([...tf.cast(tf.tensor([1.5, 2.5]), 'int32').dataSync()]).toEqual([1, 2]); // a real cast still converts
  });

  it("gathers columns (a surgered model's input selection) as the cpu backend does, and other gathers too", async () => {
    await initBackend('wasm');
    const cases: { shape: number[]; indices: number[]; axis: number }[] = [
      // L0's kept pixels of a batch of 64 MNIST images: our one-pass kernel
      { shape: [64, 784], indices: Array.from({ length: 227 }, (_, i) => (i * 7) % 784), axis: 1 },
      { shape: [3, 5], indices: [4, 0, 4, 2], axis: -1 }, // unordered, repeated
      // the wasm backend's own kernel
      { shape: [6, 5], indices: [5, 1], axis: 0 },
      { shape: [2, 4, 3], indices: [3, 0], axis: 1 },
    ];
    for (const c of cases) {
      const gather = () => tf.gather(tf.tensor(values(c.shape, 3), c.shape), c.indices, c.axis);
      const [wasm, cpu] = [await on('wasm', gather), await on('cpu', gather)];
      expect(wasm.shape, c.shape.join('×')).toEqual(cpu.shape);
      expect([...wasm.dataSync()], c.shape.join('×')).toEqual([...cpu.dataSync()]);
    }
  });
});
