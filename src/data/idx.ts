import { basename } from 'node:path';
import type { ImageSet } from './dataset.ts';
import { invalidDataset as invalid, readDatasetFile } from './files.ts';

/**
 * IDX files (LeCun's MNIST format, also Fashion-MNIST, KMNIST, EMNIST): a big-endian
 * magic number 0x00000803 for images (2051) or 0x00000801 for labels (2049), the
 * dimension sizes, then unsigned bytes. Gzipped or raw.
 */
const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;
/** magic + up to 3 dimension sizes: all an images or labels header can hold */
const HEAD_LENGTH = 16;

interface IdxHeader {
  shape: number[];
  headerSize: number;
  /** header + data bytes */
  total: number;
}

/** Parses and checks an IDX header; `size` is the file's (inflated) size where known. */
function parseHeader(
  path: string,
  head: Uint8Array,
  expectedMagic: number,
  kind: 'images' | 'labels',
  size: number | null,
): IdxHeader {
  if (head.length < 4) {
    invalid(path, `file is ${size ?? head.length} bytes, too short for an IDX header`);
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
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
  if (head.length < headerSize) invalid(path, 'file ends inside its header');
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const total = headerSize + shape.reduce((a, b) => a * b, 1);
  if (size !== null && size < total) {
    invalid(
      path,
      `truncated: header promises ${shape.join('×')} values (${total} bytes) but the file has ${size}`,
    );
  }
  if (size !== null && size > total) {
    invalid(
      path,
      `header promises ${shape.join('×')} values (${total} bytes) but the file has ${size}: ${size - total} unexpected bytes after the data; download the file again`,
    );
  }
  return { shape, headerSize, total };
}

async function readIdx(path: string, expectedMagic: number, kind: 'images' | 'labels') {
  const bytes = await readDatasetFile(path, {
    headLength: HEAD_LENGTH,
    expect: (head, size) => parseHeader(path, head, expectedMagic, kind, size).total,
  });
  const { shape, headerSize } = parseHeader(path, bytes, expectedMagic, kind, bytes.length);
  return { shape, data: bytes.subarray(headerSize) };
}

export interface IdxPair {
  images: string;
  labels: string;
}

/** Reads an images file and its labels file; checks dimensions, counts and labels. */
export async function readIdxPair(
  pair: IdxPair,
  classCount: number,
): Promise<ImageSet & { shape: [number, number, number] }> {
  const images = await readIdx(pair.images, IMAGES_MAGIC, 'images');
  const labels = await readIdx(pair.labels, LABELS_MAGIC, 'labels');
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
