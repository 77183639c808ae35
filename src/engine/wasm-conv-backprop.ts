import * as tf from '@tensorflow/tfjs-core';
import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The two backward convolutions for the wasm backend, rewritten as forward convolutions so
 * that XNNPACK's fast Conv2D does the arithmetic:
 *
 * - Conv2DBackpropFilter, which the wasm backend lacks (so convnets could not train there):
 *   dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−p, ow·s+kw−p, ci] · dy[n,oh,ow,co] is a
 *   convolution of x with channels and batch swapped ([ci,H,W,n]) by dy as the filter
 *   ([oh,ow,n,co]), dilated by the stride.
 * - Conv2DBackpropInput, which the wasm backend has as a plain loop (95% of a Conv-4 step):
 *   dx is the convolution of dy (stride-dilated, padded by k−1−p) with the filter rotated
 *   by 180° and its channels swapped.
 *
 * Both are checked against the cpu backend over shapes, strides and paddings in
 * test/engine/wasm-conv-backprop.test.ts.
 */

export interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export type Shape4 = [number, number, number, number];

function kernelFunc(name: string): KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
  return k.kernelFunc;
}

function transpose(wasm: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return kernelFunc('Transpose')({ inputs: { x }, backend: wasm, attrs: { perm } }) as TensorInfo;
}

function conv(
  wasm: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  pads: [number, number, number, number],
  dilations: [number, number],
): TensorInfo {
  const [top, bottom, left, right] = pads;
  return kernelFunc('Conv2D')({
    inputs: { x, filter },
    backend: wasm,
    attrs: {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations,
    },
  }) as TensorInfo;
}

/** Shapes, strides and padding of an NHWC convolution with dilation 1. */
export function info(xShape: Shape4, filterShape: Shape4, attrs: ConvAttrs) {
  if (attrs.dataFormat === 'NCHW') throw new Error('conv backprop: only NHWC is supported');
  return backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** A Conv2DBackpropFilter call as each backend's kernel reads it: inputs, filter, geometry. */
export function filterGradientCall(
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap | undefined,
): { x: TensorInfo; dy: TensorInfo; filterShape: Shape4; c: backend_util.Conv2DInfo } {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { filterShape } = attrs as unknown as { filterShape: Shape4 };
  return {
    x,
    dy,
    filterShape,
    c: info(x.shape as Shape4, filterShape, attrs as unknown as ConvAttrs),
  };
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x, dy, filterShape, c } = filterGradientCall(inputs, attrs);
  const [kh, kw, ci, co] = filterShape;
  // Rows of x past the last window (valid padding, leftover rows) are not read: a negative
  // bottom pad becomes 0 and the extra output rows are cropped below.
  const padBottom = Math.max(
    0,
    kh + (c.outHeight - 1) * c.strideHeight - c.inHeight - c.padInfo.top,
  );
  const padRight = Math.max(0, kw + (c.outWidth - 1) * c.strideWidth - c.inWidth - c.padInfo.left);
  const xT = transpose(wasm, x, [3, 1, 2, 0]); // [ci, H, W, n]
  const dyT = transpose(wasm, dy, [1, 2, 0, 3]); // [oh, ow, n, co]
  const out = conv(
    wasm,
    xT,
    dyT,
    [c.padInfo.top, padBottom, c.padInfo.left, padRight],
    [c.strideHeight, c.strideWidth],
  );
  const [, outH, outW] = out.shape as Shape4; // [ci, ≥kh, ≥kw, co]
  const result = new Float32Array(kh * kw * ci * co);
  const o = wasm.typedArrayFromHeap(out) as Float32Array;
  for (let i = 0; i < ci; i++) {
    for (let h = 0; h < kh; h++) {
      for (let w = 0; w < kw; w++) {
        const src = ((i * outH + h) * outW + w) * co;
        result.set(o.subarray(src, src + co), ((h * kw + w) * ci + i) * co);
      }
    }
  }
  for (const t of [xT, dyT, out]) wasm.disposeData(t.dataId);
  return wasm.makeOutput(filterShape, 'float32', undefined, result);
};

function makeConv2DBackpropInput(original: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { inputShape } = attrs as unknown as { inputShape: Shape4 };
    const c = info(inputShape, filter.shape as Shape4, attrs as unknown as ConvAttrs);
    const [kh, kw, ci, co] = filter.shape as Shape4;
    const [n, outH, outW] = dy.shape as Shape4;
    const { strideHeight: sh, strideWidth: sw } = c;
    const dilatedH = (outH - 1) * sh + 1;
    const dilatedW = (outW - 1) * sw + 1;
    const top = kh - 1 - c.padInfo.top;
    const left = kw - 1 - c.padInfo.left;
    const bottom = c.inHeight - dilatedH - top + kh - 1;
    const right = c.inWidth - dilatedW - left + kw - 1;
    // Paddings wider than the kernel (never produced by 'same'/'valid') keep the original.
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return original({ inputs, backend, attrs });

    const temps: TensorInfo[] = [];
    let source = dy;
    if (sh > 1 || sw > 1) {
      source = wasm.makeOutput([n, dilatedH, dilatedW, co], 'float32');
      temps.push(source);
      const d = wasm.typedArrayFromHeap(source) as Float32Array;
      const g = wasm.typedArrayFromHeap(dy) as Float32Array;
      d.fill(0);
      for (let b = 0; b < n; b++) {
        for (let h = 0; h < outH; h++) {
          for (let w = 0; w < outW; w++) {
            const src = ((b * outH + h) * outW + w) * co;
            d.set(g.subarray(src, src + co), ((b * dilatedH + h * sh) * dilatedW + w * sw) * co);
          }
        }
      }
    }
    const rotated = wasm.makeOutput([kh, kw, co, ci], 'float32');
    temps.push(rotated);
    const r = wasm.typedArrayFromHeap(rotated) as Float32Array;
    const f = wasm.typedArrayFromHeap(filter) as Float32Array;
    for (let h = 0; h < kh; h++) {
      for (let w = 0; w < kw; w++) {
        const src = ((kh - 1 - h) * kw + (kw - 1 - w)) * ci * co;
        const dst = (h * kw + w) * co * ci;
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) r[dst + o * ci + i] = f[src + i * co + o]!;
      }
    }
    const out = conv(wasm, source, rotated, [top, bottom, left, right], [1, 1]);
    for (const t of temps) wasm.disposeData(t.dataId);
    return out;
  };
}

/** Registers both kernels on the wasm backend; call before the backend initialises. */
export function registerWasmConvBackprop(): void {
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilter,
  });
  const original = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  if (!original) throw new Error('tfjs-backend-wasm has no Conv2DBackpropInput kernel');
  tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
  const replacement: KernelConfig = {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    // The original's setup binds its wasm function, which the fallback path still uses.
    setupFunc: original.setupFunc,
    kernelFunc: makeConv2DBackpropInput(original.kernelFunc),
  };
  tf.registerKernel(replacement);
}
