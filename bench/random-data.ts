import type { DecodedDataset } from '../src/data/dataset.ts';
import { prepareData, type PreparedData } from '../src/data/split.ts';

/**
 * The benchmarks' training data: `trainCount` images of `shape` whose pixels are a fixed hash
 * of their position, 10 classes in turn, and validation and test splits of one image each, so
 * that evaluation adds nothing measurable to a timed training.
 */
export function randomTrainingData(
  shape: [number, number, number],
  trainCount: number,
  classes = 10,
): PreparedData {
  const size = shape[0] * shape[1] * shape[2];
  const set = (count: number) => ({
    images: Uint8Array.from({ length: count * size }, (_, i) => (i * 2654435761) >>> 24),
    labels: Uint8Array.from({ length: count }, (_, i) => i % classes),
    count,
  });
  const decoded: DecodedDataset = {
    name: 'random',
    format: 'bench',
    inputShape: shape,
    classNames: Array.from({ length: classes }, (_, i) => String(i)),
    train: set(trainCount + 1),
    test: set(1),
  };
  return prepareData(decoded, 1 / (trainCount + 1));
}
