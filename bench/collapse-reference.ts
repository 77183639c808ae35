/**
 * Layer collapse by Tanaka et al. 2020's own SNIP and GraSP, beside the app's in
 * BENCHMARKS.md's collapse table:
 *
 *   npm run bench:collapse-reference -- --repo PATH [--scores cs,grasp] [--seeds 3]
 *       [--from 3] [--to 4.25] [--step 0.25] [--rounds 1]
 *       [--dataset DIR (default ../shared/datasets/cifar10)] [--record]
 *
 * PATH is a checkout of ganguli-lab/Synaptic-Flow. bench/collapse_reference.py (the
 * `python3` on PATH, with PyTorch) imports its pruners from there, never a copy, and prunes
 * its VGG-16 with batch norm at θ0 in evaluation mode, the code's default; this writes what
 * it measured as a bench:collapse record. Writes bench/results/collapse-reference.json;
 * --record also bench/records/collapse-<date>.json.
 */
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { parseArgs } from '../src/cli/args.ts';
import {
  compressionGrid,
  datasetFolder,
  saveResult,
  theseVersions,
  thisCommand,
  thisMachine,
} from './records.ts';
import type { CollapseModel, CollapseRecord } from './report.ts';

const { options } = parseArgs(process.argv.slice(2), [
  'repo',
  'scores',
  'seeds',
  'from',
  'to',
  'step',
  'rounds',
  'dataset',
]);
const repo = options.get('repo');
if (typeof repo !== 'string') throw new Error('--repo: a checkout of ganguli-lab/Synaptic-Flow');
const rounds = Number(options.get('rounds') ?? 1);
const grid = compressionGrid(options, { from: 3, to: 4.25, step: 0.25 });
const folder = datasetFolder(options.get('dataset'), 'cifar10');

// the commit this run started from (a commit made while it runs is not what it measured)
const versions = theseVersions();
const started = Date.now();
const run = spawnSync(
  'python3',
  [
    join(import.meta.dirname, 'collapse_reference.py'),
    '--repo',
    repo,
    '--scores',
    String(options.get('scores') ?? 'cs,grasp'),
    '--seeds',
    String(options.get('seeds') ?? 3),
    '--rounds',
    String(rounds),
    '--grid',
    grid.join(','),
    '--dataset',
    folder,
  ],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 },
);
if (run.status !== 0) throw new Error(`bench/collapse_reference.py failed (${run.status})`);
const masks = JSON.parse(run.stdout) as {
  torch: string;
  reference: string | null;
  layers: CollapseModel['layers'];
  rows: CollapseModel['rows'];
};

const record: CollapseRecord = {
  date: new Date().toISOString(),
  command: thisCommand('bench:collapse-reference'),
  machine: thisMachine(),
  versions,
  backend: `PyTorch ${masks.torch}, 1 thread, Synaptic-Flow at ${masks.reference?.slice(0, 7) ?? 'an unknown commit'}`,
  dataset: basename(folder),
  samplesPerClass: 10,
  rounds,
  statistics: 'running',
  grid,
  wallSeconds: (Date.now() - started) / 1000,
  models: [{ model: 'vgg-16', layers: masks.layers, rows: masks.rows }],
};
const text = JSON.stringify(record) + '\n';
saveResult(
  'collapse-reference',
  text,
  options.has('record') ? { kind: 'collapse', date: record.date } : undefined,
);
