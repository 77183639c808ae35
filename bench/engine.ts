/**
 * Training throughput of the engine beside PyTorch on the same CPU: Debian's python3-torch
 * (1.13, run with /usr/bin/python3) and the current release (2.x, `pip install torch`, run
 * with the `python3` on PATH), see DEVELOPERS.md.
 *
 *   npm run bench:engine [-- --rounds 3] [-- --quick] [-- --all] [-- --models conv-4]
 *                        [-- --no-torch] [-- --states fresh,openblas,onednn] [-- --no-build]
 *                        [-- --quickstart] [-- --record]
 *
 * Every measurement is the real training loop (src/engine/train.ts, an all-ones mask unless
 * unmasked) on random data at batch 60: samples per second over timed steps after a warm-up,
 * in a child process of its own, whose peak RSS is the training job's.
 *
 * Machine states: the native addon is built into bench/results/addons/ the three ways a
 * machine can have it (scripts/build-native.mjs --into): `fresh` (a compiler only: the
 * addon's own sgemm, convolutions as im2col; TICKETLAB_BLAS=0 TICKETLAB_ONEDNN=0), `openblas`
 * (products on the system BLAS, TICKETLAB_BLAS=1, no oneDNN) and `onednn` (the default build
 * with oneDNN 2's headers installed), each where this machine can build it; each child loads its state's build (TICKETLAB_ADDON).
 * --no-build measures native/'s own build instead, as one state named by what it reports.
 *
 * The engines measured: the default backend as users get it (wasm: the native training step)
 * in every state; in the best state also the same at one thread (`wasm default at 1 thread`,
 * where there are more cores: a campaign job's share, bench/campaign/plan.ts, and the gated
 * training below at one thread too), the same
 * unmasked (the cost of masking: the two alternate in one process, and a round's cost is the
 * median of its adjacent pairs) and
 * tfjs's kernels on that backend (the native step switched off; VGG-11 and ResNet-20 only with
 * --all), the training with unit gates where a campaign trains the model with them (`gated`,
 * bench/engine-models.ts), and evaluation (`evaluate`: examples per second through the native
 * forward pass in inference mode, as training's evaluations and the instability analyses'
 * lines run it; the campaign's plan prices evaluation by it); and the pure-JS cpu backend
 * (LeNet only; Conv-4 with --all). --quickstart also times the README's quickstart
 * (`bin/ticketlab.mjs run examples/quickstart.json`, a fresh data directory) in every state,
 * every round.
 *
 * This machine's speed drifts (±20% within minutes has been seen, and other jobs share its
 * two cores), so the measurements run in rounds that interleave TicketLab's with PyTorch's
 * (1 and 2 threads, each PyTorch in one persistent Python process), and a model's ratio is
 * the median over rounds of TicketLab's default against the best PyTorch (any version, any
 * thread count) in the same round. The load average is recorded at every round's start.
 * Results: a table on stdout and bench/results/engine.json; --record also writes it to
 * bench/records/engine-<date>.json (tracked: BENCHMARKS.md cites those).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from '../src/cli/args.ts';
import { cpuDescription } from '../src/core/cpu.ts';
import { buildArchitecture, describeParams, type ModelName } from '../src/engine/architectures.ts';
import { initBackend, type BackendName } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { kernelThreads, nativeBlas } from '../src/engine/native-blas.ts';
import { NativeTrainingStep, setNativeTrainingStep } from '../src/engine/native-step.ts';
import { evaluate, train } from '../src/engine/train.ts';
import { initWeights } from '../src/engine/weights.ts';
import { denseMask, maskToFloat } from '../src/pruning/mask.ts';
import {
  gatePenalty,
  gateSites,
  initGatedWeights,
  withUnitGates,
} from '../src/pruning/structured/gates.ts';
import { ENGINE_CLASSES, ENGINE_MODELS } from './engine-models.ts';
import { randomTrainingData } from './random-data.ts';
import { engineLabel, median, recordPath } from './records.ts';

const BATCH = 60;
type Variant = 'default' | 'unmasked' | 'tfjs-kernels' | 'gated' | 'evaluate';
/** the variants that train on tfjs's kernels: slower steps, so half as many are timed */
const onTfjsKernels = (v: Variant) => v === 'tfjs-kernels' || v === 'gated';

interface Measurement {
  model: ModelName;
  backend: BackendName;
  /** measured in turn, `repeats` times each, in one process (masked against unmasked), the
   * order reversed every other repeat so that neither variant always runs first */
  variants: Variant[];
  repeats: number;
  steps: number;
  /** the addon build to load (TICKETLAB_ADDON); native/'s own when absent */
  addon?: string;
  /** the native kernels' threads (TICKETLAB_THREADS); every core when absent, as users get */
  threads?: number;
}
interface Measured {
  /** samples/s by variant, one per repeat */
  samples: Partial<Record<Variant, number[]>>;
  peakRssMiB: number;
  engine: string;
}

/** One measurement, in this (child) process. */
async function measure(m: Measurement): Promise<Measured> {
  const step = m.variants.some(onTfjsKernels)
    ? 'tfjs kernels'
    : m.variants.includes('evaluate')
      ? 'native forward pass in inference mode'
      : 'native training step';
  const info = await initBackend(m.backend);
  setNativeTrainingStep(!m.variants.includes('tfjs-kernels'));
  const { shape, gates } = ENGINE_MODELS.find((c) => c.model === m.model)!;
  // no evaluation in between: only training steps are timed
  const data = randomTrainingData(shape, BATCH * 20, ENGINE_CLASSES);
  const arch = buildArchitecture(m.model, shape, ENGINE_CLASSES);
  const specs = describeParams(arch);
  const run = async (variant: Variant, iterations: number) => {
    // the gated search as a campaign trains it (src/pruning/structured/run.ts): the model
    // with its unit gates, their penalty added to the loss (λ = 0.1, louizos2018-l0's)
    const gated = variant === 'gated' ? gates : undefined;
    const model = gated
      ? new Model(withUnitGates(arch, gated), initGatedWeights(arch, gated, 'glorot-normal', 0))
      : new Model(arch, initWeights(specs, 'glorot-normal', 0));
    const started = performance.now();
    await train({
      model,
      masks: variant === 'unmasked' ? new Map() : maskToFloat(denseMask(specs)),
      data,
      penalty: gated
        ? gatePenalty(gated, gateSites(arch, gated), 0.1, data.train.count)
        : undefined,
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
  // Evaluation as train() and the instability analyses run it (the native forward pass in
  // inference mode), over as many examples as the timed steps train, after one pass to warm up.
  const evaluated = async () => {
    const model = new Model(arch, initWeights(specs, 'glorot-normal', 0));
    const native = NativeTrainingStep.forEvaluation(model, BATCH);
    await evaluate(model, data.train, native);
    const passes = Math.max(1, Math.round((m.steps * BATCH) / data.train.count));
    const started = performance.now();
    for (let p = 0; p < passes; p++) await evaluate(model, data.train, native);
    const seconds = (performance.now() - started) / 1000;
    native?.dispose();
    model.dispose();
    return (passes * data.train.count) / seconds;
  };
  const warm = Math.max(2, Math.ceil(m.steps / 10));
  const samples: Measured['samples'] = {};
  for (let r = 0; r < m.repeats; r++)
    for (const variant of r % 2 ? [...m.variants].reverse() : m.variants) {
      if (variant === 'evaluate') {
        (samples.evaluate ??= []).push(await evaluated());
        continue;
      }
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

const { options } = parseArgs(process.argv.slice(2), ['models', 'rounds', 'states']);
const quick = options.has('quick');
const rounds = Number(options.get('rounds') ?? (quick ? 1 : 3));
const models =
  typeof options.get('models') === 'string' ? String(options.get('models')).split(',') : null;
const cases = ENGINE_MODELS.filter((c) => !models || models.includes(c.model));
const scaled = (steps: number) => Math.max(2, Math.round(steps * (quick ? 0.2 : 1)));

/** The environment of a child that loads `addon` (native/'s own build when undefined). */
const withAddon = (addon: string | undefined) => {
  const env = { ...process.env };
  if (addon) env.TICKETLAB_ADDON = addon;
  else delete env.TICKETLAB_ADDON;
  return env;
};

function child(m: Measurement): Measured {
  const env = withAddon(m.addon);
  if (m.threads) env.TICKETLAB_THREADS = String(m.threads);
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, import.meta.filename, '--child', JSON.stringify(m)],
    { encoding: 'utf8', env },
  );
  if (r.status !== 0) throw new Error(`measurement ${JSON.stringify(m)} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

/** A PyTorch in one persistent process, answering one measurement per request. */
class Torch {
  private readonly lines: AsyncIterator<string>;
  private constructor(
    private readonly process: ChildProcessWithoutNullStreams,
    readonly version: string,
  ) {
    this.lines = createInterface({ input: process.stdout })[Symbol.asyncIterator]();
  }
  /** PyTorch under `python`, or why not. */
  static start(python: string, install: string): Torch | string {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      env,
    });
    if (probe.error || probe.status !== 0)
      return `PyTorch under ${python} not measured: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()} (${install})`;
    return new Torch(
      spawn(python, [join(import.meta.dirname, 'engine_torch.py')], { env }),
      probe.stdout.trim(),
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

// Debian's PyTorch (its own OpenBLAS) and the current release (pip's CPU wheel), when the
// `python3` on PATH is another Python with another PyTorch.
const torches: Torch[] = [];
const torchNotes: string[] = [];
if (options.has('no-torch')) torchNotes.push('PyTorch not measured (--no-torch)');
else {
  const pythons: [string, string][] = [
    ['/usr/bin/python3', 'apt-get install -y python3-torch libopenblas0-pthread'],
    ['python3', 'pip install torch (the CPU build)'],
  ];
  for (const [python, install] of pythons) {
    const t = Torch.start(python, install);
    if (typeof t === 'string') torchNotes.push(t);
    else if (torches.some((o) => o.version === t.version)) t.stop();
    else torches.push(t);
  }
}
const torchThreads = [...new Set([1, cpus().length])];

/** A way this machine can have the native addon, and the build that stands for it. */
interface State {
  name: string;
  /** the .node file; undefined: native/'s own build */
  addon?: string;
  /** what the build reports it computes on */
  kernels: string;
}
const STATE_BUILDS: { name: string; env: Record<string, string>; wants: RegExp }[] = [
  { name: 'fresh', env: { TICKETLAB_BLAS: '0', TICKETLAB_ONEDNN: '0' }, wants: /own sgemm/ },
  {
    name: 'openblas',
    env: { TICKETLAB_BLAS: '1', TICKETLAB_ONEDNN: '0' },
    wants: /^products on the system BLAS/,
  },
  { name: 'onednn', env: {}, wants: /oneDNN/ },
];

/** What an addon build computes on, in words, asked in a child process. */
function describeAddon(addon: string | undefined): string {
  const r = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      '--input-type=module',
      '-e',
      `import { nativeBlasStatus } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'engine', 'native-blas.ts'))}; console.log(nativeBlasStatus());`,
    ],
    { encoding: 'utf8', env: withAddon(addon) },
  );
  return (r.stdout.trim() || r.stderr.trim()).replace(/^native kernels, /, '');
}

function buildStates(): State[] {
  if (options.has('no-build')) return [{ name: 'as built', kernels: describeAddon(undefined) }];
  const wanted =
    typeof options.get('states') === 'string' ? String(options.get('states')).split(',') : null;
  const states: State[] = [];
  for (const b of STATE_BUILDS) {
    if (wanted && !wanted.includes(b.name)) continue;
    const dir = join(import.meta.dirname, 'results', 'addons', b.name);
    const built = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '..', 'scripts', 'build-native.mjs'), '--into', dir],
      { encoding: 'utf8', env: { ...process.env, ...b.env } },
    );
    const addon = join(dir, 'build', 'Release', 'ticketlab_blas.node');
    const kernels = describeAddon(addon);
    // a state this machine cannot build (no BLAS, no oneDNN) comes out as another: skipped
    if (built.status === 0 && b.wants.test(kernels)) states.push({ name: b.name, addon, kernels });
    else process.stdout.write(`state ${b.name} not measured: ${kernels}\n`);
  }
  return states;
}
const states = buildStates();
if (states.length === 0) throw new Error('no build of the native addon to measure');
/** the best state: the one users with every library get (masking and tfjs kernels in it) */
const best = states[states.length - 1]!;
for (const st of states) process.stdout.write(`state ${st.name}: ${st.kernels}\n`);

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
/** per model and state: TicketLab's default against the best PyTorch, per round */
const ratios = new Map<string, number[]>();
/** per round: the median over its repeats of unmasked/masked - 1, in percent */
const maskingCosts = new Map<ModelName, number[]>();
/** per state: the quickstart's wall seconds, per round */
const quickstarts = new Map<string, { seconds: number; engine: string }[]>();
const loads: { round: number; loadavg: number[] }[] = [];

/** The README's quickstart in a fresh data directory, with `addon`: wall seconds. */
function quickstart(addon: string | undefined): { seconds: number; engine: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'ticketlab-quickstart-'));
  const started = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      join(import.meta.dirname, '..', 'bin', 'ticketlab.mjs'),
      'run',
      join(import.meta.dirname, '..', 'examples', 'quickstart.json'),
      '--data-dir',
      dataDir,
    ],
    { encoding: 'utf8', env: withAddon(addon) },
  );
  const seconds = (performance.now() - started) / 1000;
  rmSync(dataDir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`the quickstart failed:\n${r.stderr}`);
  const engine = /CPU \(WebAssembly[^\n]*/.exec(r.stdout + r.stderr)?.[0] ?? 'engine not shown';
  return { seconds, engine };
}

const startedAt = new Date().toISOString();
/** Writes the results so far (after every round: a run cut short keeps what it measured). */
function save(roundsDone: number) {
  const result = JSON.stringify(
    {
      roundsDone,
      date: new Date().toISOString(),
      command: `npm run bench:engine -- ${process.argv.slice(2).join(' ')}`.trim(),
      cpu: cpuDescription(),
      cores: cpus().length,
      rounds,
      states: states.map((st) => ({ name: st.name, kernels: st.kernels })),
      loads,
      rows: [...rows.values()],
      ratios: Object.fromEntries(ratios),
      maskingCostPercent: Object.fromEntries(maskingCosts),
      quickstartSeconds: Object.fromEntries(quickstarts),
      torch: torches.map((t) => t.version),
      torchNotes,
    },
    null,
    2,
  );
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', 'engine.json'), result);
  if (options.has('record')) {
    const file = recordPath('engine', startedAt);
    writeFileSync(file, result + '\n');
    if (roundsDone === rounds) process.stdout.write(`recorded: ${file}\n`);
  }
}

for (let round = 1; round <= rounds; round++) {
  loads.push({ round, loadavg: loadavg() });
  for (const c of cases) {
    const ours = new Map<string, number>();
    // the states' order alternates between rounds, so that none always runs first
    for (const st of round % 2 ? states : [...states].reverse()) {
      // Masked and unmasked alternate in one process (the cost of masking is their ratio);
      // the other engines each get a process of their own.
      // In the best state the default also at one thread, where there are more cores: what a
      // campaign's job gets (one core each), and whether the kernels' threads pay off.
      const tfjsKernels: Variant[][] = c.large && !options.has('all') ? [] : [['tfjs-kernels']];
      const gated: Variant[][] = c.gates ? [['gated']] : [];
      // the default, and the gated training where the model has gates, also at one thread
      const oneThread: Variant[][] = cpus().length > 1 ? [['default'], ...gated] : [];
      const groups: { variants: Variant[]; threads?: number }[] =
        st === best
          ? [
              { variants: ['default', 'unmasked'] },
              ...oneThread.map((variants) => ({ variants, threads: 1 })),
              ...[...tfjsKernels, ...gated].map((variants) => ({ variants })),
              { variants: ['evaluate' as const] },
            ]
          : [{ variants: ['default'] }];
      for (const { variants, threads } of groups) {
        const paired = variants.length > 1;
        const steps = scaled(onTfjsKernels(variants[0]!) ? Math.ceil(c.steps / 2) : c.steps);
        const r = child({
          model: c.model,
          backend: 'wasm',
          variants,
          repeats: paired ? (c.large ? 2 : 4) : 1,
          steps,
          addon: st.addon,
          threads,
        });
        if (paired) {
          const masked = r.samples.default!;
          const cost = median(r.samples.unmasked!.map((u, i) => (u / masked[i]! - 1) * 100));
          maskingCosts.set(c.model, [...(maskingCosts.get(c.model) ?? []), cost]);
        }
        for (const variant of variants) {
          const sps = median(r.samples[variant]!);
          const label = engineLabel(variant, st.name, threads);
          if (variant === 'default' && !threads) ours.set(st.name, sps);
          record(label, c.model, sps, r.peakRssMiB, r.engine);
          process.stdout.write(
            `round ${round} ${c.model} ${label}: ${sps.toFixed(0)} samples/s (${r.engine})\n`,
          );
        }
      }
    }
    let bestTorch = 0;
    for (const torch of torches)
      for (const threads of torchThreads) {
        const t = await torch.measure(c.model, threads, scaled(c.steps));
        bestTorch = Math.max(bestTorch, t.samplesPerSecond);
        record(
          `pytorch ${t.torch}, ${threads} thread(s)`,
          c.model,
          t.samplesPerSecond,
          NaN,
          'PyTorch',
        );
        process.stdout.write(
          `round ${round} ${c.model} pytorch ${t.torch} ${threads} thread(s): ${t.samplesPerSecond.toFixed(0)} samples/s\n`,
        );
      }
    if (bestTorch > 0)
      for (const [state, sps] of ours) {
        const key = `${c.model}, ${state}`;
        ratios.set(key, [...(ratios.get(key) ?? []), sps / bestTorch]);
      }
  }
  if (options.has('quickstart'))
    for (const st of round % 2 ? states : [...states].reverse()) {
      const q = quickstart(st.addon);
      quickstarts.set(st.name, [...(quickstarts.get(st.name) ?? []), q]);
      process.stdout.write(
        `round ${round} quickstart, ${st.name}: ${q.seconds.toFixed(1)} s (${q.engine})\n`,
      );
    }
  save(round);
}
for (const torch of torches) torch.stop();
// The pure-JS backend once: minutes per Conv-4 step, so only with --all.
for (const c of cases) {
  if (c.model !== 'lenet-300-100' && !options.has('all')) continue;
  const steps = c.model === 'lenet-300-100' ? scaled(40) : 1;
  const r = child({
    model: c.model,
    backend: 'cpu',
    variants: ['default'],
    repeats: 1,
    steps,
    addon: best.addon,
  });
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
    `${row.model.padEnd(14)} ${row.label.padEnd(34)} ${fmt(row.samples).padEnd(22)} ${rss.length ? `${Math.max(...rss).toFixed(0)} MiB` : ''}\n`,
  );
}
for (const c of cases) {
  const cost = maskingCosts.get(c.model)!;
  process.stdout.write(
    `masking costs ${c.model}: ${median(cost).toFixed(1)}% per step (rounds: ${cost.map((x) => x.toFixed(1)).join(', ')})\n`,
  );
  for (const st of states) {
    const r = ratios.get(`${c.model}, ${st.name}`);
    if (r)
      process.stdout.write(
        `ratio ${c.model} wasm ${st.name}/pytorch best: ${median(r).toFixed(3)}× (rounds: ${r.map((x) => x.toFixed(2)).join(', ')})\n`,
      );
  }
}
for (const [state, qs] of quickstarts)
  process.stdout.write(
    `quickstart ${state}: ${median(qs.map((q) => q.seconds)).toFixed(1)} s (rounds: ${qs.map((q) => q.seconds.toFixed(1)).join(', ')})\n`,
  );
for (const note of torchNotes) process.stdout.write(note + '\n');
process.stdout.write(
  `${cpus().length} cores: ${cpuDescription()}; load average at each round's start: ${loads.map((l) => l.loadavg.map((x) => x.toFixed(2)).join('/')).join(', ')}\n`,
);
save(rounds);
