/**
 * The WebGPU backend: tfjs's WebGPU kernels on a device from Dawn (the npm package `webgpu`,
 * an optional dependency that carries its native module, so nothing is downloaded). Dawn
 * speaks Vulkan on Linux, Metal on macOS and D3D12 on Windows.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { TicketLabError } from '../core/errors.ts';
import { registerWebGpuConvBackprop } from './webgpu-conv-backprop.ts';
import { registerWebGpuOptimizer } from './webgpu-optimizer.ts';

/** What Dawn says of its adapter (GPUAdapterInfo), plus the API it drives. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  /** the driver's own words, e.g. "NVIDIA: 570.124.06" or "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" */
  description: string;
  /** lavapipe, SwiftShader, WARP: a CPU pretending to be a GPU */
  emulated: boolean;
}

interface DawnAdapter {
  info: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isFallbackAdapter?: boolean;
  };
  limits: Record<string, number>;
  features: Set<string>;
  requestDevice(descriptor: unknown): Promise<DawnDevice>;
}
interface DawnDevice {
  lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
}

let device: DawnDevice | null = null;
let lostWhy: string | null = null;

/** The graphics API Dawn uses on this platform. */
export function gpuApi(): string {
  return process.platform === 'darwin'
    ? 'Metal'
    : process.platform === 'win32'
      ? 'D3D12'
      : 'Vulkan';
}

/** One line naming the adapter and its driver, as stored with every run. */
export function describeAdapter(a: GpuAdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ');
  const kind = a.emulated ? 'CPU emulating a GPU' : 'GPU';
  return `${kind} (WebGPU/${gpuApi()}: ${name}; driver ${a.description || 'unnamed'})`;
}

function emulated(info: DawnAdapter['info']): boolean {
  return (
    info.isFallbackAdapter === true ||
    info.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader|microsoft basic render/i.test(
      `${info.device} ${info.description}`,
    )
  );
}

/**
 * Why no GPU can be here, or null when one may be. On Linux every GPU a Vulkan driver drives
 * has a device node: a DRM render node (AMD, Intel, NVIDIA's open and Nouveau drivers, Mesa's
 * others), NVIDIA's own /dev/nvidiactl, or WSL2's /dev/dxg. Without one Dawn can only find a
 * CPU emulation, which the automatic choice refuses anyway, so it is not loaded at all: that
 * saves each CPU-only worker half a second, Dawn's warnings, and Mesa's LLVM in its memory.
 */
export function noGpuDevice(): string | null {
  if (process.platform !== 'linux') return null;
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri') : [];
  if (dri.some((f) => f.startsWith('renderD'))) return null;
  if (existsSync('/dev/nvidiactl') || existsSync('/dev/dxg')) return null;
  return 'this machine has no GPU device (no /dev/dri/renderD*, /dev/nvidiactl or /dev/dxg), so Dawn was not loaded (TICKETLAB_BACKEND=webgpu tries it anyway)';
}

/**
 * Starts tfjs's WebGPU backend on Dawn's adapter. A CPU emulation (lavapipe, SwiftShader)
 * is slower than our CPU engine, so it is taken only when `allowEmulated` (a forced
 * `TICKETLAB_BACKEND=webgpu`, as the tests do). Returns the adapter, or why none started.
 */
export async function startWebGpu(allowEmulated: boolean): Promise<GpuAdapterInfo | string> {
  const noDevice = allowEmulated ? null : noGpuDevice();
  if (noDevice) return noDevice;
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (e) {
    return `the optional package webgpu (Dawn) is not installed or could not load: ${(e as Error).message}`;
  }
  const gpu = dawn.create([]);
  const adapter = (await gpu.requestAdapter({
    powerPreference: 'high-performance',
  })) as unknown as DawnAdapter | null;
  if (!adapter)
    return `Dawn found no ${gpuApi()} adapter (on Linux a GPU driver with Vulkan, or Mesa ≥ 23's lavapipe for tests)`;
  const info: GpuAdapterInfo = {
    vendor: adapter.info.vendor,
    architecture: adapter.info.architecture,
    device: adapter.info.device,
    description: adapter.info.description,
    emulated: emulated(adapter.info),
  };
  if (info.emulated && !allowEmulated)
    return `the only adapter is ${describeAdapter(info)}, slower than the CPU backends (TICKETLAB_BACKEND=webgpu forces it)`;
  // tfjs's backend checks `navigator.gpu` and names the GPU types WebGPU defines globally.
  Object.assign(globalThis, dawn.globals);
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  registerWebGpuConvBackprop();
  registerWebGpuOptimizer();
  // Its own registration (made at import when navigator.gpu exists) picks the adapter again
  // and asks for features as the browser names them: ours uses the adapter chosen above.
  if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  const limits = adapter.limits;
  const dev = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  device = dev;
  lostWhy = null;
  void dev.lost.then((l) => {
    if (device === dev) lostWhy = `${l.reason}: ${l.message || 'no message'}`;
  });
  tf.registerBackend(
    'webgpu',
    () =>
      new WebGPUBackend(
        dev as unknown as ConstructorParameters<typeof WebGPUBackend>[0],
        adapter.info as unknown as ConstructorParameters<typeof WebGPUBackend>[1],
      ),
  );
  return info;
}

/** Why the GPU device was lost (driver reset, GPU removed, destroyed), or null while it works. */
export function gpuDeviceLost(): string | null {
  return lostWhy;
}

/**
 * `e` as GPU_LOST when the GPU device was lost (the step that failed, or the next one, finds
 * it gone): the job then pauses with its last checkpoint instead of failing.
 */
export function gpuLostInstead(e: unknown): unknown {
  if (!lostWhy) return e;
  return new TicketLabError(
    'GPU_LOST',
    `The GPU was lost during training (${lostWhy}). The job is paused at its last checkpoint; resume it to continue on the GPU if it is back, or on the CPU otherwise.`,
  );
}

/** Ends the device as a driver reset would (tests of the lost-device path use it). */
export function destroyGpuDevice(): void {
  device?.destroy();
}
