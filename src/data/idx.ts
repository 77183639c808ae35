import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { TicketLabError } from '../core/errors.ts';
import type { ImageSet } from './dataset.ts';
import { maybeGunzip } from './gzip.ts';

/**
 * IDX files (LeCun's MNIST format, also Fashion-MNIST, KMNIST, EMNIST): a big-endian
 * magic number 0x00000803 for images (2051) or 0x00000801 for labels (2049), the
 * dimension sizes, then unsigned bytes. Gzipped or raw.
 */
const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;

function invalid(file: string, problem: string): never {
  throw new TicketLabError('INVALID_DATASET', `${basename(file)}: ${problem}`);
}

function readIdx(path: string, expectedMagic: number, kind: 'images' | 'labels') {
  const bytes = maybeGunzip(readFileSync(path), basename(path));
  if (bytes.length < 8) invalid(path, `file is ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic >>> 8 !== 0x08) {
    invalid(
      path,
      `expected magic ${expectedMagic} for ${kind}, found ${magic} (not an IDX file of unsigned bytes)`,
    );
  }
  if (magic !== expectedMagic) {
    const swapped =
      magic === IMAGES_MAGIC ? 'an images' : magic === LABELS_MAGIC ? 'a labels' : null;
    invalid(
      path,
      swapped
        ? `expected magic ${expectedMagic} for ${kind}, found ${magic} (is this ${swapped} file?)`
        : `expected ${expectedMagic & 0xff} dimensions for ${kind}, found ${magic & 0xff} (magic ${magic})`,
    );
  }
  const dims = magic & 0xff;
  const headerSize = 4 + 4 * dims;
  if (bytes.length < headerSize) invalid(path, 'file ends inside its header');
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = headerSize + shape.reduce((a, b) => a * b, 1);
  if (bytes.length < expected) {
    invalid(
      path,
      `truncated: header promises ${shape.join('×')} values (${expected} bytes) but the file has ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    invalid(path, `${bytes.length - expected} unexpected bytes after the ${shape.join('×')} data`);
  }
  return { shape, data: bytes.subarray(headerSize) };
}

export interface IdxPair {
  images: string;
  labels: string;
}

/** Reads an images file and its labels file; checks dimensions, counts and labels. */
export function readIdxPair(
  pair: IdxPair,
  classCount: number,
): ImageSet & { shape: [number, number, number] } {
  const images = readIdx(pair.images, IMAGES_MAGIC, 'images');
  const labels = readIdx(pair.labels, LABELS_MAGIC, 'labels');
  const [count, h, w] = images.shape as [number, number, number];
  if (labels.shape[0] !== count) {
    invalid(
      pair.labels,
      `has ${labels.shape[0]} labels but ${basename(pair.images)} has ${count} images`,
    );
  }
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i]! >= classCount) {
      invalid(
        pair.labels,
        `label ${labels.data[i]} at record ${i} is out of range 0–${classCount - 1}`,
      );
    }
  }
  return { images: images.data, labels: labels.data, count, shape: [h, w, 1] };
}
