import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { isTicketLabError } from '../../src/core/errors.ts';
import { prepareData } from '../../src/data/split.ts';
import { initBackend } from '../../src/engine/backend.ts';
import {
  buildArchitecture,
  describeParams,
  type ModelName,
} from '../../src/engine/architectures.ts';
import { Model } from '../../src/engine/model.ts';
import { initWeights } from '../../src/engine/weights.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/jobs/checkpoint.ts';
import {
  train,
  type TrainCheckpoint,
  type TrainingSettings,
  type TrainResult,
} from '../../src/engine/train.ts';
import { randomImages, tinyMnist } from './fixtures.ts';

const settings = (over: Partial<TrainingSettings> = {}): TrainingSettings => ({
  optimizer: 'adam',
  learningRate: 1.2e-3,
  momentum: 0,
  weightDecay: 0,
  batchSize: 60,
  iterations: 60,
  evalEvery: 20,
  ...over,
});

function setup(model: ModelName = 'lenet-300-100', data = tinyMnist()) {
  const arch = buildArchitecture(model, data.train.shape, data.classes);
  const specs = describeParams(arch);
  return { arch, specs, data, model: new Model(arch, initWeights(specs, 'glorot-normal', 0)) };
}

/** Masks that prune about half of each kernel's weights, scattered (no whole unit cut off). */
function halfMasks(specs: ReturnType<typeof describeParams>) {
  return new Map(
    specs
      .filter((p) => p.prunable)
      .map((p) => [
        p.name,
        Float32Array.from({ length: p.shape.reduce((a, b) => a * b) }, (_, i) =>
          Math.imul(i, 2654435761) >>> 31 ? 1 : 0,
        ),
      ]),
  );
}

describe('backend selection', () => {
  it('falls back past the absent native backends and says why', async () => {
    const info = await initBackend();
    expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(info.name);
    if (info.name === 'wasm')
      expect(info.skipped.join('\n')).toMatch(
        /tfjs-node-gpu is not installed[\s\S]*tfjs-node is not installed/,
      );
    await expect(initBackend('tpu')).rejects.toThrowError(/Unknown backend "tpu"/);
  });
});

describe.each(['wasm', 'cpu'] as const)('masked training on %s', (backend) => {
  it('keeps pruned weights exactly zero, learns, records early stopping, and leaks no tensors', async () => {
    await initBackend(backend);
    const { specs, data, model } = setup();
    const masks = halfMasks(specs);
    const seen: number[] = [];
    const before = tf.memory().numTensors;
    const result = await train({
      model,
      masks,
      data,
      settings: settings({ iterations: backend === 'cpu' ? 40 : 80 }),
      seed: 1,
      onEval: (p) => seen.push(p.iteration),
    });
    expect(tf.memory().numTensors).toBe(before); // every step's tensors were released
    const weights = await model.readWeights();
    for (const [name, m] of masks) {
      const w = weights.get(name)!;
      const nonzeroPruned = w.filter((v, i) => m[i] === 0 && v !== 0).length;
      expect(nonzeroPruned, name).toBe(0);
      expect(w.filter((v, i) => m[i] === 1 && v !== 0).length, name).toBeGreaterThan(0);
    }
    expect(result.final.testAccuracy).toBeGreaterThan(0.6);
    expect(result.evals[0]!.iteration).toBe(0);
    expect(seen).toEqual(result.evals.map((e) => e.iteration));
    const best = Math.min(...result.evals.map((e) => e.valLoss));
    expect(result.earlyStop.valLoss).toBe(best);
    expect(result.evals.find((e) => e.valLoss === best)!.iteration).toBe(
      result.earlyStop.iteration,
    );
    model.dispose();
  });
});

describe('training', () => {
  it('SGD with momentum and weight decay trains too', async () => {
    await initBackend('wasm');
    const { specs, data, model } = setup();
    const result = await train({
      model,
      masks: halfMasks(specs),
      data,
      settings: settings({
        optimizer: 'sgd',
        learningRate: 0.01,
        momentum: 0.9,
        weightDecay: 1e-4,
        iterations: 100,
      }),
      seed: 1,
    });
    expect(result.final.testAccuracy).toBeGreaterThan(0.6);
    model.dispose();
  });

  it('stops a diverging run with a clear error', async () => {
    await initBackend('wasm');
    const { specs, data, model } = setup();
    const run = train({
      model,
      masks: halfMasks(specs),
      data,
      settings: settings({ optimizer: 'sgd', learningRate: 1e12 }),
      seed: 1,
    });
    await expect(run).rejects.toSatisfy(
      (e: unknown) =>
        isTicketLabError(e, 'TRAINING_DIVERGED') &&
        /diverged at iteration \d+: the loss is (NaN|Infinity)/.test((e as Error).message),
    );
    model.dispose();
  });

  it('pauses with a checkpoint and resumes to exactly the same weights and metrics', async () => {
    await initBackend('wasm');
    const data = tinyMnist(600, 100); // 9 batches of 60 per epoch
    const run = async (pauseAt?: number) => {
      const { specs, model } = setup('lenet-300-100', data);
      const masks = halfMasks(specs);
      const pause = new AbortController();
      const checkpoints: TrainCheckpoint[] = [];
      const options = {
        model,
        masks,
        data,
        seed: 7,
        settings: settings({ iterations: 25, evalEvery: 5 }),
        onCheckpoint: (c: TrainCheckpoint) => void checkpoints.push(c),
      };
      let result: TrainResult;
      if (pauseAt === undefined) result = await train(options);
      else {
        const paused = train({
          ...options,
          pauseSignal: pause.signal,
          onProgress: (p) => p.iteration === pauseAt && pause.abort(),
        });
        await expect(paused).rejects.toSatisfy((e: unknown) => isTicketLabError(e, 'PAUSED'));
        const last = checkpoints[checkpoints.length - 1]!;
        expect(last.iteration).toBe(pauseAt);
        model.dispose();
        const fresh = setup('lenet-300-100', data).model; // a new process would start from nothing
        // the checkpoint travels as a file: its training time must survive the trip
        const restored = decodeCheckpoint(encodeCheckpoint(last), 'checkpoint');
        expect(restored.elapsedMs).toBe(last.elapsedMs);
        // the wall time of a resumed training counts what was trained before the pause
        restored.elapsedMs = 3_600_000;
        result = await train({ ...options, model: fresh, resumeFrom: restored });
        expect(result.wallTimeMs).toBeGreaterThanOrEqual(3_600_000);
        const weights = await fresh.readWeights();
        fresh.dispose();
        return { result, weights, checkpoints };
      }
      const weights = await model.readWeights();
      model.dispose();
      return { result, weights, checkpoints };
    };
    const straight = await run();
    expect(straight.checkpoints.map((c) => c.iteration)).toEqual([9, 18]); // every epoch's end
    const resumed = await run(12);
    expect(Array.from(resumed.weights.get('fc1.kernel')!)).toEqual(
      Array.from(straight.weights.get('fc1.kernel')!),
    );
    expect(resumed.result.evals).toEqual(straight.result.evals);
  });

  it('reports the training loss every lossEvery iterations between evaluations, in consecutive windows', async () => {
    await initBackend('wasm');
    const { specs, model } = setup();
    const stepLosses: number[] = [];
    const points: { iteration: number; loss: number }[] = [];
    const result = await train({
      model,
      masks: halfMasks(specs),
      data: tinyMnist(),
      seed: 3,
      settings: settings({ iterations: 25, evalEvery: 10, lossEvery: 4 }),
      onProgress: (p) => void stepLosses.push(p.loss),
      onTrainLoss: (p) => void points.push({ iteration: p.iteration, loss: p.loss }),
    });
    model.dispose();
    // iterations 20 and 25 evaluate, and their evaluation carries the window's loss instead
    expect(points.map((p) => p.iteration)).toEqual([4, 8, 12, 16, 24]);
    expect(result.evals.map((e) => e.iteration)).toEqual([0, 10, 20, 25]);
    // every point and evaluation averages the steps since the one before: together they
    // cover each step once
    const windows = [
      ...points.map((p) => ({ end: p.iteration, loss: p.loss })),
      ...result.evals.slice(1).map((e) => ({ end: e.iteration, loss: e.trainLoss! })),
    ].sort((a, b) => a.end - b.end);
    let start = 0;
    for (const w of windows) {
      const steps = stepLosses.slice(start, w.end);
      expect(w.loss).toBeCloseTo(steps.reduce((a, b) => a + b) / steps.length, 6);
      start = w.end;
    }
    expect(start).toBe(25);
  });

  it('is cancelled by its signal', async () => {
    await initBackend('wasm');
    const { specs, data, model } = setup();
    const controller = new AbortController();
    const run = train({
      model,
      masks: halfMasks(specs),
      data,
      settings: settings(),
      seed: 1,
      signal: controller.signal,
      onProgress: (p) => p.iteration === 5 && controller.abort(),
    });
    await expect(run).rejects.toSatisfy((e: unknown) => isTicketLabError(e, 'CANCELLED'));
    model.dispose();
  });

  it('trains convnets with batch norm and residual blocks on wasm (uses the registered kernel)', async () => {
    await initBackend('wasm');
    for (const name of ['conv-2', 'resnet-20'] as const) {
      const data = prepareData(randomImages([8, 8, 3], 64, 4), 0.25);
      const { specs, model } = setup(name, data);
      const masks = halfMasks(specs);
      const before = await model.readWeights();
      await train({
        model,
        masks,
        data,
        settings: settings({ batchSize: 16, iterations: 3, evalEvery: 3 }),
        seed: 2,
      });
      const after = await model.readWeights();
      const conv1 = name === 'conv-2' ? 'conv1.kernel' : 'conv.kernel';
      expect(
        after.get(conv1)!.some((v, i) => v !== before.get(conv1)![i] && masks.get(conv1)![i] === 1),
      ).toBe(true);
      if (name === 'resnet-20') expect(after.get('bn.movingMean')!.some((v) => v !== 0)).toBe(true);
      model.dispose();
    }
  });

  it('reaches the same accuracy band on wasm and cpu from the same seed', async () => {
    const accuracy: number[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const { specs, data, model } = setup();
      accuracy.push(
        (
          await train({
            model,
            masks: halfMasks(specs),
            data,
            settings: settings({ iterations: 40 }),
            seed: 3,
          })
        ).final.testAccuracy,
      );
      model.dispose();
    }
    expect(Math.abs(accuracy[0]! - accuracy[1]!)).toBeLessThan(0.03);
  });
});
