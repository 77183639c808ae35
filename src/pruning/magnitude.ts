import { TicketLabError } from '../core/errors.ts';
import type { Rng } from '../core/random.ts';
import type { Weights } from '../engine/weights.ts';
import { countKept, type Mask } from './mask.ts';

/** Indices of the kept weights of one layer, ordered by |w| ascending (ties by index). */
function keptByMagnitude(w: Float32Array, m: Uint8Array): Uint32Array {
  const idx = new Uint32Array(countKept(m));
  let n = 0;
  for (let i = 0; i < m.length; i++) if (m[i]) idx[n++] = i;
  const mag = new Float32Array(idx.length);
  for (let j = 0; j < idx.length; j++) mag[j] = Math.abs(w[idx[j]!]!);
  const order = Array.from({ length: idx.length }, (_, j) => j).sort(
    (a, b) => mag[a]! - mag[b]! || a - b,
  );
  return Uint32Array.from(order, (j) => idx[j]!);
}

function guardCollapse(mask: Mask): Mask {
  for (const [name, m] of mask) {
    if (countKept(m) === 0) {
      throw new TicketLabError(
        'LAYER_COLLAPSE',
        `Pruning would remove every weight of ${name} and disconnect the network; lower the pruning rate or the number of levels.`,
      );
    }
  }
  return mask;
}

/**
 * Layer-wise magnitude pruning: each layer loses `rate(layer)` of the weights it still
 * has, smallest |w| first (Frankle & Carbin 2019 §2: p% of each layer per round).
 */
export function pruneLayerwise(
  weights: Weights,
  mask: Mask,
  rate: (layer: string) => number,
): Mask {
  const next: Mask = new Map();
  for (const [name, m] of mask) {
    const out = m.slice();
    const order = keptByMagnitude(weights.get(name)!, m);
    const toPrune = Math.round(order.length * rate(name));
    for (let j = 0; j < toPrune; j++) out[order[j]!] = 0;
    next.set(name, out);
  }
  return guardCollapse(next);
}

/**
 * Global magnitude pruning: removes `rate` of the remaining weights of the eligible
 * layers with one threshold over all of them (OpenLTH's sparse_global). Layers not
 * eligible (e.g. the output layer) keep their mask.
 */
export function pruneGlobal(
  weights: Weights,
  mask: Mask,
  rate: number,
  eligible: (layer: string) => boolean,
): Mask {
  const candidates: { layer: string; index: number; mag: number }[] = [];
  for (const [name, m] of mask) {
    if (!eligible(name)) continue;
    const w = weights.get(name)!;
    for (let i = 0; i < m.length; i++)
      if (m[i]) candidates.push({ layer: name, index: i, mag: Math.abs(w[i]!) });
  }
  candidates.sort((a, b) => a.mag - b.mag);
  const toPrune = Math.ceil(candidates.length * rate);
  const next: Mask = new Map([...mask].map(([name, m]) => [name, m.slice()]));
  for (let j = 0; j < toPrune; j++) next.get(candidates[j]!.layer)![candidates[j]!.index] = 0;
  return guardCollapse(next);
}

/** The random-pruning control: a random mask with exactly the same kept count per layer. */
export function randomMaskLike(mask: Mask, rng: Rng): Mask {
  const out: Mask = new Map();
  for (const [name, m] of mask) {
    const kept = countKept(m);
    const order = rng.permutation(m.length);
    const r = new Uint8Array(m.length);
    for (let j = 0; j < kept; j++) r[order[j]!] = 1;
    out.set(name, r);
  }
  return out;
}
