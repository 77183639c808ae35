import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareData } from '../../src/data/split.ts';
import {
  buildArchitecture,
  conv,
  dense,
  describeParams,
  flatten,
  MODEL_NAMES,
  type Architecture,
  type LayerDef,
  type Shape3,
} from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { Model } from '../../src/engine/model.ts';
import { kernelThreads, nativeBlas } from '../../src/engine/native-blas.ts';
import {
  nativeLayers,
  NativeTrainingStep,
  setNativeTrainingStep,
} from '../../src/engine/native-step.ts';
import { Optimizer } from '../../src/engine/optimizer.ts';
import {
  evaluate,
  train,
  type TrainCheckpoint,
  type TrainingSettings,
} from '../../src/engine/train.ts';
import { initWeights, type Weights } from '../../src/engine/weights.ts';
import { maxRelativeError } from '../helpers.ts';
import { randomImages, tinyMnist } from './fixtures.ts';

const built = nativeBlas() !== null;

afterEach(() => {
  setNativeTrainingStep(true);
  nativeBlas()?.setThreads(kernelThreads());
  nativeBlas()?.useOneDnn(true);
});

/** Training settings for these tests: Adam unless told, and no evaluation in between. */
const settings = (over: Partial<TrainingSettings>): TrainingSettings => ({
  optimizer: 'adam',
  learningRate: 1e-3,
  momentum: 0,
  weightDecay: 0,
  batchSize: 12,
  iterations: 2,
  evalEvery: 100,
  ...over,
});
const pool = (size: number): LayerDef => ({ kind: 'maxpool', size });

const bn = (name: string, activation: 'relu' | 'linear' = 'relu'): LayerDef => ({
  kind: 'batchnorm',
  name,
  activation,
});
const linear = { activation: 'linear', bias: false } as const;

/**
 * Small networks over the geometry the native step handles. The reference is tfjs's step on
 * the pure-JS cpu backend, but for the two paper models: on it one step of ResNet-20 took
 * 40 s, so theirs is tfjs's step on wasm (its own batch-norm, moments, sum and mean kernels;
 * the convolutions on the addon, checked against cpu in wasm-kernels.test.ts), on one path.
 */
const CASES: { name: string; shape: Shape3; layers: LayerDef[]; reference?: 'wasm' }[] = [
  {
    name: 'an MLP',
    shape: [6, 5, 1],
    layers: [flatten, dense('fc1', 16), dense('fc2', 9), dense('out', 4, 'linear')],
  },
  {
    name: 'a 3×3 same conv, pooling, a strided valid conv without bias',
    shape: [10, 10, 3],
    layers: [
      conv('c1', 8, { kernel: 3, stride: 1, padding: 'same' }),
      pool(2),
      conv('c2', 6, { kernel: 3, stride: 2, padding: 'valid', bias: false }),
      flatten,
      dense('fc', 10),
      dense('out', 4, 'linear'),
    ],
  },
  {
    name: 'odd sizes: a 5×5 stride-2 same conv, a linear 1×1 conv, pooling past leftover rows',
    shape: [9, 7, 2],
    layers: [
      conv('c1', 5, { kernel: 5, stride: 2, padding: 'same' }),
      conv('c2', 7, { kernel: 1, stride: 1, padding: 'valid', activation: 'linear' }),
      pool(2),
      flatten,
      dense('out', 4, 'linear'),
    ],
  },
  {
    name: 'outputs large enough for the element-wise passes to be split over threads',
    shape: [32, 32, 3],
    layers: [
      conv('c1', 8, { kernel: 3, stride: 1, padding: 'same' }),
      pool(2),
      flatten,
      dense('out', 4, 'linear'),
    ],
  },
  {
    name: 'ResNet-20 on 8×8 images (identity and projection shortcuts, batch norm, global pooling)',
    shape: [8, 8, 3],
    layers: buildArchitecture('resnet-20', [8, 8, 3], 4).layers,
    reference: 'wasm',
  },
  {
    name: 'VGG-11 with batch norm on 17×17 images',
    shape: [17, 17, 3],
    layers: buildArchitecture('vgg-11', [17, 17, 3], 4).layers,
    reference: 'wasm',
  },
  {
    // large enough that batch norm's and the sum's passes are split over threads
    name: 'a residual block on the batch itself, batch norm without ReLU, pooling, global pooling',
    shape: [30, 30, 6],
    layers: [
      {
        kind: 'residual',
        body: [conv('c1', 8, linear), bn('bn1'), conv('c2', 6, linear), bn('bn2', 'linear')],
        shortcut: [],
      },
      pool(2),
      conv('c3', 6, linear),
      bn('bn3'),
      { kind: 'globalavgpool' },
      dense('out', 4, 'linear'),
    ],
  },
];

function setup(c: (typeof CASES)[number]) {
  const arch: Architecture = { model: 'conv-2', inputShape: c.shape, classes: 4, layers: c.layers };
  const specs = describeParams(arch);
  // 13 random images, one held out: the 12 left are one batch, so every step ends an epoch
  // and is checkpointed.
  const data = prepareData(randomImages(c.shape, 13, 4), 1 / 13);
  const masks = new Map(
    specs
      .filter((p) => p.prunable)
      .map((p) => [
        p.name,
        Float32Array.from({ length: p.shape.reduce((a, b) => a * b) }, (_, i) =>
          Math.imul(i + 7, 2654435761) >>> 31 ? 1 : 0,
        ),
      ]),
  );
  return { arch, specs, data, masks };
}

/** The weights and optimiser slots after each step of train() but the last (and its loss). */
async function afterSteps(
  backend: 'wasm' | 'cpu' | 'tfjs on wasm',
  c: (typeof CASES)[number],
  optimizer: Partial<TrainingSettings>,
  sparsity?: { params: string[]; lambda: number },
): Promise<TrainCheckpoint[]> {
  await initBackend(backend === 'cpu' ? 'cpu' : 'wasm');
  setNativeTrainingStep(backend !== 'tfjs on wasm');
  const { arch, specs, data, masks } = setup(c);
  const model = new Model(arch, initWeights(specs, 'glorot-normal', 5));
  const checkpoints: TrainCheckpoint[] = [];
  await train({
    model,
    masks,
    data,
    settings: settings({ batchSize: data.train.count, ...optimizer }),
    seed: 0,
    sparsity,
    onCheckpoint: (cp) => {
      checkpoints.push(cp);
    },
  });
  model.dispose();
  return checkpoints;
}

/** The weights and optimiser slots after one step of train() (and the step's loss). */
async function afterOneStep(
  backend: 'wasm' | 'cpu' | 'tfjs on wasm',
  c: (typeof CASES)[number],
  optimizer: Partial<TrainingSettings>,
): Promise<TrainCheckpoint> {
  return (await afterSteps(backend, c, optimizer))[0]!;
}

/** Whether NativeTrainingStep.create takes a case's network (batch 12) with these settings. */
function nativeStepTaken(
  c: (typeof CASES)[number],
  s: TrainingSettings,
  sparsity?: { params: string[]; lambda: number },
): boolean {
  const { arch, specs, masks } = setup(c);
  const model = new Model(arch, initWeights(specs, 'glorot-normal', 0));
  const optimizer = new Optimizer(
    s,
    new Map(specs.filter((p) => p.trainable).map((p) => [p.name, model.v(p.name)])),
  );
  const step = NativeTrainingStep.create({
    model,
    optimizer,
    settings: s,
    masks,
    batchSize: 12,
    classes: 4,
    sparsity,
  });
  step?.dispose();
  optimizer.dispose();
  model.dispose();
  return step !== null;
}

/** Each weight's change from `start` agrees between two runs' checkpoints `at` (to 1e-3). */
function expectSameUpdates(
  name: string,
  start: Float32Array,
  a: TrainCheckpoint[],
  b: TrainCheckpoint[],
  at: number[],
): void {
  const delta = (w: Float32Array) => w.map((v, i) => v - start[i]!);
  for (const k of at)
    expect(
      maxRelativeError(delta(a[k]!.weights.get(name)!), delta(b[k]!.weights.get(name)!)),
      `${name} after step ${k + 1}`,
    ).toBeLessThan(1e-3);
}

describe('which models take the native step', () => {
  it('covers every model and refuses gates and scales', () => {
    const covered = MODEL_NAMES.filter(
      (m) =>
        nativeLayers(
          buildArchitecture(m, m.startsWith('lenet') ? [28, 28, 1] : [32, 32, 3], 10),
          60,
        ) !== null,
    );
    expect(covered).toEqual([...MODEL_NAMES]);
    const gated: Architecture = {
      model: 'lenet-300-100',
      inputShape: [28, 28, 1],
      classes: 10,
      layers: [
        flatten,
        { ...dense('fc1', 30), unitGate: 'hard-concrete' },
        dense('out', 10, 'linear'),
      ],
    };
    expect(nativeLayers(gated, 60)).toBeNull();
    const gatedNorm: Architecture = {
      ...gated,
      inputShape: [4, 4, 1],
      layers: [
        conv('c', 3, linear),
        { kind: 'batchnorm', name: 'bn', activation: 'relu', unitGate: 'gaussian' },
        flatten,
        dense('out', 10, 'linear'),
      ],
    };
    expect(nativeLayers(gatedNorm, 60)).toBeNull();
  });

  it.skipIf(!built)(
    'is taken on wasm where the addon is built, and not on cpu or when switched off',
    async () => {
      const create = () => nativeStepTaken(CASES[1]!, settings({}));
      await initBackend('wasm');
      expect(create()).toBe(true);
      setNativeTrainingStep(false);
      expect(create()).toBe(false);
      setNativeTrainingStep(true);
      await initBackend('cpu');
      expect(create()).toBe(false);
    },
  );
});

describe.skipIf(!built)('the native training step against tfjs on the cpu backend', () => {
  const PATHS = [
    { name: `${nativeBlas()?.oneDnn() ?? 'BLAS'}, 1 thread`, threads: 1, oneDnn: true },
    { name: 'BLAS and im2col, 3 threads', threads: 3, oneDnn: false },
  ];
  for (const path of PATHS)
    for (const c of CASES) {
      if (c.reference && path !== PATHS[0]) continue;
      const reference = c.reference ? 'tfjs on wasm' : 'cpu';
      it(`${path.name}: ${c.name}: SGD with momentum and weight decay gives the same weights, moving statistics, momentum and loss`, async () => {
        const sgd = {
          optimizer: 'sgd' as const,
          learningRate: 0.1,
          momentum: 0.9,
          weightDecay: 1e-3,
        };
        nativeBlas()!.setThreads(path.threads);
        nativeBlas()!.useOneDnn(path.oneDnn);
        const native = await afterOneStep('wasm', c, sgd);
        const cpu = await afterOneStep(reference, c, sgd);
        const { specs, masks } = setup(c);
        const initial = initWeights(specs, 'glorot-normal', 5);
        expect(native.lossSinceEval).toBeCloseTo(cpu.lossSinceEval, 5);
        for (const p of specs) {
          const delta = (w: Float32Array) =>
            w.map((v, i) => v - initial.get(p.name)![i]! * (masks.get(p.name)?.[i] ?? 1));
          const nw = native.weights.get(p.name)!;
          expect(
            maxRelativeError(delta(nw), delta(cpu.weights.get(p.name)!)),
            `${p.name} update`,
          ).toBeLessThan(1e-4);
          if (!p.trainable) continue; // moving statistics: compared above, no slot
          const nm = native.optimizer.slots.get(`${p.name}/momentum`)!;
          expect(
            maxRelativeError(nm, cpu.optimizer.slots.get(`${p.name}/momentum`)!),
            `${p.name} momentum`,
          ).toBeLessThan(1e-4);
          const mask = masks.get(p.name);
          if (mask)
            expect(
              nw.every((v, i) => mask[i] === 1 || v === 0),
              `${p.name} pruned weights stay zero`,
            ).toBe(true);
        }
      });

      it(`${path.name}: ${c.name}: Adam's moments after a masked step match, pruned ones exactly zero`, async () => {
        nativeBlas()!.setThreads(path.threads);
        nativeBlas()!.useOneDnn(path.oneDnn);
        const native = await afterOneStep('wasm', c, {});
        const cpu = await afterOneStep(reference, c, {});
        const { specs, masks } = setup(c);
        for (const p of specs.filter((s) => s.trainable))
          for (const slot of ['m', 'v']) {
            const n = native.optimizer.slots.get(`${p.name}/${slot}`)!;
            expect(
              maxRelativeError(n, cpu.optimizer.slots.get(`${p.name}/${slot}`)!),
              `${p.name}/${slot}`,
            ).toBeLessThan(1e-4);
            const mask = masks.get(p.name);
            if (mask) expect(n.every((v, i) => mask[i] === 1 || v === 0)).toBe(true);
          }
        expect(native.optimizer.step).toBe(1);
      });
    }

  /** Four steps at rates 0, ½, 1 and ½ of the base: a warm-up of 2 steps, ×0.5 from step 3. */
  const scheduled = {
    iterations: 5,
    warmup: '2it',
    schedule: 'multistep',
    milestones: ['3it'],
    milestoneFactor: 0.5,
    weightDecayMode: 'decoupled',
  } as const;
  const RECIPES: { name: string; recipe: Partial<TrainingSettings>; slots: string[] }[] = [
    {
      name: 'SGD with Nesterov momentum, decoupled weight decay, warm-up and a step schedule',
      recipe: {
        ...scheduled,
        optimizer: 'sgd',
        learningRate: 0.1,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 0.05,
      },
      slots: ['momentum'],
    },
    {
      name: 'Adam with decoupled weight decay (AdamW), warm-up and a step schedule',
      recipe: { ...scheduled, learningRate: 1e-2, weightDecay: 0.1 },
      slots: ['m', 'v'],
    },
  ];
  // (the large case adds nothing here: its update is below the size split over threads)
  for (const path of PATHS.slice(0, 1))
    for (const c of CASES.slice(0, 3))
      for (const r of RECIPES)
        it(`${path.name}: ${c.name}: ${r.name} gives the same weights and slots step by step`, async () => {
          nativeBlas()!.setThreads(path.threads);
          nativeBlas()!.useOneDnn(path.oneDnn);
          const native = await afterSteps('wasm', c, r.recipe);
          const cpu = await afterSteps('cpu', c, r.recipe);
          const constant = await afterSteps('wasm', c, {
            ...r.recipe,
            schedule: 'constant',
            milestones: [],
            warmup: '0it',
          });
          expect(native.map((cp) => cp.iteration)).toEqual([1, 2, 3, 4]);
          const { specs, masks } = setup(c);
          const initial = initWeights(specs, 'glorot-normal', 5);
          for (const p of specs) {
            const start = initial.get(p.name)!.map((v, i) => v * (masks.get(p.name)?.[i] ?? 1));
            // the warm-up's first step runs at rate 0: nothing moves, not even by decay
            // (+ 0 makes −0 and 0 alike: a masked weight is either)
            const values = (w: Float32Array) => Array.from(w, (v) => v + 0);
            expect(values(native[0]!.weights.get(p.name)!), `${p.name} at rate 0`).toEqual(
              values(start),
            );
            expect(values(cpu[0]!.weights.get(p.name)!)).toEqual(values(start));
            if (p.name.endsWith('kernel'))
              expect(values(constant[0]!.weights.get(p.name)!)).not.toEqual(values(start));
            expectSameUpdates(p.name, start, native, cpu, [1, 2, 3]);
            for (let k = 1; k < 4; k++)
              for (const slot of r.slots)
                expect(
                  maxRelativeError(
                    native[k]!.optimizer.slots.get(`${p.name}/${slot}`)!,
                    cpu[k]!.optimizer.slots.get(`${p.name}/${slot}`)!,
                  ),
                  `${p.name}/${slot} after step ${k + 1}`,
                ).toBeLessThan(1e-3);
          }
        });

  for (const recipe of [
    { optimizer: 'sgd' as const, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4 },
    {
      optimizer: 'adam' as const,
      learningRate: 1e-2,
      momentum: 0,
      weightDecay: 1e-2,
      weightDecayMode: 'decoupled' as const,
    },
  ])
    it(`${recipe.optimizer}: network slimming's L1 term on the batch-norm scales gives tfjs's steps on cpu, and moves them`, async () => {
      const c = CASES.find((k) => k.name.startsWith('a residual block on the batch'))!;
      const { specs, masks } = setup(c);
      const sparsity = {
        params: specs.filter((p) => p.name.endsWith('.gamma')).map((p) => p.name),
        lambda: 0.05,
      };
      expect(sparsity.params).toHaveLength(3);
      const steps = { ...recipe, iterations: 3 };
      await initBackend('wasm');
      expect(
        nativeStepTaken(c, settings(steps), sparsity),
        'the native step takes the L1 term',
      ).toBe(true);

      // checkpoints after steps 1 and 2 (the last step ends the training)
      const native = await afterSteps('wasm', c, steps, sparsity);
      const cpu = await afterSteps('cpu', c, steps, sparsity);
      const unpenalised = await afterSteps('wasm', c, steps);
      const initial = initWeights(specs, 'glorot-normal', 5);
      for (const p of specs) {
        const start = initial.get(p.name)!.map((v, i) => v * (masks.get(p.name)?.[i] ?? 1));
        expectSameUpdates(p.name, start, native, cpu, [0, 1]);
      }
      // λ·sign(γ) = ±0.05 joins each step's gradient: far above the steps' rounding
      for (const name of sparsity.params)
        expect(
          maxRelativeError(native[1]!.weights.get(name)!, unpenalised[1]!.weights.get(name)!),
          `${name} moved by the penalty`,
        ).toBeGreaterThan(1e-2);
    });

  it('a small convnet on MNIST digits reaches the same accuracy band as tfjs on cpu from the same seed', async () => {
    const accuracy: number[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const data = tinyMnist(600, 200);
      const arch: Architecture = {
        model: 'lenet-5',
        inputShape: data.train.shape,
        classes: data.classes,
        layers: [
          conv('c1', 6, { kernel: 5, stride: 2, padding: 'same' }),
          pool(2),
          flatten,
          dense('fc', 32),
          dense('out', 10, 'linear'),
        ],
      };
      const model = new Model(arch, initWeights(describeParams(arch), 'glorot-normal', 2));
      const r = await train({
        model,
        masks: new Map(),
        data,
        settings: settings({ learningRate: 3e-3, batchSize: 30, iterations: 60, evalEvery: 60 }),
        seed: 1,
      });
      accuracy.push(r.final.testAccuracy);
      model.dispose();
    }
    expect(accuracy[0]).toBeGreaterThan(0.6);
    expect(Math.abs(accuracy[0]! - accuracy[1]!)).toBeLessThan(0.05);
  });

  it('evaluates a batch-norm network after native training on the moving statistics tfjs would have', async () => {
    const c = {
      name: 'a small batch-norm network',
      shape: [7, 7, 3] as Shape3,
      layers: [
        conv('c', 6, linear),
        bn('bn3'),
        { kind: 'globalavgpool' },
        dense('out', 4, 'linear'),
      ],
    } satisfies (typeof CASES)[number];
    const finals: { testLoss: number; movingMean: Float32Array }[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const { arch, specs, data, masks } = setup(c);
      const model = new Model(arch, initWeights(specs, 'glorot-normal', 5));
      const r = await train({
        model,
        masks,
        data,
        settings: settings({ optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, iterations: 4 }),
        seed: 0,
      });
      finals.push({
        testLoss: r.final.testLoss,
        movingMean: model.v('bn3.movingMean').dataSync() as Float32Array,
      });
      model.dispose();
    }
    const [native, cpu] = finals as [(typeof finals)[0], (typeof finals)[0]];
    expect(native.movingMean.some((v) => v !== 0)).toBe(true);
    expect(maxRelativeError(native.movingMean, cpu.movingMean)).toBeLessThan(1e-4);
    expect(native.testLoss).toBeCloseTo(cpu.testLoss, 4);
  });

  for (const c of CASES)
    it(`${c.name}: evaluates in inference mode as tfjs on cpu does, a last smaller batch padded`, async () => {
      const { arch, specs, data } = setup(c);
      // batch norm's moving statistics and scales away from their initial 0, 1, 1, 0, so
      // that evaluating on the batch's statistics instead would show
      let state = 11;
      const uniform = () => ((state = Math.imul(state, 1103515245) + 12345) >>> 8) / 2 ** 24;
      const weights: Weights = new Map(
        [...initWeights(specs, 'glorot-normal', 5)].map(([name, w]) => [
          name,
          /\.(gamma|movingVariance)$/.test(name)
            ? w.map(() => 0.5 + uniform())
            : /\.(beta|movingMean)$/.test(name)
              ? w.map(() => uniform() - 0.5)
              : w,
        ]),
      );
      await initBackend('cpu');
      const cpuModel = new Model(arch, weights);
      const reference = await evaluate(cpuModel, data.train);
      cpuModel.dispose();

      await initBackend('wasm');
      const model = new Model(arch, weights);
      // 12 examples in batches of 5: the last batch holds 2 and 3 of padding
      const native = NativeTrainingStep.forEvaluation(model, 5)!;
      expect(native).not.toBeNull();
      const got = native.evaluate(data.train);
      expect(got.loss).toBeCloseTo(reference.loss, 4);
      expect(got.accuracy).toBe(reference.accuracy);
      // evaluate() takes the native pass when given it, and nothing was written back
      expect(await evaluate(model, data.train, native)).toEqual(got);
      const after = await model.readWeights();
      for (const [name, w] of weights) expect([...after.get(name)!], name).toEqual([...w]);
      native.dispose();
      model.dispose();
    });

  it('updates its variables in place but never a tensor that shares their data', async () => {
    await initBackend('wasm');
    const { arch, specs, data, masks } = setup(CASES[0]!);
    const model = new Model(arch, initWeights(specs, 'glorot-normal', 5));
    const alias = tf.clone(model.v('fc1.kernel')); // shares the data on wasm
    const before = alias.dataSync().slice();
    await train({
      model,
      masks,
      data,
      settings: settings({ learningRate: 1e-2, iterations: 3 }),
      seed: 0,
    });
    expect([...alias.dataSync()]).toEqual([...before]);
    expect([...model.v('fc1.kernel').dataSync()]).not.toEqual([...before]);
    alias.dispose();
    model.dispose();
  });

  it('refuses bad input with errors that name it', () => {
    const blas = nativeBlas()!;
    const layers = Float64Array.from([1, 6, 4, 0, 1]); // one dense layer, 6 → 4
    const adam = Float64Array.from([0, 1e-3, 0.9, 0.999, 1e-8, 0]);
    expect(() => blas.createTrainer(layers, 2, 3, [null, null], adam)).toThrow(
      /one logit per class/,
    );
    expect(() => blas.createTrainer(layers, 2, 4, [new Float32Array(5), null], adam)).toThrow(
      /mask's size/,
    );
    expect(() => blas.createTrainer(Float64Array.from([9, 1]), 2, 4, [], adam)).toThrow(
      /malformed layer list/,
    );
    const trainer = blas.createTrainer(layers, 2, 4, [null, null], adam);
    const memory = new ArrayBuffer(4 * 100);
    const offsets = Float64Array.from([0, 96, 192, 288, 304, 320]);
    const x = new Float32Array(12);
    expect(() => blas.trainStep(trainer, memory, offsets, x, Int32Array.from([0, 4]), 1)).toThrow(
      /label is outside/,
    );
    expect(() =>
      blas.trainStep(trainer, memory, offsets, new Float32Array(10), Int32Array.from([0, 1]), 1),
    ).toThrow(/batch's size/);
    const outside = Float64Array.from([0, 96, 192, 288, 304, 396]);
    expect(() => blas.trainStep(trainer, memory, outside, x, Int32Array.from([0, 1]), 1)).toThrow(
      /outside the memory/,
    );
    expect(blas.trainStep(trainer, memory, offsets, x, Int32Array.from([0, 1]), 1)).toBeCloseTo(
      Math.log(4),
      5,
    );
    const noSlots = Float64Array.from([0, -1, -1, 288, -1, -1]);
    expect(() =>
      blas.trainerEvaluate(trainer, memory, noSlots, x, Int32Array.from([0, 1]), 3),
    ).toThrow(/count must be 1 to the trainer's batch size/);
    expect(() =>
      blas.trainerEvaluate(trainer, memory, outside, x, Int32Array.from([0, 1]), 2),
    ).toThrow(/outside the memory/);
    // zero weights: every logit equal, so the loss is ln 4 and class 0 is the prediction
    const scores = blas.trainerEvaluate(
      trainer,
      new ArrayBuffer(4 * 100),
      noSlots,
      x,
      Int32Array.from([0, 1]),
      2,
    );
    expect(scores[0]).toBeCloseTo(2 * Math.log(4), 5);
    expect(scores[1]).toBe(1);
    blas.freeTrainer(trainer);
    expect(() => blas.trainStep(trainer, memory, offsets, x, Int32Array.from([0, 1]), 1)).toThrow(
      /expected trainer/,
    );
  });
});
