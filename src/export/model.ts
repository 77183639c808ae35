import type { Architecture } from '../engine/architectures.ts';
import type { Weights } from '../engine/weights.ts';
import type { Mask } from '../pruning/mask.ts';

/** Everything an export needs to reproduce what the app computes. */
export interface ExportModel {
  arch: Architecture;
  weights: Weights;
  mask: Mask;
  /**
   * The per-channel mean and std (in 0–1 pixel units) the engine normalises inputs
   * with. Exported models take pixels / 255 and apply this themselves.
   */
  normalisation: { mean: number[]; std: number[] };
}
