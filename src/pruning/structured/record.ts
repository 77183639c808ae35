import type { Architecture } from '../../engine/architectures.ts';

/**
 * What a structured ticket stores beside its weights, as plain data (the contract and the
 * renderer read it without loading tensor code).
 */

export interface UnitCount {
  /** the layer whose output units (neurons, filters) were pruned */
  layer: string;
  total: number;
  kept: number;
}

/** One Early-Bird search (You et al. 2020) at one pruning ratio. */
export interface EarlyBirdRecord {
  ratio: number;
  /** the epoch whose mask drew the ticket; null when the rule never fired */
  detectedEpoch: number | null;
  /** the epoch whose weights were pruned (the detection, or the end of training) */
  prunedEpoch: number;
  /** normalised Hamming distance between the channel masks of epochs i+1 and j+1 */
  distances: number[][];
  /** the channel mask pruned: one 0/1 per unit, layers in order */
  mask: string;
}

export interface TicketStructure {
  /** the compacted architecture the ticket's weights belong to */
  architecture?: Architecture;
  /** output units kept per pruned layer (neurons, filters) */
  units?: UnitCount[];
  /** PCA replacement: each hidden layer's full rank and the rank kept */
  ranks?: UnitCount[];
  /** on the network trained by a slimming search: its Early-Bird record per ratio */
  earlyBird?: EarlyBirdRecord[];
  /** on the network trained with unit gates (l0, bayesian): the units each level keeps, one 0/1 per unit */
  levelMasks?: string[];
}

export interface LatencyPair {
  batch: number;
  /** medians over the timed runs */
  denseMs: number;
  compactMs: number;
  /** examples per second at those medians */
  denseThroughput: number;
  compactThroughput: number;
}

/** Measured on the worker's backend after training: the compacted model against the dense one. */
export interface InferenceMeasurement {
  backend: string;
  /** timed runs per median, after 5 warm-up runs */
  runs: number;
  /** bytes of the weights saved as safetensors */
  fileBytes: { dense: number; compact: number };
  latency: LatencyPair[];
}
