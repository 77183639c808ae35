import * as tf from '@tensorflow/tfjs-core';
import type { Architecture, LayerDef, UnitGate } from '../../engine/architectures.ts';
import { HARD_CONCRETE, type Model } from '../../engine/model.ts';
import type { Weights } from '../../engine/weights.ts';
import { scaleFactors } from './slimming.ts';
import { couplingGroups, type UnitMask } from './surgery.ts';

/**
 * Learned unit gates that find neurons and channels to remove:
 * - l0: hard-concrete gates (Louizos, Welling, Kingma 2018), penalised by the expected L0
 *   norm of the weights they gate, λ·Σ_g |g|·P(z_g ≠ 0) / N, |g| being the weights feeding
 *   unit g (a dense layer's fan-in, a convolution's kh·kw·cᵢ; biases are not counted, as in
 *   the paper's group-sparsity code); a unit goes when its test-time gate is exactly 0.
 * - bayesian: multiplicative Gaussian noise per unit with the log-uniform (Jeffreys) prior of
 *   Bayesian compression (Louizos, Ullrich, Welling 2017), penalised by KL(q(z) ‖ p(z)) / N
 *   (Molchanov et al.'s approximation); a unit goes when log α = log σ² − log μ² exceeds a
 *   threshold. Weights stay point estimates (no weight posterior, no bit-precision step).
 * A gate sits where slimming's scale factor does: after the unit's batch norm, or on the
 * layer itself, always before the activation.
 */
export type GateMethod = 'l0' | 'bayesian';

const KIND: Record<GateMethod, UnitGate> = { l0: 'hard-concrete', bayesian: 'gaussian' };

// Molchanov, Ashukha, Vetrov 2017: −KL ≈ k1·σ(k2 + k3·log α) − ½·log(1 + 1/α) − k1
const K1 = 0.63576;
const K2 = 1.8732;
const K3 = 1.48695;

export interface GateSite {
  /** the layer whose output units the gate keeps or removes */
  layer: string;
  /** the layer carrying the gate: that layer, or its batch norm */
  site: string;
}

export function gateSites(arch: Architecture): GateSite[] {
  return scaleFactors(arch).map((f) => ({
    layer: f.layer,
    site: f.param.slice(0, f.param.lastIndexOf('.')),
  }));
}

/** The architecture trained while searching: a gate at every site. */
export function withUnitGates(arch: Architecture, method: GateMethod): Architecture {
  const sites = new Set(gateSites(arch).map((s) => s.site));
  const mark = (layers: LayerDef[]): LayerDef[] =>
    layers.map((l) =>
      l.kind === 'residual'
        ? { ...l, body: mark(l.body), shortcut: mark(l.shortcut) }
        : 'name' in l && sites.has(l.name)
          ? { ...l, unitGate: KIND[method] }
          : l,
    );
  return { ...arch, layers: mark(arch.layers) };
}

/** The regulariser added to the mean training loss, over a training set of `examples`. */
export function gatePenalty(
  method: GateMethod,
  sites: GateSite[],
  lambda: number,
  examples: number,
): (model: Model) => tf.Scalar {
  return (model) =>
    tf.tidy(() => {
      const terms = sites.map(({ layer, site }) => {
        if (method === 'l0') {
          const { beta, gamma, zeta } = HARD_CONCRETE;
          // log α is clamped as a parameter after each step (ParamSpec.bounds), never here:
          // a clip would zero the penalty's gradient at the bound.
          const logAlpha = model.v(`${site}.logAlpha`);
          // P(z ≠ 0) = σ(log α − β·log(−γ/ζ)), charged for every weight the gate removes
          const open = tf.sigmoid(tf.sub(logAlpha, beta * Math.log(-gamma / zeta)));
          return tf.mul(tf.sum(open), weightsPerUnit(model, layer));
        }
        const logAlpha = tf.sub(
          model.v(`${site}.noiseLogVar`),
          tf.log(tf.add(tf.square(model.v(`${site}.noiseMean`)), 1e-8)),
        );
        const negKl = tf.sub(
          tf.sub(
            tf.mul(tf.sigmoid(tf.add(tf.mul(logAlpha, K3), K2)), K1),
            tf.mul(tf.softplus(tf.neg(logAlpha)), 0.5),
          ),
          K1,
        );
        return tf.neg(tf.sum(negKl));
      });
      const total = terms.reduce((a, b) => tf.add(a, b));
      return tf.mul(total, (method === 'l0' ? lambda : 1) / examples) as tf.Scalar;
    });
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The weights feeding one output unit of `layer`: its kernel's size over its units. */
function weightsPerUnit(model: Model, layer: string): number {
  const kernel = model.specs.find((p) => p.name === `${layer}.kernel`);
  if (!kernel) throw new Error(`gate site ${layer} has no kernel`);
  const size = kernel.shape.reduce((a, b) => a * b, 1);
  return size / kernel.shape[kernel.shape.length - 1]!;
}

/** Each site's deterministic test-time multiplier, from the trained gate parameters. */
export function testGates(method: GateMethod, sites: GateSite[], weights: Weights) {
  return new Map(
    sites.map(({ site }) => {
      if (method === 'bayesian') return [site, weights.get(`${site}.noiseMean`)!.slice()];
      const { gamma, zeta } = HARD_CONCRETE;
      return [
        site,
        weights
          .get(`${site}.logAlpha`)!
          .map((a) => Math.min(1, Math.max(0, sigmoid(a) * (zeta - gamma) + gamma))),
      ];
    }),
  );
}

/** log α = log σ² − log μ² per unit of a Gaussian-noise site. */
export function noiseLogAlpha(weights: Weights, site: string): Float32Array {
  const mean = weights.get(`${site}.noiseMean`)!;
  return weights.get(`${site}.noiseLogVar`)!.map((lv, u) => lv - Math.log(mean[u]! ** 2 + 1e-8));
}

/**
 * The units to keep: l0, those whose test-time gate is not 0; bayesian, those with
 * log α below `threshold`. Channels joined by skip connections stay while any of their
 * layers keeps them; every layer keeps at least its most open unit.
 */
export function gateUnitMask(
  arch: Architecture,
  method: GateMethod,
  weights: Weights,
  threshold: number,
): UnitMask {
  const sites = gateSites(arch);
  const gates = testGates(method, sites, weights);
  const mask: UnitMask = new Map();
  for (const { layer, site } of sites) {
    // how open each unit is: its test-time gate (l0), or −log α (bayesian)
    const openness =
      method === 'l0' ? gates.get(site)! : noiseLogAlpha(weights, site).map((a) => -a);
    const keep = Uint8Array.from(openness, (v) =>
      (method === 'l0' ? v > 0 : -v < threshold) ? 1 : 0,
    );
    if (!keep.includes(1)) keep[openness.indexOf(Math.max(...openness))] = 1;
    mask.set(layer, keep);
  }
  for (const group of couplingGroups(arch)) {
    const union = new Uint8Array(mask.get(group[0]!)!.length);
    for (const layer of group) mask.get(layer)!.forEach((k, u) => (union[u] ||= k));
    for (const layer of group) mask.set(layer, union);
  }
  return mask;
}

/**
 * The trained network with its test-time gates multiplied into the weights (kernel columns
 * and bias of a gated layer, γ and β of a gated batch norm) and the gate parameters
 * dropped: the same function as the gated network at test time, as a plain model.
 */
export function foldUnitGates(method: GateMethod, sites: GateSite[], weights: Weights): Weights {
  const gates = testGates(method, sites, weights);
  const roles = ['.logAlpha', '.noiseMean', '.noiseLogVar'];
  const out: Weights = new Map();
  for (const [name, w] of weights)
    if (!roles.some((r) => name.endsWith(r))) out.set(name, w.slice());
  for (const [site, z] of gates) {
    const scale = (name: string) => {
      const t = out.get(name);
      if (t) for (let i = 0; i < t.length; i++) t[i]! *= z[i % z.length]!;
    };
    if (out.has(`${site}.gamma`)) {
      scale(`${site}.gamma`);
      scale(`${site}.beta`);
    } else {
      scale(`${site}.kernel`);
      scale(`${site}.bias`);
    }
  }
  return out;
}
