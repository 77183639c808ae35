import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Matrix products with a transposed operand on the wasm backend. tfjs-backend-wasm passes
 * transposeA/transposeB to XNNPACK's slow path: measured on this machine, the weight
 * gradient xᵀ·dy of LeNet-300-100's first layer takes 12.3 ms that way and 1.3 ms as an
 * explicit Transpose followed by a plain product (BENCHMARKS.md, `npm run bench:profile`).
 * Training's backward pass is made of such products, so both kernels that take the flags
 * (BatchMatMul and _FusedMatMul) transpose first. Checked against the cpu backend in
 * test/engine/wasm-kernels.test.ts.
 */
function swapLastTwo(wasm: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  return transpose({ inputs: { x }, backend: wasm, attrs: { perm } }) as TensorInfo;
}

function untransposed(original: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as NamedAttrMap & {
      transposeA: boolean;
      transposeB: boolean;
    };
    if (!transposeA && !transposeB) return original({ inputs, backend, attrs });
    const wasm = backend as BackendWasm;
    const temps: TensorInfo[] = [];
    const plain = (t: TensorInfo, flag: boolean) => {
      if (!flag) return t;
      const swapped = swapLastTwo(wasm, t);
      temps.push(swapped);
      return swapped;
    };
    const out = original({
      inputs: { ...inputs, a: plain(inputs.a!, transposeA), b: plain(inputs.b!, transposeB) },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
    for (const t of temps) wasm.disposeData(t.dataId);
    return out;
  };
}

/** Replaces both kernels on the wasm backend; call before the backend initialises. */
export function registerWasmMatMul(): void {
  for (const name of [tf.BatchMatMul, tf._FusedMatMul]) {
    const original = tf.getKernel(name, 'wasm');
    if (!original) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
    tf.unregisterKernel(name, 'wasm');
    const replacement: KernelConfig = {
      kernelName: name,
      backendName: 'wasm',
      // the original's setup binds its wasm function, which the replacement calls
      setupFunc: original.setupFunc,
      kernelFunc: untransposed(original.kernelFunc),
    };
    tf.registerKernel(replacement);
  }
}
