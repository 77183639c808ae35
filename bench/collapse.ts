/**
 * Layer collapse at initialisation (Tanaka et al. 2020 §3–4): the compression at which each
 * pruning-at-initialisation score first empties a layer, and at which it cuts the input off
 * from the output, measured on the masks alone, before any training:
 *
 *   npm run bench:collapse [-- --seeds 3] [--models resnet-20,vgg-11,vgg-16]
 *                          [--scores synflow,snip,grasp,magnitude,random]
 *                          [--from 1.5] [--to 4.5] [--step 0.25]
 *                          [--iterative keep-pruned|revive] [--statistics batch|running]
 *                          [--dataset DIR (default ../shared/datasets/cifar10)] [--record]
 *
 * For each model (batch norm, OpenLTH's Kaiming init) and seed, θ0 is pruned globally to
 * 10^−c of its prunable weights for every c on the grid, by the app's scores as its pruning
 * at initialisation runs them (src/pruning/scores.ts): SynFlow iteratively (the spec's 100
 * rounds, exponential schedule) for each c; SNIP, GraSP and magnitude scored once per seed
 * on the spec's 10 training examples per class, that one ranking then cut at every c (each of
 * the app's levels draws its own examples); random with the app's per-layer counts.
 * `--iterative` prunes SNIP and GraSP over the spec's rounds for each c, as SynFlow (the
 * spec's `pai.iterative`: `keep-pruned` ranks the weights still kept each round, `revive`
 * every weight), and `--statistics running` scores them with batch norm's running statistics
 * (`pai.batchNormStatistics`): Tanaka et al.'s reference code scores on `running` statistics
 * by default and runs its `--prune-epochs` as `revive`. Rows are labelled with what differs
 * from the app's default; bench:collapse-reference adds the reference code's own. Each mask
 * is recorded per layer (weights kept), with the layers it empties and whether any path from
 * the input to the output is left (a residual block passes where its body or its shortcut
 * does; an identity shortcut always does). Tanaka et al.: the single-shot scores empty layers
 * at extreme compression while SynFlow, pruning iteratively, empties none before it must
 * (fewer weights than layers). Writes bench/results/collapse.json; --record also
 * bench/records/collapse-<date>.json, which BENCHMARKS.md's `collapse` block tabulates.
 */
import { basename } from 'node:path';
import { resolveSpec } from '../src/api/spec.ts';
import { parseArgs } from '../src/cli/args.ts';
import { deriveSeed } from '../src/core/random.ts';
import {
  SCORING_ITERATIONS,
  SCORING_STATISTICS,
  type ScoringIteration,
  type ScoringStatistics,
} from '../src/core/vocabulary.ts';
import { importDatasetFolder } from '../src/data/import.ts';
import { prepareData } from '../src/data/split.ts';
import { buildArchitecture, describeParams, type ModelName } from '../src/engine/architectures.ts';
import { initBackend } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { initWeights } from '../src/engine/weights.ts';
import { countKept, denseMask, type Mask } from '../src/pruning/mask.ts';
import type { ScoreName } from '../src/pruning/methods.ts';
import {
  graspScores,
  keepTop,
  magnitudeScores,
  pruneAtInit,
  snipScores,
  type Scores,
} from '../src/pruning/scores.ts';
import { inputReachesOutput } from './layer-path.ts';
import {
  compressionGrid,
  datasetFolder,
  saveResult,
  theseVersions,
  thisCommand,
  thisMachine,
} from './records.ts';
import type { CollapseModel, CollapseRecord, CollapseRow } from './report.ts';

const MODELS: ModelName[] = ['resnet-20', 'vgg-11', 'vgg-16'];
const SCORES: ScoreName[] = ['synflow', 'snip', 'grasp', 'magnitude', 'random'];

const { options } = parseArgs(process.argv.slice(2), [
  'seeds',
  'models',
  'scores',
  'from',
  'to',
  'step',
  'dataset',
  'statistics',
  'iterative',
]);
const number = (key: string, fallback: number) => Number(options.get(key) ?? fallback);
const seeds = number('seeds', 3);
if (!(Number.isInteger(seeds) && seeds >= 1))
  throw new Error('--seeds takes a whole number from 1');
const grid = compressionGrid(options, { from: 1.5, to: 4.5, step: 0.25 });
const models = String(options.get('models') ?? MODELS.join(',')).split(',') as ModelName[];
for (const model of models)
  if (!MODELS.includes(model))
    throw new Error(`--models: ${model} is not measured here (${MODELS.join(', ')})`);
const scores = String(options.get('scores') ?? SCORES.join(',')).split(',') as ScoreName[];
for (const score of scores)
  if (!SCORES.includes(score))
    throw new Error(`--scores: ${score} is not one of ${SCORES.join(', ')}`);
const folder = datasetFolder(options.get('dataset'), 'cifar10');
const iterative = String(options.get('iterative') ?? 'off') as ScoringIteration;
if (!SCORING_ITERATIONS.includes(iterative))
  throw new Error(`--iterative takes ${SCORING_ITERATIONS.join(', ')} (got ${iterative})`);
const statistics = String(options.get('statistics') ?? 'batch') as ScoringStatistics;
if (!SCORING_STATISTICS.includes(statistics))
  throw new Error(`--statistics takes ${SCORING_STATISTICS.join(' or ')} (got ${statistics})`);

// the commit this run started from (a commit made while it runs is not what it measured)
const versions = theseVersions();
const backend = await initBackend('wasm');
const decoded = await importDatasetFolder(folder);

// every model's spec takes the pai defaults: one set for the record
const PAI = resolveSpec({ model: models[0]!, preset: 'openlth', dataset: 'bench' }).pai;
const DATA_DEPENDENT: ScoreName[] = ['snip', 'grasp'];
/** A row's score: its name, with what differs from the app's default scoring of it. */
const label = (score: ScoreName) => {
  if (!DATA_DEPENDENT.includes(score)) return score;
  const differs = [
    ...(iterative === 'off' ? [] : [`${PAI.rounds} rounds`]),
    ...(iterative === 'revive' ? ['reviving'] : []),
    ...(statistics === 'running' ? ['running statistics'] : []),
  ];
  return differs.length > 0 ? `${score} (${differs.join(', ')})` : score;
};
const started = Date.now();
const results: CollapseModel[] = [];
for (const model of models) {
  const spec = resolveSpec({ model, preset: 'openlth', dataset: 'bench' });
  const data = prepareData(decoded, spec.validationFraction);
  const arch = buildArchitecture(model, data.train.shape, data.classes);
  const specs = describeParams(arch);
  const dense = denseMask(specs);
  const layers = [...dense].map(([name, m]) => ({ name, weights: m.length }));
  const rows: CollapseRow[] = [];
  const samples = spec.pai.samplesPerClass * data.classes;
  for (let seed = 0; seed < seeds; seed++) {
    const theta0 = initWeights(specs, spec.init, seed);
    const scoringSeed = deriveSeed(seed, 'score', 1);
    const scoreOnce = async (
      score: (m: Model) => Promise<Scores>,
    ): Promise<(density: number) => Mask> => {
      const m = new Model(arch, theta0);
      try {
        const scores = await score(m);
        return (density) => keepTop(scores, dense, density, 'global');
      } finally {
        m.dispose();
      }
    };
    const once: Partial<Record<ScoreName, (m: Model) => Promise<Scores>>> = {
      ...(iterative !== 'off'
        ? {}
        : {
            snip: (m: Model) => snipScores(m, dense, data, samples, scoringSeed, statistics),
            grasp: (m: Model) => graspScores(m, dense, data, samples, scoringSeed, { statistics }),
          }),
      magnitude: (m) => magnitudeScores(m),
    };
    const ranked: Partial<Record<ScoreName, (density: number) => Mask>> = {};
    for (const score of scores) if (once[score]) ranked[score] = await scoreOnce(once[score]);
    for (const score of scores) {
      const t0 = performance.now();
      for (const [level, c] of grid.entries()) {
        const density = 10 ** -c;
        let mask: Mask;
        if (ranked[score]) mask = ranked[score](density);
        else {
          const m = new Model(arch, theta0);
          try {
            mask = await pruneAtInit(m, dense, {
              score,
              density,
              scope: 'global',
              rounds: spec.pai.rounds,
              iterative,
              statistics,
              samples,
              seed: deriveSeed(seed, 'score', level + 1),
              data,
            });
          } finally {
            m.dispose();
          }
        }
        const kept = [...mask.values()].map(countKept);
        rows.push({
          score: label(score),
          seed,
          compression: c,
          kept,
          connected: inputReachesOutput(arch.layers, (kernel) => {
            const m = mask.get(kernel);
            return m && countKept(m);
          }),
        });
      }
      const last = rows.at(-1)!;
      process.stdout.write(
        `${model} seed ${seed} ${label(score)}: ${grid.length} masks in ${((performance.now() - t0) / 1000).toFixed(1)} s; at 10^${last.compression}: ${last.kept.join('/')}${last.connected ? '' : ' (cut through)'}\n`,
      );
    }
  }
  results.push({ model, layers, rows });
}

const record: CollapseRecord = {
  date: new Date().toISOString(),
  command: thisCommand('bench:collapse'),
  machine: thisMachine(),
  versions,
  backend: backend.device,
  dataset: basename(folder),
  samplesPerClass: PAI.samplesPerClass,
  rounds: PAI.rounds,
  iterative,
  statistics,
  grid,
  wallSeconds: (Date.now() - started) / 1000,
  models: results,
};
const text = JSON.stringify(record) + '\n';
saveResult(
  'collapse',
  text,
  options.has('record') ? { kind: 'collapse', date: record.date } : undefined,
);
