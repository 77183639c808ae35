/**
 * Training throughput of the engine beside PyTorch on the same CPU (Debian's python3-torch,
 * see DEVELOPERS.md).
 *
 *   npm run bench:engine [-- --rounds 3] [-- --quick] [-- --all] [-- --models conv-4]
 *                        [-- --no-torch]
 *
 * Every measurement is the real training loop (src/engine/train.ts, an all-ones mask unless
 * unmasked) on random data at batch 60: samples per second over timed steps after a warm-up,
 * in a child process of its own, whose peak RSS is the training job's. The engines measured:
 * the default backend as users get it (wasm: the native training step where the addon is
 * built), the same unmasked (the cost of masking: the two alternate in one process, and a
 * round's cost is the median of its adjacent pairs), tfjs's kernels on that backend (the
 * native step switched off), the default without oneDNN (products on BLAS, convolutions as
 * im2col: what a machine without libdnnl gets), and the pure-JS cpu backend (LeNet only;
 * Conv-4 with --all).
 *
 * This machine's speed drifts (±20% within minutes has been seen), so the measurements run
 * in rounds that interleave TicketLab's with PyTorch's (1 and 2 threads, in one persistent
 * Python process), and a model's ratio is the median over rounds of TicketLab's default
 * against PyTorch's best in the same round. Results: a table on stdout and
 * bench/results/engine.json.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from '../src/cli/args.ts';
import type { DecodedDataset } from '../src/data/dataset.ts';
import { prepareData } from '../src/data/split.ts';
import { buildArchitecture, describeParams, type ModelName } from '../src/engine/architectures.ts';
import { initBackend, type BackendName } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { kernelThreads, nativeBlas, nativeBlasStatus } from '../src/engine/native-blas.ts';
import { setNativeTrainingStep } from '../src/engine/native-step.ts';
import { train } from '../src/engine/train.ts';
import { initWeights } from '../src/engine/weights.ts';
import { denseMask, maskToFloat } from '../src/pruning/mask.ts';

const BATCH = 60;
const MODELS: { model: ModelName; shape: [number, number, number]; steps: number }[] = [
  { model: 'lenet-300-100', shape: [28, 28, 1], steps: 1000 },
  { model: 'conv-4', shape: [32, 32, 3], steps: 40 },
];
type Variant = 'default' | 'unmasked' | 'tfjs-kernels' | 'without-onednn';

interface Measurement {
  model: ModelName;
  backend: BackendName;
  /** measured in turn, `repeats` times each, in one process (masked against unmasked), the
   * order reversed every other repeat so that neither variant always runs first */
  variants: Variant[];
  repeats: number;
  steps: number;
}
interface Measured {
  /** samples/s by variant, one per repeat */
  samples: Partial<Record<Variant, number[]>>;
  peakRssMiB: number;
  engine: string;
}

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

/** One measurement, in this (child) process. */
async function measure(m: Measurement): Promise<Measured> {
  const step = m.variants.includes('tfjs-kernels') ? 'tfjs kernels' : 'native training step';
  if (m.variants.includes('without-onednn')) nativeBlas()?.useOneDnn(false);
  const info = await initBackend(m.backend);
  setNativeTrainingStep(!m.variants.includes('tfjs-kernels'));
  const shape = MODELS.find((c) => c.model === m.model)!.shape;
  // A 1-example validation split and no evaluation in between: only training steps are timed.
  const data = prepareData(randomDataset(shape), 1 / (BATCH * 20));
  const arch = buildArchitecture(m.model, shape, 10);
  const specs = describeParams(arch);
  const run = async (variant: Variant, iterations: number) => {
    const model = new Model(arch, initWeights(specs, 'glorot-normal', 0));
    const started = performance.now();
    await train({
      model,
      masks: variant === 'unmasked' ? new Map() : maskToFloat(denseMask(specs)),
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
  const warm = Math.max(2, Math.ceil(m.steps / 10));
  const samples: Measured['samples'] = {};
  for (let r = 0; r < m.repeats; r++)
    for (const variant of r % 2 ? [...m.variants].reverse() : m.variants) {
      const tWarm = await run(variant, warm);
      const tFull = await run(variant, warm + m.steps);
      (samples[variant] ??= []).push((m.steps * BATCH) / ((tFull - tWarm) / 1000));
    }
  return {
    samples,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    engine:
      m.backend === 'wasm' && nativeBlas()
        ? `${info.device}; ${step}, ${kernelThreads()} thread(s)`
        : info.device,
  };
}

const childArg = process.argv.indexOf('--child');
if (childArg >= 0) {
  const result = await measure(JSON.parse(process.argv[childArg + 1]!) as Measurement);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

const { options } = parseArgs(process.argv.slice(2), ['models', 'rounds']);
const quick = options.has('quick');
const rounds = Number(options.get('rounds') ?? (quick ? 1 : 3));
const models =
  typeof options.get('models') === 'string' ? String(options.get('models')).split(',') : null;
const cases = MODELS.filter((c) => !models || models.includes(c.model));
const scaled = (steps: number) => Math.max(2, Math.round(steps * (quick ? 0.2 : 1)));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function child(m: Measurement): Measured {
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, import.meta.filename, '--child', JSON.stringify(m)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`measurement ${JSON.stringify(m)} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

/** PyTorch in one persistent process, answering one measurement per request. */
class Torch {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly process: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: process.stdout })[Symbol.asyncIterator]();
  }
  static start(): Torch | string {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8', env });
    if (probe.error || probe.status !== 0)
      return `PyTorch not measured: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()} (apt-get install -y python3-torch libopenblas0-pthread)`;
    return new Torch(
      spawn('/usr/bin/python3', [join(import.meta.dirname, 'engine_torch.py')], { env }),
    );
  }
  async measure(model: ModelName, threads: number, steps: number) {
    this.process.stdin.write(JSON.stringify({ model, threads, steps }) + '\n');
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the PyTorch process ended');
    return JSON.parse(value) as { samplesPerSecond: number; threads: number; torch: string };
  }
  stop() {
    this.process.stdin.end();
  }
}

const torch = options.has('no-torch') ? 'PyTorch not measured (--no-torch)' : Torch.start();
const torchThreads = [...new Set([1, cpus().length])];
const oneDnn = nativeBlas()?.oneDnn() != null;

interface Row {
  label: string;
  model: ModelName;
  samples: number[];
  peakRssMiB: number[];
  engine: string;
}
const rows = new Map<string, Row>();
const record = (label: string, model: ModelName, sps: number, rss: number, engine: string) => {
  const key = `${model}|${label}`;
  const row = rows.get(key) ?? { label, model, samples: [], peakRssMiB: [], engine };
  row.samples.push(sps);
  row.peakRssMiB.push(rss);
  rows.set(key, row);
};
const ratios = new Map<ModelName, number[]>();
/** per round: the median over its repeats of unmasked/masked - 1, in percent */
const maskingCosts = new Map<ModelName, number[]>();

for (let round = 1; round <= rounds; round++) {
  for (const c of cases) {
    // Masked and unmasked alternate in one process (the cost of masking is their ratio);
    // the other engines each get a process of their own.
    const groups: Variant[][] = [['default', 'unmasked'], ['tfjs-kernels']];
    if (oneDnn) groups.push(['without-onednn']);
    const ours = new Map<Variant, number>();
    for (const variants of groups) {
      const paired = variants.length > 1;
      const steps = scaled(variants[0] === 'tfjs-kernels' ? Math.ceil(c.steps / 2) : c.steps);
      const r = child({
        model: c.model,
        backend: 'wasm',
        variants,
        repeats: paired ? 4 : 1,
        steps,
      });
      if (paired) {
        const masked = r.samples.default!;
        const cost = median(r.samples.unmasked!.map((u, i) => (u / masked[i]! - 1) * 100));
        maskingCosts.set(c.model, [...(maskingCosts.get(c.model) ?? []), cost]);
      }
      for (const variant of variants) {
        const sps = median(r.samples[variant]!);
        ours.set(variant, sps);
        record(`wasm ${variant}`, c.model, sps, r.peakRssMiB, r.engine);
        process.stdout.write(
          `round ${round} ${c.model} wasm ${variant}: ${sps.toFixed(0)} samples/s (${r.engine})\n`,
        );
      }
    }
    if (typeof torch !== 'string') {
      let best = 0;
      for (const threads of torchThreads) {
        const t = await torch.measure(c.model, threads, scaled(c.steps));
        best = Math.max(best, t.samplesPerSecond);
        record(
          `pytorch ${t.torch}, ${threads} thread(s)`,
          c.model,
          t.samplesPerSecond,
          NaN,
          'PyTorch',
        );
        process.stdout.write(
          `round ${round} ${c.model} pytorch ${threads} thread(s): ${t.samplesPerSecond.toFixed(0)} samples/s\n`,
        );
      }
      ratios.set(c.model, [...(ratios.get(c.model) ?? []), ours.get('default')! / best]);
    }
  }
}
if (typeof torch !== 'string') torch.stop();
// The pure-JS backend once: minutes per Conv-4 step, so only with --all.
for (const c of cases) {
  if (c.model !== 'lenet-300-100' && !options.has('all')) continue;
  const steps = c.model === 'lenet-300-100' ? scaled(40) : 1;
  const r = child({ model: c.model, backend: 'cpu', variants: ['default'], repeats: 1, steps });
  record('cpu (JavaScript)', c.model, r.samples.default![0]!, r.peakRssMiB, r.engine);
}

const fmt = (xs: number[]) =>
  `${median(xs).toFixed(0).padStart(7)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
process.stdout.write(
  `\nsamples/s, median (min–max) over ${rounds} round(s); peak RSS of the training process\n`,
);
for (const row of rows.values()) {
  const rss = row.peakRssMiB.filter(Number.isFinite);
  process.stdout.write(
    `${row.model.padEnd(14)} ${row.label.padEnd(30)} ${fmt(row.samples).padEnd(22)} ${rss.length ? `${Math.max(...rss).toFixed(0)} MiB` : ''}\n`,
  );
}
for (const c of cases) {
  const cost = maskingCosts.get(c.model)!;
  process.stdout.write(
    `masking costs ${c.model}: ${median(cost).toFixed(1)}% per step (rounds: ${cost.map((x) => x.toFixed(1)).join(', ')})\n`,
  );
  const r = ratios.get(c.model);
  if (r)
    process.stdout.write(
      `ratio ${c.model} wasm/pytorch best: ${median(r).toFixed(3)}× (rounds: ${r.map((x) => x.toFixed(2)).join(', ')})\n`,
    );
}
if (typeof torch === 'string') process.stdout.write(torch + '\n');
process.stdout.write(`${cpus().length} cores: ${cpus()[0]?.model}; ${nativeBlasStatus()}\n`);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(
  join(import.meta.dirname, 'results', 'engine.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      rounds,
      native: nativeBlasStatus(),
      rows: [...rows.values()],
      ratios: Object.fromEntries(ratios),
      maskingCostPercent: Object.fromEntries(maskingCosts),
      torch: typeof torch === 'string' ? torch : 'measured',
    },
    null,
    2,
  ),
);
