import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { blackPixel, gatherAugmented, prepareData, type Split } from '../../src/data/split.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { buildArchitecture, describeParams } from '../../src/engine/architectures.ts';
import { Model } from '../../src/engine/model.ts';
import { train, type TrainCheckpoint, type TrainingSettings } from '../../src/engine/train.ts';
import { initWeights } from '../../src/engine/weights.ts';
import { randomImages, tinyMnist } from './fixtures.ts';

/** The crop and flip as torchvision writes them: pad the whole image, cut a window, mirror. */
function torchvisionStyle(
  image: Float32Array,
  [h, w, c]: [number, number, number],
  pad: number,
  fill: Float32Array,
  top: number,
  left: number,
  flip: boolean,
): Float32Array {
  const ph = h + 2 * pad;
  const pw = w + 2 * pad;
  const padded = new Float32Array(ph * pw * c);
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++)
      for (let k = 0; k < c; k++) {
        const inside = y >= pad && y < pad + h && x >= pad && x < pad + w;
        padded[(y * pw + x) * c + k] = inside
          ? image[((y - pad) * w + (x - pad)) * c + k]!
          : fill[k]!;
      }
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) {
        const cx = flip ? w - 1 - x : x;
        out[(y * w + x) * c + k] = padded[((y + top) * pw + (cx + left)) * c + k]!;
      }
  return out;
}

describe('augmentation of training batches', () => {
  const shape: [number, number, number] = [5, 7, 3];
  const data = prepareData(randomImages(shape, 41, 4), 1 / 41);
  const split: Split = data.train;
  const size = 5 * 7 * 3;

  it('crops a padded window and mirrors it, as torchvision’s RandomCrop and RandomHorizontalFlip', () => {
    const pad = 2;
    const fill = blackPixel(data);
    // a black pixel normalised: −mean/std, per channel
    fill.forEach((v, k) => expect(v).toBeCloseTo(-data.mean[k]! / data.std[k]!, 6));
    const indices = Uint32Array.from({ length: 40 }, (_, i) => (i * 7) % 40);
    const into = new Float32Array(40 * size);
    const labels = new Int32Array(40);
    const seed = 11;
    gatherAugmented(
      split,
      indices,
      into,
      labels,
      { cropPadding: pad, horizontalFlip: true },
      new Rng(seed),
      fill,
    );
    // the same choices, drawn in the documented order: crop offsets, then the flip
    const rng = new Rng(seed);
    const seen = { flips: 0, tops: new Set<number>() };
    for (let r = 0; r < 40; r++) {
      const top = rng.int(2 * pad + 1);
      const left = rng.int(2 * pad + 1);
      const flip = rng.next() < 0.5;
      seen.flips += flip ? 1 : 0;
      seen.tops.add(top);
      const i = indices[r]!;
      const want = torchvisionStyle(
        split.x.subarray(i * size, (i + 1) * size),
        shape,
        pad,
        fill,
        top,
        left,
        flip,
      );
      expect(Array.from(into.subarray(r * size, (r + 1) * size)), `example ${r}`).toEqual(
        Array.from(want),
      );
      expect(labels[r]).toBe(split.y[i]);
    }
    // both kinds of batch were exercised: flipped and not, every offset
    expect(seen.flips).toBeGreaterThan(5);
    expect(seen.flips).toBeLessThan(35);
    expect(seen.tops.size).toBe(5);
  });

  it('flips alone keep every pixel, mirrored; crops alone keep the orientation', () => {
    const indices = Uint32Array.from([3]);
    const into = new Float32Array(size);
    const labels = new Int32Array(1);
    const fill = blackPixel(data);
    const image = split.x.subarray(3 * size, 4 * size);
    // find a seed whose draw flips
    let seed = 0;
    while (!(new Rng(seed).next() < 0.5)) seed++;
    gatherAugmented(
      split,
      indices,
      into,
      labels,
      { cropPadding: 0, horizontalFlip: true },
      new Rng(seed),
      fill,
    );
    expect(Array.from(into)).toEqual(
      Array.from(torchvisionStyle(image, shape, 0, fill, 0, 0, true)),
    );
    expect(Array.from(into)).not.toEqual(Array.from(image));
  });
});

describe('training with augmentation and a schedule', () => {
  it('resumed from its last epoch checkpoint after a crash, ends with bit-identical weights', async () => {
    await initBackend('wasm');
    const data = tinyMnist(300, 50); // 9 batches of 30 per epoch
    const arch = buildArchitecture('lenet-300-100', data.train.shape, data.classes);
    const specs = describeParams(arch);
    const recipe: TrainingSettings = {
      optimizer: 'sgd',
      learningRate: 0.05,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 5e-4,
      weightDecayMode: 'decoupled',
      batchSize: 30,
      iterations: 25,
      evalEvery: 10,
      schedule: 'multistep',
      milestones: ['40%', '15it'],
      warmup: '3it',
      augmentation: { cropPadding: 3, horizontalFlip: true },
    };
    const run = async (settings: TrainingSettings, crashAt?: number) => {
      const model = new Model(arch, initWeights(specs, 'glorot-normal', 0));
      const checkpoints: TrainCheckpoint[] = [];
      const options = {
        model,
        masks: new Map<string, Float32Array>(),
        data,
        seed: 7,
        settings,
        onCheckpoint: (c: TrainCheckpoint) => void checkpoints.push(c),
      };
      if (crashAt === undefined) {
        const result = await train(options);
        const weights = await model.readWeights();
        model.dispose();
        return { result, weights };
      }
      // kill -9 mid-epoch: the process is gone; what survives is the last epoch checkpoint
      const crashed = train({
        ...options,
        onProgress: (p) => {
          if (p.iteration === crashAt) throw new Error('killed');
        },
      });
      await expect(crashed).rejects.toThrow('killed');
      model.dispose();
      const last = checkpoints[checkpoints.length - 1]!;
      expect(last.iteration).toBe(9);
      const fresh = new Model(arch, initWeights(specs, 'glorot-normal', 0));
      const result = await train({ ...options, model: fresh, resumeFrom: last });
      const weights = await fresh.readWeights();
      fresh.dispose();
      return { result, weights };
    };
    const straight = await run(recipe);
    const resumed = await run(recipe, 14);
    for (const p of specs)
      expect(Array.from(resumed.weights.get(p.name)!), p.name).toEqual(
        Array.from(straight.weights.get(p.name)!),
      );
    expect(resumed.result.evals).toEqual(straight.result.evals);
    // the augmentation and the schedule did change the training
    const plain = await run({ ...recipe, augmentation: { cropPadding: 0, horizontalFlip: false } });
    const constant = await run({ ...recipe, schedule: 'constant', milestones: [], warmup: '0it' });
    for (const other of [plain, constant])
      expect(Array.from(other.weights.get('fc1.kernel')!)).not.toEqual(
        Array.from(straight.weights.get('fc1.kernel')!),
      );
  });
});
