import * as tf from '@tensorflow/tfjs-core';
import { TicketLabError } from '../../core/errors.ts';
import { describeParams, type Architecture, type LayerDef } from '../../engine/architectures.ts';
import { Model } from '../../engine/model.ts';
import type { Weights } from '../../engine/weights.ts';
import type { UnitCount } from './record.ts';

/**
 * PCA low-rank replacement (Zhang, Zou, He, Sun 2015/2016): a layer's responses y = Wx + b
 * on calibration data mostly live in a few principal directions V (d × k). Projecting onto
 * them, y ≈ V Vᵀ (y − ȳ) + ȳ = Vᵀ-layer(W V-layer(x)) + b', so the layer becomes a k-unit
 * layer (kernel W V, no bias, linear) followed by a layer mapping back (kernel Vᵀ, bias
 * b' = V Vᵀ (b − ȳ) + ȳ, the original activation): a 1×1 conv for convolutions.
 */

/** The thin first layer of a replaced layer `fc1` is `fc1_lowrank`. */
export const LOW_RANK_SUFFIX = '_lowrank';

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major): Householder reduction to
 * tridiagonal form, then the implicit QL method (the symmetric path of JAMA / EISPACK
 * tred2 + tql2), O(n³) once. Eigenvalues in descending order, eigenvectors as the columns of
 * `vectors` (row-major n×n).
 */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const V = Array.from({ length: n }, (_, r) =>
    Float64Array.from(matrix.subarray(r * n, r * n + n)),
  );
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalise(V, d, e, n);
  diagonalise(V, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b]! - d[a]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) order.forEach((from, to) => (vectors[r * n + to] = V[r]![from]!));
  return { values, vectors };
}

/** Householder reduction of V (symmetric) to tridiagonal d (diagonal), e (sub-diagonal); V becomes the transform. */
function tridiagonalise(V: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[n - 1]![j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[i - 1]![j]!;
        V[i]![j] = 0;
        V[j]![i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j]![i] = f;
        g = e[j]! + V[j]![j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k]![j]! * d[k]!;
          e[k]! += V[k]![j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k]![j]! -= f * e[k]! + g * d[k]!;
        d[j] = V[i - 1]![j]!;
        V[i]![j] = 0;
      }
    }
    d[i] = h;
  }
  // accumulate the transformations
  for (let i = 0; i < n - 1; i++) {
    V[n - 1]![i] = V[i]![i]!;
    V[i]![i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k]![i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k]![i + 1]! * V[k]![j]!;
        for (let k = 0; k <= i; k++) V[k]![j]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k]![i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[n - 1]![j]!;
    V[n - 1]![j] = 0;
  }
  V[n - 1]![n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL iterations on the tridiagonal (d, e), accumulating the rotations into V. */
function diagonalise(V: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      do {
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0; k < n; k++) {
            const row = V[k]!;
            h = row[i + 1]!;
            row[i + 1] = s * row[i]! + c * h;
            row[i] = c * row[i]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** The fewest leading components whose eigenvalues hold `energy` of the total (at least 1). */
export function rankForEnergy(values: Float64Array, energy: number): number {
  const positive = Array.from(values, (x) => Math.max(0, x));
  const total = positive.reduce((s, x) => s + x, 0);
  if (total === 0) return 1;
  let sum = 0;
  for (let k = 0; k < positive.length; k++) {
    sum += positive[k]!;
    if (sum >= energy * total * (1 - 1e-12)) return k + 1;
  }
  return positive.length;
}

type Replaceable = Extract<LayerDef, { kind: 'dense' | 'conv2d' }>;

/**
 * The two layers replacing `layer` given the first k principal directions (`vectors`, d×d,
 * columns by component) and the responses' mean. With k = d it computes the same function.
 */
export function lowRankReplace(
  layer: Replaceable,
  weights: Weights,
  vectors: Float64Array,
  mean: Float64Array,
  k: number,
): { layers: [LayerDef, LayerDef]; weights: Weights } {
  const d = layer.kind === 'dense' ? layer.units : layer.filters;
  const kernel = weights.get(`${layer.name}.kernel`)!; // [rows, d], rows = in or kh·kw·cin
  const rows = kernel.length / d;
  const bias = weights.get(`${layer.name}.bias`);
  const thin = new Float32Array(rows * k); // W V
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let u = 0; u < d; u++) sum += kernel[r * d + u]! * vectors[u * d + j]!;
      thin[r * k + j] = sum;
    }
  const back = new Float32Array(k * d); // Vᵀ as [k, d]
  for (let j = 0; j < k; j++) for (let u = 0; u < d; u++) back[j * d + u] = vectors[u * d + j]!;
  // b' = V Vᵀ (b − ȳ) + ȳ
  const centred = Float64Array.from(mean, (m, u) => (bias?.[u] ?? 0) - m);
  const proj = new Float64Array(k);
  for (let j = 0; j < k; j++)
    for (let u = 0; u < d; u++) proj[j]! += vectors[u * d + j]! * centred[u]!;
  const newBias = Float32Array.from(mean, (m, u) => {
    let s = m;
    for (let j = 0; j < k; j++) s += vectors[u * d + j]! * proj[j]!;
    return s;
  });
  const thinName = layer.name + LOW_RANK_SUFFIX;
  const out: Weights = new Map([
    [`${thinName}.kernel`, thin],
    [`${layer.name}.kernel`, back],
    [`${layer.name}.bias`, newBias],
  ]);
  if (layer.kind === 'dense') {
    out.set(`${thinName}.bias`, new Float32Array(k));
    return {
      layers: [
        { kind: 'dense', name: thinName, units: k, activation: 'linear' },
        { ...layer, name: layer.name },
      ],
      weights: out,
    };
  }
  return {
    layers: [
      { ...layer, name: thinName, filters: k, activation: 'linear', bias: false },
      { ...layer, kernel: 1, stride: 1, padding: 'same', bias: true },
    ],
    weights: out,
  };
}

/** Mean and covariance of a layer's responses (pre-activation) on the calibration inputs. */
async function responseStatistics(
  arch: Architecture,
  weights: Weights,
  index: number,
  inputs: Float32Array,
  count: number,
): Promise<{ mean: Float64Array; covariance: Float64Array }> {
  const target = arch.layers[index] as Replaceable;
  const upTo: Architecture = {
    ...arch,
    layers: [...arch.layers.slice(0, index), { ...target, activation: 'linear' }],
  };
  const model = new Model(
    upTo,
    new Map(describeParams(upTo).map((p) => [p.name, weights.get(p.name)!])),
  );
  const d = target.kind === 'dense' ? target.units : target.filters;
  const size = arch.inputShape[0] * arch.inputShape[1] * arch.inputShape[2];
  const sum = new Float64Array(d);
  const second = new Float64Array(d * d);
  let rows = 0;
  try {
    for (let start = 0; start < count; start += CALIBRATION_BATCH) {
      const n = Math.min(CALIBRATION_BATCH, count - start);
      const [s, ss] = tf.tidy(() => {
        const x = tf.tensor4d(inputs.subarray(start * size, (start + n) * size), [
          n,
          ...arch.inputShape,
        ]);
        // every example (and, for convolutions, every position) is one response
        const y = tf.reshape(model.apply(x, false), [-1, d]) as tf.Tensor2D;
        rows += y.shape[0];
        return [tf.sum(y, 0), tf.matMul(y, y, true, false)];
      });
      const sData = await s.data();
      const ssData = await ss.data();
      for (let i = 0; i < d; i++) sum[i]! += sData[i]!;
      for (let i = 0; i < d * d; i++) second[i]! += ssData[i]!;
      tf.dispose([s, ss]);
    }
  } finally {
    model.dispose();
  }
  const mean = sum.map((v) => v / rows);
  const covariance = second.map((v, i) => v / rows - mean[Math.floor(i / d)]! * mean[i % d]!);
  return { mean, covariance };
}

const CALIBRATION_BATCH = 250;

/** Whether k components make the two layers cheaper than the one (FLOPs per position). */
function cheaper(layer: Replaceable, rows: number, k: number): boolean {
  const d = layer.kind === 'dense' ? layer.units : layer.filters;
  return k * (rows + d) < rows * d;
}

export interface LowRankResult {
  arch: Architecture;
  weights: Weights;
  /** per hidden dense/conv layer: its full rank and the rank kept (full where not replaced) */
  ranks: UnitCount[];
}

/**
 * Replaces every hidden dense and conv layer, in forward order, by its PCA low-rank pair
 * keeping `energy` of its response variance, each layer's responses computed on the
 * already-approximated network (Zhang et al.'s asymmetric order). A layer whose rank would
 * not cut its FLOPs is kept as it is. Residual blocks are left whole.
 */
export async function lowRankApproximate(
  arch: Architecture,
  weights: Weights,
  calibration: { x: Float32Array; count: number },
  energy: number,
): Promise<LowRankResult> {
  const output = [...arch.layers].reverse().find((l) => l.kind === 'dense');
  let current: Architecture = arch;
  let currentWeights: Weights = new Map(weights);
  const ranks: UnitCount[] = [];
  for (const layer of arch.layers) {
    if ((layer.kind !== 'dense' && layer.kind !== 'conv2d') || layer === output) continue;
    const index = current.layers.findIndex(
      (l) => (l.kind === 'dense' || l.kind === 'conv2d') && l.name === layer.name,
    );
    const d = layer.kind === 'dense' ? layer.units : layer.filters;
    const { mean, covariance } = await responseStatistics(
      current,
      currentWeights,
      index,
      calibration.x,
      calibration.count,
    );
    const { values, vectors } = symmetricEigen(covariance, d);
    const k = rankForEnergy(values, energy);
    const rows = currentWeights.get(`${layer.name}.kernel`)!.length / d;
    if (!cheaper(layer, rows, k)) {
      ranks.push({ layer: layer.name, total: d, kept: d });
      continue;
    }
    const pair = lowRankReplace(layer, currentWeights, vectors, mean, k);
    current = {
      ...current,
      layers: [
        ...current.layers.slice(0, index),
        ...pair.layers,
        ...current.layers.slice(index + 1),
      ],
    };
    currentWeights = new Map([...currentWeights, ...pair.weights]);
    ranks.push({ layer: layer.name, total: d, kept: k });
  }
  if (arch.layers.some((l) => l.kind === 'residual') && ranks.every((r) => r.kept === r.total))
    throw new TicketLabError(
      'INVALID_SPEC',
      `${arch.model}: PCA replacement covers layers outside residual blocks, and none of them would get cheaper.`,
    );
  // keep only the parameters of the new architecture (the replaced kernels' old shapes are gone)
  const names = new Set(describeParams(current).map((p) => p.name));
  return {
    arch: current,
    weights: new Map([...currentWeights].filter(([name]) => names.has(name))),
    ranks,
  };
}
