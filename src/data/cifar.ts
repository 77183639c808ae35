import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { TicketLabError } from '../core/errors.ts';
import type { ImageSet } from './dataset.ts';
import { maybeGunzip } from './gzip.ts';

/**
 * CIFAR binary batches (https://www.cs.toronto.edu/~kriz/cifar.html): per record a label
 * byte (CIFAR-10) or coarse+fine label bytes (CIFAR-100), then 1024 red, 1024 green and
 * 1024 blue bytes. The record count comes from the file size, not an assumed 10,000.
 * Pixels are returned channels-last (NHWC).
 */
export type CifarVariant = 'cifar10' | 'cifar100';

const PIXELS = 32 * 32;

export function readCifarBatches(files: string[], variant: CifarVariant): ImageSet {
  const labelBytes = variant === 'cifar10' ? 1 : 2;
  const classCount = variant === 'cifar10' ? 10 : 100;
  const recordSize = labelBytes + 3 * PIXELS;
  const parts = files.map((file) => {
    const bytes = maybeGunzip(readFileSync(file), basename(file));
    if (bytes.length === 0 || bytes.length % recordSize !== 0) {
      throw new TicketLabError(
        'INVALID_DATASET',
        `${basename(file)}: ${bytes.length} bytes is not a whole number of ${recordSize}-byte ${variant} records (truncated, or not a ${variant} binary batch?)`,
      );
    }
    return bytes;
  });
  const count = parts.reduce((n, b) => n + b.length / recordSize, 0);
  const images = new Uint8Array(count * PIXELS * 3);
  const labels = new Uint8Array(count);
  let r = 0;
  parts.forEach((bytes, f) => {
    for (let off = 0; off < bytes.length; off += recordSize, r++) {
      const label = bytes[off + labelBytes - 1]!; // CIFAR-100: the fine label
      if (label >= classCount) {
        throw new TicketLabError(
          'INVALID_DATASET',
          `${basename(files[f]!)}: label ${label} at record ${off / recordSize} is out of range 0–${classCount - 1}`,
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
    }
  });
  return { images, labels, count };
}
