import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's CommonJS build has no gradients; the union package registers them all.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { TicketLabError } from '../core/errors.ts';
import { registerGradients } from './gradients.ts';
import { registerWasmConvBackprop } from './wasm-conv-backprop.ts';
import { registerWasmMatMul } from './wasm-matmul.ts';
import { registerWasmNativeConv } from './wasm-native-conv.ts';
import { registerWasmNativeAdam } from './wasm-native-adam.ts';
import { registerWasmNativeKernels } from './wasm-native-kernels.ts';
import { nativeBlas, nativeLibraries } from './native-blas.ts';
import { describeAdapter, noGpuDevice, startWebGpu, type GpuAdapterInfo } from './webgpu.ts';

export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = [
  'tensorflow-gpu',
  'webgpu',
  'tensorflow',
  'wasm',
  'cpu',
];

export interface BackendInfo {
  name: BackendName;
  /** What actually computes: 'GPU (CUDA)', 'CPU (libtensorflow)', 'CPU (WebAssembly, SIMD)', … */
  device: string;
  /** Why each faster backend was skipped, for the user to read. */
  skipped: string[];
}

let active: BackendInfo | null = null;
let wasmKernelRegistered = false;
let gpuAdapter: GpuAdapterInfo | null = null;

async function tryNative(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
  } catch {
    return false;
  }
  return tf.findBackend('tensorflow') !== null && (await tf.setBackend('tensorflow'));
}

/**
 * Why WebGPU is not the automatic choice beside the native CPU kernels: tfjs's WebGPU
 * backend spends most of a step on the host, dispatch by dispatch, so on an H200 beside 16
 * cores it trained only Conv-4 faster than the native kernels (1.8×) and ResNet-20 at 0.1–0.24×
 * (BENCHMARKS.md, "Training on a GPU"). Without the addon, plain WebAssembly is slower still,
 * and a GPU comes first.
 */
export const WEBGPU_BEHIND_NATIVE =
  'not chosen while the native CPU kernels are built: on an H200 beside 16 cores WebGPU trained only Conv-4 faster than them (1.8×), ResNet-20 at a quarter of their speed or less (BENCHMARKS.md, "Training on a GPU"); TICKETLAB_BACKEND=webgpu chooses it';

async function activate(name: BackendName, forced: boolean): Promise<string | null> {
  switch (name) {
    case 'tensorflow-gpu': {
      if (!(await tryNative('@tensorflow/tfjs-node-gpu'))) {
        return '@tensorflow/tfjs-node-gpu is not installed (or libtensorflow could not load)';
      }
      // Without CUDA 11.2 / cuDNN 8.1 it computes on the CPU: a real GPU below comes first.
      if (!forced && !(tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice)
        return '@tensorflow/tfjs-node-gpu found no usable GPU (it needs CUDA 11.2 and cuDNN 8.1)';
      return null;
    }
    case 'webgpu': {
      if (!gpuAdapter) {
        if (!forced && noGpuDevice() === null && nativeBlas()) return WEBGPU_BEHIND_NATIVE;
        const started = await startWebGpu(forced);
        if (typeof started === 'string') return started;
        gpuAdapter = started;
      }
      try {
        return (await tf.setBackend('webgpu')) ? null : 'the WebGPU backend failed to initialise';
      } catch (e) {
        return `the WebGPU backend failed to initialise: ${(e as Error).message}`;
      }
    }
    case 'tensorflow':
      return (await tryNative('@tensorflow/tfjs-node'))
        ? null
        : '@tensorflow/tfjs-node is not installed (or libtensorflow could not load)';
    case 'wasm': {
      if (!wasmKernelRegistered) {
        registerWasmConvBackprop();
        registerWasmMatMul();
        registerWasmNativeConv();
        registerWasmNativeAdam();
        registerWasmNativeKernels();
        wasmKernelRegistered = true;
      }
      try {
        return (await tf.setBackend('wasm')) ? null : 'the wasm backend failed to initialise';
      } catch (e) {
        return `the wasm backend failed to initialise: ${(e as Error).message}`;
      }
    }
    case 'cpu':
      return (await tf.setBackend('cpu')) ? null : 'the cpu backend failed to initialise';
  }
}

function describeDevice(name: BackendName): string {
  if (name === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const blas = nativeBlas();
    const products = blas ? `; ${nativeLibraries(blas)}` : '';
    return `CPU (WebAssembly${simd ? ', SIMD' : ''}${products})`;
  }
  if (name === 'cpu') return 'CPU (JavaScript)';
  if (name === 'tensorflow') return 'CPU (libtensorflow)';
  if (name === 'webgpu') return describeAdapter(gpuAdapter!);
  // tfjs-node-gpu 4.22 is built for CUDA 11.2 / cuDNN 8.1 and quietly computes on the CPU
  // when it finds neither (e.g. CUDA 12 systems): ask the binding what it really uses.
  const native = tf.backend() as { isUsingGpuDevice?: boolean };
  return native.isUsingGpuDevice
    ? 'GPU (libtensorflow, CUDA)'
    : 'CPU (libtensorflow-gpu found no usable GPU: it needs CUDA 11.2 and cuDNN 8.1)';
}

/**
 * Chooses the compute backend once per process, fastest first (DESIGN.md "Compute
 * backends"): libtensorflow on CUDA, WebGPU on a real GPU unless the native CPU kernels are
 * built (WEBGPU_BEHIND_NATIVE), libtensorflow on the CPU, wasm, then pure-JS cpu.
 * `TICKETLAB_BACKEND` or `preferred` forces one (a CPU-emulated WebGPU adapter is taken only
 * so), and fails clearly if it cannot start.
 */
export async function initBackend(preferred = process.env.TICKETLAB_BACKEND): Promise<BackendInfo> {
  if (active && (!preferred || preferred === active.name)) return active;
  if (preferred && !BACKEND_ORDER.includes(preferred as BackendName)) {
    throw new TicketLabError(
      'BACKEND_UNAVAILABLE',
      `Unknown backend "${preferred}"; choose one of ${BACKEND_ORDER.join(', ')}.`,
    );
  }
  // Production mode: no debug checks, and no "install tfjs-node" banner on the console.
  tf.enableProdMode();
  registerGradients();
  const order = preferred ? [preferred as BackendName] : BACKEND_ORDER;
  const skipped: string[] = [];
  for (const name of order) {
    const why = await activate(name, Boolean(preferred));
    if (why === null) {
      await tf.ready();
      active = { name, device: describeDevice(name), skipped };
      return active;
    }
    skipped.push(`${name}: ${why}`);
  }
  throw new TicketLabError(
    'BACKEND_UNAVAILABLE',
    `No compute backend could start:\n${skipped.join('\n')}`,
  );
}
