import type { Architecture } from '../../engine/architectures.ts';
import { describeParams } from '../../engine/architectures.ts';
import type { Weights } from '../../engine/weights.ts';
import type { UnitMask } from './surgery.ts';

/**
 * L1-norm filter pruning (Li et al. 2017), the simple structured baseline: in every conv
 * layer drop the `rate` share of filters with the smallest sum of absolute kernel weights;
 * dense layers likewise by each neuron's incoming weights. The output layer keeps all its
 * units, and every layer keeps at least one.
 */
export function l1UnitMask(arch: Architecture, weights: Weights, rate: number): UnitMask {
  const mask: UnitMask = new Map();
  for (const p of describeParams(arch)) {
    if (p.role !== 'kernel' || p.isOutput) continue;
    const units = p.shape[p.shape.length - 1]!;
    const kernel = weights.get(p.name)!;
    const norms = new Float64Array(units);
    for (let i = 0; i < kernel.length; i++) norms[i % units]! += Math.abs(kernel[i]!);
    const keepCount = Math.max(1, units - Math.floor(rate * units));
    // ties broken by index so the mask is deterministic
    const order = Array.from({ length: units }, (_, u) => u).sort(
      (a, b) => norms[b]! - norms[a]! || a - b,
    );
    const keep = new Uint8Array(units);
    for (const u of order.slice(0, keepCount)) keep[u] = 1;
    mask.set(p.layer, keep);
  }
  return mask;
}
