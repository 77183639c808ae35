import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeBlas } from './native-blas.ts';
import { heapOffset } from './wasm-native-kernels.ts';

/**
 * Adam's whole update of one parameter as a single kernel on the wasm backend, computed by
 * the native addon in one pass over the wasm heap (tfjs's ops take about a dozen kernels and
 * buffers per parameter). An optional 0/1 `mask` input zeroes the pruned weights and their
 * moments in the same pass. Registered only where the addon is built; `Optimizer.apply` uses
 * it when present and its own tfjs ops otherwise. Checked against the ops on the cpu backend
 * in test/engine/wasm-kernels.test.ts.
 */
export const ADAM_UPDATE = 'TicketLabAdamUpdate';

export interface AdamAttrs extends NamedAttrMap {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** the step being taken, from 1: for the bias corrections */
  step: number;
}

export function registerWasmNativeAdam(): void {
  const blas = nativeBlas();
  if (!blas) return;
  tf.registerKernel({
    kernelName: ADAM_UPDATE,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as BackendWasm;
      const { w, g, m, v, mask } = inputs as Record<'w' | 'g' | 'm' | 'v', TensorInfo> & {
        mask?: TensorInfo;
      };
      const a = attrs as AdamAttrs;
      const outs = [w, m, v].map((t) => wasm.makeOutput(t.shape, 'float32'));
      const offset = (t: TensorInfo) => heapOffset(wasm, t);
      blas.adam(
        wasm.typedArrayFromHeap(outs[0]!).buffer as ArrayBuffer,
        tf.util.sizeFromShape(w.shape),
        ...([w, g, m, v, ...outs].map(offset) as [
          number,
          number,
          number,
          number,
          number,
          number,
          number,
        ]),
        mask ? offset(mask) : -1,
        a.learningRate,
        a.beta1,
        a.beta2,
        a.epsilon,
        a.weightDecay,
        a.step,
      );
      return outs;
    },
  });
}
