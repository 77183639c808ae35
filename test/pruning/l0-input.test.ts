import * as tf from '@tensorflow/tfjs-core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyMnist } from '../engine/fixtures.ts';
import {
  buildArchitecture,
  describeParams,
  layerWidths,
  type Architecture,
} from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { Model } from '../../src/engine/model.ts';
import { train } from '../../src/engine/train.ts';
import type { Weights } from '../../src/engine/weights.ts';
import { toOnnx } from '../../src/export/onnx.ts';
import { denseMask, maskToFloat } from '../../src/pruning/mask.ts';
import {
  foldUnitGates,
  gatePenalty,
  gateSites,
  gateUnitMask,
  initGatedWeights,
  INPUT_SELECTION,
  unitArchitecture,
  withUnitGates,
} from '../../src/pruning/structured/gates.ts';
import { compact } from '../../src/pruning/structured/surgery.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

const data = tinyMnist(600, 200);

/** Logits of the test split, in inference mode (test-time gates where there are gates). */
async function testLogits(arch: Architecture, weights: Weights): Promise<Float32Array> {
  const model = new Model(arch, weights);
  const y = tf.tidy(() =>
    model.apply(tf.tensor4d(data.test.x, [data.test.count, ...data.test.shape]), false),
  );
  const out = (await y.data()) as Float32Array;
  y.dispose();
  model.dispose();
  return out;
}

const argmax = (logits: Float32Array, classes: number) =>
  Array.from({ length: logits.length / classes }, (_, n) => {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    return row.indexOf(Math.max(...row));
  });

describe('L0 gates on the input pixels (Louizos et al. 2018, LeNet-300-100 on MNIST)', () => {
  it('close border pixels; surgery keeps the open ones as an input selection that predicts what the gated network predicts, in the app and in ONNX', async () => {
    const arch = buildArchitecture('lenet-300-100', [28, 28, 1], 10);
    const gated = withUnitGates(arch, 'l0');
    const sites = gateSites(arch, 'l0');
    const model = new Model(gated, initGatedWeights(arch, 'l0', 'glorot-normal', 1));
    // the search as structured/run.ts trains it, short and with a strong penalty
    await train({
      model,
      masks: maskToFloat(denseMask(describeParams(arch))),
      data,
      settings: {
        optimizer: 'adam',
        learningRate: 0.04,
        momentum: 0,
        weightDecay: 0,
        batchSize: 30,
        iterations: 150,
        evalEvery: 150,
      },
      seed: 2,
      penalty: gatePenalty('l0', sites, 0.01, data.train.count),
    });
    const trained = await model.readWeights();
    model.dispose();

    const units = gateUnitMask(arch, 'l0', trained, 0);
    const pixels = units.get(INPUT_SELECTION)!;
    const kept = pixels.reduce((a, b) => a + b, 0);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(784);
    // the two-pixel frame is blank in MNIST: its gates close more often than the centre's
    const closedShare = (inFrame: boolean) => {
      let closed = 0;
      let all = 0;
      pixels.forEach((k, i) => {
        const [y, x] = [Math.floor(i / 28), i % 28];
        if (Math.min(x, y, 27 - x, 27 - y) < 2 !== inFrame) return;
        all++;
        closed += 1 - k;
      });
      return closed / all;
    };
    expect(closedShare(true)).toBeGreaterThan(0.5);
    expect(closedShare(true)).toBeGreaterThan(closedShare(false));

    // surgery: the gates folded into the weights, closed pixels and units cut out
    const small = compact(unitArchitecture(arch, 'l0'), foldUnitGates('l0', sites, trained), units);
    const select = small.arch.layers[1]!;
    expect(select).toMatchObject({ kind: 'select', name: INPUT_SELECTION });
    expect(select.kind === 'select' && select.indices).toEqual(
      [...pixels.keys()].filter((i) => pixels[i] === 1),
    );
    const widths = [INPUT_SELECTION, 'fc1', 'fc2'].map((l) =>
      units.get(l)!.reduce((a, b) => a + b, 0),
    );
    expect(layerWidths(small.arch)).toBe(`${widths.join('-')}-10`);
    expect(describeParams(small.arch).find((p) => p.name === 'fc1.kernel')!.shape).toEqual([
      kept,
      widths[1],
    ]);

    // in inference mode the gates are deterministic: the smaller model computes the same
    const want = await testLogits(gated, trained);
    const got = await testLogits(small.arch, small.weights);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(v))));
    expect(argmax(got, 10)).toEqual(argmax(want, 10));

    // the ONNX export (a Gather of the kept pixels) predicts what the app predicts
    const onnx = toOnnx(
      {
        arch: small.arch,
        weights: small.weights,
        mask: denseMask(describeParams(small.arch)),
        normalisation: { mean: data.mean, std: data.std },
      },
      { producerVersion: 't', docString: 't' },
    );
    const pixels255 = data.test.x.map((v) => v * data.std[0]! + data.mean[0]!);
    const session = await InferenceSession.create(onnx);
    const { logits } = await session.run({
      input: new Tensor('float32', pixels255, [data.test.count, 1, 28, 28]),
    });
    await session.release();
    const exported = logits!.data as Float32Array;
    exported.forEach((v, i) => expect(Math.abs(v - got[i]!)).toBeLessThan(1e-3));
    expect(argmax(exported, 10)).toEqual(argmax(got, 10));
  }, 60_000);
});
