/**
 * Structured pruning's measured speed-ups and their accuracy cost (issue 7), on the default
 * backend:
 *
 *   npm run bench:structured [-- --latency-only | --accuracy-only]
 *
 * Part 1, latency: LeNet-5 (28×28×1) and VGG-11 (32×32×3) with random weights; L1-norm
 * filter pruning (Li et al. 2017) of every layer but the output at several rates, surgery,
 * then the median latency over 30 runs after 5 warm-up runs, batch 1 and batch 64, dense vs
 * compacted (latency does not depend on the weights' values).
 *
 * Part 2, accuracy: trained through the app's job scheduler (one job at a time, so the
 * latencies each job measures are not disturbed): LeNet-5 on MNIST (60,000/10,000) and
 * Conv-4 on the CIFAR-10 subset in ../shared/datasets (4,000/1,000), each with L1 filter
 * pruning, PCA low-rank replacement and (on a model with batch norm) network slimming with Early-Bird tickets;
 * every ticket's speed-up is the one its job measured. Short training budgets (stated in the
 * output): the accuracy cost is against the dense network trained with the same budget.
 * Writes bench/results/structured.md.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExperimentSpecInput } from '../src/api/spec.ts';
import { Lab } from '../src/services/lab.ts';
import {
  buildArchitecture,
  describeParams,
  measureSize,
  type ModelName,
  type Shape3,
} from '../src/engine/architectures.ts';
import { initBackend } from '../src/engine/backend.ts';
import { measureLatency } from '../src/engine/latency.ts';
import { initWeights } from '../src/engine/weights.ts';
import { l1UnitMask } from '../src/pruning/structured/l1-filter.ts';
import { compact } from '../src/pruning/structured/surgery.ts';
import { SHARED_DATASETS } from './records.ts';

const args = new Set(process.argv.slice(2));
const lines: string[] = [];

if (!args.has('--accuracy-only')) {
  const backend = await initBackend();
  const CASES: [ModelName, Shape3][] = [
    ['lenet-5', [28, 28, 1]],
    ['vgg-11', [32, 32, 3]],
  ];
  const RATES = [0.3, 0.5, 0.7];
  lines.push(
    `Backend: ${backend.name} (${backend.device}). Median latency over 30 runs after 5 warm-up runs.`,
    '',
    '| model | filters removed per layer | params | FLOPs reduction | batch 1: dense → compact (speed-up) | batch 64: dense → compact (speed-up) | speed-up ÷ FLOP reduction (b64) |',
    '|---|---|---|---|---|---|---|',
  );
  for (const [model, shape] of CASES) {
    const arch = buildArchitecture(model, shape, 10);
    const weights = initWeights(describeParams(arch), 'kaiming-normal', 1);
    const size = (a: typeof arch, w: typeof weights) =>
      measureSize(describeParams(a), (name) => w.get(name)!.length);
    const dense = size(arch, weights);
    const base = {
      1: await measureLatency(arch, weights, 1, { warmup: 5, runs: 30 }),
      64: await measureLatency(arch, weights, 64, { warmup: 5, runs: 30 }),
    };
    for (const rate of RATES) {
      const small = compact(arch, weights, l1UnitMask(arch, weights, rate));
      const s = size(small.arch, small.weights);
      const b1 = await measureLatency(small.arch, small.weights, 1, { warmup: 5, runs: 30 });
      const b64 = await measureLatency(small.arch, small.weights, 64, { warmup: 5, runs: 30 });
      const flopX = dense.flops / s.flops;
      const x1 = base[1].medianMs / b1.medianMs;
      const x64 = base[64].medianMs / b64.medianMs;
      lines.push(
        `| ${model} | ${rate * 100}% | ${dense.totalParams.toLocaleString('en')} → ${s.totalParams.toLocaleString('en')} | ${flopX.toFixed(2)}× | ${base[1].medianMs.toFixed(2)} → ${b1.medianMs.toFixed(2)} ms (${x1.toFixed(2)}×) | ${base[64].medianMs.toFixed(1)} → ${b64.medianMs.toFixed(1)} ms (${x64.toFixed(2)}×) | ${(x64 / flopX).toFixed(2)} |`,
      );
      process.stdout.write(lines.at(-1)! + '\n');
    }
  }
}

if (!args.has('--latency-only')) await accuracyPart();

const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'structured.md'), lines.join('\n') + '\n');
process.stdout.write('\n' + lines.join('\n') + '\n');

/** Accuracy against measured speed-up, from real trainings through the scheduler. */
async function accuracyPart() {
  const lab = Lab.open({
    dataDir: mkdtempSync(join(tmpdir(), 'ticketlab-structured-')),
    runAll: true,
    concurrency: 1,
  });
  lab.subscribe((e) => {
    if (e.type === 'ticket.created')
      process.stdout.write(
        `${e.experimentId} level ${e.level} ${e.method}: ${(e.remainingWeights * 100).toFixed(1)}% → ${((e.testAccuracy ?? 0) * 100).toFixed(2)}%\n`,
      );
    if (e.type === 'log' && e.level !== 'info') process.stdout.write(`${e.message}\n`);
  });
  const adam = (lr: number) => ({ optimizer: 'adam' as const, learningRate: lr, batchSize: 60 });
  const cases = [
    {
      title: 'LeNet-5 on MNIST (60,000 / 10,000)',
      model: 'lenet-5' as const,
      folder: 'mnist',
      training: { ...adam(1.2e-3), duration: '2ep', evalEvery: 300 },
      fineTune: '1ep',
      // slimming is refused without batch norm (Liu et al. 2017 §3): no model here has it
      slimming: false,
    },
    {
      title: 'Conv-4 on CIFAR-10 (the 4,000 / 1,000 lossless subset)',
      model: 'conv-4' as const,
      folder: 'cifar10',
      training: { ...adam(3e-4), duration: '4ep', evalEvery: 66 },
      fineTune: '1ep',
      slimming: false,
    },
  ];
  lines.push(
    '',
    '## Accuracy against measured speed-up',
    '',
    `Each job measures its tickets on its worker's backend (median of 30 runs after 5 warm-up runs). Started ${new Date().toISOString()}.`,
  );
  for (const c of cases) {
    if (!existsSync(join(SHARED_DATASETS, c.folder))) {
      lines.push('', `${c.title}: skipped, ${join(SHARED_DATASETS, c.folder)} is missing.`);
      continue;
    }
    const dataset = (await lab.invoke('datasets.import', { path: join(SHARED_DATASETS, c.folder) }))
      .id;
    const base = { model: c.model, dataset, method: 'structured' as const, training: c.training };
    const specs: ExperimentSpecInput[] = [
      {
        ...base,
        structured: { method: 'l1-filter', rates: [0.3, 0.5, 0.7, 0.85], fineTune: c.fineTune },
      },
      {
        ...base,
        structured: { method: 'pca', energies: [0.95, 0.9, 0.8], fineTune: c.fineTune },
      },
      ...(c.slimming
        ? [
            {
              ...base,
              // You et al.: λ = 1e-4, masks compared over 5 epochs at distance 0.1; at most 6 epochs
              training: { ...c.training, duration: '6ep' },
              structured: {
                method: 'slimming' as const,
                rates: [0.5],
                sparsity: 1e-4,
                fineTune: c.fineTune,
              },
            },
          ]
        : []),
    ];
    lines.push(
      '',
      `### ${c.title}`,
      '',
      `Training: Adam lr ${c.training.learningRate}, batch 60, ${c.training.duration} (slimming: up to 6ep, stopping at its Early-Bird ticket); each compacted model retrained ${c.fineTune} from its pruned weights.`,
      '',
      '| method | level | params | FLOP reduction | speed-up b1 | speed-up b64 | speed-up ÷ FLOP reduction (b64) | test accuracy | change vs its dense |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    const summary: string[] = [];
    let backend = 'unknown';
    for (const spec of specs) {
      const { experiment, job } = await lab.invoke('experiments.create', { spec, start: true });
      const done = await lab.scheduler.wait(job!.id);
      if (done.state !== 'done') throw new Error(`${experiment.name}: ${done.state} ${done.error}`);
      const { tickets } = await lab.invoke('experiments.get', { id: experiment.id });
      const dense = tickets.find((t) => t.level === 0)!;
      const method = (spec.structured as { method: string }).method;
      const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(2)}%`);
      for (const t of tickets) {
        const flopX = dense.flops / t.flops;
        const cost = (t.testAccuracy ?? 0) - (dense.testAccuracy ?? 0);
        lines.push(
          `| ${t.level === 0 ? `${method} (dense${method === 'slimming' ? ', with the λ penalty' : ''})` : method} | ${t.level} | ${t.remainingParams.toLocaleString('en')} | ${flopX.toFixed(2)}× | ${t.speedup ? `${t.speedup.batch1.toFixed(2)}×` : '1×'} | ${t.speedup ? `${t.speedup.batch64.toFixed(2)}×` : '1×'} | ${t.speedup ? (t.speedup.batch64 / flopX).toFixed(2) : '–'} | ${pct(t.testAccuracy)} | ${t.level === 0 ? '' : `${cost >= 0 ? '+' : ''}${(cost * 100).toFixed(2)} points`} |`,
        );
      }
      for (const target of [2, 4]) {
        const hit = tickets
          .filter((t) => t.speedup && t.speedup.batch64 >= target)
          .sort((a, b) => a.speedup!.batch64 - b.speedup!.batch64)[0];
        summary.push(
          hit
            ? `- ${method} at ≥${target}× (batch 64): level ${hit.level}, ${hit.speedup!.batch64.toFixed(2)}× measured, accuracy ${pct(hit.testAccuracy)} vs ${pct(dense.testAccuracy)} dense (${(((hit.testAccuracy ?? 0) - (dense.testAccuracy ?? 0)) * 100).toFixed(2)} points)`
            : `- ${method}: no ticket reached ${target}× at batch 64`,
        );
      }
      process.stdout.write(lines.slice(-tickets.length).join('\n') + '\n');
      backend = dense.backend ?? backend;
    }
    lines.push(
      '',
      `Measured on ${backend}. Accuracy cost at the first ticket reaching each measured speed-up:`,
      '',
      ...summary,
    );
  }
  await lab.close();
}
