import * as tfl from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/random.ts';
import {
  buildArchitecture,
  describeParams,
  type ModelName,
  type Shape3,
} from '../../src/engine/architectures.ts';
import { Model } from '../../src/engine/model.ts';
import { initWeights } from '../../src/engine/weights.ts';
import type { ExportModel } from '../../src/export/model.ts';
import { toTfjs } from '../../src/export/tfjs.ts';
import type { Mask } from '../../src/pruning/mask.ts';

export interface TicketFixture extends ExportModel {
  /** NHWC pixels / 255, before the engine's normalisation */
  input: Float32Array;
  batch: number;
}

/**
 * A model with random weights, a random mask keeping about `keep` of every kernel, and
 * batch-norm statistics away from 0/1, so exports are checked on non-trivial values.
 */
export function randomTicket(
  model: ModelName,
  inputShape: Shape3,
  classes: number,
  seed = 1,
  keep = 0.4,
  batch = 3,
): TicketFixture {
  const arch = buildArchitecture(model, inputShape, classes);
  const specs = describeParams(arch);
  const weights = initWeights(specs, 'kaiming-normal', seed);
  const rng = new Rng(seed + 1000);
  const mask: Mask = new Map();
  for (const p of specs) {
    const w = weights.get(p.name)!;
    if (p.prunable)
      mask.set(
        p.name,
        Uint8Array.from(w, () => (rng.next() < keep ? 1 : 0)),
      );
    else if (p.role === 'movingVariance') w.forEach((_, i) => (w[i] = 0.5 + rng.next()));
    else w.forEach((_, i) => (w[i] = 0.2 * rng.normal()));
  }
  for (const [name, m] of mask) {
    const w = weights.get(name)!;
    m.forEach((keepIt, i) => (w[i] = keepIt ? w[i]! : 0));
  }
  const size = inputShape[0] * inputShape[1] * inputShape[2];
  const input = Float32Array.from({ length: batch * size }, () => rng.next());
  const channels = inputShape[2];
  const normalisation = {
    mean: Array.from({ length: channels }, () => 0.1 + 0.4 * rng.next()),
    std: Array.from({ length: channels }, () => 0.2 + 0.2 * rng.next()),
  };
  return { arch, weights, mask, normalisation, input, batch };
}

/** What the app computes for the fixture's inputs (inference mode). */
export async function appOutputs(t: TicketFixture): Promise<Float32Array> {
  const model = new Model(t.arch, t.weights);
  try {
    const { mean, std } = t.normalisation;
    const c = t.arch.inputShape[2];
    const normalised = t.input.map((v, i) => (v - mean[i % c]!) / std[i % c]!);
    const x = tf.tensor4d(normalised, [t.batch, ...t.arch.inputShape]);
    const y = model.apply(x, false);
    const out = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    return out;
  } finally {
    model.dispose();
  }
}

/** NHWC → NCHW, for the exports that follow PyTorch's layout. */
export function toNchw(input: Float32Array, batch: number, [h, w, c]: Shape3): Float32Array {
  const out = new Float32Array(input.length);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++)
          out[((n * c + ch) * h + y) * w + x] = input[((n * h + y) * w + x) * c + ch]!;
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The ticket's TF.js export loaded with tf.loadLayersModel (through JSON text, as the file on
 * disk is read) and run on its inputs.
 */
export async function tfjsOutputs(
  t: TicketFixture,
): Promise<{ shape: number[]; data: Float32Array }> {
  const { modelJson, weightsBin } = toTfjs(t, 'test');
  const json = JSON.parse(JSON.stringify(modelJson));
  const loaded = await tfl.loadLayersModel(
    tfl.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weightsBin.slice().buffer,
    }),
  );
  const x = tfl.tensor4d(t.input, [t.batch, ...t.arch.inputShape]);
  const y = loaded.predict(x) as tfl.Tensor;
  const out = { shape: y.shape, data: (await y.data()) as Float32Array };
  tfl.dispose([x, y]);
  loaded.dispose();
  return out;
}
