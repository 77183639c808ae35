import { isTicketLabError } from '../../src/core/errors.ts';
import type { DecodedDataset } from '../../src/data/dataset.ts';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { prepareData, type PreparedData } from '../../src/data/split.ts';

let mnist: DecodedDataset | null = null;

/** The first `train` and `test` built-in digits: tiny, real data for short trainings. */
export function tinyMnist(train = 1200, test = 300): PreparedData {
  mnist ??= loadBuiltinMnist();
  const cut = (s: DecodedDataset['train'], n: number) => ({
    images: s.images.subarray(0, n * 784),
    labels: s.labels.subarray(0, n),
    count: n,
  });
  return prepareData(
    { ...mnist, train: cut(mnist.train, train), test: cut(mnist.test, test) },
    0.1,
  );
}

/**
 * Random images with random labels, for convnet shape checks. Each pixel is a hash of its
 * position (a multiplicative one: with a linear formula, images whose size is a multiple of
 * 256 all came out the same, and batch norm then normalised rounding noise).
 */
export function randomImages(
  shape: [number, number, number],
  count: number,
  classes: number,
): DecodedDataset {
  const size = shape[0] * shape[1] * shape[2];
  const set = (n: number, seed: number) => ({
    images: Uint8Array.from(
      { length: n * size },
      (_, i) => Math.imul(i + 1 + seed * 1_000_003, 2654435761) >>> 24,
    ),
    labels: Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % classes),
    count: n,
  });
  return {
    name: 'random',
    format: 'test',
    inputShape: shape,
    classNames: Array.from({ length: classes }, (_, i) => String(i)),
    train: set(count, 1),
    test: set(Math.ceil(count / 4), 2),
  };
}

/**
 * The WebGPU backend for the GPU cases of a test file, or why there is none (warned once, so
 * the skip says why). Wherever Dawn finds an adapter the cases run: in CI that is Mesa's
 * lavapipe. The backend module loads here, not at import, for the files that need no tfjs.
 */
export async function webGpuForTests(): Promise<
  { ok: true; device: string } | { ok: false; why: string }
> {
  const { initBackend } = await import('../../src/engine/backend.ts');
  const gpu = await initBackend('webgpu').then(
    (b) => ({ ok: true as const, device: b.device }),
    (e: unknown) => {
      if (!isTicketLabError(e, 'BACKEND_UNAVAILABLE')) throw e;
      return { ok: false as const, why: (e as Error).message };
    },
  );
  if (!gpu.ok) console.warn(`WebGPU cases skipped: no adapter (${gpu.why})`);
  return gpu;
}
