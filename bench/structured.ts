/**
 * Measured inference speed-up of structured pruning's compacted models against their FLOP
 * reduction (issue 7), on the default backend:
 *
 *   npm run bench:structured
 *
 * LeNet-5 (28×28×1) and VGG-11 (32×32×3): L1-norm filter pruning (Li et al. 2017) of every
 * layer but the output at several rates, surgery, then the median latency over 30 runs
 * after 5 warm-up runs, batch 1 and batch 64, dense vs compacted. Weights are random:
 * latency does not depend on their values. (Accuracy at each speed-up needs training and
 * is not part of this run.) Writes bench/results/structured.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

const backend = await initBackend();
const CASES: [ModelName, Shape3][] = [
  ['lenet-5', [28, 28, 1]],
  ['vgg-11', [32, 32, 3]],
];
const RATES = [0.3, 0.5, 0.7];
const lines = [
  `Backend: ${backend.name} (${backend.device}). Median latency over 30 runs after 5 warm-up runs.`,
  '',
  '| model | filters removed per layer | params | FLOPs reduction | batch 1: dense → compact (speed-up) | batch 64: dense → compact (speed-up) | speed-up ÷ FLOP reduction (b64) |',
  '|---|---|---|---|---|---|---|',
];
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
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'structured.md'), lines.join('\n') + '\n');
process.stdout.write('\n' + lines.join('\n') + '\n');
