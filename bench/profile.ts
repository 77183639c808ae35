/**
 * Where a training step's time goes: the native training step (src/engine/native-step.ts)
 * per layer, forward and backward, and its loss and update, where it runs; then the real
 * masked training loop (src/engine/train.ts) on tfjs's kernels under tfjs's profiler, per
 * kernel.
 *
 *   npm run bench:profile [-- --backend wasm|cpu|webgpu] [-- --steps N (LeNet's; Conv-4 and ResNet-20
 *                         a 20th, VGG-11 a 40th, at least 1)] [-- --models vgg-11,resnet-20]
 *                         [-- --batch 60] [-- --line-batch 128] [-- --record]
 *
 * LeNet-300-100 (28×28×1), Conv-4, VGG-11 and ResNet-20 (32×32×3) at batch 60 (--batch) on random
 * data (--models: some of them); the validation
 * and test splits hold one example each so evaluation adds nothing measurable. For tfjs's
 * kernels: the wall time per step, each kernel's share of it, and the time outside any
 * kernel (tfjs's dispatch, tensor bookkeeping, the loop itself). For the models with batch
 * norm, one point of an instability analysis's line at --line-batch: its batch-norm
 * recompute on the native forward pass and on tfjs's kernels, and its test set's evaluation.
 * Writes
 * bench/results/profile.md; --record also bench/records/profile-<date>.md, its first line
 * the command, machine, date and commit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from '../src/cli/args.ts';
import { describeMachine } from '../src/core/cpu.ts';
import { isoMinute } from '../src/core/timestamp.ts';
import {
  buildArchitecture,
  describeParams,
  hasBatchNorm,
  type ModelName,
} from '../src/engine/architectures.ts';
import { initBackend, type BackendName } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { NativeTrainingStep, setNativeTrainingStep } from '../src/engine/native-step.ts';
import { Optimizer } from '../src/engine/optimizer.ts';
import { evaluate, train } from '../src/engine/train.ts';
import { initWeights } from '../src/engine/weights.ts';
import { recomputeBatchNorm } from '../src/pruning/instability.ts';
import { BN_RECOMPUTE_BATCHES } from '../src/pruning/line-examples.ts';
import { denseMask, maskToFloat } from '../src/pruning/mask.ts';
import { randomTrainingData } from './random-data.ts';
import {
  commitOf,
  median,
  recordPath,
  theseVersions,
  thisCommand,
  thisMachine,
} from './records.ts';

const { options } = parseArgs(process.argv.slice(2), [
  'backend',
  'steps',
  'models',
  'batch',
  'line-batch',
]);
const BATCH = Number(options.get('batch') ?? 60);
// an instability line runs at its training's batch size: Frankle et al.'s 128 on CIFAR-10
const LINE_BATCH = Number(options.get('line-batch') ?? 128);
// the commit this run started from (a commit made while it runs is not what it measured)
const versions = theseVersions();
const backend = await initBackend(options.get('backend') as BackendName | undefined);

const lines = [
  `Backend: ${backend.name} (${backend.device}). Batch ${BATCH}; per-kernel times from tf.profile over the timed steps.`,
];
const wanted = typeof options.get('models') === 'string' ? String(options.get('models')) : null;
// --steps is LeNet's; the larger models take a fraction of it, a whole number and at least one
// (a fraction of a step ran once and scaled every time per step by that fraction)
const stepsFor = (share: number) =>
  Math.max(1, Math.round(Number(options.get('steps') ?? 200) / share));
const cases = (
  [
    ['lenet-300-100', [28, 28, 1], stepsFor(1)],
    ['conv-4', [32, 32, 3], stepsFor(20)],
    ['vgg-11', [32, 32, 3], stepsFor(40)],
    ['resnet-20', [32, 32, 3], stepsFor(20)],
  ] as [ModelName, [number, number, number], number][]
).filter(([name]) => !wanted || wanted.split(',').includes(name));
for (const [name, shape, steps] of cases) {
  const arch = buildArchitecture(name, shape, 10);
  const specs = describeParams(arch);
  const data = randomTrainingData(shape, BATCH * 50);
  const settings = {
    optimizer: 'adam' as const,
    learningRate: 1e-3,
    momentum: 0,
    weightDecay: 0,
    batchSize: BATCH,
    iterations: steps,
    evalEvery: 1_000_000,
  };
  const masks = maskToFloat(denseMask(specs));
  // The native step alone, on one batch over and over.
  const model = new Model(arch, initWeights(specs, 'glorot-normal', 1));
  const params = new Map(specs.filter((p) => p.trainable).map((p) => [p.name, model.v(p.name)]));
  const optimizer = new Optimizer(settings, params);
  const nativeStep = NativeTrainingStep.create({
    model,
    optimizer,
    settings,
    masks,
    batchSize: BATCH,
    classes: 10,
  });
  if (nativeStep) {
    const x = data.train.x.subarray(0, BATCH * shape[0] * shape[1] * shape[2]);
    const y = Int32Array.from(data.train.y.subarray(0, BATCH));
    for (let i = 0; i < Math.max(2, steps / 10); i++) nativeStep.step(x, y);
    const before = nativeStep.profile();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) nativeStep.step(x, y);
    const perStep = (performance.now() - t0) / steps;
    const after = nativeStep.profile();
    // mean ms per timed step: the profile's running means minus the warm-up's share
    const part = (total: (p: typeof after) => number) =>
      (total(after) * after.steps - total(before) * before.steps) / steps;
    lines.push(
      '',
      `### ${name}, native training step: ${perStep.toFixed(2)} ms per step (${Math.round((BATCH * 1000) / perStep).toLocaleString('en')} samples/s), ${steps} steps`,
      '',
      '| part | forward ms | backward ms | share of the step |',
      '|---|---|---|---|',
      ...after.layers.map((l, i) => {
        const f = part((p) => p.layers[i]!.forwardMs);
        const b = part((p) => p.layers[i]!.backwardMs);
        return `| ${l.layer} | ${f.toFixed(3)} | ${b.toFixed(3)} | ${(((f + b) / perStep) * 100).toFixed(1)}% |`;
      }),
      `| loss (softmax cross-entropy) | ${part((p) => p.lossMs).toFixed(3)} | | ${((part((p) => p.lossMs) / perStep) * 100).toFixed(1)}% |`,
      `| update (masked Adam) | | ${part((p) => p.updateMs).toFixed(3)} | ${((part((p) => p.updateMs) / perStep) * 100).toFixed(1)}% |`,
    );
    process.stdout.write(lines.slice(-(after.layers.length + 6)).join('\n') + '\n');
    nativeStep.dispose();
  }
  optimizer.dispose();
  model.dispose();

  // The training loop on tfjs's kernels.
  setNativeTrainingStep(false);
  const run = async (iterations: number) => {
    const model = new Model(arch, initWeights(specs, 'glorot-normal', 1));
    const t0 = performance.now();
    const info = await tf.profile(() =>
      train({
        model,
        masks,
        data,
        settings: { ...settings, iterations },
        seed: 1,
      }).then(() => undefined),
    );
    const wall = performance.now() - t0;
    model.dispose();
    return { info, wall };
  };
  await run(Math.max(2, Math.ceil(steps / 10))); // warm-up: kernels compiled, buffers grown
  const { info, wall } = await run(steps);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byKernel.set(k.name, e);
  }
  const kernelMs = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  const perStep = wall / steps;
  lines.push(
    '',
    `### ${name}, tfjs kernels: ${perStep.toFixed(2)} ms per step (${Math.round((BATCH * 1000) / perStep).toLocaleString('en')} samples/s), ${steps} steps`,
    '',
    `Kernels: ${(kernelMs / steps).toFixed(2)} ms per step (${((kernelMs / wall) * 100).toFixed(0)}%) in ${(info.kernels.length / steps).toFixed(0)} kernel calls; outside kernels: ${((wall - kernelMs) / steps).toFixed(2)} ms per step (${(((wall - kernelMs) / wall) * 100).toFixed(0)}%).`,
    '',
    '| kernel | ms per step | share of the step | calls per step |',
    '|---|---|---|---|',
    ...[...byKernel]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 15)
      .map(
        ([k, e]) =>
          `| ${k} | ${(e.ms / steps).toFixed(3)} | ${((e.ms / wall) * 100).toFixed(1)}% | ${(e.calls / steps).toFixed(1)} |`,
      ),
  );
  process.stdout.write(lines.slice(-20).join('\n') + '\n');
  setNativeTrainingStep(true);
  if (hasBatchNorm(specs)) await profileLinePoint(name, shape);
}

/**
 * One point of an instability analysis's line (src/pruning/instability.ts): batch norm's
 * statistics recomputed on BN_RECOMPUTE_BATCHES training batches, on the native forward pass
 * in training mode and on tfjs's kernels, beside the point's evaluation of a 10,000-example
 * test set (CIFAR-10's) on the native forward pass, all at the line's batch size.
 */
async function profileLinePoint(name: ModelName, shape: [number, number, number]) {
  const arch = buildArchitecture(name, shape, 10);
  const data = randomTrainingData(shape, LINE_BATCH * BN_RECOMPUTE_BATCHES);
  const test = randomTrainingData(shape, 10_000).train;
  const model = new Model(arch, initWeights(describeParams(arch), 'glorot-normal', 1));
  const native = NativeTrainingStep.forEvaluation(model, LINE_BATCH);
  const timed = async (f: () => Promise<unknown>) => {
    await f(); // warm-up
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await f();
      ms.push(performance.now() - t0);
    }
    return median(ms);
  };
  const onTfjs = await timed(() => recomputeBatchNorm(model, data, LINE_BATCH, null));
  const rows = [`| batch-norm recompute, tfjs kernels | ${onTfjs.toFixed(0)} |`];
  if (native) {
    const onNative = await timed(() => recomputeBatchNorm(model, data, LINE_BATCH, native));
    const evaluation = await timed(() => evaluate(model, test, native));
    rows.unshift(
      `| batch-norm recompute, native forward pass | ${onNative.toFixed(0)} |`,
      `| evaluation of 10,000 test examples, native forward pass | ${evaluation.toFixed(0)} |`,
    );
    native.dispose();
  }
  model.dispose();
  lines.push(
    '',
    `### ${name}, one point of an instability line: batch ${LINE_BATCH}, ${BN_RECOMPUTE_BATCHES} recompute batches, median of 3`,
    '',
    '| part | ms |',
    '|---|---|',
    ...rows,
  );
  process.stdout.write(lines.slice(-(rows.length + 4)).join('\n') + '\n');
}
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'profile.md'), lines.join('\n') + '\n');
if (options.has('record')) {
  // a Markdown record whose first line says what made it, for BENCHMARKS.md's prose to cite
  const date = new Date().toISOString();
  const machine = thisMachine();
  const file = recordPath('profile', date, 'md');
  const provenance = `<!-- \`${thisCommand('bench:profile')}\` on ${describeMachine(machine)}, ${isoMinute(date)} UTC, ${commitOf(versions)}. -->`;
  writeFileSync(file, `${provenance}\n\n${lines.join('\n')}\n`);
  console.log(`recorded ${file}`);
}
