import * as tf from '@tensorflow/tfjs-core';
import { TicketLabError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { exampleSize } from '../data/dataset.ts';
import type { PreparedData } from '../data/split.ts';
import type { Architecture, LayerDef } from '../engine/architectures.ts';
import type { Model } from '../engine/model.ts';
import { countKept, type Mask } from './mask.ts';
import type { ScoringIteration, ScoringStatistics } from '../core/vocabulary.ts';
import type { ScoreName } from './methods.ts';

/**
 * Saliency scores for pruning at initialisation. Each returns a score per prunable weight;
 * higher means keep (GraSP's is negated here so that the same rule applies).
 */
export type Scores = Map<string, Float32Array>;

/** GraSP's temperature on the logits (Wang et al. 2020, reference code). */
const GRASP_TEMPERATURE = 200;

function prunable(model: Model) {
  return model.specs.filter((p) => p.prunable);
}

/** Reads tensors (returned by a tidy, in `names` order) into host scores and frees them. */
async function toHost(names: string[], tensors: tf.Tensor[]): Promise<Scores> {
  const out: Scores = new Map();
  for (let i = 0; i < names.length; i++)
    out.set(names[i]!, (await tensors[i]!.data()) as Float32Array);
  tf.dispose(tensors);
  return out;
}

function maskTensor(model: Model, mask: Mask, name: string): tf.Tensor {
  return tf.tensor(Float32Array.from(mask.get(name)!), model.v(name).shape);
}

/**
 * Per-parameter factors that keep SynFlow's forward pass near 1 on any depth. The product
 * of |W| over many layers overflows (or underflows) float32 on deep nets (Tanaka et al.'s
 * reference code has a float64 switch for this). Scaling layer l's kernel by c_l, and every
 * term added after it (bias, batch norm's shift and moving mean) by the product S of the
 * factors so far, scales the network's output and every kernel score by the same S_final:
 * the network with absolute parameters is positively homogeneous once its additive terms
 * scale with it (ReLU, max-pool and average-pool commute with a positive scale; batch norm's
 * (x − μ)/√(σ² + ε)·γ + β does when μ and β scale with x). So the global ranking is exact.
 * c_l = 1 / (the mean over l's fed units of the summed |w| feeding one unit), which keeps
 * each layer's output about as large as its input. Both branches of a residual block must
 * end at one scale: the body's last layer takes whatever factor meets the shortcut's.
 */
export function synflowFactors(arch: Architecture, gain: (layer: string) => number) {
  const factors = new Map<string, number>();
  const walk = (layers: LayerDef[], scale: number, target?: number): number => {
    const weighted = layers.filter((l) => l.kind === 'dense' || l.kind === 'conv2d');
    for (const layer of layers) {
      if (layer.kind === 'dense' || layer.kind === 'conv2d') {
        const g = gain(layer.name);
        const c =
          target !== undefined && layer === weighted.at(-1)
            ? target / scale
            : g > 0 && Number.isFinite(g)
              ? 1 / g
              : 1;
        scale *= c;
        factors.set(`${layer.name}.kernel`, c);
        factors.set(`${layer.name}.bias`, scale);
      } else if (layer.kind === 'batchnorm') {
        factors.set(`${layer.name}.beta`, scale);
        factors.set(`${layer.name}.movingMean`, scale);
      } else if (layer.kind === 'residual') {
        const joined = layer.shortcut.length > 0 ? walk(layer.shortcut, scale) : scale;
        walk(layer.body, scale, joined);
        scale = joined;
      }
    }
    return scale;
  };
  walk(arch.layers, 1);
  return factors;
}

/**
 * The output units of a kernel (its last axis) that some kept weight feeds: all of them
 * without a mask. SynFlow's gain averages over these only: at extreme compression nearly
 * every unit has lost its inputs, and a mean over all of them is so small that its inverse,
 * multiplied over VGG-16's 14 layers, overflowed float32 (NaN scores from 10^4.75 on).
 */
function unitsFed(mask: Uint8Array | undefined, units: number): number {
  if (!mask) return units;
  const fed = new Uint8Array(units);
  for (let i = 0; i < mask.length; i++) if (mask[i]) fed[i % units] = 1;
  return Math.max(1, countKept(fed));
}

/**
 * SynFlow (Tanaka et al. 2020): R = 1ᵀ(∏ₗ|W⁽ˡ⁾|)1, computed as the sum of the outputs of
 * the network with every parameter replaced by its absolute value, for one all-ones input;
 * score = |θ ⊙ ∂R/∂θ|. Data-free. Batch norm runs in inference mode. Computed on the
 * rescaled network of `synflowFactors`, so every score carries one positive factor common
 * to all weights: the ranking is R's, and it stays finite on deep nets.
 */
export async function synflowScores(model: Model, mask: Mask): Promise<Scores> {
  const kernels = model.specs.filter((p) => p.role === 'kernel');
  const sums = tf.tidy(() =>
    tf.stack(
      kernels.map((p) => {
        const w = tf.abs(model.v(p.name));
        return tf.sum(mask.has(p.name) ? tf.mul(w, maskTensor(model, mask, p.name)) : w);
      }),
    ),
  );
  const sum = await sums.data();
  sums.dispose();
  const gains = new Map(
    kernels.map((p, i) => [p.layer, sum[i]! / unitsFed(mask.get(p.name), p.shape.at(-1)!)]),
  );
  const factors = synflowFactors(model.arch, (layer) => gains.get(layer)!);
  const names = model.specs.filter((p) => p.trainable).map((p) => p.name);
  const grads = tf.tidy(() => {
    const linearised = new Map(
      model.specs
        .filter((p) => p.trainable || p.role === 'movingMean' || p.role === 'movingVariance')
        .map((p) => {
          let w = tf.abs(model.v(p.name));
          if (mask.has(p.name)) w = tf.mul(w, maskTensor(model, mask, p.name));
          const factor = factors.get(p.name) ?? 1;
          return [p.name, factor === 1 ? w : tf.mul(w, factor)];
        }),
    );
    const abs = names.map((n) => linearised.get(n)!);
    const x = tf.ones([1, ...model.arch.inputShape]);
    const g = tf.grads((...ps: tf.Tensor[]) => {
      const params = new Map(linearised);
      names.forEach((n, i) => params.set(n, ps[i]!));
      return tf.sum(model.apply(x, false, { params, fused: false }));
    })(abs);
    return names.flatMap((n, i) => (mask.has(n) ? [tf.abs(tf.mul(g[i]!, abs[i]!))] : []));
  });
  return toHost(
    names.filter((n) => mask.has(n)),
    grads,
  );
}

/**
 * A seeded, class-balanced sample of `count` training examples (each class gets
 * ⌊count/classes⌋ or one more, while it has them), as GraSP's reference code draws its
 * samples per class: a plain random draw can leave a class out of a small batch.
 */
export function sampleIndices(
  labels: ArrayLike<number>,
  classes: number,
  count: number,
  seed: number,
) {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (const i of new Rng(seed).permutation(labels.length)) byClass[labels[i]!]?.push(i);
  const picked: number[] = [];
  const n = Math.min(count, labels.length);
  for (let round = 0; picked.length < n; round++)
    for (const members of byClass)
      if (round < members.length && picked.length < n) picked.push(members[round]!);
  return picked;
}

/** A seeded, class-balanced sample of training examples for data-dependent scores. */
function sampleBatch(
  data: PreparedData,
  count: number,
  seed: number,
): { x: tf.Tensor; y: tf.Tensor } {
  return batchOf(data, sampleIndices(data.train.y, data.classes, count, seed));
}

/** These training examples as one batch: inputs and one-hot labels. */
function batchOf(data: PreparedData, indices: number[]): { x: tf.Tensor; y: tf.Tensor } {
  const n = indices.length;
  const size = exampleSize(data.train.shape);
  const xs = new Float32Array(n * size);
  const ys = new Int32Array(n);
  indices.forEach((i, r) => {
    xs.set(data.train.x.subarray(i * size, (i + 1) * size), r * size);
    ys[r] = data.train.y[i]!;
  });
  return {
    x: tf.tensor4d(xs, [n, ...data.train.shape]),
    y: tf.oneHot(tf.tensor1d(ys, 'int32'), data.classes),
  };
}

/**
 * The training loss on a batch as a function of the prunable kernels, for scores that
 * differentiate by them; `temperature` divides the logits, `fused: false` allows second
 * derivatives.
 */
function kernelLoss(
  model: Model,
  names: string[],
  batch: { x: tf.Tensor; y: tf.Tensor },
  o: { statistics: ScoringStatistics; temperature?: number; fused?: boolean },
) {
  const temperature = o.temperature ?? 1;
  return (...ps: tf.Tensor[]): tf.Scalar => {
    const logits = model.apply(batch.x, o.statistics === 'batch', {
      params: new Map(names.map((n, i) => [n, ps[i]!])),
      fused: o.fused ?? true,
    });
    return tf.losses.softmaxCrossEntropy(
      batch.y,
      temperature === 1 ? logits : tf.div(logits, temperature),
    ) as tf.Scalar;
  };
}

function maskedKernels(model: Model, mask: Mask, names: string[]): tf.Tensor[] {
  return names.map((n) => tf.mul(model.v(n), maskTensor(model, mask, n)));
}

/** SNIP (Lee et al. 2019): |∂L/∂θ ⊙ θ| on a batch of training data (10 × classes samples by default). */
export async function snipScores(
  model: Model,
  mask: Mask,
  data: PreparedData,
  samples: number,
  seed: number,
  statistics: ScoringStatistics = 'batch',
): Promise<Scores> {
  const names = prunable(model).map((p) => p.name);
  const scores = tf.tidy(() => {
    const ws = maskedKernels(model, mask, names);
    const batch = sampleBatch(data, samples, seed);
    const g = tf.grads(kernelLoss(model, names, batch, { statistics }))(ws);
    // θ unmasked: a pruned weight's score is what it would add back (iterative `revive`)
    return names.map((name, i) => tf.abs(tf.mul(g[i]!, model.v(name))));
  });
  return toHost(names, scores);
}

/**
 * How many activations (outputs of the kernels, summed over examples) one chunk of GraSP's
 * Hessian-gradient product may hold. Its tape keeps some fifty floats per activation on a
 * batch-norm network: on the WebAssembly backend, whose heap stops at 4 GiB, ResNet-20 on
 * 100 CIFAR-10 images (20 million activations) filled 3.9 GiB, and VGG-16 on 100 overflowed
 * it. Eight million keeps a chunk near 2 GiB.
 */
export const GRASP_CHUNK_ACTIVATIONS = 8_000_000;

/** Outputs of the kernels for one example: what GraSP's memory grows with. */
function activationsPerExample(model: Model): number {
  return model.specs
    .filter((p) => p.role === 'kernel')
    .reduce((sum, p) => sum + p.positions * p.shape.at(-1)!, 0);
}

/**
 * GraSP (Wang et al. 2020): S = −θ ⊙ Hg, the change in gradient flow when a weight is
 * removed; the reference prunes the highest S, so the score returned is Hg ⊙ θ (keep the
 * highest). Hg is a Hessian-gradient product by double back-propagation, with the logits
 * divided by the temperature 200.
 *
 * A sample too big for one chunk (`chunkActivations`) runs in equal chunks, as the
 * reference code (Tanaka et al. 2020's Synaptic-Flow, `Pruners/pruners.py`) runs its
 * pruning batches: g and Hg are sums over chunks, here each weighted by its share of the
 * examples, so without batch norm (or with its `running` statistics) the scores equal one
 * batch's; with `batch` statistics each chunk normalises by its own, as each of the
 * reference's batches does.
 */
export async function graspScores(
  model: Model,
  mask: Mask,
  data: PreparedData,
  samples: number,
  seed: number,
  o: { statistics?: ScoringStatistics; chunkActivations?: number } = {},
): Promise<Scores> {
  const { statistics = 'batch', chunkActivations = GRASP_CHUNK_ACTIVATIONS } = o;
  const names = prunable(model).map((p) => p.name);
  const indices = sampleIndices(data.train.y, data.classes, samples, seed);
  const perChunk = Math.max(1, Math.floor(chunkActivations / activationsPerExample(model)));
  const count = Math.max(1, Math.ceil(indices.length / perChunk));
  const size = Math.ceil(indices.length / count);
  const chunks = Array.from({ length: count }, (_, c) =>
    indices.slice(c * size, (c + 1) * size),
  ).filter((chunk) => chunk.length > 0);
  const share = (chunk: number[]) => chunk.length / indices.length;
  /** Σ over chunks of `term(loss of the chunk)` × its share, one chunk's tape at a time */
  const overChunks = (
    term: (loss: (...ps: tf.Tensor[]) => tf.Scalar) => tf.Tensor[],
  ): tf.Tensor[] => {
    let sum: tf.Tensor[] | undefined;
    for (const chunk of chunks) {
      const next = tf.tidy(() => {
        const loss = kernelLoss(model, names, batchOf(data, chunk), {
          statistics,
          temperature: GRASP_TEMPERATURE,
          fused: false,
        });
        const part = term(loss).map((t) => tf.mul(t, share(chunk)));
        return sum ? part.map((t, i) => tf.add(sum![i]!, t)) : part;
      });
      tf.dispose(sum);
      sum = next;
    }
    return sum!;
  };
  const ws = tf.tidy(() => maskedKernels(model, mask, names));
  const g = overChunks((loss) => tf.grads(loss)(ws));
  const hg = overChunks((loss) =>
    tf.grads((...ps: tf.Tensor[]) => {
      const inner = tf.grads(loss)(ps);
      return tf.addN(inner.map((gi, i) => tf.sum(tf.mul(gi, g[i]!)))) as tf.Scalar;
    })(ws),
  );
  const scores = tf.tidy(() => names.map((_, i) => tf.mul(hg[i]!, ws[i]!)));
  tf.dispose([...ws, ...g, ...hg]);
  return toHost(names, scores);
}

export async function magnitudeScores(model: Model): Promise<Scores> {
  const out: Scores = new Map();
  for (const p of prunable(model))
    out.set(p.name, ((await model.v(p.name).data()) as Float32Array).map(Math.abs));
  return out;
}

/**
 * Keeps the `density` share of the currently kept weights with the highest scores, over
 * all layers (global) or in each layer (layerwise). Pruned weights stay pruned. A score
 * that is not finite (SynFlow's product overflowing float32 on a deep net, a NaN loss in
 * SNIP or GraSP) has no rank: it stops the pruning with the layer named, never sorted last.
 */
export function keepTop(
  scores: Scores,
  mask: Mask,
  density: number,
  scope: 'global' | 'layerwise',
): Mask {
  const next: Mask = new Map([...mask].map(([n, m]) => [n, new Uint8Array(m.length)]));
  const layers = [...mask.keys()];
  for (const layer of layers) assertFinite(layer, scores.get(layer)!, mask.get(layer)!);
  /**
   * Keeps the `count` highest of the group's kept scores, ties by the lower index, then by
   * layer order: the order a stable sort by (score, index) gives, found from the threshold
   * (a selection in linear time) rather than by sorting an object per weight, which took
   * 33–52 s per mask on VGG-16's 15 million weights, and SynFlow ranks 100 masks.
   */
  const pick = (group: string[], count: number) => {
    const kept = group.reduce((a, layer) => a + countKept(mask.get(layer)!), 0);
    const keep = Math.min(count, kept);
    if (keep <= 0) return;
    const values = new Float32Array(kept);
    let k = 0;
    for (const layer of group) {
      const m = mask.get(layer)!;
      const s = scores.get(layer)!;
      for (let i = 0; i < m.length; i++) if (m[i]) values[k++] = s[i]!;
    }
    const threshold = select(values, kept - keep);
    let above = 0;
    const ties: { layer: string; index: number }[] = [];
    for (const layer of group) {
      const m = mask.get(layer)!;
      const s = scores.get(layer)!;
      const out = next.get(layer)!;
      for (let i = 0; i < m.length; i++) {
        if (!m[i]) continue;
        if (s[i]! > threshold) {
          out[i] = 1;
          above++;
        } else if (s[i] === threshold) ties.push({ layer, index: i });
      }
    }
    ties.sort((a, b) => a.index - b.index);
    for (const tie of ties.slice(0, keep - above)) next.get(tie.layer)![tie.index] = 1;
  };
  if (scope === 'global') {
    const total = [...mask.values()].reduce((a, m) => a + m.length, 0);
    pick(layers, Math.round(total * density));
  } else for (const layer of layers) pick([layer], Math.round(mask.get(layer)!.length * density));
  return next;
}

/**
 * The k-th smallest of `values` (from 0), which it reorders: Hoare's selection, linear time
 * on average. Equal values stop both scans, so many ties (zero scores) still split evenly.
 */
function select(values: Float32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i++] = values[j]!;
        values[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/** A score that is not finite has no rank: refuse it, naming the layer. */
function assertFinite(layer: string, s: Float32Array, m: Uint8Array) {
  let bad = 0;
  let first = -1;
  let kept = 0;
  for (let i = 0; i < m.length; i++) {
    if (!m[i]) continue;
    kept++;
    if (!Number.isFinite(s[i]!)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0)
    throw new TicketLabError(
      'SCORE_NOT_FINITE',
      `${layer}: ${bad} of ${kept} scores are not finite (first: ${s[first]} at weight ${first}); float32 overflowed or the loss diverged, so no ranking can be trusted. Try layer-wise scope, fewer SynFlow rounds, or a smaller network.`,
    );
}

export function randomMask(mask: Mask, density: number, rng: Rng): Mask {
  const out: Mask = new Map();
  for (const [name, m] of mask) {
    const keep = Math.round(m.length * density);
    const order = rng.permutation(m.length);
    const r = new Uint8Array(m.length);
    for (let i = 0; i < keep; i++) r[order[i]!] = 1;
    out.set(name, r);
  }
  return out;
}

export interface PruneAtInitOptions {
  score: ScoreName;
  /** fraction of prunable weights to keep, 0–1 */
  density: number;
  scope: 'global' | 'layerwise';
  /** scoring rounds: SynFlow's always (Tanaka et al.: 100), SNIP's and GraSP's where iterative */
  rounds: number;
  /** how SNIP and GraSP prune over `rounds` rounds; `off` (one round) where absent */
  iterative?: ScoringIteration;
  /** batch norm's statistics while SNIP and GraSP score; `batch` where absent */
  statistics?: ScoringStatistics;
  /** training examples for SNIP and GraSP */
  samples: number;
  seed: number;
  data: PreparedData;
  /** checked between rounds: many rounds of GraSP on a large network take minutes */
  signal?: AbortSignal;
  /** checked between rounds; the mask is recomputed on resume, as scoring is deterministic */
  pauseSignal?: AbortSignal;
}

/**
 * Prunes the model's current (initial) weights to `density`. SynFlow, and SNIP and GraSP
 * where iterative, prune with the exponential schedule: after round k of n the mask keeps
 * density^(k/n), scored on the masked network each round (each round of SNIP and GraSP on
 * the same sample). Each round ranks the weights still kept, except under `revive`, which
 * ranks all of `mask`'s: SNIP then scores a pruned weight |∂L/∂w ⊙ θ|, what it would add
 * back, and GraSP 0, its gradient through the mask, as Tanaka et al.'s reference code does.
 * Magnitude scores once: θ0's ranking of the weights left never changes.
 */
export async function pruneAtInit(model: Model, mask: Mask, o: PruneAtInitOptions): Promise<Mask> {
  if (o.score === 'random') return randomMask(mask, o.density, new Rng(o.seed));
  const statistics = o.statistics ?? 'batch';
  const scoreOf: Record<Exclude<ScoreName, 'random'>, (current: Mask) => Promise<Scores>> = {
    magnitude: () => magnitudeScores(model),
    snip: (current) => snipScores(model, current, o.data, o.samples, o.seed, statistics),
    grasp: (current) => graspScores(model, current, o.data, o.samples, o.seed, { statistics }),
    synflow: (current) => synflowScores(model, current),
  };
  const score = scoreOf[o.score];
  const iteration = o.score === 'snip' || o.score === 'grasp' ? (o.iterative ?? 'off') : 'off';
  const rounds = o.score === 'synflow' || iteration !== 'off' ? o.rounds : 1;
  const start =
    [...mask.values()].reduce((a, m) => a + countKept(m), 0) /
    [...mask.values()].reduce((a, m) => a + m.length, 0);
  let current = mask;
  for (let k = 1; k <= rounds; k++) {
    if (k > 1) {
      // every await of a score resolves as a microtask on wasm: let the job's messages in
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (o.signal?.aborted) throw new TicketLabError('CANCELLED', 'Pruning was cancelled.');
      if (o.pauseSignal?.aborted)
        throw new TicketLabError(
          'PAUSED',
          `Pruning paused after ${k - 1} of ${rounds} scoring rounds; the mask is scored again on resume.`,
        );
    }
    const target = rounds === 1 ? o.density : start * (o.density / start) ** (k / rounds);
    const candidates = iteration === 'revive' ? mask : current;
    current = keepTop(await score(current), candidates, target, o.scope);
  }
  return current;
}
