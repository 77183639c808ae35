import * as tf from '@tensorflow/tfjs-core';
import { TicketLabError } from '../../core/errors.ts';
import type { GateMethod } from '../../core/vocabulary.ts';
import {
  describeParams,
  type Architecture,
  type LayerDef,
  type UnitGate,
} from '../../engine/architectures.ts';
import { HARD_CONCRETE, type Model } from '../../engine/model.ts';
import { initWeights, type Init, type Weights } from '../../engine/weights.ts';
import { scaleFactors } from './slimming.ts';
import { couplingGroups, type UnitMask } from './surgery.ts';

/**
 * Learned unit gates that find neurons and channels to remove:
 * - l0: hard-concrete gates (Louizos, Welling, Kingma 2018), penalised by the expected L0
 *   norm of the weights they gate, λ·Σ_g |g|·P(z_g ≠ 0) / N, |g| being the group of weights
 *   the gate removes as the paper's code groups them (biases not counted): a convolution's
 *   output channel, the kh·kw·cᵢ weights computing it (L0Conv2d); a dense unit, the weights
 *   leaving it into the next dense layer (L0Dense gates its layer's inputs). A network whose
 *   input is flattened into a dense layer (LeNet-300-100) also gates its input features, as
 *   the paper's MLP does (784-300-100 → 219-214-100): surgery then keeps the open ones as an
 *   input selection. A unit goes when its test-time gate is exactly 0.
 * - bayesian: multiplicative Gaussian noise per unit with the log-uniform (Jeffreys) prior of
 *   Bayesian compression (Louizos, Ullrich, Welling 2017), penalised by KL(q(z) ‖ p(z)) / N
 *   (Molchanov et al.'s approximation); a unit goes when log α = log σ² − log μ² exceeds a
 *   threshold. Weights stay point estimates (no weight posterior, no bit-precision step).
 * A gate sits where slimming's scale factor does: after the unit's batch norm, or on the
 * layer itself, always before the activation.
 */
export type { GateMethod };

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
  /** for the input's gates: the dense layer reading the input, whose kernel rows they scale */
  rowsOf?: string;
}

/** The input selection L0 gates, until surgery every feature of the flat input. */
export const INPUT_SELECTION = 'input_select';

/**
 * The reference code starts the input layer's gates more open (drop rate 0.2: log α = log 4)
 * than the hidden layers' (0.5: log α = 0; L0MLP in AMLab-Amsterdam/L0_regularization).
 */
const INPUT_GATE_LOG_ALPHA = Math.log(0.8 / 0.2);

/**
 * The architecture whose units a gate method keeps or removes: with L0, a network whose
 * input is flattened into a dense layer reads it through an input selection of every feature
 * (the identity until surgery keeps only the features whose gates stayed open).
 */
export function unitArchitecture(arch: Architecture, method: GateMethod): Architecture {
  const [first, second] = arch.layers;
  if (method !== 'l0' || first?.kind !== 'flatten' || second?.kind !== 'dense') return arch;
  const features = arch.inputShape.reduce((a, b) => a * b, 1);
  const select: LayerDef = {
    kind: 'select',
    name: INPUT_SELECTION,
    indices: Array.from({ length: features }, (_, i) => i),
  };
  return { ...arch, layers: [first, select, ...arch.layers.slice(1)] };
}

export function gateSites(arch: Architecture, method: GateMethod): GateSite[] {
  const units = unitArchitecture(arch, method);
  const reader = units.layers[2];
  const input: GateSite[] =
    units.layers[1]?.kind === 'select' && reader?.kind === 'dense'
      ? [{ layer: INPUT_SELECTION, site: INPUT_SELECTION, rowsOf: reader.name }]
      : [];
  return [
    ...input,
    ...scaleFactors(arch).map((f) => ({
      layer: f.layer,
      site: f.param.slice(0, f.param.lastIndexOf('.')),
    })),
  ];
}

/** The architecture trained while searching: a gate at every site. */
export function withUnitGates(arch: Architecture, method: GateMethod): Architecture {
  const sites = new Set(gateSites(arch, method).map((s) => s.site));
  const mark = (layers: LayerDef[]): LayerDef[] =>
    layers.map((l) =>
      l.kind === 'residual'
        ? { ...l, body: mark(l.body), shortcut: mark(l.shortcut) }
        : 'name' in l && sites.has(l.name)
          ? { ...l, unitGate: KIND[method] }
          : l,
    );
  return { ...arch, layers: mark(unitArchitecture(arch, method).layers) };
}

/** The searching network's first weights: `initWeights`'s, with the input's gates more open. */
export function initGatedWeights(
  arch: Architecture,
  method: GateMethod,
  init: Init,
  seed: number,
): Weights {
  const weights = initWeights(describeParams(withUnitGates(arch, method)), init, seed);
  weights.get(`${INPUT_SELECTION}.logAlpha`)?.fill(INPUT_GATE_LOG_ALPHA);
  return weights;
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
          return tf.mul(tf.sum(open), groupSize(model, layer, site));
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

/**
 * |g|, the weights one gate removes (Louizos et al.'s code): for a convolution's channel the
 * kh·kw·cᵢ weights computing it, for a dense unit or an input feature the weights leaving it
 * (a row of the next kernel in forward order: the gates of L0Dense sit on its inputs).
 */
function groupSize(model: Model, layer: string, site: string): number {
  const own = model.specs.find((p) => p.name === `${layer}.kernel`);
  if (own && own.shape.length === 4) return own.shape[0]! * own.shape[1]! * own.shape[2]!;
  const gate = model.specs.findIndex((p) => p.name === `${site}.logAlpha`);
  const next = model.specs.slice(gate + 1).find((p) => p.role === 'kernel');
  if (gate < 0 || !next) throw new Error(`gate site ${site} has no kernel after it`);
  return next.shape[1]!;
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
  const sites = gateSites(arch, method);
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
 * and bias of a gated layer, γ and β of a gated batch norm, the kernel rows reading a gated
 * input feature) and the gate parameters dropped: the same function as the gated network at
 * test time, as a plain model of the original architecture.
 */
export function foldUnitGates(method: GateMethod, sites: GateSite[], weights: Weights): Weights {
  const gates = testGates(method, sites, weights);
  const roles = ['.logAlpha', '.noiseMean', '.noiseLogVar'];
  const out: Weights = new Map();
  for (const [name, w] of weights)
    if (!roles.some((r) => name.endsWith(r))) out.set(name, w.slice());
  for (const { site, rowsOf } of sites) {
    const z = gates.get(site)!;
    const scale = (name: string) => {
      const t = out.get(name);
      if (t) for (let i = 0; i < t.length; i++) t[i]! *= z[i % z.length]!;
    };
    if (rowsOf) {
      // an input feature's gate scales what the layer reading it reads: its kernel row
      const kernel = out.get(`${rowsOf}.kernel`)!;
      const columns = kernel.length / z.length;
      for (let i = 0; i < kernel.length; i++) kernel[i]! *= z[Math.floor(i / columns)]!;
    } else if (out.has(`${site}.gamma`)) {
      scale(`${site}.gamma`);
      scale(`${site}.beta`);
    } else {
      scale(`${site}.kernel`);
      scale(`${site}.bias`);
    }
  }
  return out;
}

/** A gated search's stored unit mask (`maskString`: one 0/1 per unit, sites in order), read back. */
export function gateMaskFromString(arch: Architecture, method: GateMethod, s: string): UnitMask {
  const specs = describeParams(withUnitGates(arch, method));
  const role = method === 'l0' ? 'logAlpha' : 'noiseMean';
  const sites = gateSites(arch, method);
  const sizes = sites.map(({ site }) => specs.find((p) => p.name === `${site}.${role}`)!.shape[0]!);
  if (s.length !== sizes.reduce((a, b) => a + b, 0))
    throw new TicketLabError(
      'INVALID_INPUT',
      `The stored unit mask has ${s.length} entries for the ${sizes.reduce((a, b) => a + b, 0)} gated units of ${arch.model} (it was searched with other gate sites): delete the experiment and run it again.`,
    );
  let at = 0;
  return new Map(
    sites.map(({ layer }, i) => {
      const keep = Uint8Array.from(s.slice(at, at + sizes[i]!), (c) => (c === '1' ? 1 : 0));
      at += sizes[i]!;
      return [layer, keep];
    }),
  );
}
