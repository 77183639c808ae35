/**
 * The input pipeline's share of a training step: gathering a batch of 128 CIFAR-shaped
 * examples (32×32×3) plain and with augmentation (random crop with 4 pixels of padding and
 * horizontal flip, spec.training.augmentation), against the whole step of Conv-4 (the native
 * step where the addon is built) and ResNet-20 (tfjs's kernels) on the same batch.
 *
 *   npm run bench:input [-- --steps N (0: gathering only)] [-- --record]
 *
 * Gathering is timed over many batches (median of rounds); a step is the median interval
 * between the training loop's progress reports (which includes its own gathering). Random
 * data; validation and test splits of one example, so evaluation adds nothing measurable.
 * Writes a JSON result on stdout; --record also keeps it in
 * bench/records/input-pipeline-<date>.json (BENCHMARKS.md cites those).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from '../src/cli/args.ts';
import { machineDescription } from '../src/core/cpu.ts';
import { deriveSeed, Rng } from '../src/core/random.ts';
import { BatchSampler, blackPixel, gatherAugmented, gatherExamples } from '../src/data/split.ts';
import { buildArchitecture, describeParams, type ModelName } from '../src/engine/architectures.ts';
import { initBackend } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { train } from '../src/engine/train.ts';
import { initWeights } from '../src/engine/weights.ts';
import { randomTrainingData } from './random-data.ts';
import { median, recordPath } from './records.ts';

const { options } = parseArgs(process.argv.slice(2), ['steps']);
const BATCH = 128;
const SHAPE: [number, number, number] = [32, 32, 3];
const TRAIN = 10_000;
const backend = await initBackend('wasm');

const data = randomTrainingData(SHAPE, TRAIN);
const size = SHAPE[0] * SHAPE[1] * SHAPE[2];

/** Milliseconds per batch of gathering, median over rounds of 50 batches. */
function gatherMs(augment: boolean): number {
  const sampler = new BatchSampler(data.train.count, BATCH, 1);
  const x = new Float32Array(BATCH * size);
  const y = new Int32Array(BATCH);
  const fill = blackPixel(data);
  const rounds: number[] = [];
  let it = 1;
  for (let round = 0; round < 21; round++) {
    const t0 = performance.now();
    for (let b = 0; b < 50; b++, it++) {
      if (augment)
        gatherAugmented(
          data.train,
          sampler.batchAt(it),
          x,
          y,
          { cropPadding: 4, horizontalFlip: true },
          new Rng(deriveSeed(1, 'augment', it)),
          fill,
        );
      else gatherExamples(data.train, sampler.batchAt(it), x, y);
    }
    rounds.push((performance.now() - t0) / 50);
  }
  return median(rounds.slice(1));
}

/** Milliseconds per training step with augmentation on: the median gap between steps. */
async function stepMs(name: ModelName, steps: number): Promise<number> {
  const arch = buildArchitecture(name, SHAPE, 10);
  const model = new Model(arch, initWeights(describeParams(arch), 'kaiming-normal', 0));
  const at: number[] = [];
  await train({
    model,
    masks: new Map(),
    data,
    seed: 0,
    settings: {
      optimizer: 'sgd',
      // random labels: a rate that does not diverge on them (the step's cost is the same)
      learningRate: 0.01,
      momentum: 0.9,
      weightDecay: 1e-4,
      batchSize: BATCH,
      iterations: steps + 1,
      evalEvery: 1e9,
      schedule: 'multistep',
      milestones: ['50%'],
      augmentation: { cropPadding: 4, horizontalFlip: true },
    },
    onProgress: () => void at.push(performance.now()),
  });
  model.dispose();
  return median(at.slice(1).map((t, i) => t - at[i]!));
}

const plain = gatherMs(false);
const augmented = gatherMs(true);
// --steps 0 times the gathering alone
const steps = Number(options.get('steps') ?? 10);
const models: { model: ModelName; steps: number }[] =
  steps > 0
    ? [
        { model: 'conv-4', steps },
        { model: 'resnet-20', steps: Math.max(2, Math.round(steps / 3)) },
      ]
    : [];
const result = {
  date: new Date().toISOString(),
  machine: machineDescription(),
  loadAverageAtStart: loadavg()[0],
  backend: `${backend.name} (${backend.device})`,
  batch: BATCH,
  shape: SHAPE,
  gatherMs: plain,
  gatherAugmentedMs: augmented,
  steps: [] as { model: ModelName; stepMs: number; augmentedGatherShare: number }[],
};
for (const { model, steps } of models) {
  const ms = await stepMs(model, steps);
  result.steps.push({ model, stepMs: ms, augmentedGatherShare: augmented / ms });
}
const text = JSON.stringify(result, null, 2);
process.stdout.write(`${text}\n`);
if (options.has('record')) {
  const file = recordPath('input-pipeline', result.date);
  writeFileSync(file, `${text}\n`);
  process.stdout.write(`recorded: ${file}\n`);
}
