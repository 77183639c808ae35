/**
 * Training throughput on the GPU (WebGPU) against the best CPU path (wasm with the native
 * addon) on the same machine: the real training loop (src/engine/train.ts) on random data,
 * samples per second over `rounds` windows of `steps` timed steps after warm-up steps (which
 * compile the GPU's kernels), each backend in a child process of its own
 * (TICKETLAB_BACKEND forces it, so a CPU emulation such as lavapipe is measured too where it
 * is the only adapter: it says so). PyTorch (bench/engine_torch.py under `python3`) trains
 * the same models with the same batch and optimiser on CUDA where it has it, and on every
 * core of the CPU.
 *
 *   npm run bench:gpu [-- --models resnet-20,vgg-11] [-- --batch 128] [-- --steps 20]
 *                     [-- --rounds 3] [-- --timeout 300] [-- --no-torch] [-- --record]
 *
 * Results: a table on stdout and bench/results/gpu.json; --record also
 * bench/records/gpu-<date>.json, from which `npm run bench:report` draws BENCHMARKS.md's table.
 * scripts/gpu-check.sh packs this benchmark for a GPU machine that has no Node.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../src/cli/args.ts';
import { buildArchitecture, describeParams, type ModelName } from '../src/engine/architectures.ts';
import { initBackend } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { train } from '../src/engine/train.ts';
import { initWeights } from '../src/engine/weights.ts';
import { ENGINE_CLASSES, ENGINE_MODELS } from './engine-models.ts';
import { randomTrainingData } from './random-data.ts';
import {
  recordPath,
  theseVersions,
  thisCommand,
  thisMachine,
  type GpuBackend,
  type GpuRecord,
  type GpuRow,
} from './records.ts';

const WARMUP = 3;
/** bench:gpu's optimiser, for our engine and PyTorch alike */
const SGD = { learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4 };

interface Measured {
  samplesPerSecond: number[];
  device: string;
}

/** In the child: trains `model` on the forced backend and prints one JSON line. */
async function measure(
  model: ModelName,
  batch: number,
  steps: number,
  rounds: number,
): Promise<Measured> {
  const backend = await initBackend();
  const shape = ENGINE_MODELS.find((c) => c.model === model)?.shape;
  if (!shape)
    throw new Error(
      `bench:gpu measures ${ENGINE_MODELS.map((c) => c.model).join(', ')}, not ${model}`,
    );
  const data = randomTrainingData(shape, batch);
  const arch = buildArchitecture(model, shape, ENGINE_CLASSES);
  const net = new Model(arch, initWeights(describeParams(arch), 'glorot-normal', 1));
  const times: number[] = [];
  await train({
    model: net,
    masks: new Map(),
    data,
    settings: {
      optimizer: 'sgd',
      ...SGD,
      batchSize: batch,
      iterations: WARMUP + rounds * steps,
      evalEvery: 1e9,
    },
    seed: 1,
    // the loss is read back every step, so each time stamp follows a finished step
    onProgress: () => void times.push(performance.now()),
  });
  net.dispose();
  const samplesPerSecond = Array.from({ length: rounds }, (_, r) => {
    const start = times[WARMUP - 1 + r * steps]!;
    const end = times[WARMUP - 1 + (r + 1) * steps]!;
    return (steps * batch * 1000) / (end - start);
  });
  return { samplesPerSecond, device: backend.device };
}

/** The last line of a child's stderr, or why it did not finish. */
function failure(r: ReturnType<typeof spawnSync>, timeoutS: number): string {
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    return `did not finish in ${timeoutS} s`;
  const why = String(r.stderr ?? '')
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .at(-1);
  return `did not run: ${why ?? r.error?.message ?? `exit ${r.status}`}`;
}

/** Our engine on `backend`, in a child process. */
function ours(
  model: ModelName,
  backend: 'webgpu' | 'wasm',
  o: { batch: number; steps: number; rounds: number; timeoutS: number },
): GpuRow {
  const r = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1]!,
      '--child',
      model,
      ...['--batch', String(o.batch), '--steps', String(o.steps), '--rounds', String(o.rounds)],
    ],
    {
      env: { ...process.env, TICKETLAB_BACKEND: backend },
      encoding: 'utf8',
      timeout: o.timeoutS * 1000,
    },
  );
  if (r.status !== 0) return { model, backend, samples: null, device: failure(r, o.timeoutS) };
  const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Measured;
  return { model, backend, samples: m.samplesPerSecond, device: m.device };
}

/** PyTorch's environment for benchmarks: OpenBLAS's machine overrides unset. */
const torchEnv = { ...process.env };
delete torchEnv.OPENBLAS_CORETYPE;
delete torchEnv.OPENBLAS_L2_SIZE;

/** Where the `python3` on PATH runs PyTorch: CUDA and the CPU, the CPU, or nowhere. */
function torchBackends(): GpuBackend[] {
  const probe = spawnSync(
    'python3',
    ['-c', 'import torch; print(torch.__version__, torch.cuda.is_available())'],
    { encoding: 'utf8', env: torchEnv },
  );
  if (probe.status !== 0) return [];
  return probe.stdout.trim().endsWith('True') ? ['torch-cuda', 'torch-cpu'] : ['torch-cpu'];
}

/** PyTorch on `backends`, `rounds` measurements each, in one python3 process. */
function torch(
  model: ModelName,
  backends: GpuBackend[],
  o: { batch: number; steps: number; rounds: number; timeoutS: number },
): GpuRow[] {
  if (backends.length === 0) return [];
  const threads = cpus().length;
  const requests = backends.flatMap((backend) =>
    Array.from({ length: o.rounds }, () =>
      JSON.stringify({
        model,
        threads,
        steps: o.steps,
        batch: o.batch,
        optimizer: 'sgd',
        device: backend === 'torch-cuda' ? 'cuda' : 'cpu',
      }),
    ),
  );
  const r = spawnSync('python3', [join(import.meta.dirname, 'engine_torch.py')], {
    input: requests.join('\n') + '\n',
    encoding: 'utf8',
    env: torchEnv,
    timeout: o.timeoutS * 1000,
  });
  const answers = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { samplesPerSecond: number; torch: string; device: string });
  return backends.map((backend, b) => {
    const mine = answers.slice(b * o.rounds, (b + 1) * o.rounds);
    return mine.length === o.rounds
      ? {
          model,
          backend,
          samples: mine.map((a) => a.samplesPerSecond),
          device: `PyTorch ${mine[0]!.torch} on ${backend === 'torch-cuda' ? mine[0]!.device : `${threads} CPU threads`}`,
        }
      : { model, backend, samples: null, device: `PyTorch ${failure(r, o.timeoutS)}` };
  });
}

const args = parseArgs(process.argv.slice(2), [
  'batch',
  'steps',
  'rounds',
  'models',
  'timeout',
  'child',
]);
const flag = (name: string) => {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
};
const settings = {
  batch: Number(flag('batch') ?? 128),
  steps: Number(flag('steps') ?? 20),
  rounds: Number(flag('rounds') ?? 3),
  timeoutS: Number(flag('timeout') ?? 300),
};
if (flag('child')) {
  const r = await measure(
    flag('child') as ModelName,
    settings.batch,
    settings.steps,
    settings.rounds,
  );
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
const models = (flag('models') ?? ENGINE_MODELS.map((c) => c.model).join(',')).split(
  ',',
) as ModelName[];
const fmt = (xs: number[] | null) =>
  xs ? `${xs.map((x) => x.toFixed(1)).join(', ')} samples/s` : '–';
const record: GpuRecord = {
  date: new Date().toISOString(),
  command: thisCommand('bench:gpu'),
  machine: thisMachine(),
  versions: theseVersions(),
  batch: settings.batch,
  steps: settings.steps,
  warmupSteps: WARMUP,
  rows: [],
};
const recordFile = args.options.has('record') ? recordPath('gpu', record.date) : null;
/** Written after each model, so that a run stopped midway keeps the models it measured. */
function save() {
  const text = `${JSON.stringify(record, null, 2)}\n`;
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', 'gpu.json'), text);
  if (recordFile) writeFileSync(recordFile, text);
}
const torchOn = args.options.has('no-torch') ? [] : torchBackends();
for (const model of models) {
  const measured = [
    ours(model, 'webgpu', settings),
    ours(model, 'wasm', settings),
    ...torch(model, torchOn, settings),
  ];
  for (const row of measured)
    console.log(`${model} ${row.backend}: ${fmt(row.samples)} (${row.device})`);
  record.rows.push(...measured);
  save();
}
if (args.options.has('record')) console.log(`recorded ${recordFile}`);
