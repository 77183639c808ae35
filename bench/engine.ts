/**
 * Training throughput of the engine on every backend present, beside PyTorch on the same
 * CPU when Debian's python3-torch is installed (see DEVELOPERS.md).
 *
 *   npm run bench:engine [-- --quick] [-- --all]
 *
 * Measures the real masked training loop (src/engine/train.ts) with an all-ones mask on
 * random data: samples per second over timed steps after warm-up, and the process's peak
 * RSS. Results go to stdout as a table and as JSON (bench/results/engine.json).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { prepareData } from '../src/data/split.ts';
import type { DecodedDataset } from '../src/data/dataset.ts';
import { buildArchitecture, describeParams, type ModelName } from '../src/engine/architectures.ts';
import { BACKEND_ORDER, initBackend, type BackendName } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { initWeights } from '../src/engine/weights.ts';
import { kernelThreads, nativeBlasStatus } from '../src/engine/native-blas.ts';
import { train } from '../src/engine/train.ts';
import { denseMask, maskToFloat } from '../src/pruning/mask.ts';

const quick = process.argv.includes('--quick');
const all = process.argv.includes('--all');
const BATCH = 60;

interface Case {
  model: ModelName;
  shape: [number, number, number];
  /** timed steps per backend (after warm-up) */
  steps: Partial<Record<BackendName, number>>;
}

const CASES: Case[] = [
  {
    model: 'lenet-300-100',
    shape: [28, 28, 1],
    steps: { 'tensorflow-gpu': 500, tensorflow: 500, wasm: 1000, cpu: 40 },
  },
  // The pure-JS cpu backend needs minutes per Conv-4 step: measured only with --all.
  {
    model: 'conv-4',
    shape: [32, 32, 3],
    steps: { 'tensorflow-gpu': 100, tensorflow: 40, wasm: 40, cpu: 1 },
  },
];

function randomDataset(shape: [number, number, number]): DecodedDataset {
  const size = shape[0] * shape[1] * shape[2];
  const n = BATCH * 20;
  const set = (count: number) => ({
    images: Uint8Array.from({ length: count * size }, (_, i) => (i * 2654435761) >>> 24),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
  });
  return {
    name: 'random',
    format: 'bench',
    inputShape: shape,
    classNames: Array.from({ length: 10 }, String),
    train: set(n),
    test: set(1),
  };
}

/** Samples/s of the training loop; `masked: false` trains with no masks at all. */
async function measure(c: Case, steps: number, masked = true): Promise<number> {
  // A 1-example validation split and no evaluation in between: only training steps are timed.
  const data = prepareData(randomDataset(c.shape), 1 / (BATCH * 20));
  const arch = buildArchitecture(c.model, c.shape, 10);
  const specs = describeParams(arch);
  const run = async (iterations: number) => {
    const model = new Model(arch, initWeights(specs, 'glorot-normal', 0));
    const started = performance.now();
    await train({
      model,
      masks: masked ? maskToFloat(denseMask(specs)) : new Map(),
      data,
      settings: {
        optimizer: 'adam',
        learningRate: 1e-3,
        momentum: 0,
        weightDecay: 0,
        batchSize: BATCH,
        iterations,
        evalEvery: iterations + 1,
      },
      seed: 0,
    });
    model.dispose();
    return performance.now() - started;
  };
  const warm = Math.max(2, Math.ceil(steps / 10));
  const tWarm = await run(warm);
  const tFull = await run(warm + steps);
  return (steps * BATCH) / ((tFull - tWarm) / 1000);
}

interface TorchResult {
  model: string;
  samplesPerSecond: number;
  threads: number;
  torch: string;
}

function runTorch(): TorchResult[] | string {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(
    '/usr/bin/python3',
    [join(import.meta.dirname, 'engine_torch.py'), quick ? '--quick' : ''],
    { encoding: 'utf8', env },
  );
  if (r.error || r.status !== 0) {
    return `PyTorch not measured: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()} (apt-get install -y python3-torch libopenblas0-pthread)`;
  }
  return JSON.parse(r.stdout) as TorchResult[];
}

const results: {
  model: string;
  backend: string;
  samplesPerSecond: number;
  unmaskedSamplesPerSecond: number | null;
}[] = [];
const present: BackendName[] = [];
for (const name of BACKEND_ORDER) {
  try {
    await initBackend(name);
    present.push(name);
  } catch {
    // not installed here
  }
}
for (const backend of present) {
  await initBackend(backend);
  for (const c of CASES) {
    if (backend === 'cpu' && c.model !== 'lenet-300-100' && !all) {
      process.stdout.write(
        `${c.model.padEnd(14)} ${backend.padEnd(15)} skipped (minutes per step; --all measures it)\n`,
      );
      continue;
    }
    const steps = Math.max(1, Math.round((c.steps[backend] ?? 10) * (quick ? 0.2 : 1)));
    const sps = await measure(c, steps);
    // The cost of masking (issue 9's budget: at most 5% per step), on the default backend.
    const unmasked = backend === 'wasm' ? await measure(c, steps, false) : null;
    results.push({
      model: c.model,
      backend,
      samplesPerSecond: sps,
      unmaskedSamplesPerSecond: unmasked,
    });
    process.stdout.write(
      `${c.model.padEnd(14)} ${backend.padEnd(15)} ${sps.toFixed(0).padStart(8)} samples/s  (${steps} steps of ${BATCH})` +
        (unmasked
          ? `; unmasked ${unmasked.toFixed(0)}: masking costs ${((unmasked / sps - 1) * 100).toFixed(1)}% per step`
          : '') +
        '\n',
    );
  }
}
const torch = runTorch();
if (typeof torch === 'string') process.stdout.write(torch + '\n');
else {
  for (const t of torch) {
    process.stdout.write(
      `${t.model.padEnd(14)} ${`pytorch ${t.torch}`.padEnd(15)} ${t.samplesPerSecond.toFixed(0).padStart(8)} samples/s  (${t.threads} thread${t.threads > 1 ? 's' : ''})\n`,
    );
  }
  // The reference is PyTorch's best thread count for each model.
  for (const model of new Set(torch.map((t) => t.model))) {
    const best = Math.max(...torch.filter((t) => t.model === model).map((t) => t.samplesPerSecond));
    for (const r of results.filter((r) => r.model === model)) {
      process.stdout.write(
        `ratio ${model} ${r.backend}/pytorch: ${(r.samplesPerSecond / best).toFixed(3)}×\n`,
      );
    }
  }
}
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `peak RSS of this process: ${peakRssMiB.toFixed(0)} MiB; ${cpus().length} cores: ${cpus()[0]?.model}; tfjs ${tf.version_core}; ${nativeBlasStatus()}, ${kernelThreads()} native kernel thread(s)\n`,
);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(
  join(import.meta.dirname, 'results', 'engine.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      results,
      torch,
      peakRssMiB,
      native: nativeBlasStatus(),
      nativeThreads: kernelThreads(),
    },
    null,
    2,
  ),
);
