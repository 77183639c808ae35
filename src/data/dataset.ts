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
