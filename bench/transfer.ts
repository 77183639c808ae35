/**
 * Ticket transfer between MNIST and Fashion-MNIST (Morcos et al. 2019) at a reduced budget:
 *
 *   npm run bench:transfer [-- --iterations 2000 --seeds 2 --concurrency 2]
 *
 * LeNet-300-100 IMP (global magnitude pruning, 37% of the remaining weights per level, so
 * level 5 keeps ~9.9% and level 8 ~2.5%) on each dataset from ../shared/datasets; the
 * tickets at those two levels are transferred to the other dataset and trained there beside
 * a random ticket of the same per-layer sparsity; the target's own IMP ticket at the same
 * level is the third column. Runs through the app's scheduler; writes
 * bench/results/transfer.json and bench/results/transfer.md.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from '../src/cli/args.ts';
import { Lab } from '../src/services/lab.ts';

const { options } = parseArgs(process.argv.slice(2), [
  'iterations',
  'seeds',
  'concurrency',
  'data-dir',
]);
const num = (k: string, d: number) =>
  typeof options.get(k) === 'string' ? Number(options.get(k)) : d;
const ITERATIONS = num('iterations', 2000);
const SEEDS = num('seeds', 2);
const CONCURRENCY = num('concurrency', Math.max(1, cpus().length));
const LEVELS = [5, 8];
const SHARED = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
for (const name of ['mnist', 'fashion-mnist']) {
  if (!existsSync(join(SHARED, name))) throw new Error(`bench:transfer needs ${SHARED}/${name}`);
}

// --data-dir reuses a folder: experiments already done there are found by their spec hash.
const dataDir = options.get('data-dir');
const lab = Lab.open({
  dataDir:
    typeof dataDir === 'string' ? dataDir : mkdtempSync(join(tmpdir(), 'ticketlab-transfer-')),
  runAll: true,
  concurrency: CONCURRENCY,
});
lab.subscribe((e) => {
  if (e.type === 'ticket.created')
    process.stdout.write(
      `${e.experimentId} level ${e.level} ${e.method}: ${(e.remainingWeights * 100).toFixed(1)}% → ${((e.testAccuracy ?? 0) * 100).toFixed(2)}%\n`,
    );
  if (e.type === 'job.state' && e.state === 'failed')
    process.stdout.write(`job ${e.jobId} failed: ${e.error}\n`);
});
const started = Date.now();
const datasets: Record<string, string> = {};
for (const name of ['mnist', 'fashion-mnist'])
  datasets[name] = (await lab.invoke('datasets.import', { path: join(SHARED, name), name })).id;

const training = { duration: `${ITERATIONS}it`, evalEvery: Math.max(10, ITERATIONS / 10) };
const imp: { dataset: string; seed: number; experimentId: string; jobId: string | null }[] = [];
for (let seed = 0; seed < SEEDS; seed++) {
  for (const dataset of Object.values(datasets)) {
    const r = await lab.invoke('experiments.create', {
      spec: {
        model: 'lenet-300-100',
        preset: 'frankle-carbin-2019',
        dataset,
        seed,
        training,
        pruning: { scope: 'global', globalRate: 0.37, levels: Math.max(...LEVELS) },
      },
      start: true,
    });
    imp.push({ dataset, seed, experimentId: r.experiment.id, jobId: r.job?.id ?? null });
  }
}
for (const { jobId } of imp) if (jobId) await lab.scheduler.wait(jobId);

const transferJobs: string[] = [];
for (const source of imp) {
  const { tickets } = await lab.invoke('experiments.lineage', { id: source.experimentId });
  for (const level of LEVELS) {
    const ticket = tickets.find((t) => t.level === level && t.method === 'imp')!;
    const target = Object.values(datasets).find((d) => d !== source.dataset)!;
    const made = await lab.invoke('transfer.create', { ticketId: ticket.id, targets: [target] });
    for (const job of made.jobs) if (job) transferJobs.push(job.id);
  }
}
for (const id of transferJobs) await lab.scheduler.wait(id);

const matrix = await lab.invoke('transfer.matrix', {});
const nameOf = (id: string) => Object.entries(datasets).find(([, d]) => d === id)![0];
const pct = (x: number | null) => (x === null ? '–' : (x * 100).toFixed(2));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const groups = new Map<string, typeof matrix.rows>();
for (const r of matrix.rows) {
  const key = `${nameOf(r.sourceDataset)} → ${nameOf(r.targetDataset)} | ${pct(r.remainingWeights)}`;
  groups.set(key, [...(groups.get(key) ?? []), r]);
}
const lines = [
  `LeNet-300-100, ${ITERATIONS} iterations per training (Adam 1.2e-3, batch 60), ${SEEDS} seeds, wall time ${((Date.now() - started) / 60000).toFixed(1)} min with ${CONCURRENCY} workers. Test accuracy at early stop, %: mean (min–max) over seeds.`,
  '',
  "| source → target | remaining | transferred ticket | random ticket | target's own IMP ticket | transferred − random | transferred − target's |",
  '|---|---|---|---|---|---|---|',
];
const spread = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? '–' : `${pct(mean(v))} (${pct(Math.min(...v))}–${pct(Math.max(...v))})`;
};
const signed = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null);
  if (v.length === 0) return '–';
  const m = mean(v) * 100;
  return `${m >= 0 ? '+' : '−'}${Math.abs(m).toFixed(2)}`;
};
for (const [key, rows] of groups) {
  const [pair, remaining] = key.split(' | ');
  lines.push(
    `| ${pair} | ${remaining}% | ${spread(rows.map((r) => r.transferAccuracy))} | ${spread(rows.map((r) => r.randomAccuracy))} | ${spread(rows.map((r) => r.targetTicketAccuracy))} | ${signed(rows.map((r) => r.vsRandom))} | ${signed(rows.map((r) => r.vsTargetTicket))} |`,
  );
}
const dense: { dataset: string; acc: number }[] = [];
for (const e of imp) {
  const { tickets } = await lab.invoke('experiments.lineage', { id: e.experimentId });
  dense.push({
    dataset: nameOf(e.dataset),
    acc: tickets.find((t) => t.level === 0)!.testAccuracy!,
  });
}
lines.push(
  '',
  `Dense networks: ${Object.keys(datasets)
    .map((d) => `${d} ${spread(dense.filter((x) => x.dataset === d).map((x) => x.acc))}`)
    .join(', ')}.`,
);
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'transfer.json'), JSON.stringify(matrix, null, 2));
writeFileSync(join(out, 'transfer.md'), lines.join('\n') + '\n');
process.stdout.write('\n' + lines.join('\n') + '\n');
await lab.close();
