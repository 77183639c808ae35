import { TicketLabError } from '../core/errors.ts';
import type { TensorBundle } from '../core/tensorfile.ts';

/** A decoded image-classification dataset: uint8 pixels in NHWC order plus labels. */
export interface ImageSet {
  /** count × height × width × channels bytes, row-major, channels last. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface DecodedDataset {
  name: string;
  format: string;
  /** [height, width, channels] */
  inputShape: [number, number, number];
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
}

export function exampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A dataset's decoded tensors as one bundle (the form cached in the blob folder). */
export function datasetToBundle(ds: DecodedDataset): TensorBundle {
  const [h, w, c] = ds.inputShape;
  return new Map([
    ['train.images', { dtype: 'U8', shape: [ds.train.count, h, w, c], data: ds.train.images }],
    ['train.labels', { dtype: 'U8', shape: [ds.train.count], data: ds.train.labels }],
    ['test.images', { dtype: 'U8', shape: [ds.test.count, h, w, c], data: ds.test.images }],
    ['test.labels', { dtype: 'U8', shape: [ds.test.count], data: ds.test.labels }],
  ]);
}

export interface DatasetDescription {
  id: string;
  name?: string;
  format?: string;
  inputShape: [number, number, number];
  classNames: string[];
  trainCount: number;
  testCount: number;
}

export function datasetFromBundle(d: DatasetDescription, bundle: TensorBundle): DecodedDataset {
  const u8 = (name: string) => {
    const t = bundle.get(name);
    if (!t || t.dtype !== 'U8')
      throw new TicketLabError('BLOB_CORRUPT', `Dataset ${d.id}: tensor ${name} is missing`);
    return t.data;
  };
  return {
    name: d.name ?? d.id,
    format: d.format ?? 'cached',
    inputShape: d.inputShape,
    classNames: d.classNames,
    train: { images: u8('train.images'), labels: u8('train.labels'), count: d.trainCount },
    test: { images: u8('test.images'), labels: u8('test.labels'), count: d.testCount },
  };
}
