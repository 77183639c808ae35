/**
 * Runs a part of the reproduction campaign (bench/campaign/parts.ts) and keeps its raw
 * results in the repository; `npm run bench:campaign -- --help` prints the usage (USAGE).
 *
 * One experiment per seed (and per model or score the part compares) runs through the app's
 * own scheduler. Each finished experiment writes bench/records/campaign/<part>/<label>-seed<s>-
 * <spec hash>.json: its resolved spec, every ticket's measurements, the dataset, machine,
 * versions, date and command. A transfer part (Morcos et al. 2019) runs its experiment on
 * each of its datasets, and as each is done trains its tickets at the part's transfer levels
 * on the other datasets (`transfer.create`), recording each transfer as
 * <label>-level<L>-to-<target>-seed<s>-<source spec hash>.json. A part with instability
 * analyses (Frankle et al. 2020) asks the app for them (`tickets.instability`) once an
 * experiment is done, and records the experiment when every curve is in. What is already
 * recorded is skipped, so a campaign runs in parts of at most `--hours` (default 2.5): at
 * that time (or on Ctrl-C or SIGTERM) the running jobs pause with their checkpoints in the
 * data folder (default bench/results/campaign-data, kept between runs), and the same command
 * continues them. `--iterations`/`--levels` shrink the budget, `--compressions` (log10) a
 * scores part's grid, `--only` runs some of a part's experiments by label (as the plan lists
 * them), and `--dataset` names other dataset folders (the spec and the record say so).
 * `npm run bench:report` turns the records into BENCHMARKS.md's tables.
 *
 * The jobs run where the data folder's compute target says (`ticketlab target`, local by
 * default); `--target` sets it for the data folder, so the runs that continue a part keep it.
 * On a Slurm cluster every experiment, transfer and instability analysis is one cluster job,
 * all of a kind submitted at once, and each record names the target and the nodes its jobs
 * trained on, as their workers reported them.
 *
 * Every run first prints the part's plan (bench/campaign/plan.ts): its experiments, trainings,
 * iterations, training samples and evaluated examples, and its hours estimated from the newest
 * bench:engine records in bench/records (a structured part's compacted models at the speed-ups
 * the campaign's records measured for them); each record keeps its experiment's estimate beside
 * the training time measured. A dense network an earlier run trained into the data folder is
 * priced as copied, as the app copies it (src/jobs/dense-reuse.ts), by `--plan` too, which
 * prints the plan of one part (or all) and trains nothing.
 * A transfer part's plan covers both stages: each dataset's experiments and their transfers.
 * `--complete-records` adds to a part's records made by older code what this code records
 * (each ticket's layers and whether its mask leaves a path), from the data folder their
 * experiments trained in.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { MethodOutput } from '../src/api/contract.ts';
import { parseArgs } from '../src/cli/args.ts';
import { resolveSpec } from '../src/api/spec.ts';
import { ComputeTarget, type ComputeTargetSpec } from '../src/api/sweep.ts';
import { readReports } from '../src/cluster/job-folder.ts';
import type { NodeMachine } from '../src/jobs/protocol.ts';
import { getClusterJob } from '../src/store/cluster-jobs.ts';
import { specHash } from '../src/api/spec-hash.ts';
import { kernelThreads, workerThreads } from '../src/engine/native-blas.ts';
import { denseTrainedAlready } from '../src/jobs/dense-reuse.ts';
import { RESUMABLE } from '../src/jobs/scheduler.ts';
import { Lab } from '../src/services/lab.ts';
import { ticketArchitecture } from '../src/services/ticket-architecture.ts';
import { Store } from '../src/store/store.ts';
import { findPart, partExperiments, PARTS, type Budget } from './campaign/parts.ts';
import {
  datasetSize,
  formatHours,
  formatPlan,
  partAnalyses,
  planPart,
  readCompactedSpeedups,
  readEngineSpeeds,
  sourceLabel,
  transferLabel,
  type DatasetSize,
  type PartPlan,
  type PlannedAnalyses,
  type Workers,
} from './campaign/plan.ts';
import {
  campaignRecordPath,
  type CampaignRecord,
  type EstimateRecord,
  type InstabilityRecord,
  type LayerRecord,
  type StructureRecord,
  type TransferSource,
} from './campaign/record.ts';
import { unitsReachOutput } from './layer-path.ts';
import { RECORDS, SHARED_DATASETS, theseVersions, thisCommand, thisMachine } from './records.ts';

const USAGE = `usage:
  npm run bench:campaign -- --part P [--seeds 5] [--hours 2.5] [--concurrency N (default: the cores)]
                            [--iterations N] [--levels N] [--compressions C[,C…]]
                            [--only LABEL[,LABEL…]] [--data-dir DIR]
                            [--records DIR (default bench/records)] [--dataset FOLDER[,FOLDER…]]
                            [--datasets-dir DIR (default ../shared/datasets)]
                            [--target slurm-target.json | local]
  npm run bench:campaign -- --plan [--part P] [--seeds N] [--iterations N] [--levels N]
                            [--compressions C[,C…]] [--only LABEL[,LABEL…]]
                            [--concurrency N] [--dataset FOLDER[,FOLDER…]]
                            [--target slurm-target.json]
  npm run bench:campaign -- --complete-records --part P [--records DIR] [--data-dir DIR]
the parts: ${PARTS.map((p) => p.name).join(', ')}
`;
if (process.argv.includes('--help')) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const VALUED = [
  'part',
  'seeds',
  'hours',
  'concurrency',
  'iterations',
  'levels',
  'compressions',
  'only',
  'data-dir',
  'records',
  'dataset',
  'datasets-dir',
  'target',
];
const { options } = parseArgs(process.argv.slice(2), VALUED);
// a mistyped option must not start a run of hours at another budget than the one meant
const unknown = [...options.keys()].filter(
  (k) => !VALUED.includes(k) && k !== 'plan' && k !== 'complete-records',
);
if (unknown.length > 0) {
  process.stderr.write(
    `bench:campaign: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `--${k}`).join(', ')}.\n${USAGE}`,
  );
  process.exit(2);
}
const text = (k: string) =>
  typeof options.get(k) === 'string' ? String(options.get(k)) : undefined;
const num = (k: string) => (text(k) === undefined ? undefined : Number(text(k)));

const list = (k: string) => text(k)?.split(',');
const budget: Budget = {
  iterations: num('iterations'),
  levels: num('levels'),
  compressions: list('compressions')?.map(Number),
  labels: list('only'),
};
const concurrency = num('concurrency') ?? Math.max(1, cpus().length);
// each job's threads as the scheduler sets them (TICKETLAB_THREADS, where set, for all)
const localWorkers: Workers = process.env.TICKETLAB_THREADS
  ? { cores: availableParallelism(), concurrency, threads: kernelThreads() }
  : {
      cores: availableParallelism(),
      concurrency,
      threads: workerThreads(concurrency),
      sharesCores: true,
    };
const measured = readEngineSpeeds(RECORDS);
const recordsRoot = resolve(text('records') ?? RECORDS);
const records = join(recordsRoot, 'campaign');
// the compacted models' speed-ups the records measured, for the plan's structured parts
const compacted = readCompactedSpeedups(recordsRoot);

/** `--target`: a Slurm target's JSON file (as `ticketlab target` takes it), or `local`. */
function targetOption(): ComputeTargetSpec | undefined {
  const value = text('target');
  if (value === undefined) return undefined;
  if (value === 'local') return { kind: 'local' };
  const refuse = (why: string): never => {
    process.stderr.write(`--target ${value}: ${why}\n`);
    process.exit(1);
  };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(value, 'utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    return refuse((e as Error).message);
  }
  const parsed = ComputeTarget.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return refuse(`${issue.path.join('.') || 'target'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * How the part's jobs run: on this machine, `concurrency` at a time; on a cluster, every one
 * at once on its `cpusPerTask` cores (a cluster with room for them all; the estimate takes
 * this machine's speeds for the nodes').
 */
function workersOn(target: ComputeTargetSpec, experiments: number): Workers {
  if (target.kind === 'local') return localWorkers;
  const threads = target.cpusPerTask;
  return { cores: experiments * threads, concurrency: experiments, threads };
}

/**
 * The part's plan on `target` (on a cluster, every experiment at once: as many workers as the
 * plan has experiments); a budget the app's checks refuse ends the run with their message.
 */
function planOn(
  p: (typeof PARTS)[number],
  target: ComputeTargetSpec,
  options: Omit<Parameters<typeof planPart>[1], 'workers'>,
): PartPlan {
  try {
    const local = planPart(p, { ...options, workers: localWorkers });
    if (target.kind === 'local') return local;
    return planPart(p, { ...options, workers: workersOn(target, local.experiments.length) });
  } catch (e) {
    process.stderr.write(`${p.name} at this budget: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  }
}

const dataDir = resolve(text('data-dir') ?? join(import.meta.dirname, 'results', 'campaign-data'));
const SHARED = resolve(text('datasets-dir') ?? SHARED_DATASETS);

if (options.has('plan')) {
  // the data folder's store alone, read: what a run would find trained, and no job taken over
  const store = existsSync(join(dataDir, 'ticketlab.db')) ? Store.open(dataDir) : null;
  const imported = store?.listDatasets() ?? [];
  for (const p of text('part') ? [findPart(text('part')!)] : PARTS) {
    const datasets = (text('dataset')?.split(',') ?? p.datasets).map(datasetSize);
    const seeds = num('seeds') ?? p.seeds;
    const plan = planOn(p, targetOption() ?? { kind: 'local' }, {
      budget,
      seeds,
      datasets,
      measured,
      compacted,
      denseTrainedAlready: (spec) =>
        imported
          .filter((d) => d.sourcePath === join(SHARED, spec.dataset))
          .some((d) => denseTrainedAlready(store!, { ...spec, dataset: d.id })),
    });
    process.stdout.write(`${formatPlan(plan, thisMachine().cpu).join('\n')}\n`);
  }
  store?.close();
  process.exit(0);
}

if (!text('part')) {
  process.stderr.write(`bench:campaign: which part? --part P names it.\n${USAGE}`);
  process.exit(2);
}
const part = findPart(text('part')!);
const seeds = num('seeds') ?? part.seeds;
const hours = num('hours') ?? 2.5;
// the commit this run started from: one made while it trains is not the code its jobs run
const versions = theseVersions();

/** A ticket's prunable layers as its record keeps them. */
const layersOf = (t: MethodOutput<'experiments.get'>['tickets'][number]): LayerRecord[] =>
  t.remainingWeightsPerLayer.map(({ layer, total, kept }) => ({ layer, total, kept }));

/**
 * Whether the ticket's mask leaves a path of kept weights from an input unit to an output
 * (bench/layer-path.ts), read from its stored mask; undefined for a ticket without one (a
 * compacted structured model).
 */
function reachesOutput(store: Store, ticketId: string): boolean | undefined {
  const row = store.getTicket(ticketId);
  if (!row?.maskBlob) return undefined;
  const { arch, dataset } = ticketArchitecture(store, row);
  const mask = store.getTensors(row.maskBlob);
  return unitsReachOutput(
    arch.layers,
    dataset.inputShape,
    (kernel) => mask.get(kernel)?.data as Uint8Array | undefined,
  );
}

/** What a record keeps of a ticket's mask: its layers, and whether the input reaches the output. */
const maskOf = (store: Store, t: MethodOutput<'experiments.get'>['tickets'][number]) => {
  const reaches = reachesOutput(store, t.id);
  return { layers: layersOf(t), ...(reaches === undefined ? {} : { reachesOutput: reaches }) };
};

/**
 * `--complete-records`: adds to the part's records what this code records and they lack (each
 * ticket's `layers` and `reachesOutput`), read from the same experiment in this data folder,
 * and trains nothing.
 * The record says what was added, when and by which code (`completed`); a record whose
 * experiment this folder lacks (another machine's run) or a transfer's (its spec hash names
 * its source) stays as it is.
 */
async function completeRecords(): Promise<void> {
  // it only reads the data folder: it takes over no job a stopped run left
  const lab = Lab.open({ dataDir });
  const folder = join(records, part.name);
  const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.json')) : [];
  const command = thisCommand('bench:campaign');
  let done = 0;
  for (const name of files.sort()) {
    const file = join(folder, name);
    const r = JSON.parse(readFileSync(file, 'utf8')) as CampaignRecord;
    if (r.transfer) continue;
    const experiment = lab.store.findExperimentsByHash(r.specHash).find((e) => e.status === 'done');
    const detail = experiment && (await lab.invoke('experiments.get', { id: experiment.id }));
    const stored = (t: { level: number; method: string }) =>
      detail?.tickets.find((d) => d.trained && d.level === t.level && d.method === t.method);
    // the same experiment keeps the same tickets: a ticket missing or of another size says not
    const same = r.tickets.every((t) => stored(t)?.remainingWeights === t.remainingWeights);
    if (!same) {
      process.stdout.write(`${name}: its experiment is not in ${dataDir}; left as it is\n`);
      continue;
    }
    const tickets = r.tickets.map((t) => ({ ...t, ...maskOf(lab.store, stored(t)!) }));
    const added = (['layers', 'reachesOutput'] as const)
      .filter((f) => tickets.some((t, i) => t[f] !== undefined && r.tickets[i]![f] === undefined))
      .map((f) => `tickets[].${f}`);
    if (added.length === 0) continue;
    const fields = [...new Set([...(r.completed?.fields ?? []), ...added])];
    const completed = { fields, date: new Date().toISOString(), command, versions };
    writeFileSync(file, JSON.stringify({ ...r, tickets, completed }, null, 2) + '\n');
    done++;
  }
  await lab.close();
  process.stdout.write(`completed ${done} of ${files.length} records of ${part.name}\n`);
}
if (options.has('complete-records')) {
  await completeRecords();
  process.exit(0);
}

/** What is missing of the dataset folders the part needs, said as the refusal; null if none. */
function missingDatasets(named: string[], present: string[]): string | null {
  if (!part.transferLevels)
    return present.length > 0 ? null : `${part.name}: none of ${named.join(', ')} is in ${SHARED}`;
  // a transfer part trains each dataset's tickets on the others, so it needs every one
  if (named.length < 2)
    return `${part.name} transfers tickets between datasets: name two or more (--dataset a,b)`;
  const absent = named.filter((f) => !present.includes(f));
  return absent.length === 0
    ? null
    : `${part.name} needs every one of ${named.join(', ')}: ${absent.join(', ')} not in ${SHARED}`;
}
const named = text('dataset')?.split(',') ?? part.datasets;
const present = named.filter((f) => existsSync(join(SHARED, f)));
const missing = missingDatasets(named, present);
if (missing) {
  process.stderr.write(`${missing}\n`);
  process.exit(1);
}
const folders = part.transferLevels ? present : present.slice(0, 1);

const lab = Lab.open({ dataDir, runAll: true, concurrency });
const chosen = targetOption();
if (chosen) await lab.invoke('settings.set', { computeTarget: chosen });
const { computeTarget: target } = await lab.invoke('settings.get', {});
if (target.kind !== 'local')
  process.stdout.write(`jobs on Slurm (the data folder's target): ${JSON.stringify(target)}\n`);
const datasets: { folder: string; view: MethodOutput<'datasets.import'>; size: DatasetSize }[] = [];
for (const folder of folders) {
  const view = await lab.invoke('datasets.import', { path: join(SHARED, folder), name: folder });
  const size = {
    folder,
    train: view.trainCount,
    test: view.testCount,
    inputShape: view.inputShape,
    classes: view.classNames.length,
  };
  datasets.push({ folder, view, size });
}
// a dense network an earlier run trained into this data folder is copied, not trained again:
// the plan leaves it out of the experiments that copy it (the plan's specs name the folder)
const datasetIds = new Map(datasets.map((d) => [d.folder, d.view.id]));
const plan = planOn(part, target, {
  budget,
  seeds,
  datasets: datasets.map((d) => d.size),
  measured,
  compacted,
  denseTrainedAlready: (spec) =>
    denseTrainedAlready(lab.store, { ...spec, dataset: datasetIds.get(spec.dataset)! }),
});
process.stdout.write(`${formatPlan(plan, thisMachine().cpu).join('\n')}\n`);

/** The plan's estimate of one experiment, as its record keeps it. */
function estimateOf(label: string, seed: number): EstimateRecord | undefined {
  const e = plan.experiments.find((x) => x.label === label && x.seed === seed)!;
  const speed = plan.speeds.find((s) => s.model === e.model);
  if (e.hours === null || !speed) return undefined;
  const { runs, iterations, trainingSamples, evaluatedExamples, hours } = e;
  return {
    hours,
    runs,
    iterations,
    trainingSamples,
    evaluatedExamples,
    speed,
    workers: plan.workers,
  };
}

/** An experiment of the part, with the file its record goes to. */
interface Planned {
  label: string;
  seed: number;
  file: string;
  dataset: (typeof datasets)[number];
  /** a transfer: the ticket it trains */
  transfer?: TransferSource;
  estimate?: EstimateRecord;
}
/** An experiment of the first stage, and the transfers of its tickets (a transfer part). */
interface PlannedSource extends Planned {
  spec: Record<string, unknown>;
  transfers: Planned[];
}

/** The part's experiments with a record missing, their own or one of their transfers'. */
const planned: PlannedSource[] = [];
for (let seed = 0; seed < seeds; seed++) {
  for (const dataset of datasets) {
    for (const { label: own, spec } of partExperiments(part, seed, dataset.view.id, budget)) {
      const resolved = resolveSpec(spec);
      const hash = specHash(resolved);
      const label = sourceLabel(own, dataset.folder, datasets.length);
      const file = campaignRecordPath(records, part.name, label, seed, hash);
      const levels = part.transferLevels?.(resolved.pruning.levels) ?? [];
      const transfers = levels.flatMap((level) =>
        datasets
          .filter((target) => target !== dataset)
          .map((target) => {
            const name = transferLabel(label, level, target.folder);
            return {
              label: name,
              seed,
              // named by the source's spec hash: the transfer's own names a ticket id, which
              // only this data folder knows
              file: campaignRecordPath(records, part.name, name, seed, hash),
              dataset: target,
              transfer: { label, folder: dataset.folder, specHash: hash, level },
              estimate: estimateOf(name, seed),
            };
          }),
      );
      for (const f of [file, ...transfers.map((t) => t.file)])
        if (existsSync(f)) process.stdout.write(`recorded already: ${f}\n`);
      if (!existsSync(file) || transfers.some((t) => !existsSync(t.file))) {
        const estimate = estimateOf(label, seed);
        // named so that the app's lists and compare view tell the part's experiments apart
        // (a name is not part of an experiment's identity: the spec hash stays)
        const withName = { ...spec, name: `${part.name}: ${label}, seed ${seed}` };
        planned.push({ label, seed, file, dataset, spec: withName, transfers, estimate });
      }
    }
  }
}

// what is left: the experiments not recorded, and their transfers not recorded
const toRun = planned.flatMap((p) => [
  ...(existsSync(p.file) ? [] : [p]),
  ...p.transfers.filter((t) => !existsSync(t.file)),
]);
const left = toRun.flatMap((p) => (p.estimate ? [p.estimate.hours] : []));
process.stdout.write(
  `to run: ${toRun.length} of ${plan.experiments.length} experiments${left.length > 0 && left.length === toRun.length ? `, estimated ${formatHours(left.reduce((a, b) => a + b, 0))} of jobs` : ''}\n`,
);

const deadline = Date.now() + hours * 3600_000;
let timeIsUp = false;
const experiments = new Map<string, Planned>();
// a line per trained ticket, so that a run of hours shows where it is
lab.subscribe((e) => {
  if (e.type !== 'ticket.created') return;
  const p = experiments.get(e.experimentId);
  if (!p) return;
  const accuracy = e.testAccuracy === null ? '–' : `${(e.testAccuracy * 100).toFixed(2)}%`;
  process.stdout.write(
    `${p.label} seed ${p.seed} level ${e.level} ${e.method}: ${(e.remainingWeights * 100).toFixed(1)}% of the weights, ${accuracy}\n`,
  );
});

// when each job started running and ended, as this run saw it (the analyses' time)
const jobTimes = new Map<string, { started?: number; ended?: number }>();
lab.subscribe((e) => {
  if (e.type !== 'job.state') return;
  const times = jobTimes.get(e.jobId) ?? {};
  if (e.state === 'running') times.started ??= Date.now();
  if (e.state === 'done') times.ended = Date.now();
  jobTimes.set(e.jobId, times);
});
/** analysis jobs this run created: only their time is measured whole */
const analysesCreated = new Set<string>();

type Detail = MethodOutput<'experiments.get'>;

/** The analyses the part runs on an experiment (`part.instability`), as its plan counts them. */
function analysesOf(p: Planned, detail: Detail): PlannedAnalyses {
  return partAnalyses(part, resolveSpec(detail.spec), p.dataset.size)!;
}

/** The tickets the part analyses, each with its rewind points: the dense network, IMP tickets and their controls. */
function analysedTickets(
  detail: Detail,
  analyses: PlannedAnalyses,
): { ticket: Detail['tickets'][number]; rewinds: number[] }[] {
  return analyses.tickets.flatMap(({ level, method, rewinds }) =>
    detail.tickets
      .filter((t) => t.level === level && t.method === method)
      .map((ticket) => ({ ticket, rewinds })),
  );
}

/**
 * The instability analyses of a done experiment's tickets: asked of the app (a finished one
 * is kept and returned; an open one names its job), stopped jobs resumed, then awaited; one
 * that ends otherwise than done says why.
 */
async function analyse(experimentId: string): Promise<void> {
  const p = experiments.get(experimentId)!;
  if (existsSync(p.file) || timeIsUp) return;
  const detail = await lab.invoke('experiments.get', { id: experimentId });
  if (detail.status !== 'done') return;
  const analyses = analysesOf(p, detail);
  const open = new Set<string>();
  for (const { ticket, rewinds } of analysedTickets(detail, analyses)) {
    const { job, analyses: started } = await lab.invoke('tickets.instability', {
      ticketId: ticket.id,
      rewinds: rewinds.map((k) => `${k}it`),
      points: analyses.points,
      target,
    });
    if (job) analysesCreated.add(job.id);
    for (const a of started) if (a.barrier === null) open.add(a.jobId);
  }
  if (open.size === 0) return;
  const stopped = (await lab.invoke('jobs.list', {})).filter(
    (j) => open.has(j.id) && RESUMABLE.includes(j.state),
  );
  for (const job of stopped) await lab.invoke('jobs.resume', { jobId: job.id });
  const continued = open.size - [...open].filter((id) => analysesCreated.has(id)).length;
  process.stdout.write(
    `${p.label} seed ${p.seed}: ${continued === 0 ? 'started' : 'continued'} the instability analyses (${open.size} job${open.size === 1 ? '' : 's'}${continued > 0 && continued < open.size ? `, ${continued} of them from an earlier run` : ''})\n`,
  );
  for (const ended of await Promise.all([...open].map((id) => lab.scheduler.wait(id))))
    if (ended.state !== 'done' && ended.state !== 'paused')
      process.stdout.write(
        `${p.label} seed ${p.seed}: instability job ${ended.id} ${ended.state}${ended.error ? `: ${ended.error}` : ''}\n`,
      );
}

/**
 * A done experiment's analyses as its record keeps them, with their jobs' wall time; null
 * while any is missing its curve.
 */
async function instabilityOf(
  p: Planned,
  detail: Detail,
): Promise<{ instability: InstabilityRecord[]; instabilityWallMs: number | null } | null> {
  const analyses = analysesOf(p, detail);
  const { points } = analyses;
  const instability: InstabilityRecord[] = [];
  const jobIds = new Set<string>();
  for (const { ticket: t, rewinds } of analysedTickets(detail, analyses)) {
    const stored = await lab.invoke('tickets.instabilityResults', { ticketId: t.id });
    for (const k of rewinds) {
      const a = stored.find((x) => x.rewindIteration === k && x.points === points);
      if (!a?.curve || a.barrier === null) return null;
      jobIds.add(a.jobId);
      instability.push({
        level: t.level,
        method: t.method,
        remainingWeights: t.remainingWeights,
        rewindIteration: k,
        points,
        thetaK: a.thetaK,
        seeds: a.seeds,
        curve: a.curve,
        barrier: a.barrier,
      });
    }
  }
  const times = [...jobIds].map((id) => jobTimes.get(id));
  const whole = [...jobIds].every(
    (id, i) => analysesCreated.has(id) && times[i]?.started && times[i]?.ended,
  );
  const instabilityWallMs = whole
    ? times.reduce((sum, t) => sum + t!.ended! - t!.started!, 0)
    : null;
  return { instability, instabilityWallMs };
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
  const analyses = part.instability ? await instabilityOf(p, detail) : undefined;
  if (analyses === null) {
    process.stdout.write(
      `${p.label} seed ${p.seed}: done; its instability analyses are not, so it is not recorded yet\n`,
    );
    return;
  }
  const { folder, view } = p.dataset;
  const result: CampaignRecord = {
    part: part.name,
    label: p.label,
    seed: p.seed,
    specHash: detail.specHash,
    spec: detail.spec,
    dataset: { id: view.id, folder, train: view.trainCount, test: view.testCount },
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
          ...(t.kernelThreads ? { kernelThreads: t.kernelThreads } : {}),
          ...(t.reusedFromRunId ? { reused: true as const } : {}),
          ...(detail.spec.method === 'structured' ? { structure: await structure(t.id) } : {}),
          ...maskOf(lab.store, t),
        })),
    ),
    ...(p.transfer ? { transfer: p.transfer } : {}),
    ...analyses,
    ...clusterOf(experimentId),
    machine: thisMachine(),
    versions,
    date: new Date().toISOString(),
    command: thisCommand('bench:campaign'),
  };
  mkdirSync(join(p.file, '..'), { recursive: true });
  writeFileSync(p.file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`recorded ${p.file}\n`);
}

/**
 * The second stage of a transfer part, once the source experiment is done: each ticket not
 * yet transferred is trained on its target (transfer.create finds a transfer made before in
 * this data folder, and continues it if paused).
 */
async function transfer(sourceId: string, source: PlannedSource): Promise<void> {
  const detail = await lab.invoke('experiments.get', { id: sourceId });
  if (detail.status !== 'done') return;
  const made: { id: string; jobId: string | null }[] = [];
  for (const t of source.transfers) {
    if (existsSync(t.file) || timeIsUp) continue;
    const level = t.transfer!.level;
    const ticket = detail.tickets.find((x) => x.level === level && x.method === 'imp');
    if (!ticket) {
      process.stdout.write(`${t.label} seed ${t.seed}: ${source.label} has no level ${level}\n`);
      continue;
    }
    const created = await lab.invoke('transfer.create', {
      ticketId: ticket.id,
      targets: [t.dataset.view.id],
      start: false,
    });
    const experiment = created.experiments[0]!;
    const id = experiment.id;
    experiments.set(id, t);
    made.push({ id, jobId: queue(experiment) });
    process.stdout.write(
      `${created.created[0] ? 'started' : 'continued'} ${t.label} seed ${t.seed}: ${id}\n`,
    );
  }
  await Promise.all(
    made.map(async ({ id, jobId }) => {
      if (jobId) await lab.scheduler.wait(jobId);
      if (!timeIsUp) await record(id);
    }),
  );
}

/**
 * A structured ticket's architecture, size, speed-up and Early-Bird searches, and for a
 * compacted model its accuracy before retraining (what gated methods' papers report).
 */
async function structure(ticketId: string): Promise<StructureRecord> {
  const { ticket, structure } = await lab.invoke('tickets.get', { id: ticketId });
  const cut =
    ticket.level > 0 && ticket.runId
      ? (
          await lab.invoke('runs.metrics', {
            runId: ticket.runId,
            split: 'test',
            maxPoints: 10_000,
          })
        ).points[0]
      : undefined;
  return {
    remainingParams: ticket.remainingParams,
    totalParams: ticket.totalParams,
    speedup: ticket.speedup?.batch64 ?? null,
    // (a run of more than 10,000 evaluations comes back in buckets: then no single first one)
    ...(ticket.level > 0 ? { cutTestAccuracy: cut?.step === 0 ? cut.accuracy : null } : {}),
    units: (structure?.layers ?? []).map((l) => l.units),
    earlyBird: (structure?.earlyBird ?? []).map((eb) => ({
      ratio: eb.ratio,
      detectedEpoch: eb.detectedEpoch,
      prunedEpoch: eb.prunedEpoch,
      distancesToLast: eb.distances.map((row) => row.at(-1) ?? 0),
    })),
  };
}

/**
 * Where an experiment trained when its jobs ran on a cluster: their target, and the nodes
 * their workers reported (each attempt's, in the job's folder); nothing for local jobs.
 */
function clusterOf(experimentId: string): Pick<CampaignRecord, 'cluster'> {
  const rows = lab.store
    .listJobs()
    .filter((j) => j.experimentId === experimentId)
    .flatMap((j) => getClusterJob(lab.store, j.id) ?? []);
  if (rows.length === 0) return {};
  const nodes = new Map<string, NodeMachine>();
  for (const row of rows)
    for (const { message } of readReports(join(dataDir, row.folder), 0))
      if (message.type === 'ready' && message.node)
        nodes.set(JSON.stringify(message.node), message.node);
  const target = ComputeTarget.parse(JSON.parse(rows[0]!.targetJson));
  return target.kind === 'slurm' ? { cluster: { target, nodes: [...nodes.values()] } } : {};
}

/**
 * Queues an experiment's job on the data folder's target, or continues the job it has (which
 * keeps its own target); null when the experiment is done.
 */
function queue(experiment: { id: string; status: string }): string | null {
  return experiment.status === 'done' ? null : lab.scheduler.enqueue(experiment.id, { target }).id;
}

// records are written as experiments finish, so a campaign stopped any way keeps them
const finished: Promise<void>[] = [];
for (const p of planned) {
  const created = await lab.invoke('experiments.create', { spec: p.spec });
  const id = created.experiment.id;
  const jobId = queue(created.experiment);
  // one made before campaigns named their experiments keeps its spec (the name is no part
  // of it), so it is renamed
  const name = p.spec.name as string;
  if (created.experiment.name !== name) await lab.invoke('experiments.rename', { id, name });
  experiments.set(id, p);
  process.stdout.write(
    `${created.created ? 'started' : 'continued'} ${p.label} seed ${p.seed}: ${id}\n`,
  );
  finished.push(
    (async () => {
      if (jobId) await lab.scheduler.wait(jobId);
      if (part.instability) await analyse(id);
      if (timeIsUp) return;
      await record(id);
      if (p.transfers.length > 0) await transfer(id, p);
    })(),
  );
}
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
