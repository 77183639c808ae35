/**
 * Why GraSP (Wang et al. 2020) fails on Conv-4 at initialisation and not on the batch-norm
 * networks, measured before any training:
 *
 *   npm run bench:grasp [-- --seeds 3] [--models conv-4,resnet-20] [--examples 480]
 *                       [--statistics batch[,running]] [--compression 0.5]
 *                       [--dataset DIR (default ../shared/datasets/cifar10)] [--record]
 *
 * For each model (Conv-4, no batch norm, Frankle & Carbin's Glorot init; ResNet-20, VGG-11 or
 * VGG-16, with batch norm, OpenLTH's Kaiming init) and seed, θ0 is pruned to 10^−c of its
 * prunable weights, c the log10 `--compression` (0.5 by default, the compression of the
 * campaign's GraSP question on Conv-4; global scope, on as many scoring examples as the app's
 * pruning at initialisation draws), by:
 * - `grasp`: the app's GraSP, Hg ⊙ θ0 with the highest kept, as Tanaka et al. 2020's code
 *   (Synaptic-Flow) computes it;
 * - `grasp, dense re-drawn`: the same with every fully connected kernel re-drawn (Glorot normal)
 *   for scoring only, as Wang et al.'s own code does (pruner/GraSP.py, `reinit=True`), the mask
 *   then applied to θ0;
 * - `snip`: SNIP (Lee et al. 2019) on the same examples, for comparison.
 * These score with batch norm on the sample's statistics (training mode, as Wang et al.'s
 * code does); `--statistics running` adds, on batch-norm models, GraSP and SNIP scored on the
 * running statistics (evaluation mode, the default of Tanaka et al.'s code: the identity at
 * θ0, so the score sees the network as if it had no batch norm).
 * The masked θ0 then meets `--examples` training images in training mode, in batches of the
 * model's training batch size (batch norm on each batch's statistics, as a first step sees
 * them): its loss, the standard deviation of its logits, and per layer the share of weights
 * kept and the share of those kept that are positive; its loss in evaluation mode too (on
 * the running statistics, as the running-statistics scores saw it); and the time the mask
 * took to score and rank. Writes bench/results/grasp.json; --record also
 * bench/records/grasp-<date>.json, which BENCHMARKS.md's `grasp` block tabulates
 * (`npm run bench:report`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { resolveSpec } from '../src/api/spec.ts';
import { parseArgs } from '../src/cli/args.ts';
import { deriveSeed } from '../src/core/random.ts';
import { SCORING_STATISTICS, type ScoringStatistics } from '../src/core/vocabulary.ts';
import { exampleSize } from '../src/data/dataset.ts';
import { importDatasetFolder } from '../src/data/import.ts';
import { prepareData, type PreparedData } from '../src/data/split.ts';
import {
  buildArchitecture,
  describeParams,
  hasBatchNorm,
  type Architecture,
  type ModelName,
} from '../src/engine/architectures.ts';
import { initBackend } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { initWeights, type Weights } from '../src/engine/weights.ts';
import { applyMask, countKept, denseMask, type Mask } from '../src/pruning/mask.ts';
import { graspScores, keepTop, snipScores, type Scores } from '../src/pruning/scores.ts';
import { datasetFolder, saveResult, theseVersions, thisCommand, thisMachine } from './records.ts';
import type { GraspRecord, GraspRow } from './report.ts';

const PRESETS: Partial<Record<ModelName, string>> = {
  'conv-4': 'frankle-carbin-2019',
  'resnet-20': 'openlth',
  'vgg-11': 'openlth',
  'vgg-16': 'openlth',
};

const { options } = parseArgs(process.argv.slice(2), [
  'seeds',
  'models',
  'examples',
  'statistics',
  'compression',
  'dataset',
]);
const seeds = Number(options.get('seeds') ?? 3);
const examples = Number(options.get('examples') ?? 480);
if (!(Number.isInteger(seeds) && seeds >= 1 && Number.isInteger(examples) && examples >= 1))
  throw new Error('--seeds and --examples take whole numbers from 1');
const compression = Number(options.get('compression') ?? 0.5);
if (!(Number.isFinite(compression) && compression > 0))
  throw new Error('--compression takes a log10 above 0: 2 keeps 1% of the weights');
const models = String(options.get('models') ?? 'conv-4,resnet-20').split(',') as ModelName[];
for (const model of models)
  if (!PRESETS[model])
    throw new Error(`--models: ${model} is not measured here (${Object.keys(PRESETS).join(', ')})`);
const statistics = String(options.get('statistics') ?? 'batch').split(',') as ScoringStatistics[];
for (const s of statistics)
  if (!(SCORING_STATISTICS as readonly string[]).includes(s))
    throw new Error(`--statistics: ${s} is not one of ${SCORING_STATISTICS.join(', ')}`);
const folder = datasetFolder(options.get('dataset'), 'cifar10');

// the commit this run started from (a commit made while it runs is not what it measured)
const versions = theseVersions();
const backend = await initBackend('wasm');
const decoded = await importDatasetFolder(folder);

/**
 * What the masked θ0 does on the first `examples` training images, in training mode and in
 * batches of `batch`: the mean loss and accuracy, and the s.d. of every logit; and its mean
 * loss in evaluation mode.
 */
function atInit(arch: Architecture, weights: Weights, data: PreparedData, batch: number) {
  const model = new Model(arch, weights);
  const size = exampleSize(data.train.shape);
  const n = Math.min(examples, data.train.count);
  let loss = 0;
  let evalLoss = 0;
  let correct = 0;
  const logits: number[] = [];
  try {
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      tf.tidy(() => {
        const x = tf.tensor4d(data.train.x.subarray(start * size, (start + count) * size), [
          count,
          ...data.train.shape,
        ]);
        const labels = tf.tensor1d(
          Int32Array.from(data.train.y.subarray(start, start + count)),
          'int32',
        );
        const out = model.apply(x, true);
        const lossOf = (logits: tf.Tensor) =>
          tf.losses.softmaxCrossEntropy(tf.oneHot(labels, data.classes), logits).dataSync()[0]! *
          count;
        loss += lossOf(out);
        evalLoss += lossOf(model.apply(x, false));
        correct += tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), labels), 'float32')).dataSync()[0]!;
        logits.push(...out.dataSync());
      });
    }
  } finally {
    model.dispose();
  }
  const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
  const variance = logits.reduce((a, b) => a + (b - mean) ** 2, 0) / logits.length;
  return {
    loss: loss / n,
    evalLoss: evalLoss / n,
    accuracy: correct / n,
    logitStd: Math.sqrt(variance),
  };
}

/** Per layer: the share of its weights kept, and of those kept the share positive. */
function layerShares(mask: Mask, theta0: Weights): GraspRow['layers'] {
  return [...mask].map(([layer, m]) => {
    const w = theta0.get(layer)!;
    let positive = 0;
    for (let i = 0; i < m.length; i++) if (m[i] && w[i]! > 0) positive++;
    const kept = countKept(m);
    return { layer, kept: kept / m.length, positive: kept > 0 ? positive / kept : null };
  });
}

const percent = (x: number | null) => (x === null ? '–' : (x * 100).toFixed(0));
const rows: GraspRow[] = [];
let scoringExamples = 0;
for (const model of models) {
  const spec = resolveSpec({ model, preset: PRESETS[model], dataset: 'bench' });
  const data = prepareData(decoded, spec.validationFraction);
  const arch = buildArchitecture(model, data.train.shape, data.classes);
  const specs = describeParams(arch);
  const batchNorm = hasBatchNorm(specs);
  const batch = spec.training.batchSize;
  // as the app's pruning at initialisation draws them (src/jobs/methods/pai.ts)
  scoringExamples = spec.pai.samplesPerClass * data.classes;
  for (let seed = 0; seed < seeds; seed++) {
    const theta0 = initWeights(specs, spec.init, seed);
    // Wang et al.'s scoring copy: every fully connected kernel re-drawn, the rest θ0
    const fresh = initWeights(specs, 'glorot-normal', deriveSeed(seed, 'grasp-redraw'));
    const redrawn = new Map(theta0);
    for (const p of specs)
      if (p.role === 'kernel' && p.shape.length === 2) redrawn.set(p.name, fresh.get(p.name)!);
    const scoringSeed = deriveSeed(seed, 'score', 1);
    const dense = denseMask(specs);
    rows.push({
      model,
      batchNorm,
      scoring: 'none (dense θ0)',
      seed,
      ...atInit(arch, theta0, data, batch),
      layers: [],
    });
    type Score = (model: Model, statistics: ScoringStatistics) => Promise<Scores>;
    const grasp: Score = (m, statistics) =>
      graspScores(m, dense, data, scoringExamples, scoringSeed, { statistics });
    const snip: Score = (m, statistics) =>
      snipScores(m, dense, data, scoringExamples, scoringSeed, statistics);
    // on the running statistics only where there is batch norm (without, the same scores)
    const scorings: [string, Weights, Score, ScoringStatistics][] = statistics.flatMap(
      (s): [string, Weights, Score, ScoringStatistics][] =>
        s === 'batch'
          ? [
              ['grasp', theta0, grasp, s],
              ['grasp, dense re-drawn', redrawn, grasp, s],
              ['snip', theta0, snip, s],
            ]
          : batchNorm
            ? [
                ['grasp, running statistics', theta0, grasp, s],
                ['snip, running statistics', theta0, snip, s],
              ]
            : [],
    );
    for (const [scoring, weights, score, s] of scorings) {
      const scored = new Model(arch, weights);
      let mask: Mask;
      const start = performance.now();
      try {
        const scores = await score(scored, s);
        mask = keepTop(scores, dense, 10 ** -compression, 'global');
      } finally {
        scored.dispose();
      }
      const scoringSeconds = (performance.now() - start) / 1000;
      const row: GraspRow = {
        model,
        batchNorm,
        scoring,
        seed,
        scoringSeconds,
        ...atInit(arch, applyMask(theta0, mask), data, batch),
        layers: layerShares(mask, theta0),
      };
      rows.push(row);
      process.stdout.write(
        `${model} seed ${seed} ${scoring} (${scoringSeconds.toFixed(1)} s): loss ${row.loss.toFixed(2)}, logit s.d. ${row.logitStd.toFixed(2)}, kept positive ${row.layers.map((l) => percent(l.positive)).join('/')}%\n`,
      );
    }
  }
}

const record: GraspRecord = {
  date: new Date().toISOString(),
  command: thisCommand('bench:grasp'),
  machine: thisMachine(),
  versions,
  backend: backend.device,
  dataset: { folder: basename(folder), examples: Math.min(examples, decoded.train.count) },
  compression,
  scoringExamples,
  rows,
};
const text = JSON.stringify(record, null, 2) + '\n';
saveResult('grasp', text, options.has('record') ? { kind: 'grasp', date: record.date } : undefined);
