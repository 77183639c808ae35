import { TicketLabError } from './errors.ts';

// How a dataset's training examples divide into training and validation, and into epochs:
// arithmetic that spec checks need before any data is loaded.

/**
 * How many of a dataset's `trainCount` training examples are held out for validation and
 * how many train. A fraction that leaves nothing to train on is refused, naming the sizes
 * (checked when an experiment is created, and again here for transfers to other datasets).
 */
export function splitCounts(
  trainCount: number,
  validationFraction: number,
  datasetName: string,
): { train: number; val: number } {
  const val = Math.max(1, Math.round(trainCount * validationFraction));
  const train = trainCount - val;
  if (train < 1) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\nspec.validationFraction: ${validationFraction} of the ${trainCount} training examples of ${datasetName} holds out ${Math.min(val, trainCount)} for validation and leaves ${Math.max(train, 0)} to train on; choose a smaller fraction (the default is 0.1)`,
    );
  }
  return { train, val };
}

/** Batches per epoch: an epoch's last partial batch is skipped, as in OpenLTH. */
export function iterationsPerEpoch(trainCount: number, batchSize: number): number {
  return Math.max(1, Math.floor(trainCount / batchSize));
}

/**
 * Training iterations per epoch of a spec's training split on a dataset of `trainCount`
 * training examples (before the validation split): the batch is capped at the split's size.
 */
export function specIterationsPerEpoch(
  spec: { validationFraction: number; training: { batchSize: number } },
  trainCount: number,
  datasetName: string,
): number {
  const { train } = splitCounts(trainCount, spec.validationFraction, datasetName);
  return iterationsPerEpoch(train, Math.min(spec.training.batchSize, train));
}
