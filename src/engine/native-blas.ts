import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

/**
 * The optional native kernels (native/blas.c): matrix products by the system BLAS where the
 * build found one, else by the addon's own sgemm (native/sgemm.c), computed in place on the
 * WebAssembly backend's memory. Built on install where a compiler exists
 * (scripts/build-native.mjs); everywhere else, and with TICKETLAB_NATIVE=0, the engine uses
 * the WebAssembly kernels. TICKETLAB_ADDON=<path of a .node file> loads another build of it
 * (bench:engine compares builds that way).
 */
/** A network planned by createTrainer (native/trainer.c): opaque. */
export type NativeTrainer = { readonly __nativeTrainer: unique symbol };

export interface NativeBlas {
  /** the version of the functions it exports (native/addon.h); absent before there was one */
  readonly interfaceVersion?: number;
  /**
   * For each of `batch` products, C[m×n] = op(A)·op(B), row-major, operands at byte offsets
   * of `memory`; A and B advance by strideA and strideB floats (0 broadcasts), C by m·n.
   */
  sgemm(
    memory: ArrayBuffer,
    transposeA: boolean,
    transposeB: boolean,
    batch: number,
    m: number,
    n: number,
    k: number,
    a: number,
    b: number,
    c: number,
    strideA: number,
    strideB: number,
  ): void;
  /**
   * One product C = alpha·op(A)·op(B) + beta·C, row-major, operands at byte offsets of
   * `memory` with leading dimensions lda, ldb, ldc in floats (cblas_sgemm's meaning), on the
   * BLAS or the addon's own sgemm (useOwnGemm), never oneDNN; split over the threads by
   * columns of C when large.
   */
  gemm(
    memory: ArrayBuffer,
    transposeA: boolean,
    transposeB: boolean,
    alpha: number,
    beta: number,
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
  ): void;
  /**
   * What products run on where oneDNN does not, in words: "the system BLAS", or the addon's
   * own sgemm and the instruction set it runs with.
   */
  gemmKernels(): string;
  /**
   * Products on the addon's own sgemm (true) or on the BLAS it was built with (false, the
   * default there); returns whether they now run on its own, which a build without a BLAS
   * always does.
   */
  useOwnGemm(on: boolean): boolean;
  /**
   * A 2-D convolution (NHWC, filter [kh, kw, ci, co], dilation 1) on oneDNN where it runs,
   * else through im2col and sgemm: mode 0 writes y from x and w (plus the
   * bias, unless its offset is -1), 1 the filter gradient w from x and y = dy, 2 the input
   * gradient x from y = dy and w. Offsets in bytes; sizes as named; `relu` applies
   * max(·, 0) after the bias in mode 0.
   */
  conv(
    memory: ArrayBuffer,
    mode: number,
    x: number,
    w: number,
    y: number,
    n: number,
    h: number,
    width: number,
    ci: number,
    kh: number,
    kw: number,
    co: number,
    oh: number,
    ow: number,
    sh: number,
    sw: number,
    padTop: number,
    padLeft: number,
    padBottom: number,
    padRight: number,
    bias: number,
    relu: boolean,
  ): void;
  /**
   * "oneDNN 2.6.3" where single matrix products and convolutions run on it (the addon was
   * built with its headers, libdnnl.so.2 loads, and it is not switched off); else null.
   */
  oneDnn(): string | null;
  /** Products and convolutions on oneDNN where it runs (the default), or on BLAS and im2col (tests check both). */
  useOneDnn(on: boolean): void;
  /**
   * Adam's update of `count` weights: new w, m, v written to w2, m2, v2 (byte offsets); where
   * the 0/1 mask (offset -1: none) is 0, all three become 0.
   */
  adam(
    memory: ArrayBuffer,
    count: number,
    w: number,
    g: number,
    m: number,
    v: number,
    w2: number,
    m2: number,
    v2: number,
    mask: number,
    learningRate: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    weightDecay: number,
    step: number,
  ): void;
  /** out[j] = Σ_i x[i·cols + j]: a sum over the leading axes (byte offsets). */
  sumRows(memory: ArrayBuffer, rows: number, cols: number, x: number, out: number): void;
  /** The gradient of a max pooling (NHWC, dilation 1) into dx, from x and dy (byte offsets). */
  maxPoolGrad(
    memory: ArrayBuffer,
    x: number,
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    filterHeight: number,
    filterWidth: number,
    outHeight: number,
    outWidth: number,
    strideHeight: number,
    strideWidth: number,
    padTop: number,
    padLeft: number,
  ): void;
  /**
   * Plans the whole-step trainer for a feed-forward network (see native/trainer.c for
   * the layer list's and the optimizer settings' layout); masks: one 0/1 mask or null per
   * parameter, copied; l1: one L1 penalty coefficient per parameter (0: none), its
   * subgradient λ·sign(w) added to the loss's gradient before each update.
   */
  createTrainer(
    layers: Float64Array,
    batch: number,
    classes: number,
    masks: (Float32Array | null)[],
    optimizer: Float64Array,
    l1?: Float64Array,
  ): NativeTrainer;
  /**
   * One training step: parameters and optimiser slots at byte `offsets` of `memory` (three
   * per parameter: weights, then Adam's m and v or SGD's momentum buffer, −1 where none; then
   * each batch-norm layer's moving mean and variance) are updated in place at learning rate
   * `lr` (the trainer's own where left out); returns the
   * batch's mean loss.
   */
  trainStep(
    trainer: NativeTrainer,
    memory: ArrayBuffer,
    offsets: Float64Array,
    x: Float32Array,
    labels: Int32Array,
    step: number,
    lr?: number,
  ): number;
  /**
   * The forward pass in inference mode (batch norm on its moving statistics) on a batch of
   * the trainer's size, offsets as trainStep's (the slots' may be −1), writing nothing back:
   * [summed cross-entropy, correct predictions] over its first `count` examples (the rest
   * pad a last, smaller batch).
   */
  trainerEvaluate(
    trainer: NativeTrainer,
    memory: ArrayBuffer,
    offsets: Float64Array,
    x: Float32Array,
    labels: Int32Array,
    count: number,
  ): Float64Array;
  /**
   * The forward pass in training mode on a batch of the trainer's size, offsets as
   * trainerEvaluate's: batch norm normalises by the batch's statistics and moves each moving
   * mean and variance toward them by `momentum` (0 to 1) in place; nothing else is written
   * back. No step is taken.
   */
  trainerForwardTraining(
    trainer: NativeTrainer,
    memory: ArrayBuffer,
    offsets: Float64Array,
    x: Float32Array,
    momentum: number,
  ): void;
  /** Frees a trainer's buffers now (they are freed at garbage collection otherwise). */
  freeTrainer(trainer: NativeTrainer): void;
  /**
   * Where a trainer's steps' time went: [steps, loss ns, update ns, then each layer's
   * forward ns and backward ns], summed over its steps.
   */
  trainerProfile(trainer: NativeTrainer): Float64Array;
  /**
   * Threads that large products (by batch or columns), convolutions (by images) and Adam
   * updates (by weights) are split over; they sleep between calls (default 1).
   */
  setThreads(count: number): void;
}

let useNative = true;

/** Whether the native kernels, when built, are used (tests check both paths). */
export function setNativeKernels(on: boolean): void {
  useNative = on;
}

export function nativeKernelsOn(): boolean {
  return useNative;
}

/**
 * A local worker's share of the cores when `workers` run at once (one thread at least): the
 * threads the scheduler gives each worker (TICKETLAB_THREADS as it starts, for every slot
 * busy; then as many as the jobs running at the time share).
 */
export function workerThreads(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers));
}

/**
 * Threads for the native kernels: TICKETLAB_THREADS (a worker's share of the cores, which the
 * scheduler sets and changes through setKernelThreads), else every core.
 */
export function kernelThreads(): number {
  const asked = Number(process.env.TICKETLAB_THREADS);
  const threads = Number.isInteger(asked) && asked >= 1 ? asked : availableParallelism();
  return Math.min(64, threads);
}

/** The threads the native kernels take now; null where none are loaded or in use. */
export function nativeKernelThreads(): number | null {
  return loaded && useNative ? kernelThreads() : null;
}

/**
 * Changes this process's kernel threads from here on (a worker's share of the cores, as the
 * scheduler divides them again when a job starts or ends). Returns the threads the native
 * kernels now take, or null where none are loaded or in use.
 */
export function setKernelThreads(count: number): number | null {
  process.env.TICKETLAB_THREADS = String(count);
  const threads = nativeKernelThreads();
  if (threads !== null) loaded!.setThreads(threads);
  return threads;
}

let loaded: NativeBlas | null | undefined;
let reason = '';
let stale = false;

export function nativeBlas(): NativeBlas | null {
  if (loaded !== undefined) return loaded;
  if (process.env.TICKETLAB_NATIVE === '0') {
    reason = 'turned off (TICKETLAB_NATIVE=0)';
    return (loaded = null);
  }
  let addon: NativeBlas;
  try {
    addon = createRequire(import.meta.url)(
      process.env.TICKETLAB_ADDON
        ? resolve(process.env.TICKETLAB_ADDON)
        : '../../native/build/Release/ticketlab_blas.node',
    ) as NativeBlas;
  } catch (e) {
    reason = `not built (${(e as Error).message.split('\n')[0]}); \`npm run build:native\` builds it`;
    return (loaded = null);
  }
  const refusal = staleAddon(addon);
  if (refusal) {
    reason = refusal;
    stale = true;
    return (loaded = null);
  }
  addon.setThreads(kernelThreads());
  return (loaded = addon);
}

/** Whether the addon was found but built from other sources (`npm run build:native` is the fix). */
export function nativeBlasStale(): boolean {
  nativeBlas();
  return stale;
}

/** The version of the addon's functions this code calls: native/addon.h's TICKETLAB_ADDON_INTERFACE. */
export const ADDON_INTERFACE = 4;

/**
 * Why an addon cannot be used, when it was built from other sources than this code's (say,
 * before a `git pull`): its functions' arguments may differ, and a call would fail or be
 * misread. Null when its version is this code's.
 */
function staleAddon(addon: Pick<NativeBlas, 'interfaceVersion'>): string | null {
  const version = addon.interfaceVersion ?? 1;
  return version === ADDON_INTERFACE
    ? null
    : `built from other sources (interface ${version}, this code calls ${ADDON_INTERFACE}); \`npm run build:native\` rebuilds it`;
}

/** What the native kernels compute on, in words. */
export function nativeLibraries(blas: NativeBlas): string {
  const oneDnn = blas.oneDnn();
  const gemm = blas.gemmKernels();
  return oneDnn
    ? `products and convolutions on ${oneDnn}, the rest on ${gemm}`
    : `products on ${gemm}, convolutions as im2col + sgemm`;
}

/** How matrix products run, in words: for the backend's description. */
export function nativeBlasStatus(): string {
  const blas = nativeBlas();
  return blas ? `native kernels, ${nativeLibraries(blas)}` : `WebAssembly; native BLAS ${reason}`;
}
