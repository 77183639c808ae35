/**
 * Reproduces the papers' findings at a reduced budget (see BENCHMARKS.md):
 *
 *   npm run bench:paper [-- --parts imp,pai,conv4] [--iterations 5000] [--conv-iterations 250]
 *                       [--seeds 2] [--levels 12] [--concurrency 2] [--scores grasp,snip]
 *
 * imp:   Frankle & Carbin 2019, LeNet-300-100 on MNIST (the full 60K set in ../shared/datasets
 *        when present, else the 10K set): IMP with reset, 20% hidden / 10% output per level,
 *        Adam 1.2e-3, batch 60, Glorot, 55K/5K split, with the random re-initialisation and
 *        random pruning controls.
 * pai:   pruning at initialisation on LeNet-300-100: SynFlow, SNIP, GraSP, magnitude and
 *        random across compression ratios 10^0.5 … 10^3 (Tanaka et al. 2020).
 * conv4: the same sweep on Conv-4 with Frankle & Carbin's Conv-4 settings (Adam 3e-4, batch
 *        60, Glorot) on CIFAR-10 from ../shared/datasets/cifar10, `--conv-iterations` each.
 *
 * Runs through the app's own job scheduler (one worker process per concurrent job). Each part
 * run replaces that part, with its budget, in bench/results/paper.json (the others stay, so
 * parts can be run separately); with `--scores` a PaI part runs only those scores and
 * replaces only their rows (same budget). bench/results/paper.md gets every part's tables.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ModelName } from '../src/engine/architectures.ts';
import { parseArgs } from '../src/cli/args.ts';
import { Lab } from '../src/services/lab.ts';
import type { Part, Results, Row } from './paper-results.ts';

const { options } = parseArgs(process.argv.slice(2), [
  'parts',
  'iterations',
  'conv-iterations',
  'seeds',
  'levels',
  'concurrency',
  'data-dir',
  'scores',
]);
const num = (k: string, d: number) =>
  typeof options.get(k) === 'string' ? Number(options.get(k)) : d;
const PARTS = new Set(String(options.get('parts') ?? 'imp,pai,conv4').split(','));
const ITERATIONS = num('iterations', 1000);
const CONV_ITERATIONS = num('conv-iterations', 250);
const SEEDS = num('seeds', 2);
const LEVELS = num('levels', 12);
const CONCURRENCY = num('concurrency', Math.max(1, cpus().length));
const ALL_SCORES = ['synflow', 'snip', 'grasp', 'magnitude', 'random'] as const;
const SCORES = ALL_SCORES.filter(
  (s) => typeof options.get('scores') !== 'string' || String(options.get('scores')).includes(s),
);
const SHARED = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
const RESULTS = join(import.meta.dirname, 'results', 'paper.json');
const dataDir =
  typeof options.get('data-dir') === 'string'
    ? (options.get('data-dir') as string)
    : mkdtempSync(join(tmpdir(), 'ticketlab-paper-'));

const lab = Lab.open({ dataDir, runAll: true, concurrency: CONCURRENCY });
lab.subscribe((e) => {
  if (e.type === 'ticket.created')
    process.stdout.write(
      `${e.experimentId} level ${e.level} ${e.method}: ${(e.remainingWeights * 100).toFixed(1)}% → ${((e.testAccuracy ?? 0) * 100).toFixed(2)}%\n`,
    );
  if (e.type === 'job.state' && e.state === 'failed')
    process.stdout.write(`job ${e.jobId} failed: ${e.error}\n`);
});

/** The first of these folders in ../shared/datasets, imported; null when none is there. */
async function importShared(...folders: string[]): Promise<{ id: string; name: string } | null> {
  const folder = folders.find((f) => existsSync(join(SHARED, f)));
  if (!folder) return null;
  const { id } = await lab.invoke('datasets.import', { path: join(SHARED, folder), name: folder });
  return { id, name: folder };
}

async function collect(ids: string[]): Promise<Row[]> {
  const rows = new Map<string, Row>();
  for (const id of ids) {
    for (const t of (await lab.invoke('experiments.lineage', { id })).tickets) {
      if (!t.trained) continue;
      const key = `${t.level}/${t.method}`;
      const row = rows.get(key) ?? {
        level: t.level,
        method: t.method,
        remaining: t.remainingWeights,
        acc: [],
        earlyStop: [],
      };
      row.acc.push(t.testAccuracy!);
      row.earlyStop.push(t.earlyStopIteration!);
      rows.set(key, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.level - b.level || a.method.localeCompare(b.method));
}

/** Starts one experiment per seed (and per score for PaI), waits, and pools the tickets. */
async function runPart(
  model: ModelName,
  dataset: { id: string; name: string },
  iterations: number,
  evals: number,
  method: 'imp' | 'pai',
): Promise<Part> {
  const started = Date.now();
  const common = {
    model,
    preset: 'frankle-carbin-2019' as const,
    dataset: dataset.id,
    training: {
      duration: `${iterations}it`,
      evalEvery: Math.max(10, Math.round(iterations / evals)),
    },
  };
  const ids = new Map<string, string[]>();
  const jobs: string[] = [];
  for (let seed = 0; seed < SEEDS; seed++) {
    const variants =
      method === 'imp'
        ? [
            {
              key: 'imp',
              spec: {
                ...common,
                seed,
                pruning: { levels: LEVELS },
                controls: { randomReinit: true, randomPrune: true },
              },
            },
          ]
        : SCORES.map((score) => ({
            key: score,
            spec: { ...common, seed, method: 'pai' as const, pai: { score } },
          }));
    for (const { key, spec } of variants) {
      const created = await lab.invoke('experiments.create', { spec, start: true });
      ids.set(key, [...(ids.get(key) ?? []), created.experiment.id]);
      jobs.push(created.job!.id);
    }
  }
  for (const id of jobs) await lab.scheduler.wait(id);
  const part: Part = {
    model,
    dataset: dataset.name,
    iterations,
    seeds: SEEDS,
    concurrency: CONCURRENCY,
    wallMinutes: (Date.now() - started) / 60000,
    date: new Date().toISOString(),
  };
  if (method === 'imp') part.rows = await collect(ids.get('imp')!);
  else {
    part.scores = {};
    for (const [score, experiments] of ids) part.scores[score] = await collect(experiments);
  }
  return part;
}

const results: Results = existsSync(RESULTS)
  ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Results)
  : {};
const mnist = await importShared('mnist', 'mnist-10k');
const lenetData = mnist ?? { id: 'builtin:mnist', name: 'built-in MNIST' };
if (PARTS.has('imp'))
  results.imp = await runPart('lenet-300-100', lenetData, ITERATIONS, 20, 'imp');
/** A PaI part run for some scores only keeps the other scores' rows of the same budget. */
function mergeScores(previous: Part | undefined, part: Part): Part {
  if (SCORES.length === ALL_SCORES.length || !previous?.scores) return part;
  if (previous.iterations !== part.iterations || previous.seeds !== part.seeds)
    throw new Error('--scores adds to a part of the same budget: iterations and seeds differ');
  return {
    ...part,
    wallMinutes: previous.wallMinutes + part.wallMinutes,
    scores: Object.fromEntries(
      ALL_SCORES.flatMap((s) => {
        const rows = part.scores![s] ?? previous.scores![s];
        return rows ? [[s, rows]] : [];
      }),
    ),
  };
}
if (PARTS.has('pai'))
  results.pai = mergeScores(
    results.pai,
    await runPart('lenet-300-100', lenetData, ITERATIONS, 20, 'pai'),
  );
if (PARTS.has('conv4')) {
  const cifar = await importShared('cifar10');
  if (cifar)
    results.conv4 = mergeScores(
      results.conv4,
      await runPart('conv-4', cifar, CONV_ITERATIONS, 5, 'pai'),
    );
  else process.stdout.write(`conv4 skipped: ${join(SHARED, 'cifar10')} is missing\n`);
}
await lab.close();

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (x * 100).toFixed(2);
const spread = (xs: number[]) =>
  `${pct(mean(xs))} (${pct(Math.min(...xs))}–${pct(Math.max(...xs))})`;
const budget = (p: Part) =>
  `${p.dataset}; ${p.iterations} iterations per training; ${p.seeds} seeds; ${p.wallMinutes.toFixed(1)} min with ${p.concurrency} workers (${p.date.slice(0, 10)})`;

function impTable(p: Part): string[] {
  const rows = p.rows!;
  const lines = [
    `#### A. IMP on LeNet-300-100 (${budget(p)}; test accuracy at early stop: mean (min–max) over seeds, %; early-stop iteration mean)`,
    '',
    '| level | remaining | IMP ticket | early stop | random re-init | early stop | random pruning | early stop |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const levels = Math.max(...rows.map((r) => r.level));
  for (let level = 0; level <= levels; level++) {
    const get = (m: string) => rows.find((r) => r.level === level && r.method === m);
    const t = get(level === 0 ? 'dense' : 'imp')!;
    const cell = (r: Row | undefined) =>
      r ? `${spread(r.acc)} | ${mean(r.earlyStop).toFixed(0)}` : '– | –';
    lines.push(
      `| ${level} | ${pct(t.remaining)}% | ${cell(t)} | ${cell(get('random-reinit'))} | ${cell(get('random-prune'))} |`,
    );
  }
  return lines;
}

function paiTable(p: Part, title: string): string[] {
  const scores = Object.keys(p.scores!);
  const first = p.scores![scores[0]!]!;
  const lines = [
    `#### ${title} (${budget(p)}; test accuracy at early stop, %, mean (min–max) over seeds)`,
    '',
    `| compression | remaining | ${scores.join(' | ')} |`,
    `|---|---|${scores.map(() => '---').join('|')}|`,
  ];
  for (const r of first.filter((r) => r.method !== 'dense')) {
    const cells = scores.map((s) => {
      const row = p.scores![s]!.find((x) => x.level === r.level && x.method === s);
      return row ? spread(row.acc) : '–';
    });
    lines.push(
      `| 10^${(-Math.log10(r.remaining)).toFixed(1)} | ${pct(r.remaining)}% | ${cells.join(' | ')} |`,
    );
  }
  const dense = scores.flatMap((s) => p.scores![s]!.filter((r) => r.method === 'dense'));
  lines.push('', `Dense ${p.model} (same budget): ${spread(dense.flatMap((r) => r.acc))}.`);
  return lines;
}

const lines: string[] = [];
if (results.imp) lines.push(...impTable(results.imp), '');
if (results.pai)
  lines.push(...paiTable(results.pai, 'B. Pruning at initialisation on LeNet-300-100'), '');
if (results.conv4)
  lines.push(...paiTable(results.conv4, 'C. Pruning at initialisation on Conv-4, CIFAR-10'), '');
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(RESULTS, JSON.stringify(results, null, 2));
writeFileSync(join(import.meta.dirname, 'results', 'paper.md'), lines.join('\n'));
process.stdout.write('\n' + lines.join('\n'));
