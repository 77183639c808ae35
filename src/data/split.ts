import { iterationsPerEpoch, splitCounts } from '../core/split-counts.ts';
import { deriveSeed, Rng } from '../core/random.ts';
import type { DecodedDataset, ImageSet } from './dataset.ts';
import { exampleSize } from './dataset.ts';

/** A split ready for training: normalised float32 examples (NHWC) and labels. */
export interface Split {
  x: Float32Array;
  y: Uint8Array;
  count: number;
  /** [h, w, c] of one example */
  shape: [number, number, number];
}

export interface PreparedData {
  train: Split;
  val: Split;
  test: Split;
  classes: number;
  /** per-channel mean and std of the training split, in 0–1 pixel units */
  mean: number[];
  std: number[];
}

/** Seed of the held-out validation split; fixed so replicates share their split. */
export const SPLIT_SEED = 1;

function pick(
  set: ImageSet,
  idx: ArrayLike<number>,
  size: number,
): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(idx.length * size);
  const labels = new Uint8Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r]!;
    images.set(set.images.subarray(i * size, (i + 1) * size), r * size);
    labels[r] = set.labels[i]!;
  }
  return { images, labels };
}

function channelStats(images: Uint8Array, channels: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  for (let i = 0; i < images.length; i++) {
    const v = images[i]! / 255;
    sum[i % channels]! += v;
    sq[i % channels]! += v * v;
  }
  const n = images.length / channels;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / n - mean[c]! ** 2, 1e-12)));
  return { mean, std };
}

function normalise(
  images: Uint8Array,
  labels: Uint8Array,
  shape: [number, number, number],
  mean: number[],
  std: number[],
): Split {
  const channels = shape[2];
  const x = new Float32Array(images.length);
  const scale = std.map((s) => 1 / (255 * s));
  const shift = mean.map((m, c) => m / std[c]!);
  for (let i = 0; i < images.length; i++) {
    const c = i % channels;
    x[i] = images[i]! * scale[c]! - shift[c]!;
  }
  return { x, y: labels, count: labels.length, shape };
}

function holdOut(ds: DecodedDataset, validationFraction: number) {
  const size = exampleSize(ds.inputShape);
  const order = new Rng(SPLIT_SEED).permutation(ds.train.count);
  const nVal = splitCounts(ds.train.count, validationFraction, ds.name).val;
  return {
    val: pick(ds.train, order.subarray(0, nVal), size),
    train: pick(ds.train, order.subarray(nVal), size),
  };
}

/** The normalisation `prepareData` applies (per-channel mean and std in 0–1 pixel units). */
export function inputNormalisation(
  ds: DecodedDataset,
  validationFraction: number,
): { mean: number[]; std: number[] } {
  return channelStats(holdOut(ds, validationFraction).train.images, ds.inputShape[2]);
}

/**
 * Holds out a seeded random validation share of the training set (Frankle & Carbin hold
 * out 5K of MNIST's 60K) and normalises every split with the training split's per-channel
 * mean and std.
 */
export function prepareData(ds: DecodedDataset, validationFraction: number): PreparedData {
  const { train, val } = holdOut(ds, validationFraction);
  const { mean, std } = channelStats(train.images, ds.inputShape[2]);
  return {
    train: normalise(train.images, train.labels, ds.inputShape, mean, std),
    val: normalise(val.images, val.labels, ds.inputShape, mean, std),
    test: normalise(ds.test.images, ds.test.labels, ds.inputShape, mean, std),
    classes: ds.classNames.length,
    mean,
    std,
  };
}

/**
 * Seeded epoch-wise shuffling: each epoch visits every example once in its own order, and
 * the batch of any iteration can be computed directly, so training resumes mid-epoch from
 * a checkpoint with exactly the batches it would have seen.
 */
export class BatchSampler {
  private epoch = -1;
  private order: Uint32Array = new Uint32Array(0);
  readonly batchesPerEpoch: number;

  constructor(
    private readonly count: number,
    private readonly batchSize: number,
    private readonly seed: number,
  ) {
    this.batchesPerEpoch = iterationsPerEpoch(count, batchSize);
  }

  /** Indices of the batch of 1-based `iteration`. */
  batchAt(iteration: number): Uint32Array {
    const epoch = Math.floor((iteration - 1) / this.batchesPerEpoch);
    if (epoch !== this.epoch) {
      this.order = new Rng(deriveSeed(this.seed, 'epoch', epoch)).permutation(this.count);
      this.epoch = epoch;
    }
    const at = ((iteration - 1) % this.batchesPerEpoch) * this.batchSize;
    return this.order.subarray(at, at + this.batchSize);
  }
}

/** Gathers examples into a caller-owned buffer (no allocation per step). */
export function gatherExamples(
  split: Split,
  indices: ArrayLike<number>,
  into: Float32Array,
  labels: Int32Array,
): void {
  const size = exampleSize(split.shape);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!;
    into.set(split.x.subarray(i * size, (i + 1) * size), r * size);
    labels[r] = split.y[i]!;
  }
}

/** Random crops and flips of training images (spec.training.augmentation). */
export interface Augmentation {
  /** pixels of padding each side before a random crop back to the image's size */
  cropPadding: number;
  horizontalFlip: boolean;
}

/** The normalised value of a black pixel per channel: what crops pad with. */
export function blackPixel(data: Pick<PreparedData, 'mean' | 'std'>): Float32Array {
  return Float32Array.from(data.mean, (m, c) => -m / data.std[c]!);
}

/**
 * Gathers examples as `gatherExamples` does, each randomly cropped and mirrored on the way:
 * the image padded with `fill` (a black pixel, as torchvision's RandomCrop pads before
 * normalising), a window of its size taken at an offset of −pad…pad pixels each way, then
 * mirrored left–right with probability ½ (torchvision's RandomCrop(size, padding) and
 * RandomHorizontalFlip, OpenLTH's CIFAR augmentation). The choices come from `rng` in a
 * fixed order per example, so a seeded rng gives the same batch on every run. Loops over
 * typed arrays only: nothing is allocated per example.
 */
export function gatherAugmented(
  split: Split,
  indices: ArrayLike<number>,
  into: Float32Array,
  labels: Int32Array,
  augmentation: Augmentation,
  rng: Rng,
  fill: Float32Array,
): void {
  const [h, w, c] = split.shape;
  const size = h * w * c;
  const rowSize = w * c;
  const pad = augmentation.cropPadding;
  const src = split.x;
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!;
    labels[r] = split.y[i]!;
    const dy = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const flip = augmentation.horizontalFlip && rng.next() < 0.5;
    const out = r * size;
    // The crop: output pixel (y, x) is the image's (y + dy, x + dx), a constant offset, so the
    // rows [y0, y1) that fall on the image are one copy; columns outside [x0, x1) then read a
    // neighbouring row and are overwritten with padding.
    const y0 = Math.max(0, -dy);
    const y1 = Math.min(h, h - dy);
    const x0 = Math.max(0, -dx);
    const x1 = Math.min(w, w - dx);
    const shift = i * size + dy * rowSize + dx * c;
    const first = out + y0 * rowSize + x0 * c;
    const last = out + (y1 - 1) * rowSize + x1 * c;
    if (last > first) into.set(src.subarray(first - out + shift, last - out + shift), first);
    for (let y = 0; y < h; y++) {
      const row = out + y * rowSize;
      const inside = y >= y0 && y < y1;
      for (let x = 0; x < w; x++) {
        if (inside && x >= x0 && x < x1) {
          x = x1 - 1; // skip the copied run
          continue;
        }
        for (let k = 0; k < c; k++) into[row + x * c + k] = fill[k]!;
      }
      // the flip: mirror the cropped row in place, pixel by pixel
      if (flip)
        for (let a = row, b = row + (w - 1) * c; a < b; a += c, b -= c)
          for (let k = 0; k < c; k++) {
            const t = into[a + k]!;
            into[a + k] = into[b + k]!;
            into[b + k] = t;
          }
    }
  }
}
