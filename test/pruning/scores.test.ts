import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import {
  buildArchitecture,
  dense,
  describeParams,
  flatten,
  type Architecture,
} from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { Model } from '../../src/engine/model.ts';
import { initWeights } from '../../src/engine/weights.ts';
import { countKept, denseMask } from '../../src/pruning/mask.ts';
import {
  graspScores,
  keepTop,
  sampleIndices,
  pruneAtInit,
  snipScores,
  synflowScores,
} from '../../src/pruning/scores.ts';
import { tinyMnist } from '../engine/fixtures.ts';
import { cosine } from '../helpers.ts';
import { tinyConvNet, trainedLike } from './fixtures.ts';

const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
const specs = describeParams(arch);
const theta0 = initWeights(specs, 'glorot-normal', 11);

/** Scores equal up to one positive factor common to all of them (SynFlow's rescaling). */
function proportional(actual: Float32Array, expected: Float64Array, tolerance: number) {
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    dot += actual[i]! * expected[i]!;
    norm += expected[i]! * expected[i]!;
  }
  closeRelative(
    actual,
    expected.map((e) => e * (dot / norm)),
    tolerance,
  );
  return dot / norm;
}

function closeRelative(
  actual: Float32Array,
  expected: Float64Array | Float32Array,
  tolerance: number,
) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  expect(diff / scale).toBeLessThan(tolerance);
}

describe('pruning scores at initialisation', () => {
  it('SynFlow equals |θ| times the sums of absolute paths through it (computed by hand)', async () => {
    await initBackend('wasm');
    const model = new Model(arch, theta0);
    const scores = await synflowScores(model, denseMask(specs));
    model.dispose();
    const W1 = theta0.get('fc1.kernel')!; // [784, 300], biases are 0 at initialisation
    const W2 = theta0.get('fc2.kernel')!; // [300, 100]
    const W3 = theta0.get('fc3.kernel')!; // [100, 10]
    // Paths to the output after each unit: u2[k] = Σ_l |W3[k,l]|, u1[j] = Σ_k |W2[j,k]| u2[k].
    const u2 = Float64Array.from({ length: 100 }, (_, k) =>
      Array.from({ length: 10 }, (_, l) => Math.abs(W3[k * 10 + l]!)).reduce((a, b) => a + b),
    );
    const u1 = Float64Array.from({ length: 300 }, (_, j) =>
      Array.from({ length: 100 }, (_, k) => Math.abs(W2[j * 100 + k]!) * u2[k]!).reduce(
        (a, b) => a + b,
      ),
    );
    // Paths from the all-ones input to each unit: a1[j] = Σ_i |W1[i,j]|, a2[k] = Σ_j |W2[j,k]| a1[j].
    const a1 = Float64Array.from({ length: 300 }, (_, j) =>
      Array.from({ length: 784 }, (_, i) => Math.abs(W1[i * 300 + j]!)).reduce((a, b) => a + b),
    );
    const a2 = Float64Array.from({ length: 100 }, (_, k) =>
      Array.from({ length: 300 }, (_, j) => Math.abs(W2[j * 100 + k]!) * a1[j]!).reduce(
        (a, b) => a + b,
      ),
    );
    // one factor for every layer: the global ranking is R's
    const factor1 = proportional(
      scores.get('fc1.kernel')!,
      Float64Array.from(W1, (w, idx) => Math.abs(w) * u1[idx % 300]!),
      1e-4,
    );
    const factor3 = proportional(
      scores.get('fc3.kernel')!,
      Float64Array.from(W3, (w, idx) => Math.abs(w) * a2[Math.floor(idx / 10)]!),
      1e-4,
    );
    expect(factor3 / factor1).toBeCloseTo(1, 4);
  });

  it('SynFlow stays finite on a net deep enough to overflow float32, ranking as R in float64', async () => {
    await initBackend('wasm');
    // 60 hidden layers of 64: each multiplies the all-ones flow by about 64·E|w| ≈ 6.4
    const deep: Architecture = {
      model: 'lenet-300-100',
      inputShape: [8, 8, 1],
      classes: 10,
      layers: [
        flatten,
        ...Array.from({ length: 60 }, (_, i) => dense(`fc${i + 1}`, 64)),
        dense('out', 10, 'linear'),
      ],
    };
    const deepSpecs = describeParams(deep);
    const weights = initWeights(deepSpecs, 'glorot-normal', 5);
    const kernels = deepSpecs.filter((p) => p.prunable);
    // R and its gradients in float64, by hand: a = flow from the input, u = flow to the output
    const flows: Float64Array[] = [new Float64Array(64).fill(1)];
    for (const p of kernels) {
      const [n, m] = p.shape as [number, number];
      const w = weights.get(p.name)!;
      const a = flows.at(-1)!;
      flows.push(
        Float64Array.from({ length: m }, (_, j) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += Math.abs(w[i * m + j]!) * a[i]!;
          return s;
        }),
      );
    }
    const R = flows.at(-1)!.reduce((a, b) => a + b);
    expect(R).toBeGreaterThan(3.4e38); // past float32's largest number
    const expected = new Map<string, Float64Array>();
    let toOutput = new Float64Array(10).fill(1);
    for (let l = kernels.length - 1; l >= 0; l--) {
      const [n, m] = kernels[l]!.shape as [number, number];
      const w = weights.get(kernels[l]!.name)!;
      const a = flows[l]!;
      expected.set(
        kernels[l]!.name,
        Float64Array.from(
          w,
          (wi, idx) => Math.abs(wi) * a[Math.floor(idx / m)]! * toOutput[idx % m]!,
        ),
      );
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++) next[i]! += Math.abs(w[i * m + j]!) * toOutput[j]!;
      toOutput = next;
    }
    const model = new Model(deep, weights);
    const scores = await synflowScores(model, denseMask(deepSpecs));
    model.dispose();
    const factors = kernels.map((p) => {
      expect(scores.get(p.name)!.every(Number.isFinite)).toBe(true);
      return proportional(scores.get(p.name)!, expected.get(p.name)!, 1e-4);
    });
    for (const f of factors) expect(f / factors[0]!).toBeCloseTo(1, 3);
  });

  it('SynFlow stays finite on VGG-16 pruned to a few weights per layer, most units cut off', async () => {
    await initBackend('wasm');
    const vgg = buildArchitecture('vgg-16', [32, 32, 3], 10);
    const params = describeParams(vgg);
    const model = new Model(vgg, initWeights(params, 'kaiming-normal', 0));
    // about 10^5 compression: 8 weights per layer, so nearly every unit has no input left
    const rng = new Rng(5);
    const mask = new Map(
      [...denseMask(params)].map(([name, m]) => {
        const sparse = new Uint8Array(m.length);
        for (const i of rng.permutation(m.length).slice(0, 8)) sparse[i] = 1;
        return [name, sparse] as const;
      }),
    );
    // every kept weight gets a finite score (keepTop refuses any other), and some score > 0
    const scores = await synflowScores(model, mask);
    model.dispose();
    const kept = [...scores].flatMap(([name, s]) => [...s].filter((_, i) => mask.get(name)![i]));
    expect(kept).toHaveLength(8 * mask.size);
    expect(kept.every(Number.isFinite)).toBe(true);
    expect(() =>
      keepTop(scores, mask, (0.5 * (8 * mask.size)) / 14_715_584, 'global'),
    ).not.toThrow();
  });

  it('SynFlow’s rescaling is exact through residual blocks, biases and batch norm', async () => {
    await initBackend('wasm');
    const resnet = buildArchitecture('resnet-20', [8, 8, 3], 10);
    // biases, γ, β and moving statistics away from 0/1, so every additive term matters
    const weights = trainedLike(resnet, 4);
    const model = new Model(resnet, weights);
    const mask = denseMask(describeParams(resnet));
    const scores = await synflowScores(model, mask);
    // today's float32 computation without rescaling, finite on this network
    const names = model.specs
      .filter((p) => p.trainable || p.role.startsWith('moving'))
      .map((p) => p.name);
    const plain = tf.tidy(() => {
      const abs = names.map((n) => tf.abs(model.v(n)));
      const x = tf.ones([1, 8, 8, 3]);
      const g = tf.grads((...ps: tf.Tensor[]) =>
        tf.sum(
          model.apply(x, false, {
            params: new Map(names.map((n, i) => [n, ps[i]!])),
            fused: false,
          }),
        ),
      )(abs);
      return names.flatMap((n, i) =>
        mask.has(n)
          ? [[n, tf.abs(tf.mul(g[i]!, abs[i]!)).dataSync() as Float32Array] as const]
          : [],
      );
    });
    model.dispose();
    const factors = plain.map(([n, s]) => proportional(scores.get(n)!, Float64Array.from(s), 1e-3));
    for (const f of factors) expect(f / factors[0]!).toBeCloseTo(1, 3);
    expect(Math.abs(Math.log10(factors[0]!))).toBeGreaterThan(1); // it did rescale
  });

  it('SNIP equals |∂L/∂θ ⊙ θ| computed through the training loss', async () => {
    await initBackend('wasm');
    const data = tinyMnist(40, 10);
    const model = new Model(arch, theta0);
    const scores = await snipScores(model, denseMask(specs), data, data.train.count, 3);
    // Independently: the gradient of the same mean loss over every training example.
    const x = tf.tensor4d(data.train.x, [data.train.count, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(data.train.y), 'int32'), 10);
    const { grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, true)) as tf.Scalar,
      [model.v('fc2.kernel')],
    );
    const g = grads[model.v('fc2.kernel').name]!.dataSync();
    closeRelative(
      scores.get('fc2.kernel')!,
      Float64Array.from(g, (gi, i) => Math.abs(gi * theta0.get('fc2.kernel')![i]!)),
      1e-4,
    );
    tf.dispose([x, y, ...Object.values(grads)]);
    model.dispose();
  });

  it('GraSP’s Hessian-gradient product matches finite differences of the gradient', async () => {
    await initBackend('cpu');
    const data = tinyMnist(20, 10);
    const small = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const model = new Model(small, theta0);
    const scores = await graspScores(model, denseMask(specs), data, data.train.count, 3);
    // Hg ≈ (∇L(θ + εg) − ∇L(θ − εg)) / 2ε, with L on logits / 200 as in GraSP.
    const x = tf.tensor4d(data.train.x, [data.train.count, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(data.train.y), 'int32'), 10);
    const vars = specs.filter((p) => p.prunable).map((p) => model.v(p.name));
    const grad = () => {
      const { grads, value } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            tf.div(model.apply(x, true, { fused: false }), 200),
          ) as tf.Scalar,
        vars,
      );
      value.dispose();
      return vars.map((v) => grads[v.name]!);
    };
    const g = grad();
    const eps = 1e-2 / Math.sqrt(g.reduce((a, t) => a + tf.sum(tf.square(t)).dataSync()[0]!, 0));
    const shift = (sign: number) =>
      vars.forEach((v, i) => v.assign(tf.add(v, tf.mul(g[i]!, sign * eps))));
    shift(1);
    const plus = grad();
    shift(-2);
    const minus = grad();
    shift(1);
    const i3 = 2; // fc3.kernel
    const hg = tf.div(tf.sub(plus[i3]!, minus[i3]!), 2 * eps).dataSync();
    const expected = Float64Array.from(hg, (h, i) => h * theta0.get('fc3.kernel')![i]!);
    expect(cosine(scores.get('fc3.kernel')!, expected)).toBeGreaterThan(0.99);
    tf.dispose([x, y, ...g, ...plus, ...minus]);
    model.dispose();
  });

  it('GraSP through batch norm equals the product through the training path’s fused kernels', async () => {
    await initBackend('wasm');
    const data = tinyMnist(20, 10);
    const bnNet = tinyConvNet();
    const bnSpecs = describeParams(bnNet);
    const model = new Model(bnNet, trainedLike(bnNet, 7));
    const scores = await graspScores(model, denseMask(bnSpecs), data, data.train.count, 3);
    // the same Hg ⊙ θ with tfjs's batchNorm op (fused: the model's training path)
    const names = bnSpecs.filter((p) => p.prunable).map((p) => p.name);
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(data.train.x, [data.train.count, 28, 28, 1]);
      const y = tf.oneHot(tf.tensor1d(Int32Array.from(data.train.y), 'int32'), 10);
      const ws = names.map((n) => model.v(n) as tf.Tensor);
      const loss = (...ps: tf.Tensor[]) =>
        tf.losses.softmaxCrossEntropy(
          y,
          tf.div(model.apply(x, true, { params: new Map(names.map((n, i) => [n, ps[i]!])) }), 200),
        ) as tf.Scalar;
      const g = tf
        .grads(loss)(ws)
        .map((t) => tf.tensor(t.dataSync(), t.shape));
      const hg = tf.grads((...ps: tf.Tensor[]) =>
        tf.addN(
          tf
            .grads(loss)(ps)
            .map((gi, i) => tf.sum(tf.mul(gi, g[i]!))),
        ),
      )(ws);
      return names.map((_, i) => tf.mul(hg[i]!, ws[i]!).dataSync() as Float32Array);
    });
    model.dispose();
    names.forEach((name, i) => closeRelative(scores.get(name)!, expected[i]!, 1e-4));
  });

  it('GraSP on a sample too big for one chunk sums the chunks’ products: one batch’s scores without batch norm', async () => {
    await initBackend('wasm');
    const data = tinyMnist(30, 10);
    const model = new Model(arch, theta0);
    const whole = await graspScores(model, denseMask(specs), data, 30, 3, {
      chunkActivations: Infinity,
    });
    // LeNet-300-100 has 410 activations per example: 4,000 allow 9 a chunk, so 30 run as 8, 8, 8 and 6
    const chunked = await graspScores(model, denseMask(specs), data, 30, 3, {
      chunkActivations: 4000,
    });
    model.dispose();
    for (const p of specs.filter((q) => q.prunable))
      closeRelative(chunked.get(p.name)!, whole.get(p.name)!, 1e-4);
  });

  it('SNIP and GraSP with running statistics score through batch norm as evaluation does: the identity at θ0', async () => {
    await initBackend('wasm');
    const data = tinyMnist(20, 10);
    const bnNet = tinyConvNet();
    const bnSpecs = describeParams(bnNet);
    // θ0: γ 1, β 0, running mean 0 and variance 1; the plain network shares its kernels
    const weights = initWeights(bnSpecs, 'kaiming-normal', 5);
    const plainNet = tinyConvNet(false);
    const plainSpecs = describeParams(plainNet);
    const plain = new Model(
      plainNet,
      new Map(plainSpecs.map((p) => [p.name, weights.get(p.name)!])),
    );
    const bn = new Model(bnNet, weights);
    const names = plainSpecs.filter((p) => p.prunable).map((p) => p.name);
    const n = data.train.count;
    const snip = {
      plain: await snipScores(plain, denseMask(plainSpecs), data, n, 3),
      running: await snipScores(bn, denseMask(bnSpecs), data, n, 3, 'running'),
      batch: await snipScores(bn, denseMask(bnSpecs), data, n, 3, 'batch'),
    };
    const grasp = {
      plain: await graspScores(plain, denseMask(plainSpecs), data, n, 3),
      running: await graspScores(bn, denseMask(bnSpecs), data, n, 3, { statistics: 'running' }),
    };
    plain.dispose();
    bn.dispose();
    for (const name of names) {
      closeRelative(snip.running.get(name)!, snip.plain.get(name)!, 1e-3);
      closeRelative(grasp.running.get(name)!, grasp.plain.get(name)!, 1e-3);
    }
    // the sample's own statistics normalise conv1's outputs: other gradients, other scores
    expect(cosine(snip.batch.get('conv1.kernel')!, snip.plain.get('conv1.kernel')!)).toBeLessThan(
      0.99,
    );
  });

  it('iterative SNIP re-scores the masked network each round on the exponential schedule, keeping the pruned out or reviving them', async () => {
    await initBackend('wasm');
    const data = tinyMnist(30, 10);
    const model = new Model(arch, theta0);
    const dense = denseMask(specs);
    const options = {
      score: 'snip' as const,
      density: 0.01,
      scope: 'global' as const,
      rounds: 2,
      samples: 20,
      seed: 4,
      data,
    };
    const oneShot = await pruneAtInit(model, dense, options);
    const keepPruned = await pruneAtInit(model, dense, { ...options, iterative: 'keep-pruned' });
    const revive = await pruneAtInit(model, dense, { ...options, iterative: 'revive' });
    // by hand: keep 10^−1 scored on θ0, then 10^−2 scored on the network that mask leaves,
    // ranking the weights that mask kept, or (revive) every weight
    const first = keepTop(await snipScores(model, dense, data, 20, 4), dense, 0.1, 'global');
    const second = await snipScores(model, first, data, 20, 4);
    model.dispose();
    const layers = (mask: typeof dense) =>
      [...mask].map(([name, m]) => [name, Array.from(m)] as const);
    expect(layers(keepPruned)).toEqual(layers(keepTop(second, first, 0.01, 'global')));
    expect(layers(revive)).toEqual(layers(keepTop(second, dense, 0.01, 'global')));
    const kept = (m: typeof dense) => [...m.values()].reduce((a, k) => a + countKept(k), 0);
    expect(kept(keepPruned)).toBe(kept(oneShot));
    expect(kept(revive)).toBe(kept(oneShot));
    expect(layers(keepPruned)).not.toEqual(layers(oneShot));
    // some weight the first round pruned came back
    const revived = [...revive].some(([name, m]) => m.some((k, i) => k && !first.get(name)![i]));
    expect(revived).toBe(true);
  });

  it('a cancel or pause stops iterative scoring between rounds, naming how far it got', async () => {
    await initBackend('wasm');
    const model = new Model(arch, theta0);
    const stopped = (key: 'signal' | 'pauseSignal') => {
      const controller = new AbortController();
      controller.abort();
      return pruneAtInit(model, denseMask(specs), {
        score: 'synflow',
        density: 0.01,
        scope: 'global',
        rounds: 3,
        samples: 0,
        seed: 1,
        data: undefined as never,
        [key]: controller.signal,
      });
    };
    await expect(stopped('signal')).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(stopped('pauseSignal')).rejects.toMatchObject({
      code: 'PAUSED',
      message: expect.stringMatching(/^Pruning paused after 1 of 3 scoring rounds/),
    });
    model.dispose();
  });

  it('keeps exactly the requested share, globally or per layer, and never revives a pruned weight', () => {
    const rng = new Rng(5);
    const scores = new Map(
      [...denseMask(specs)].map(([n, m]) => [n, Float32Array.from(m, () => rng.next())]),
    );
    const global = keepTop(scores, denseMask(specs), 0.1, 'global');
    const kept = [...global.values()].reduce((a, m) => a + countKept(m), 0);
    expect(kept).toBe(Math.round(266200 * 0.1));
    const layerwise = keepTop(scores, denseMask(specs), 0.1, 'layerwise');
    expect(countKept(layerwise.get('fc3.kernel')!)).toBe(100);
    const again = keepTop(scores, global, 0.05, 'global');
    for (const [n, m] of again) m.forEach((v, i) => v && expect(global.get(n)![i]).toBe(1));
  });

  it('breaks ties at the threshold by the lower index, then the earlier layer', () => {
    const scores = new Map([
      ['a', Float32Array.from([1, 0.5, 0.5])],
      ['b', Float32Array.from([0.5, 0.5, 2])],
    ]);
    const all = new Map([
      ['a', new Uint8Array(3).fill(1)],
      ['b', new Uint8Array(3).fill(1)],
    ]);
    const kept = keepTop(scores, all, 0.5, 'global');
    expect([...kept.get('a')!]).toEqual([1, 0, 0]);
    expect([...kept.get('b')!]).toEqual([1, 0, 1]);
    // with (b, 0) pruned already, the next tie in that order is (a, 1)
    const fewer = new Map(
      [...all].map(([k, m]) => [k, k === 'b' ? Uint8Array.from([0, 1, 1]) : m]),
    );
    const again = keepTop(scores, fewer, 0.5, 'global');
    expect([...again.get('a')!]).toEqual([1, 1, 0]);
    expect([...again.get('b')!]).toEqual([0, 0, 1]);
  });

  it('SNIP and GraSP sample their batch class-balanced, seeded', () => {
    // 200 examples, class 0 five times as common as each other
    const labels = Int32Array.from({ length: 200 }, (_, i) => (i % 14 < 5 ? 0 : (i % 14) - 4));
    const counts = (idx: number[]) => {
      const c = new Array<number>(10).fill(0);
      for (const i of idx) c[labels[i]!]!++;
      return c;
    };
    const idx = sampleIndices(labels, 10, 35, 3);
    expect(new Set(idx).size).toBe(35);
    expect(counts(idx)).toEqual([4, 4, 4, 4, 4, 3, 3, 3, 3, 3]);
    expect(sampleIndices(labels, 10, 35, 3)).toEqual(idx);
    expect(sampleIndices(labels, 10, 35, 4)).not.toEqual(idx);
    // more than the rarer classes hold: the rest comes from the classes that have more
    const all = counts(sampleIndices(labels, 10, 180, 3));
    expect(all.reduce((a, b) => a + b)).toBe(180);
    expect(all.slice(1)).toEqual(counts([...labels.keys()]).slice(1));
  });

  it('refuses to rank scores that are not finite, naming the layer, instead of sorting them last', () => {
    const rng = new Rng(6);
    const mask = denseMask(specs);
    const scores = new Map([...mask].map(([n, m]) => [n, Float32Array.from(m, () => rng.next())]));
    scores.get('fc2.kernel')![7] = Infinity;
    scores.get('fc2.kernel')![9] = NaN;
    for (const scope of ['global', 'layerwise'] as const)
      expect(() => keepTop(scores, mask, 0.5, scope)).toThrowError(
        expect.objectContaining({
          code: 'SCORE_NOT_FINITE',
          message: expect.stringMatching(/^fc2\.kernel: 2 of 30000 scores are not finite/),
        }),
      );
    // a pruned weight's score is not read: it cannot stop the ranking
    mask.get('fc2.kernel')![7] = 0;
    mask.get('fc2.kernel')![9] = 0;
    expect(countKept(keepTop(scores, mask, 0.5, 'layerwise').get('fc2.kernel')!)).toBe(15000);
  });

  it('iterative SynFlow reaches the target density (exponential schedule), data-free', async () => {
    await initBackend('wasm');
    const model = new Model(arch, theta0);
    const mask = await pruneAtInit(model, denseMask(specs), {
      score: 'synflow',
      density: 0.01,
      scope: 'global',
      rounds: 5,
      samples: 0,
      seed: 1,
      data: undefined as never,
    });
    model.dispose();
    const kept = [...mask.values()].reduce((a, m) => a + countKept(m), 0);
    expect(Math.abs(kept - 2662)).toBeLessThanOrEqual(1);
    // No layer is cut off entirely at 100× compression (SynFlow's claim against layer collapse).
    for (const m of mask.values()) expect(countKept(m)).toBeGreaterThan(0);
  });

  it('GraSP prunes a conv net (its Hessian-gradient product differentiates convolutions and pooling twice)', async () => {
    await initBackend('wasm');
    const lenet5 = buildArchitecture('lenet-5', [28, 28, 1], 10);
    const lenet5Specs = describeParams(lenet5);
    const model = new Model(lenet5, initWeights(lenet5Specs, 'glorot-normal', 3));
    const mask = await pruneAtInit(model, denseMask(lenet5Specs), {
      score: 'grasp',
      density: 0.1,
      scope: 'global',
      rounds: 1,
      samples: 10,
      seed: 1,
      data: tinyMnist(20, 10),
    });
    model.dispose();
    const total = [...denseMask(lenet5Specs).values()].reduce((a, m) => a + m.length, 0);
    const kept = [...mask.values()].reduce((a, m) => a + countKept(m), 0);
    expect(kept).toBe(Math.round(total * 0.1));
    expect(countKept(mask.get('conv1.kernel')!)).toBeGreaterThan(0);
  });
});
