import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { info, type ConvAttrs, type Shape4 } from './wasm-conv-backprop.ts';
import { nativeBlas, type NativeBlas } from './native-blas.ts';
import { heapOffset, overrideWasmKernel } from './wasm-native-kernels.ts';

/**
 * Convolutions and their two gradients on the native sgemm (native/blas.c: im2col rows times
 * the filter, in place on the wasm heap) where the native kernels are built; the wasm
 * kernels registered before (XNNPACK, and wasm-conv-backprop.ts's rewrites) otherwise, and
 * for what this does not cover (dilation, NCHW, other dtypes or activations). Checked
 * against the cpu backend in test/engine/wasm-kernels.test.ts.
 */
type NativeConvAttrs = ConvAttrs & { activation?: string };

const MODES = { forward: 0, filterGrad: 1, inputGrad: 2 } as const;

/** The convolution's geometry, or null for what the native kernel does not cover. */
function plan(xShape: Shape4, filterShape: Shape4, attrs: ConvAttrs) {
  if (attrs.dataFormat === 'NCHW') return null;
  if ([attrs.dilations ?? 1].flat().some((d) => d !== 1)) return null;
  return info(xShape, filterShape, attrs);
}

function run(
  blas: NativeBlas,
  wasm: BackendWasm,
  mode: number,
  x: TensorInfo,
  w: TensorInfo,
  y: TensorInfo,
  c: backend_util.Conv2DInfo,
  bias?: TensorInfo,
  relu = false,
) {
  blas.conv(
    wasm.typedArrayFromHeap(y).buffer as ArrayBuffer,
    mode,
    heapOffset(wasm, x),
    heapOffset(wasm, w),
    heapOffset(wasm, y),
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.filterHeight,
    c.filterWidth,
    c.outChannels,
    c.outHeight,
    c.outWidth,
    c.strideHeight,
    c.strideWidth,
    c.padInfo.top,
    c.padInfo.left,
    c.padInfo.bottom,
    c.padInfo.right,
    bias ? heapOffset(wasm, bias) : -1,
    relu,
  );
}

const f32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

function nativeKernel(name: string, blas: NativeBlas): KernelFunc | null {
  const kernel = (k: string) => tf.getKernel(k, 'wasm')!.kernelFunc;
  switch (name) {
    case tf.Conv2D:
    case tf.FusedConv2D:
      return ({ inputs, backend, attrs }) => {
        const wasm = backend as BackendWasm;
        const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo>;
        const a = attrs as unknown as NativeConvAttrs;
        const activation = a.activation ?? 'linear';
        if (preluActivationWeights || !['linear', 'relu'].includes(activation)) return null!;
        const c = plan(x!.shape as Shape4, filter!.shape as Shape4, a);
        if (!c || !f32(x!, filter!)) return null!;
        // a bias of one value per channel, and then the ReLU, in the same pass; other biases
        // broadcast after
        const perChannel =
          bias?.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === c.outChannels;
        const relu = activation === 'relu';
        let out = wasm.makeOutput([c.batchSize, c.outHeight, c.outWidth, c.outChannels], 'float32');
        const fusedRelu = relu && (!bias || perChannel);
        run(
          blas,
          wasm,
          MODES.forward,
          x!,
          filter!,
          out,
          c,
          perChannel ? bias : undefined,
          fusedRelu,
        );
        const then = (k: string, ins: Record<string, TensorInfo>) => {
          const next = kernel(k)({ inputs: ins, backend, attrs: {} }) as TensorInfo;
          wasm.disposeData(out.dataId);
          out = next;
        };
        if (bias && !perChannel) then('Add', { a: out, b: bias });
        if (relu && !fusedRelu) then('Relu', { x: out });
        return out;
      };
    case tf.Conv2DBackpropFilter:
      return ({ inputs, backend, attrs }) => {
        const wasm = backend as BackendWasm;
        const { x, dy } = inputs as Record<string, TensorInfo>;
        const a = attrs as unknown as ConvAttrs & { filterShape: Shape4 };
        const c = plan(x!.shape as Shape4, a.filterShape, a);
        if (!c || !f32(x!, dy!)) return null!;
        const dw = wasm.makeOutput(a.filterShape, 'float32');
        run(blas, wasm, MODES.filterGrad, x!, dw, dy!, c);
        return dw;
      };
    case tf.Conv2DBackpropInput:
      return ({ inputs, backend, attrs }) => {
        const wasm = backend as BackendWasm;
        const { dy, filter } = inputs as Record<string, TensorInfo>;
        const a = attrs as unknown as ConvAttrs & { inputShape: Shape4 };
        const c = plan(a.inputShape, filter!.shape as Shape4, a);
        if (!c || !f32(dy!, filter!)) return null!;
        const dx = wasm.makeOutput(a.inputShape, 'float32');
        run(blas, wasm, MODES.inputGrad, dx, filter!, dy!, c);
        return dx;
      };
  }
  return null;
}

/** Wraps the wasm backend's convolution kernels; call after they are registered. */
export function registerWasmNativeConv(): void {
  const blas = nativeBlas();
  if (!blas) return;
  for (const name of [tf.Conv2D, tf.FusedConv2D, tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput])
    overrideWasmKernel(name, nativeKernel(name, blas)!);
}
