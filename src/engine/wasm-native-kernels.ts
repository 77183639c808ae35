import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeBlas, nativeKernelsOn, type NativeBlas } from './native-blas.ts';

/**
 * Puts a native kernel in front of the wasm backend's own: it answers what it covers and
 * returns null for the rest, which the previous kernel computes (also whenever the native
 * kernels are switched off). Call after the wasm kernels are registered.
 */
export function overrideWasmKernel(
  name: string,
  native: KernelFunc,
  /** a stand-in for a wasm kernel that is wrong: used with the native kernels off too */
  fallback?: KernelFunc,
): void {
  const previous = tf.getKernel(name, 'wasm');
  if (!previous) throw new Error(`the wasm backend has no ${name} kernel`);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    setupFunc: previous.setupFunc,
    kernelFunc: (args) =>
      (nativeKernelsOn() ? (native(args) as TensorInfo | null) : null) ??
      (fallback?.(args) as TensorInfo | null) ??
      previous.kernelFunc(args),
  });
}

/** Byte offset of a tensor's data on the wasm heap. */
export const heapOffset = (wasm: BackendWasm, t: TensorInfo) =>
  wasm.dataIdMap.get(t.dataId)!.memoryOffset;

/**
 * Sum over leading axes (every bias gradient: dy summed over batch and positions) as one
 * pass; tfjs-backend-wasm transposes the reduced axes innermost first, which cost Conv-4 a
 * sixth of its training step (BENCHMARKS.md). Other reductions go to the wasm kernel.
 */
function nativeSum(blas: NativeBlas): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i) && axes.length < x.shape.length;
    if (x.dtype !== 'float32' || axes.length === 0 || !leading) return null!;
    const kept = x.shape.slice(axes.length);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const cols = tf.util.sizeFromShape(kept);
    if (rows === 0 || cols === 0) return null!;
    const out = wasm.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
    blas.sumRows(
      wasm.typedArrayFromHeap(out).buffer as ArrayBuffer,
      rows,
      cols,
      heapOffset(wasm, x),
      heapOffset(wasm, out),
    );
    return out;
  };
}

/** A MaxPoolGrad call's tensors and window geometry; null for other than float32. */
function poolGradCall({ inputs, backend, attrs }: Parameters<KernelFunc>[0]) {
  const { dy, input } = inputs as Record<'dy' | 'input', TensorInfo>;
  const a = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (input!.dtype !== 'float32' || dy!.dtype !== 'float32') return null;
  const c = backend_util.computePool2DInfo(
    input!.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  return { wasm: backend as BackendWasm, dy: dy!, input: input!, c };
}

/** The gradient of a 2-D max pooling in one pass (tfjs-backend-wasm's took 40 ms a call on Conv-4). */
function nativeMaxPoolGrad(blas: NativeBlas): KernelFunc {
  return (args) => {
    const call = poolGradCall(args);
    if (!call) return null!;
    const { wasm, dy, input, c } = call;
    const dx = wasm.makeOutput(input.shape, 'float32');
    blas.maxPoolGrad(
      wasm.typedArrayFromHeap(dx).buffer as ArrayBuffer,
      heapOffset(wasm, input),
      heapOffset(wasm, dy),
      heapOffset(wasm, dx),
      c.batchSize,
      c.inHeight,
      c.inWidth,
      c.inChannels,
      c.filterHeight,
      c.filterWidth,
      c.outHeight,
      c.outWidth,
      c.strideHeight,
      c.strideWidth,
      c.padInfo.top,
      c.padInfo.left,
    );
    return dx;
  };
}

/**
 * The gradient of a 2-D max pooling as one JavaScript loop over the wasm heap: each output's
 * gradient goes to the first largest input of its window, and nowhere in a window of NaN and
 * −∞ only (the cpu backend's choices). The
 * stand-in where the addon's pass is not there, because tfjs-backend-wasm 4.22's own
 * MaxPoolGrad is wrong on a convolution's output (every gradient misplaced; right on an input
 * tensor), which trained every pooled convnet on wrong gradients without the addon.
 */
function heapMaxPoolGrad(): KernelFunc {
  return (args) => {
    const call = poolGradCall(args);
    if (!call) return null!;
    const { wasm, dy, input, c } = call;
    const out = wasm.makeOutput(input.shape, 'float32');
    // views after the output is made: making it may grow (and move) the heap
    const x = wasm.typedArrayFromHeap(input) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    const dx = wasm.typedArrayFromHeap(out) as Float32Array;
    dx.fill(0);
    const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = c;
    for (let b = 0, o = 0; b < c.batchSize; b++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++)
          for (let ch = 0; ch < C; ch++, o++) {
            let best = -Infinity;
            let at = -1;
            for (let ky = 0; ky < c.filterHeight; ky++) {
              const iy = oy * c.strideHeight - c.padInfo.top + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < c.filterWidth; kx++) {
                const ix = ox * c.strideWidth - c.padInfo.left + kx;
                if (ix < 0 || ix >= W) continue;
                const i = ((b * H + iy) * W + ix) * C + ch;
                if (x[i]! > best) {
                  best = x[i]!;
                  at = i;
                }
              }
            }
            if (at >= 0) dx[at]! += g[o]!;
          }
    return out;
  };
}

/**
 * Identity (tf.clone; the engine clones every input a gradient needs) shares the data, as the
 * cpu backend's does, instead of copying it: tensors are immutable and every kernel writes a
 * new output. The copies cost Conv-4 about 8% of a training step.
 */
function sharedIdentity(): KernelFunc {
  return ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype === 'string') return null!;
    (backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** A cast to the dtype a tensor already has (ReLU's gradient casts its input) is an Identity. */
function sharedSameTypeCast(identity: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    return x.dtype === (args.attrs as { dtype: string }).dtype ? identity(args) : null!;
  };
}

/**
 * The columns of a matrix picked by an index list (a surgered model's input selection: L0's
 * kept pixels) in one JavaScript loop over the wasm heap. tfjs-backend-wasm's gather took
 * 0.7 ms for 64 × 227 of 784 columns, more than LeNet-300-100's whole forward pass (0.4 ms),
 * so the compacted model measured slower than the dense one. Other gathers go to the wasm
 * kernel.
 */
function columnGather(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
    const columnsOfMatrix =
      x.shape.length === 2 && (axis === 1 || axis === -1) && indices.shape.length === 1;
    if (!columnsOfMatrix || batchDims !== 0 || x.dtype !== 'float32' || indices.dtype !== 'int32')
      return null!;
    const [rows, cols] = x.shape as [number, number];
    const picked = wasm.typedArrayFromHeap(indices) as Int32Array;
    // out-of-range indices get the wasm kernel's own handling
    if (picked.some((c) => c < 0 || c >= cols)) return null!;
    const out = wasm.makeOutput([rows, picked.length], 'float32');
    const from = wasm.typedArrayFromHeap(x) as Float32Array;
    const to = wasm.typedArrayFromHeap(out) as Float32Array;
    for (let r = 0, o = 0; r < rows; r++) {
      const row = r * cols;
      for (let k = 0; k < picked.length; k++) to[o++] = from[row + picked[k]!]!;
    }
    return out;
  };
}

/**
 * Identity without copies, column gathers in one pass and a correct MaxPoolGrad everywhere;
 * Sum over leading axes and MaxPoolGrad natively where the addon is built.
 */
export function registerWasmNativeKernels(): void {
  overrideWasmKernel(tf.Identity, sharedIdentity());
  overrideWasmKernel(tf.Cast, sharedSameTypeCast(sharedIdentity()));
  overrideWasmKernel(tf.GatherV2, columnGather());
  const blas = nativeBlas();
  const noNative: KernelFunc = () => null!;
  overrideWasmKernel(tf.MaxPoolGrad, blas ? nativeMaxPoolGrad(blas) : noNative, heapMaxPoolGrad());
  if (!blas) return;
  overrideWasmKernel(tf.Sum, nativeSum(blas));
}
