import * as tf from '@tensorflow/tfjs-core';
import {
  broadcast_util,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeBlas, nativeKernelsOn, type NativeBlas } from './native-blas.ts';
import { heapOffset } from './wasm-native-kernels.ts';

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

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * The product by the native sgemm (the system BLAS or the addon's own), in place on the wasm
 * heap (no copies, transposes passed to sgemm), with a fused kernel's bias and ReLU applied
 * by the wasm kernels. Returns null for what it does not cover (other dtypes or activations,
 * empty or broadcast batches), which the WebAssembly path computes.
 */
function nativeProduct(blas: NativeBlas, name: string) {
  const kernel = (k: string) => tf.getKernel(k, 'wasm')!.kernelFunc;
  return ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo | null => {
    const wasm = backend as BackendWasm;
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB, activation = 'linear' } = attrs as unknown as MatMulAttrs;
    if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return null;
    if (preluActivationWeights || !['linear', 'relu'].includes(activation)) return null;
    const ra = a!.shape.length;
    const rb = b!.shape.length;
    const m = transposeA ? a!.shape[ra - 1]! : a!.shape[ra - 2]!;
    const k = transposeA ? a!.shape[ra - 2]! : a!.shape[ra - 1]!;
    const n = transposeB ? b!.shape[rb - 2]! : b!.shape[rb - 1]!;
    const batchA = util.sizeFromShape(a!.shape.slice(0, -2));
    const batchB = util.sizeFromShape(b!.shape.slice(0, -2));
    if (m * n * k === 0 || (batchA !== batchB && batchA !== 1 && batchB !== 1)) return null;
    const outer = broadcast_util.assertAndGetBroadcastShape(
      a!.shape.slice(0, -2),
      b!.shape.slice(0, -2),
    );
    let out = wasm.makeOutput([...outer, m, n], 'float32');
    const offset = (t: TensorInfo) => heapOffset(wasm, t);
    blas.sgemm(
      // the heap as the backend reads it (a view on the module's memory)
      wasm.typedArrayFromHeap(out).buffer as ArrayBuffer,
      transposeA,
      transposeB,
      Math.max(batchA, batchB),
      m,
      n,
      k,
      offset(a!),
      offset(b!),
      offset(out),
      batchA === 1 ? 0 : m * k,
      batchB === 1 ? 0 : k * n,
    );
    if (name === tf._FusedMatMul) {
      const then = (kernelName: string, x: Record<string, TensorInfo>) => {
        const next = kernel(kernelName)({ inputs: x, backend, attrs: {} }) as TensorInfo;
        wasm.disposeData(out.dataId);
        out = next;
      };
      if (bias) then('Add', { a: out, b: bias });
      if (activation === 'relu') then('Relu', { x: out });
    }
    return out;
  };
}

/**
 * Replaces both kernels on the wasm backend; call before the backend initialises. With the
 * native kernels built, products run on their sgemm; otherwise on XNNPACK, untransposed.
 */
export function registerWasmMatMul(): void {
  const blas = nativeBlas();
  for (const name of [tf.BatchMatMul, tf._FusedMatMul]) {
    const original = tf.getKernel(name, 'wasm');
    if (!original) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
    tf.unregisterKernel(name, 'wasm');
    const webAssembly = untransposed(original.kernelFunc);
    const native = blas ? nativeProduct(blas, name) : null;
    const replacement: KernelConfig = {
      kernelName: name,
      backendName: 'wasm',
      // the original's setup binds its wasm function, which the replacement may call
      setupFunc: original.setupFunc,
      kernelFunc: (args) => (nativeKernelsOn() ? native?.(args) : null) ?? webAssembly(args),
    };
    tf.registerKernel(replacement);
  }
}
