import { Rng } from '../core/random.ts';
import type { TensorBundle } from '../core/tensorfile.ts';
import type { ParamSpec } from './architectures.ts';

export type Init = 'glorot-normal' | 'kaiming-normal';

/** Gaussian unit noise starts almost deterministic (Louizos et al. 2017's code: log σ² = −9). */
const NOISE_LOG_VAR_INIT = -9;

/**
 * A model's parameters as host arrays (what is stored, pruned, rewound and exported),
 * free of tensor code so the host process handles them without loading tfjs.
 */
export type Weights = Map<string, Float32Array>;

/**
 * Seeded initialisation on the host, identical on every backend.
 * Glorot normal: N(0, 2/(fanIn+fanOut)) (Frankle & Carbin 2019); Kaiming normal:
 * N(0, 2/fanIn) (OpenLTH). Biases and β start at 0, γ, unit scales and moving variances at 1.
 */
export function initWeights(specs: ParamSpec[], init: Init, seed: number): Weights {
  const rng = new Rng(seed);
  const weights: Weights = new Map();
  for (const p of specs) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(size);
    if (p.role === 'kernel') {
      const std =
        init === 'glorot-normal' ? Math.sqrt(2 / (p.fanIn + p.fanOut)) : Math.sqrt(2 / p.fanIn);
      for (let i = 0; i < size; i++) w[i] = rng.normal() * std;
    } else if (p.role === 'gamma' || p.role === 'movingVariance' || p.role === 'noiseMean') {
      w.fill(1);
    } else if (p.role === 'noiseLogVar') {
      w.fill(NOISE_LOG_VAR_INIT);
    }
    weights.set(p.name, w);
  }
  return weights;
}

export function weightsToBundle(specs: ParamSpec[], weights: Weights): TensorBundle {
  return new Map(
    specs.map((p) => [p.name, { dtype: 'F32', shape: p.shape, data: weights.get(p.name)! }]),
  );
}

export function bundleToWeights(bundle: TensorBundle): Weights {
  const weights: Weights = new Map();
  for (const [name, t] of bundle) {
    if (t.dtype !== 'F32') throw new Error(`${name}: expected F32 weights, found ${t.dtype}`);
    weights.set(name, t.data);
  }
  return weights;
}
