import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ImageSet } from './dataset.ts';
import { invalidDataset, readDatasetFile } from './files.ts';

/**
 * CIFAR binary batches (https://www.cs.toronto.edu/~kriz/cifar.html): per record a label
 * byte (CIFAR-10) or coarse+fine label bytes (CIFAR-100), then 1024 red, 1024 green and
 * 1024 blue bytes. The record count comes from the file size, not an assumed 10,000.
 * Pixels are returned channels-last (NHWC).
 */
export type CifarVariant = 'cifar10' | 'cifar100';

const PIXELS = 32 * 32;
/**
 * The most bytes one batch may inflate to: CIFAR-100's train.bin, the largest, is 50,000
 * records (154 MB). A batch has no header to promise its size, so this is what stops a
 * gzip bomb named like one.
 */
export const MAX_CIFAR_FILE_BYTES = 256 * 2 ** 20;
/** Records reordered between yields to the event loop (~3 MB, a few milliseconds). */
const RECORDS_PER_SLICE = 1000;

export async function readCifarBatches(files: string[], variant: CifarVariant): Promise<ImageSet> {
  const labelBytes = variant === 'cifar10' ? 1 : 2;
  const classCount = variant === 'cifar10' ? 10 : 100;
  const recordSize = labelBytes + 3 * PIXELS;
  const parts: Uint8Array[] = [];
  for (const file of files) {
    parts.push(
      await readDatasetFile(file, {
        headLength: 0,
        limit: MAX_CIFAR_FILE_BYTES,
        // No header: a raw file's size must be whole records before it is read; a gzip
        // is inflated up to the per-file limit and then checked the same way.
        expect: (_, size) => {
          if (size !== null && (size === 0 || size % recordSize !== 0)) {
            invalidDataset(
              file,
              `${size} bytes is not a whole number of ${recordSize}-byte ${variant} records (truncated, or not a ${variant} binary batch?)`,
            );
          }
          return size;
        },
      }),
    );
  }
  const count = parts.reduce((n, b) => n + b.length / recordSize, 0);
  const images = new Uint8Array(count * PIXELS * 3);
  const labels = new Uint8Array(count);
  let r = 0;
  for (const [f, bytes] of parts.entries()) {
    for (let off = 0; off < bytes.length; off += recordSize, r++) {
      const label = bytes[off + labelBytes - 1]!; // CIFAR-100: the fine label
      if (label >= classCount) {
        invalidDataset(
          files[f]!,
          `label ${label} at record ${off / recordSize} is out of range 0–${classCount - 1}`,
        );
      }
      labels[r] = label;
      const src = off + labelBytes;
      const dst = r * PIXELS * 3;
      for (let p = 0; p < PIXELS; p++) {
        images[dst + p * 3] = bytes[src + p]!;
        images[dst + p * 3 + 1] = bytes[src + PIXELS + p]!;
        images[dst + p * 3 + 2] = bytes[src + 2 * PIXELS + p]!;
      }
      // Reordering 50,000 records takes a few hundred milliseconds: let the event loop
      // answer other requests in between.
      if (r % RECORDS_PER_SLICE === RECORDS_PER_SLICE - 1) await yieldToLoop();
    }
  }
  return { images, labels, count };
}
