import type { Architecture } from '../../engine/architectures.ts';
import { describeParams } from '../../engine/architectures.ts';
import type { Weights } from '../../engine/weights.ts';
import { couplingGroups, type UnitMask } from './surgery.ts';

/** Keeps the `1 − rate` share of units with the largest scores (at least one; ties by index). */
export function keepLargest(scores: Float64Array, rate: number): Uint8Array {
  const units = scores.length;
  const keepCount = Math.max(1, units - Math.floor(rate * units));
  const order = Array.from({ length: units }, (_, u) => u).sort(
    (a, b) => scores[b]! - scores[a]! || a - b,
  );
  const keep = new Uint8Array(units);
  for (const u of order.slice(0, keepCount)) keep[u] = 1;
  return keep;
}

/**
 * L1-norm filter pruning (Li et al. 2017), the simple structured baseline: in every conv
 * layer drop the `rate` share of filters with the smallest sum of absolute kernel weights;
 * dense layers likewise by each neuron's incoming weights. The output layer keeps all its
 * units, and every layer keeps at least one. Channels joined by skip connections are scored
 * by the sum of their filters' norms over the group and pruned together.
 */
export function l1UnitMask(arch: Architecture, weights: Weights, rate: number): UnitMask {
  const norms = new Map<string, Float64Array>();
  for (const p of describeParams(arch)) {
    if (p.role !== 'kernel' || p.isOutput) continue;
    const units = p.shape[p.shape.length - 1]!;
    const kernel = weights.get(p.name)!;
    const n = new Float64Array(units);
    for (let i = 0; i < kernel.length; i++) n[i % units]! += Math.abs(kernel[i]!);
    norms.set(p.layer, n);
  }
  const mask: UnitMask = new Map();
  for (const group of couplingGroups(arch)) {
    const sum = new Float64Array(norms.get(group[0]!)!.length);
    for (const layer of group) norms.get(layer)!.forEach((v, u) => (sum[u]! += v));
    const keep = keepLargest(sum, rate);
    for (const layer of group) {
      mask.set(layer, keep);
      norms.delete(layer);
    }
  }
  for (const [layer, n] of norms) mask.set(layer, keepLargest(n, rate));
  // forward order, as the layers come
  const order = describeParams(arch).map((p) => p.layer);
  return new Map([...mask].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)));
}
