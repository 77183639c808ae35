import * as tf from '@tensorflow/tfjs-core';
import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Conv2DBackpropFilter for the wasm backend, which ships none (so convnets cannot train
 * there). dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−p, ow·s+kw−p, ci] · dy[n,oh,ow,co]:
 * we lay the input patches out as an im2col matrix on the wasm heap and hand the
 * product to the backend's own BatchMatMul (XNNPACK), chunked over the batch so the
 * patch matrix stays small. Checked against the cpu backend in test/engine.
 */
const MAX_COLUMN_FLOATS = 8 * 1024 * 1024;

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const k = kh * kw * inChannels;
  const rowsPerExample = outHeight * outWidth;
  const chunk = Math.max(
    1,
    Math.min(batchSize, Math.floor(MAX_COLUMN_FLOATS / (rowsPerExample * k))),
  );

  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const result = new Float32Array(k * outChannels);
  const dyOffset = wasm.getMemoryOffset(dy.dataId);

  for (let n0 = 0; n0 < batchSize; n0 += chunk) {
    const n1 = Math.min(batchSize, n0 + chunk);
    const m = (n1 - n0) * rowsPerExample;
    const cols = wasm.makeOutput([1, m, k], 'float32');
    // Views are taken after every allocation: growing the wasm heap detaches old ones.
    const colValues = wasm.typedArrayFromHeap(cols) as Float32Array;
    const xValues = wasm.typedArrayFromHeap(x) as Float32Array;
    let row = 0;
    for (let n = n0; n < n1; n++) {
      const xBase = n * inHeight * inWidth * inChannels;
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++, row++) {
          let at = row * k;
          for (let fh = 0; fh < kh; fh++) {
            const ih = oh * sh + fh - padTop;
            for (let fw = 0; fw < kw; fw++) {
              const iw = ow * sw + fw - padLeft;
              if (ih < 0 || ih >= inHeight || iw < 0 || iw >= inWidth) {
                colValues.fill(0, at, at + inChannels);
              } else {
                const src = xBase + (ih * inWidth + iw) * inChannels;
                colValues.set(xValues.subarray(src, src + inChannels), at);
              }
              at += inChannels;
            }
          }
        }
      }
    }
    // A view of this chunk of dy: shares dy's memory, no copy.
    const dyChunk = wasm.makeOutput(
      [1, m, outChannels],
      'float32',
      dyOffset + n0 * rowsPerExample * outChannels * 4,
    );
    const partial = batchMatMul({
      inputs: { a: cols, b: dyChunk },
      backend,
      attrs: { transposeA: true, transposeB: false },
    }) as TensorInfo;
    const partialValues = wasm.typedArrayFromHeap(partial) as Float32Array;
    for (let i = 0; i < result.length; i++) result[i]! += partialValues[i]!;
    wasm.disposeData(partial.dataId);
    wasm.disposeData(cols.dataId);
    // The view does not own dy's memory: drop its records without freeing it.
    wasm.wasm.tfjs.disposeData(wasm.dataIdMap.get(dyChunk.dataId).id);
    wasm.dataIdMap.delete(dyChunk.dataId);
  }
  return wasm.makeOutput(filterShape, 'float32', undefined, result);
};

export const wasmConv2DBackpropFilterKernel: KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
