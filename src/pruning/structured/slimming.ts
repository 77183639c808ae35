import { TicketLabError } from '../../core/errors.ts';
import {
  buildArchitecture,
  MODEL_NAMES,
  type Architecture,
  type LayerDef,
} from '../../engine/architectures.ts';
import type { Weights } from '../../engine/weights.ts';
import { couplingGroups, type UnitMask } from './surgery.ts';

/**
 * Network slimming (Liu et al. 2017) and Early-Bird tickets (You et al. 2020): training adds
 * λ·Σ|γ| over the batch-norm scale factors; units with the smallest |γ| under one global
 * threshold are pruned. Only batch norm's γ measures a unit: Liu et al. §3 note that a scale
 * factor on a layer without batch norm is no measure of a channel's importance, since the
 * layer and the scale are both linear — smaller factors with larger weights compute the same
 * function, and the L1 penalty drives exactly that trade. Such models are refused.
 */

/** The layer owning each group of per-unit factors, and the parameter holding them. */
export interface ScaleFactors {
  layer: string;
  param: string;
}

/**
 * Where each prunable unit has its per-unit factor (the output layer's units are never
 * pruned): the γ of the batch norm after its layer or, for a layer without one, the layer
 * itself (`<layer>.scale`, a name no parameter has: `checkSlimmable` refuses such layers, and
 * the L0 and Bayesian gates of gates.ts sit on the layer the name gives).
 */
export function scaleFactors(arch: Architecture): ScaleFactors[] {
  const output = [...arch.layers].reverse().find((l) => l.kind === 'dense');
  const out: ScaleFactors[] = [];
  const walk = (layers: LayerDef[]) =>
    layers.forEach((layer, i) => {
      if (layer.kind === 'residual') {
        walk(layer.body);
        walk(layer.shortcut);
      }
      if ((layer.kind !== 'dense' && layer.kind !== 'conv2d') || layer === output) return;
      const next = layers[i + 1];
      out.push({
        layer: layer.name,
        param: next?.kind === 'batchnorm' ? `${next.name}.gamma` : `${layer.name}.scale`,
      });
    });
  walk(arch.layers);
  return out;
}

/** Refuses slimming where a pruned layer has no batch norm, naming the models that do. */
export function checkSlimmable(arch: Architecture): void {
  const bare = scaleFactors(arch)
    .filter((f) => !f.param.endsWith('.gamma'))
    .map((f) => f.layer);
  if (bare.length === 0) return;
  const withBatchNorm = MODEL_NAMES.filter((m) =>
    scaleFactors(buildArchitecture(m, [32, 32, 3], 10)).every((f) => f.param.endsWith('.gamma')),
  );
  throw new TicketLabError(
    'INVALID_SPEC',
    `Invalid spec:\nspec.structured.method: network slimming ranks units by their batch-norm scale γ, and ${arch.model} has no batch norm after ${bare.join(', ')}: a scale factor there trades against the layer's weights under the L1 penalty, so its size says nothing about a unit's importance (Liu et al. 2017 §3). Use a model with batch norm (${withBatchNorm.join(', ')}), or another structured method (l1-filter, pca, l0, bayesian).`,
  );
}

/**
 * One global threshold on |γ| over every pruned layer: the `ratio` share of units with the
 * smallest factors is removed (ties by position), and every layer keeps at least its
 * largest unit so the network stays connected. Channels joined by skip connections are one
 * unit each, ranked by their mean |γ| over the coupled layers, and share one mask.
 */
export function slimmingMask(
  arch: Architecture,
  factors: ScaleFactors[],
  weights: Weights,
  ratio: number,
): UnitMask {
  const paramOf = new Map(factors.map((f) => [f.layer, f.param]));
  const coupled = couplingGroups(arch);
  const inGroup = new Set(coupled.flat());
  const sets = [
    ...coupled,
    ...factors.filter((f) => !inGroup.has(f.layer)).map((f) => [f.layer]),
  ].map((layers) => {
    const values = new Float64Array(weights.get(paramOf.get(layers[0]!)!)!.length);
    for (const layer of layers)
      weights
        .get(paramOf.get(layer)!)!
        .forEach((g, u) => (values[u]! += Math.abs(g) / layers.length));
    return { layers, values, keep: new Uint8Array(values.length).fill(1) };
  });
  const all = sets.flatMap((set, s) => [...set.values].map((v, unit) => ({ s, unit, v })));
  all.sort((a, b) => a.v - b.v || a.s - b.s || a.unit - b.unit);
  for (const u of all.slice(0, Math.floor(ratio * all.length))) sets[u.s]!.keep[u.unit] = 0;
  const mask: UnitMask = new Map();
  for (const set of sets) {
    if (!set.keep.includes(1))
      set.keep[set.values.reduce((best, v, i) => (v > set.values[best]! ? i : best), 0)] = 1;
    for (const layer of set.layers) mask.set(layer, set.keep);
  }
  return new Map(factors.map((f) => [f.layer, mask.get(f.layer)!]));
}

/** A unit mask as one string of 0/1 over the layers in order (what is stored and compared). */
export function maskString(mask: UnitMask): string {
  return [...mask.values()].map((m) => m.join('')).join('');
}

export function maskFromString(factors: ScaleFactors[], sizes: number[], s: string): UnitMask {
  let at = 0;
  return new Map(
    factors.map((f, i) => {
      const m = Uint8Array.from(s.slice(at, at + sizes[i]!), (c) => (c === '1' ? 1 : 0));
      at += sizes[i]!;
      return [f.layer, m];
    }),
  );
}

/** Normalised Hamming distance between two masks of the same units. */
export function maskDistance(a: string, b: string): number {
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
  return a.length === 0 ? 0 : differ / a.length;
}

/**
 * Early-Bird detection (You et al. 2020): the masks of the last `window` epochs; a ticket is
 * drawn at the first epoch whose mask lies within `threshold` of each of the window's older
 * masks.
 */
export class EarlyBird {
  /** the channel mask of every epoch so far, oldest first */
  readonly masks: string[];
  detectedEpoch: number | null;

  constructor(
    readonly window: number,
    readonly threshold: number,
    state?: { masks: string[]; detectedEpoch: number | null },
  ) {
    this.masks = [...(state?.masks ?? [])];
    this.detectedEpoch = state?.detectedEpoch ?? null;
  }

  /** Records epoch `masks.length + 1`'s mask; true when this epoch draws the ticket. */
  push(mask: string): boolean {
    this.masks.push(mask);
    if (this.detectedEpoch !== null || this.masks.length < this.window) return false;
    const recent = this.masks.slice(-this.window);
    const newest = recent[recent.length - 1]!;
    if (recent.slice(0, -1).every((m) => maskDistance(newest, m) <= this.threshold)) {
      this.detectedEpoch = this.masks.length;
      return true;
    }
    return false;
  }

  /** distances[i][j]: between the masks of epochs i+1 and j+1 (what the UI draws) */
  distances(): number[][] {
    return this.masks.map((a) => this.masks.map((b) => maskDistance(a, b)));
  }

  state() {
    return { masks: this.masks, detectedEpoch: this.detectedEpoch };
  }
}
