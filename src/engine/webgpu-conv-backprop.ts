/**
 * Conv2DBackpropFilter for tfjs's WebGPU backend, as a split-K product. tfjs's own kernel
 * gives each filter weight one GPU thread that loops over the whole batch and every output
 * position: a 3×3×3×16 filter at batch 128 on 32×32 images is 432 threads, each summing
 * 131,072 products in turn. On an H200 that kernel was 89% of a ResNet-20 step's GPU time
 * (184 of 208 ms at batch 60; bench/records/gpu-profile-2026-12-04T1818.md).
 *
 * dW[kh,kw,ci,co] = Σ_r x_patch[r, (kh,kw,ci)] · dy[r, co] over r = (n, oh, ow) is a matrix
 * product with a long inner dimension (N·OH·OW) and a small output. Here workgroups of
 * 16×16 threads each own a 16×16 tile of the output and one chunk of r, staging x's patches
 * (read in place, zero outside the padding) and dy through workgroup memory; the chunks'
 * partial sums are then added by tfjs's Sum. Checked against the cpu backend over shapes,
 * strides and paddings in test/engine/webgpu-conv-backprop.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { filterGradientCall } from './wasm-conv-backprop.ts';

const TILE = 16;
/** Enough workgroups to fill a large GPU (an H200 has 132 multiprocessors) several times. */
const TARGET_WORKGROUPS = 1024;

/** The program as tfjs-webgpu's runWebGPUProgram takes it (its WebGPUProgram interface). */
interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y: number[]; z: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  getUserCode(): string;
}

function program(k2: number, co: number, chunks: number): Program {
  return {
    variableNames: ['x', 'dy'],
    outputShape: [chunks, k2, co],
    shaderKey: 'ticketlabConv2DDerFilterSplitK',
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: [Math.ceil(co / TILE), Math.ceil(k2 / TILE), chunks],
    workgroupSize: [TILE, TILE, 1],
    uniforms:
      'pads : vec2<i32>, strides : vec2<i32>, kernel : vec2<i32>, outSize : vec2<i32>, rows : i32, chunk : i32, tiles : i32,',
    // Loop bounds come from uniforms only, so every barrier is in uniform control flow.
    getUserCode: () => `
      var<workgroup> xs : array<array<f32, ${TILE}>, ${TILE}>;
      var<workgroup> ds : array<array<f32, ${TILE}>, ${TILE}>;

      fn patchValue(r : i32, kk : i32) -> f32 {
        let ci = uniforms.xShape.w;
        let k2 = uniforms.kernel.x * uniforms.kernel.y * ci;
        if (r >= uniforms.rows || kk >= k2) { return 0.0; }
        let positions = uniforms.outSize.x * uniforms.outSize.y;
        let n = r / positions;
        let oh = (r % positions) / uniforms.outSize.y;
        let ow = r % uniforms.outSize.y;
        let h = kk / (uniforms.kernel.y * ci);
        let w = (kk / ci) % uniforms.kernel.y;
        let c = kk % ci;
        let xr = oh * uniforms.strides.x + h - uniforms.pads.x;
        let xc = ow * uniforms.strides.y + w - uniforms.pads.y;
        if (xr < 0 || xr >= uniforms.xShape.y || xc < 0 || xc >= uniforms.xShape.z) { return 0.0; }
        return x[((n * uniforms.xShape.y + xr) * uniforms.xShape.z + xc) * ci + c];
      }

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let co = uniforms.dyShape.w;
        let k2 = uniforms.outShape.y;
        let col = i32(workgroupId.x) * ${TILE} + tx;
        let row = i32(workgroupId.y) * ${TILE} + ty;
        let start = i32(workgroupId.z) * uniforms.chunk;
        let end = min(start + uniforms.chunk, uniforms.rows);
        var acc = 0.0;
        for (var t = 0; t < uniforms.tiles; t = t + 1) {
          let r = start + t * ${TILE} + ty;
          xs[ty][tx] = select(0.0, patchValue(r, i32(workgroupId.y) * ${TILE} + tx), r < end);
          var d = 0.0;
          if (r < end && col < co) { d = dy[r * co + col]; }
          ds[ty][tx] = d;
          workgroupBarrier();
          for (var k = 0; k < ${TILE}; k = k + 1) {
            acc = acc + xs[k][ty] * ds[k][tx];
          }
          workgroupBarrier();
        }
        if (row < k2 && col < co) {
          result[(i32(workgroupId.z) * k2 + row) * co + col] = acc;
        }
      }
    `,
  };
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const gpu = backend as WebGPUBackend;
  const { x, dy, filterShape, c } = filterGradientCall(inputs, attrs);
  const [kh, kw, ci, co] = filterShape;
  const k2 = kh * kw * ci;
  const rows = c.batchSize * c.outHeight * c.outWidth;
  const tiles = Math.ceil(k2 / TILE) * Math.ceil(co / TILE);
  const chunks = Math.max(
    1,
    Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.ceil(rows / (TILE * 8))),
  );
  const chunk = Math.ceil(rows / chunks / TILE) * TILE;
  const used = Math.ceil(rows / chunk);
  const partial = gpu.runWebGPUProgram(
    program(k2, co, used) as unknown as Parameters<WebGPUBackend['runWebGPUProgram']>[0],
    [x, dy],
    'float32',
    [
      { type: 'int32', data: [c.padInfo.top, c.padInfo.left] },
      { type: 'int32', data: [c.strideHeight, c.strideWidth] },
      { type: 'int32', data: [kh, kw] },
      { type: 'int32', data: [c.outHeight, c.outWidth] },
      { type: 'int32', data: [rows] },
      { type: 'int32', data: [chunk] },
      { type: 'int32', data: [chunk / TILE] },
    ],
  );
  const summed =
    used === 1
      ? partial
      : (kernel('Sum')({
          inputs: { x: partial },
          backend,
          attrs: { axis: 0, keepDims: false },
        }) as TensorInfo);
  const out = kernel('Reshape')({
    inputs: { x: summed },
    backend,
    attrs: { shape: filterShape },
  }) as TensorInfo;
  gpu.disposeData(partial.dataId);
  if (summed !== partial) gpu.disposeData(summed.dataId);
  return out;
};

function kernel(name: string): KernelFunc {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) throw new Error(`tfjs-backend-webgpu has no ${name} kernel`);
  return k.kernelFunc;
}

/** Replaces tfjs-webgpu's Conv2DBackpropFilter (after the backend's own kernels registered). */
export function registerWebGpuConvBackprop(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu'))
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'webgpu');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'webgpu',
    kernelFunc: conv2DBackpropFilter,
  });
}
