/**
 * Training throughput on the GPU (WebGPU) against the best CPU path (wasm with the native
 * addon) on the same machine: the real training loop (src/engine/train.ts) on random data,
 * samples per second over timed steps after warm-up steps (which compile the GPU's kernels),
 * each backend in a child process of its own (TICKETLAB_BACKEND forces it, so a CPU
 * emulation such as lavapipe is measured too where it is the only adapter: it says so).
 *
 *   npm run bench:gpu [-- --models resnet-20,vgg-11] [-- --batch 128] [-- --steps 20]
 *
 * Results: a table on stdout and bench/results/gpu.json (machine, devices, command, date).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { parseArgs } from '../src/cli/args.ts';
import { buildArchitecture, describeParams, type ModelName } from '../src/engine/architectures.ts';
import { initBackend } from '../src/engine/backend.ts';
import { Model } from '../src/engine/model.ts';
import { train } from '../src/engine/train.ts';
import { initWeights } from '../src/engine/weights.ts';
import { ENGINE_MODELS } from './engine-models.ts';
import { randomTrainingData } from './random-data.ts';

const WARMUP = 3;

interface Measured {
  samplesPerSecond: number;
  device: string;
}

/** In the child: trains `model` on the forced backend and prints one JSON line. */
async function measure(model: ModelName, batch: number, steps: number): Promise<Measured> {
  const backend = await initBackend();
  const shape = ENGINE_MODELS.find((c) => c.model === model)?.shape;
  if (!shape)
    throw new Error(
      `bench:gpu measures ${ENGINE_MODELS.map((c) => c.model).join(', ')}, not ${model}`,
    );
  const data = randomTrainingData(shape, batch);
  const arch = buildArchitecture(model, shape, 10);
  const net = new Model(arch, initWeights(describeParams(arch), 'glorot-normal', 1));
  const times: number[] = [];
  await train({
    model: net,
    masks: new Map(),
    data,
    settings: {
      optimizer: 'sgd',
      learningRate: 0.01,
      momentum: 0.9,
      weightDecay: 1e-4,
      batchSize: batch,
      iterations: WARMUP + steps,
      evalEvery: 1e9,
    },
    seed: 1,
    // the loss is read back every step, so each time stamp follows a finished step
    onProgress: () => void times.push(performance.now()),
  });
  net.dispose();
  const seconds = (times.at(-1)! - times[WARMUP - 1]!) / 1000;
  return { samplesPerSecond: (steps * batch) / seconds, device: backend.device };
}

const args = parseArgs(process.argv.slice(2), ['batch', 'steps', 'models', 'child']);
const flag = (name: string) => {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
};
const batch = Number(flag('batch') ?? 128);
const steps = Number(flag('steps') ?? 20);
if (flag('child')) {
  const r = await measure(flag('child') as ModelName, batch, steps);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
const models = (flag('models') ?? ENGINE_MODELS.map((c) => c.model).join(',')).split(
  ',',
) as ModelName[];
const rows: { model: string; backend: string; samplesPerSecond: number | null; device: string }[] =
  [];
for (const model of models) {
  for (const backend of ['webgpu', 'wasm']) {
    const child = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1]!,
        '--child',
        model,
        '--batch',
        String(batch),
        '--steps',
        String(steps),
      ],
      { env: { ...process.env, TICKETLAB_BACKEND: backend }, encoding: 'utf8' },
    );
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    const r = child.status === 0 ? (JSON.parse(line) as Measured) : null;
    rows.push({
      model,
      backend,
      samplesPerSecond: r?.samplesPerSecond ?? null,
      device: r?.device ?? `did not run: ${child.stderr.trim().split('\n').at(-1) ?? ''}`,
    });
    console.log(
      `${model} ${backend}: ${r ? r.samplesPerSecond.toFixed(1) : '–'} samples/s (${rows.at(-1)!.device})`,
    );
  }
  const [gpu, cpu] = rows.slice(-2).map((r) => r.samplesPerSecond);
  if (gpu && cpu) console.log(`${model}: GPU / best CPU path = ${(gpu / cpu).toFixed(2)}×`);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/gpu.json',
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { host: hostname(), cpu: cpus()[0]?.model, cores: cpus().length },
      command: `npm run bench:gpu -- ${process.argv.slice(2).join(' ')}`.trim(),
      batch,
      steps,
      rows,
    },
    null,
    2,
  )}\n`,
);
