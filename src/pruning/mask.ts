import type { TensorBundle } from '../core/tensorfile.ts';
import type { ParamSpec } from '../engine/architectures.ts';
import type { Weights } from '../engine/weights.ts';

/** Per-layer 0/1 masks over the prunable kernels, keyed by parameter name (`fc1.kernel`). */
export type Mask = Map<string, Uint8Array>;

export function denseMask(specs: ParamSpec[]): Mask {
  return new Map(
    specs
      .filter((p) => p.prunable)
      .map((p) => [p.name, new Uint8Array(p.shape.reduce((a, b) => a * b, 1)).fill(1)]),
  );
}

export function countKept(m: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < m.length; i++) n += m[i]!;
  return n;
}

export function maskToFloat(mask: Mask): Map<string, Float32Array> {
  return new Map([...mask].map(([name, m]) => [name, Float32Array.from(m)]));
}

/** weights ⊙ mask, as a new set of weights (non-prunable parameters copied). */
export function applyMask(weights: Weights, mask: Mask): Weights {
  const out: Weights = new Map();
  for (const [name, w] of weights) {
    const m = mask.get(name);
    if (!m) {
      out.set(name, w.slice());
      continue;
    }
    const masked = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) masked[i] = m[i] ? w[i]! : 0;
    out.set(name, masked);
  }
  return out;
}

export function maskToBundle(specs: ParamSpec[], mask: Mask): TensorBundle {
  return new Map(
    specs
      .filter((p) => mask.has(p.name))
      .map((p) => [p.name, { dtype: 'U8' as const, shape: p.shape, data: mask.get(p.name)! }]),
  );
}

export function bundleToMask(bundle: TensorBundle): Mask {
  const mask: Mask = new Map();
  for (const [name, t] of bundle) {
    if (t.dtype !== 'U8') throw new Error(`${name}: expected a U8 mask, found ${t.dtype}`);
    mask.set(name, t.data);
  }
  return mask;
}

/**
 * Output units (dense neurons, conv filters: the last axis of a kernel) whose every
 * incoming weight is pruned: removed in effect, though still computed by the masked model.
 */
export function removedUnits(
  bundle: TensorBundle,
): { layer: string; total: number; removed: number }[] {
  return [...bundle].map(([layer, t]) => {
    const units = t.shape[t.shape.length - 1]!;
    const alive = new Uint8Array(units);
    t.data.forEach((keep, i) => {
      if (keep) alive[i % units] = 1;
    });
    return { layer, total: units, removed: units - alive.reduce((a, b) => a + b, 0) };
  });
}
