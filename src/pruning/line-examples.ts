import { iterationsPerEpoch } from '../core/split-counts.ts';
import { describeParams, hasBatchNorm, type Architecture } from '../engine/architectures.ts';

/**
 * Training batches whose statistics replace a batch-norm layer's moving averages at each
 * point on an instability line (the averaged weights' own statistics, not the averaged
 * statistics of the two ends, which belong to neither network). Here, apart from
 * instability.ts, so that the host can price a line without loading tfjs.
 */
export const BN_RECOMPUTE_BATCHES = 10;

/**
 * Examples one point of an instability line runs forward: its test set, and for a model
 * with batch norm the training batches its statistics are recomputed on (instability.ts's
 * `recomputeBatchNorm`), each at about the cost of evaluating an example.
 */
export function linePointExamples(
  arch: Architecture,
  counts: { train: number; test: number },
  batchSize: number,
): number {
  if (!hasBatchNorm(describeParams(arch))) return counts.test;
  const batch = Math.min(batchSize, counts.train);
  return (
    counts.test + Math.min(BN_RECOMPUTE_BATCHES, iterationsPerEpoch(counts.train, batch)) * batch
  );
}
