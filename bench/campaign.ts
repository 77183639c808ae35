/**
 * Runs a part of the reproduction campaign (bench/campaign/parts.ts) and keeps its raw
 * results in the repository:
 *
 *   npm run bench:campaign -- --part fc2019-lenet [--seeds 5] [--hours 2.5] [--concurrency 2]
 *                             [--iterations N] [--levels N] [--data-dir DIR]
 *                             [--records DIR (default bench/records)] [--dataset FOLDER]
 *   npm run bench:campaign -- --plan [--part P] [--seeds N] [--iterations N] [--levels N]
 *                             [--concurrency 2] [--dataset FOLDER]
 *
 * One experiment per seed (and per model or score the part compares) runs through the app's
 * own scheduler. Each finished experiment writes bench/records/campaign/<part>/<label>-seed<s>-
 * <spec hash>.json: its resolved spec, every ticket's measurements, the dataset, machine,
 * versions, date and command. What is already recorded is skipped, so a campaign runs in parts
 * of at most `--hours` (default 2.5): at that time (or on Ctrl-C or SIGTERM) the running jobs pause with their checkpoints
 * in the data folder (default bench/results/campaign-data, kept between runs), and the same
 * command continues them. `--iterations`/`--levels` shrink the budget and `--dataset` names
 * another ../shared/datasets folder (the spec and the record say so). `npm run bench:report` turns the records into BENCHMARKS.md's tables.
 *
 * Every run first prints the part's plan (bench/campaign/plan.ts): its experiments, trainings,
 * iterations, training samples and evaluated examples, and its hours estimated from the newest
 * bench:engine records in bench/records; each record keeps its experiment's estimate beside
 * the training time measured. `--plan` prints the plan of one part (or all) and trains nothing.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from '../src/cli/args.ts';
import { resolveSpec } from '../src/api/spec.ts';
import { specHash } from '../src/api/spec-hash.ts';
import { kernelThreads, workerThreads } from '../src/engine/native-blas.ts';
import { Lab } from '../src/services/lab.ts';
import { findPart, PARTS, type Budget } from './campaign/parts.ts';
import {
  datasetSize,
  formatHours,
  formatPlan,
  planPart,
  readEngineSpeeds,
  type Workers,
} from './campaign/plan.ts';
import {
  campaignRecordPath,
  type CampaignRecord,
  type EstimateRecord,
  type StructureRecord,
} from './campaign/record.ts';
import { RECORDS, theseVersions, thisCommand, thisMachine } from './records.ts';

const { options } = parseArgs(process.argv.slice(2), [
  'part',
  'seeds',
  'hours',
  'concurrency',
  'iterations',
  'levels',
  'data-dir',
  'records',
  'dataset',
]);
const text = (k: string) =>
  typeof options.get(k) === 'string' ? String(options.get(k)) : undefined;
const num = (k: string) => (text(k) === undefined ? undefined : Number(text(k)));

const budget: Budget = { iterations: num('iterations'), levels: num('levels') };
const concurrency = num('concurrency') ?? Math.max(1, cpus().length);
// each job's threads as the scheduler sets them (TICKETLAB_THREADS, where set, for all)
const workers: Workers = {
  cores: availableParallelism(),
  concurrency,
  threads: process.env.TICKETLAB_THREADS ? kernelThreads() : workerThreads(concurrency),
};
const measured = readEngineSpeeds(RECORDS);

if (options.has('plan')) {
  for (const p of text('part') ? [findPart(text('part')!)] : PARTS) {
    const dataset = datasetSize(text('dataset') ?? p.datasets[0]!);
    const seeds = num('seeds') ?? p.seeds;
    const plan = planPart(p, { budget, seeds, dataset, measured, workers });
    process.stdout.write(`${formatPlan(plan).join('\n')}\n`);
  }
  process.exit(0);
}

const part = findPart(text('part') ?? '');
const seeds = num('seeds') ?? part.seeds;
const hours = num('hours') ?? 2.5;
const records = join(resolve(text('records') ?? RECORDS), 'campaign');
const dataDir = resolve(text('data-dir') ?? join(import.meta.dirname, 'results', 'campaign-data'));
const SHARED = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');

const found = (text('dataset') ? [text('dataset')!] : part.datasets).find((f) =>
  existsSync(join(SHARED, f)),
);
if (!found) {
  process.stderr.write(`${part.name}: none of ${part.datasets.join(', ')} is in ${SHARED}\n`);
  process.exit(1);
}
const folder: string = found;

const lab = Lab.open({ dataDir, runAll: true, concurrency });
const dataset = await lab.invoke('datasets.import', { path: join(SHARED, folder), name: folder });
const plan = planPart(part, {
  budget,
  seeds,
  dataset: {
    folder,
    train: dataset.trainCount,
    test: dataset.testCount,
    inputShape: dataset.inputShape,
    classes: dataset.classNames.length,
  },
  measured,
  workers,
});
process.stdout.write(`${formatPlan(plan).join('\n')}\n`);

/** The part's experiments not yet recorded, each with the file its record goes to. */
const planned: {
  label: string;
  seed: number;
  spec: Record<string, unknown>;
  file: string;
  estimate?: EstimateRecord;
}[] = [];
for (let seed = 0; seed < seeds; seed++) {
  for (const { label, spec } of part.experiments(seed, dataset.id, budget)) {
    const file = campaignRecordPath(records, part.name, label, seed, specHash(resolveSpec(spec)));
    if (existsSync(file)) process.stdout.write(`recorded already: ${file}\n`);
    else planned.push({ label, seed, spec, file, estimate: estimateOf(label, seed) });
  }
}

const left = planned.flatMap((p) => (p.estimate ? [p.estimate.hours] : []));
process.stdout.write(
  `to run: ${planned.length} of ${plan.experiments.length} experiments${left.length > 0 && left.length === planned.length ? `, estimated ${formatHours(left.reduce((a, b) => a + b, 0))} of jobs` : ''}\n`,
);

/** The plan's estimate of one experiment, as its record keeps it. */
function estimateOf(label: string, seed: number): EstimateRecord | undefined {
  const e = plan.experiments.find((x) => x.label === label && x.seed === seed)!;
  const speed = plan.speeds.find((s) => s.model === e.model);
  if (e.hours === null || !speed) return undefined;
  const { runs, iterations, trainingSamples, evaluatedExamples, hours } = e;
  return { hours, runs, iterations, trainingSamples, evaluatedExamples, speed, workers };
}

const deadline = Date.now() + hours * 3600_000;
const experiments = new Map<string, (typeof planned)[number]>();
const jobs: string[] = [];
for (const p of planned) {
  const created = await lab.invoke('experiments.create', { spec: p.spec, start: true });
  experiments.set(created.experiment.id, p);
  if (created.job) jobs.push(created.job.id);
  process.stdout.write(
    `${created.created ? 'started' : 'continued'} ${p.label} seed ${p.seed}: ${created.experiment.id}\n`,
  );
}

/** Writes the record of a finished experiment (once); says how any other one ended. */
async function record(experimentId: string): Promise<void> {
  const p = experiments.get(experimentId)!;
  if (existsSync(p.file)) return;
  const detail = await lab.invoke('experiments.get', { id: experimentId });
  if (detail.status !== 'done') {
    process.stdout.write(`${p.label} seed ${p.seed}: ${detail.status} ${detail.error ?? ''}\n`);
    return;
  }
  const result: CampaignRecord = {
    part: part.name,
    label: p.label,
    seed: p.seed,
    specHash: detail.specHash,
    spec: detail.spec,
    dataset: { id: dataset.id, folder, train: dataset.trainCount, test: dataset.testCount },
    ...(p.estimate ? { estimate: p.estimate } : {}),
    tickets: await Promise.all(
      detail.tickets
        .filter((t) => t.trained)
        .map(async (t) => ({
          level: t.level,
          method: t.method,
          remainingWeights: t.remainingWeights,
          testAccuracy: t.testAccuracy,
          finalTestAccuracy: t.finalTestAccuracy,
          earlyStopIteration: t.earlyStopIteration,
          wallTimeMs: t.wallTimeMs,
          backend: t.backend,
          ...(detail.spec.method === 'structured' ? { structure: await structure(t.id) } : {}),
        })),
    ),
    machine: thisMachine(),
    versions: theseVersions(),
    date: new Date().toISOString(),
    command: thisCommand('bench:campaign'),
  };
  mkdirSync(join(p.file, '..'), { recursive: true });
  writeFileSync(p.file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`recorded ${p.file}\n`);
}

/** A structured ticket's architecture, size, speed-up and Early-Bird searches. */
async function structure(ticketId: string): Promise<StructureRecord> {
  const { ticket, structure } = await lab.invoke('tickets.get', { id: ticketId });
  return {
    remainingParams: ticket.remainingParams,
    totalParams: ticket.totalParams,
    speedup: ticket.speedup?.batch64 ?? null,
    units: (structure?.layers ?? []).map((l) => l.units),
    earlyBird: (structure?.earlyBird ?? []).map((eb) => ({
      ratio: eb.ratio,
      detectedEpoch: eb.detectedEpoch,
      prunedEpoch: eb.prunedEpoch,
      distancesToLast: eb.distances.map((row) => row.at(-1) ?? 0),
    })),
  };
}

// records are written as experiments finish, so a campaign stopped any way keeps them
let timeIsUp = false;
const finished = jobs.map(async (jobId) => {
  const job = await lab.scheduler.wait(jobId);
  if (!timeIsUp) await record(job.experimentId);
});
// Ctrl-C or a kill stops the campaign the way its time limit does: running jobs pause
let why = `${hours} h are up`;
const timeUp = new Promise<void>((done) => {
  const stop = (reason: string) => {
    why = reason;
    timeIsUp = true;
    done();
  };
  setTimeout(() => stop(why), Math.max(0, deadline - Date.now())).unref();
  // `on`, not `once`: npm and tsx pass a Ctrl-C on too, and a second one must not kill us
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => timeIsUp || stop(`stopped by ${signal}`));
});
await Promise.race([Promise.all(finished), timeUp]);
if (timeIsUp) {
  process.stdout.write(
    `${why}: running jobs pause with their checkpoints in ${dataDir}; the same command continues them\n`,
  );
  await lab.scheduler.close({ pauseRunning: true });
}
// what finished before this run (or while the time ran out) is recorded too
for (const id of experiments.keys()) await record(id);
await lab.close();
