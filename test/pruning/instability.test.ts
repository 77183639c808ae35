import { beforeAll, describe, expect, it } from 'vitest';
import { tinyMnist } from '../engine/fixtures.ts';
import {
  buildArchitecture,
  conv,
  describeParams,
  dense,
  flatten,
  type Architecture,
} from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { Model } from '../../src/engine/model.ts';
import { nativeBlas } from '../../src/engine/native-blas.ts';
import { NativeTrainingStep } from '../../src/engine/native-step.ts';
import { evaluate, train, type TrainingSettings } from '../../src/engine/train.ts';
import { initWeights, type Weights } from '../../src/engine/weights.ts';
import {
  denseWeightsAt,
  interpolationCurve,
  recomputeBatchNorm,
} from '../../src/pruning/instability.ts';
import { denseMask, maskToFloat } from '../../src/pruning/mask.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

const data = tinyMnist(600, 200);

function maxAbsDiff(a: Weights, b: Weights): number {
  let max = 0;
  for (const [name, wa] of a) {
    const wb = b.get(name)!;
    for (let i = 0; i < wa.length; i++) max = Math.max(max, Math.abs(wa[i]! - wb[i]!));
  }
  return max;
}

describe('θ_k retraced for the instability analysis (Frankle et al. 2020)', () => {
  it('takes the learning rates of the whole training, so it equals what the full dense run captures at k', async () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const specs = describeParams(arch);
    const theta0 = initWeights(specs, 'glorot-normal', 3);
    // a cosine schedule: the rate at every step before k depends on where training ends
    const training: TrainingSettings = {
      optimizer: 'sgd',
      learningRate: 0.1,
      momentum: 0.9,
      weightDecay: 0,
      batchSize: 30,
      iterations: 30,
      evalEvery: 30,
      schedule: 'cosine',
    };
    const k = 12;
    const denseSeed = 7;
    // the dense run of the experiment, capturing θ_k on its way as rewinding does (imp.ts)
    const model = new Model(arch, theta0);
    const full = await train({
      model,
      masks: maskToFloat(denseMask(specs)),
      data,
      settings: training,
      seed: denseSeed,
      captureAt: k,
    });
    model.dispose();
    const retraced = await denseWeightsAt({ arch, data, training, theta0, k, denseSeed });
    expect(maxAbsDiff(retraced, full.captured!)).toBeLessThan(1e-6);
    // a run shortened to k (its cosine reaching 0 at k) gives other weights: what is checked above
    const shortened = await denseWeightsAt({
      arch,
      data,
      training: { ...training, iterations: k },
      theta0,
      k,
      denseSeed,
    });
    expect(maxAbsDiff(shortened, full.captured!)).toBeGreaterThan(1e-3);
  }, 60_000);
});

describe('error along the line between two networks with batch norm', () => {
  // a small convnet with batch norm (the role VGG's and ResNet-20's play in the paper)
  const arch: Architecture = {
    model: 'vgg-11',
    inputShape: [28, 28, 1],
    classes: 10,
    layers: [
      conv('conv1', 8, { activation: 'linear', bias: false }),
      { kind: 'batchnorm', name: 'bn1', activation: 'relu' },
      { kind: 'maxpool', size: 2 },
      conv('conv2', 16, { activation: 'linear', bias: false }),
      { kind: 'batchnorm', name: 'bn2', activation: 'relu' },
      { kind: 'maxpool', size: 2 },
      flatten,
      dense('fc', 10, 'linear'),
    ],
  };

  it.skipIf(nativeBlas() === null)(
    'recomputes the statistics on the native forward pass as on tfjs’s, and changes nothing else',
    async () => {
      const specs = describeParams(arch);
      const weights = initWeights(specs, 'kaiming-normal', 6);
      const viaTfjs = new Model(arch, weights);
      await recomputeBatchNorm(viaTfjs, data, 30, null);
      const viaNative = new Model(arch, weights);
      const native = NativeTrainingStep.forEvaluation(viaNative, 30);
      expect(native).not.toBeNull();
      await recomputeBatchNorm(viaNative, data, 30, native);
      native!.dispose();
      const [expected, recomputed] = [await viaTfjs.readWeights(), await viaNative.readWeights()];
      viaTfjs.dispose();
      viaNative.dispose();
      const statistics = specs.filter(
        (p) => p.role === 'movingMean' || p.role === 'movingVariance',
      );
      expect(statistics).toHaveLength(4);
      for (const p of statistics) {
        const [e, r, initial] = [
          expected.get(p.name)!,
          recomputed.get(p.name)!,
          weights.get(p.name)!,
        ];
        for (let i = 0; i < e.length; i++)
          expect(Math.abs(r[i]! - e[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(e[i]!)));
        // recomputed: the initial 0s and 1s are gone
        expect(maxAbsDiff(new Map([[p.name, r]]), new Map([[p.name, initial]]))).toBeGreaterThan(
          0.01,
        );
      }
      for (const p of specs.filter((s) => !statistics.includes(s)))
        expect(recomputed.get(p.name)).toEqual(weights.get(p.name));
    },
    60_000,
  );

  it('evaluates each point with the batch-norm statistics of its own weights, not the ends’ mixed moving averages', async () => {
    const specs = describeParams(arch);
    const model = new Model(arch, initWeights(specs, 'kaiming-normal', 5));
    await train({
      model,
      masks: maskToFloat(denseMask(specs)),
      data,
      settings: {
        optimizer: 'adam',
        learningRate: 3e-3,
        momentum: 0,
        weightDecay: 0,
        batchSize: 30,
        iterations: 80,
        evalEvery: 80,
      },
      seed: 1,
    });
    const trained = await model.readWeights();
    const trainedError = 1 - (await evaluate(model, data.test)).accuracy;
    model.dispose();
    expect(trainedError).toBeLessThan(0.4);

    // Both ends are the trained network with moving statistics that describe no network:
    // the line between them is that one network, and every point's error is its own.
    const withStatistics = (mean: number, variance: number): Weights =>
      new Map(
        [...trained].map(([name, w]) => [
          name,
          name.endsWith('.movingMean')
            ? w.map(() => mean)
            : name.endsWith('.movingVariance')
              ? w.map(() => variance)
              : w.slice(),
        ]),
      );
    const a = withStatistics(25, 1e-4);
    const b = withStatistics(15, 1e-4);
    const curve = await interpolationCurve({
      arch,
      data,
      mask: denseMask(specs),
      a,
      b,
      points: 3,
      batchSize: 30,
    });
    const errors = curve.map((p) => p.testError);
    // (equal up to rounding in the mixed weights: a test example or two)
    expect(Math.max(...errors) - Math.min(...errors)).toBeLessThanOrEqual(0.01);
    // recomputed statistics give the network back its accuracy (within what 10 batches
    // estimate), which the mixed moving averages at α = ½ do not
    expect(Math.abs(errors[0]! - trainedError)).toBeLessThan(0.1);
    const mixed = new Model(arch, withStatistics(20, 1e-4));
    const mixedError = 1 - (await evaluate(mixed, data.test)).accuracy;
    mixed.dispose();
    expect(mixedError - errors[1]!).toBeGreaterThan(0.3);
  }, 60_000);
});
