/**
 * The optimiser's update of one parameter in one kernel per output on tfjs's WebGPU backend.
 * A WebGPU step is bound by the host's work per dispatch (BENCHMARKS.md, "Training on a
 * GPU": 3,100 dispatches in a ResNet-20 step with Adam, 118 ms of it on the GPU out of
 * 0.75 s or more), and tfjs's ops spend about six dispatches per parameter on SGD with
 * momentum and a dozen on Adam. Here SGD with momentum takes two (the new weights, the new
 * momentum) and Adam three (weights, m, v), each recomputing the few shared products.
 *
 * ADAM_UPDATE computes the native addon's update (native/kernels.h adam_element, so a step
 * on WebGPU matches one on wasm with the addon); SGD_UPDATE computes Optimizer.apply's tfjs
 * ops in their order. Checked against both in test/engine/webgpu-optimizer.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ADAM_UPDATE, type AdamAttrs } from './wasm-native-adam.ts';

export const SGD_UPDATE = 'TicketLabSgdUpdate';

export interface SgdAttrs extends NamedAttrMap {
  learningRate: number;
  momentum: number;
  /** coupled (L2) weight decay, added to the gradient; 0 for none */
  weightDecay: number;
  nesterov: boolean;
}

const WORKGROUP = 64;

/**
 * An elementwise program over `shape` whose WGSL `body` sets `out` from the inputs at flat
 * index `i` (one thread per element; tfjs folds a dispatch past the device's limit per
 * dimension into two dimensions).
 */
function elementwise(
  key: string,
  inputs: string[],
  shape: number[],
  uniforms: string,
  body: string,
) {
  return {
    variableNames: inputs,
    outputShape: shape,
    shaderKey: `ticketlab${key}`,
    dispatchLayout: { x: shape.map((_, d) => d) },
    dispatch: [Math.ceil(tf.util.sizeFromShape(shape) / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms,
    getUserCode: () => `
      fn main(i : i32) {
        if (i < uniforms.size) {
          var out = 0.0;
          ${body}
          setOutputAtIndex(i, out);
        }
      }
    `,
  } as unknown as Parameters<WebGPUBackend['runWebGPUProgram']>[0];
}

/** Runs one program per output body over the parameter's inputs. */
function run(
  backend: WebGPUBackend,
  key: string,
  inputs: Record<string, TensorInfo | undefined>,
  uniforms: string,
  uniformData: number[][],
  shared: string,
  outputs: string[],
): TensorInfo[] {
  const present = Object.entries(inputs).filter((e): e is [string, TensorInfo] => !!e[1]);
  const names = present.map(([n]) => n);
  const masked = names.includes('keep');
  const shape = present[0]![1].shape;
  return outputs.map((result, o) =>
    backend.runWebGPUProgram(
      elementwise(
        `${key}_${o}_${masked}`,
        names,
        shape,
        uniforms,
        `let keepI = ${masked ? 'keep[i]' : '1.0'};\n${shared}\nout = ${result};`,
      ),
      present.map(([, t]) => t),
      'float32',
      uniformData.map((data) => ({ type: 'float32', data })),
    ),
  );
}

const sgdUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, buf, mask } = inputs as Record<'w' | 'g' | 'buf', TensorInfo> & {
    mask?: TensorInfo;
  };
  const a = attrs as SgdAttrs;
  // as Optimizer.apply's ops: g·mask, + w·wd, b = b·μ + g, w − lr·(b or g + b·μ), ·mask
  return run(
    backend as WebGPUBackend,
    'SgdUpdate',
    { wIn: w, gIn: g, bufIn: buf, keep: mask },
    'settings : vec4<f32>,',
    [[a.learningRate, a.momentum, a.weightDecay, a.nesterov ? 1 : 0]],
    `let lr = uniforms.settings.x;
     let mu = uniforms.settings.y;
     var grad = gIn[i] * keepI;
     if (uniforms.settings.z > 0.0) { grad = grad + wIn[i] * uniforms.settings.z; }
     let b = bufIn[i] * mu + grad;
     let step = select(b, grad + b * mu, uniforms.settings.w > 0.5);`,
    ['(wIn[i] - step * lr) * keepI', 'b'],
  );
};

const adamUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, m, v, mask } = inputs as Record<'w' | 'g' | 'm' | 'v', TensorInfo> & {
    mask?: TensorInfo;
  };
  const a = attrs as AdamAttrs;
  // native/kernels.h adam_element: the bias corrections folded into the rate and denominator
  const rate = a.learningRate / (1 - a.beta1 ** a.step);
  const invSqrtBc2 = 1 / Math.sqrt(1 - a.beta2 ** a.step);
  return run(
    backend as WebGPUBackend,
    'AdamUpdate',
    { wIn: w, gIn: g, mIn: m, vIn: v, keep: mask },
    'settings : vec4<f32>, more : vec2<f32>,',
    [
      [a.beta1, a.beta2, a.epsilon, a.weightDecay],
      [rate, invSqrtBc2],
    ],
    `let b1 = uniforms.settings.x;
     let b2 = uniforms.settings.y;
     let grad = gIn[i] + uniforms.settings.w * wIn[i];
     let mi = b1 * mIn[i] + (1.0 - b1) * grad;
     let vi = b2 * vIn[i] + (1.0 - b2) * grad * grad;`,
    [
      'keepI * (wIn[i] - uniforms.more.x * (mi / (sqrt(vi) * uniforms.more.y + uniforms.settings.z)))',
      'keepI * mi',
      'keepI * vi',
    ],
  );
};

/** Registers both updates on the WebGPU backend (Optimizer.apply uses them where present). */
export function registerWebGpuOptimizer(): void {
  for (const [kernelName, kernelFunc] of [
    [SGD_UPDATE, sgdUpdate],
    [ADAM_UPDATE, adamUpdate],
  ] as const) {
    if (tf.getKernel(kernelName, 'webgpu')) tf.unregisterKernel(kernelName, 'webgpu');
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc });
  }
}
