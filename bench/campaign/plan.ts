/**
 * What a campaign part costs before it runs (`npm run bench:campaign -- --plan`): its
 * experiments, trainings, iterations, training samples and evaluated examples, counted from
 * its specs as the app's runners train them (`plannedRuns`, src/api/methods.ts), and its hours
 * on this machine, estimated from the samples/s that `npm run bench:engine` recorded (and a
 * structured level's compacted model from the speed-up the campaign's records measured for
 * it). The hours are an estimate and every line that shows them says so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FORWARD_SHARE,
  methodsPerLevel,
  plannedRuns,
  prunedLevels,
} from '../../src/api/methods.ts';
import { workerThreads } from '../../src/engine/native-blas.ts';
import { denseTrainingKey } from '../../src/jobs/dense-reuse.ts';
import { checkDurations, resolveSpec, type ResolvedSpec } from '../../src/api/spec.ts';
import { durationToIterations } from '../../src/core/duration.ts';
import {
  iterationsPerEpoch,
  specIterationsPerEpoch,
  splitCounts,
} from '../../src/core/split-counts.ts';
import {
  isGateMethod,
  structuredLevelValue,
  type GateMethod,
  type ModelName,
  type TicketMethod,
} from '../../src/core/vocabulary.ts';
import {
  buildArchitecture,
  describeParams,
  hasBatchNorm,
  measureSize,
  type Shape3,
} from '../../src/engine/architectures.ts';
import { analysableRewinds } from '../../src/services/instability.ts';
import { linePointExamples } from '../../src/pruning/line-examples.ts';
import { transferSpec } from '../../src/services/transfer.ts';
import { ENGINE_CLASSES, ENGINE_MODELS } from '../engine-models.ts';
import { median, parseEngineLabel, type EngineRecord } from '../records.ts';
import { PARTS, partExperiments, type Budget, type CampaignPart } from './parts.ts';
import { readCampaign } from './record.ts';

/** A dataset's sizes, all a plan needs of it. */
export interface DatasetSize {
  folder: string;
  train: number;
  test: number;
  inputShape: Shape3;
  classes: number;
}

/**
 * The ../shared/datasets folders the parts use, counted as their READMEs count them (the
 * tests check these against the decoded files), so that a plan decodes nothing.
 */
export const DATASET_SIZES: Record<string, DatasetSize> = Object.fromEntries(
  (
    [
      ['mnist', 60_000, 10_000, [28, 28, 1]],
      ['mnist-10k', 8_000, 2_000, [28, 28, 1]],
      ['fashion-mnist', 60_000, 10_000, [28, 28, 1]],
      ['cifar10-jpeg', 10_000, 10_000, [32, 32, 3]],
      ['cifar10', 4_000, 1_000, [32, 32, 3]],
    ] as const
  ).map(([folder, train, test, inputShape]) => [
    folder,
    { folder, train, test, inputShape: [...inputShape] as Shape3, classes: 10 },
  ]),
);

export function datasetSize(folder: string): DatasetSize {
  const size = DATASET_SIZES[folder];
  if (!size)
    throw new Error(
      `no sizes known for the dataset folder "${folder}": add it to DATASET_SIZES in bench/campaign/plan.ts (known: ${Object.keys(DATASET_SIZES).join(', ')})`,
    );
  return size;
}

// ── speeds from bench:engine records ──

/** One model's training speed as a bench:engine record measured it. */
export interface MeasuredSpeed {
  model: ModelName;
  /** median over rounds, of the native default (`wasm default, <state>`) */
  samplesPerSecond: number;
  threads: number;
  /** samples/s of the same at fewer threads, where measured (`wasm default at 1 thread`) */
  atThreads: Record<number, number>;
  /** the record's name (`engine-<date>`) and machine state */
  record: string;
  state: string;
  /** the CPU the record measured on, as Node names it */
  cpu: string;
  /** tfjs's kernels (the training of a penalised loss) against the native step, where measured */
  tfjsKernelsShare: number | null;
  /** a training with the model's unit gates (bench:engine's `gated`) against the native step, where measured */
  gated: GatedShare | null;
  /**
   * What evaluating an example costs in training steps' examples: the native default's
   * samples/s over bench:engine's `evaluate` examples/s in the same state, where measured
   */
  evaluationShare: number | null;
}

/** How fast a model trains with `method`'s unit gates, as a share of its native step. */
export interface GatedShare {
  method: GateMethod;
  share: number;
  /** the share at fewer threads, against the native step at as many, where measured */
  atThreads: Record<number, number>;
}

/** the default build where oneDNN is installed, then without it; a BLAS build last */
const STATES = ['onednn', 'fresh'];

/**
 * Each model's speed from the newest bench:engine record in `records` that measured it (up to
 * and including `upTo`, a record's name, where given), in the state the default build has.
 */
export function readEngineSpeeds(records: string, upTo?: string): MeasuredSpeed[] {
  const names = readdirSync(records)
    .filter((f) => /^engine-.*\.json$/.test(f))
    .map((f) => f.slice(0, -'.json'.length))
    .filter((name) => upTo === undefined || name <= upTo)
    .sort()
    .reverse();
  if (upTo !== undefined && names[0] !== upTo)
    throw new Error(`no bench:engine record ${upTo}.json in ${records}`);
  const found = new Map<string, MeasuredSpeed>();
  for (const name of names) {
    const r = JSON.parse(readFileSync(join(records, `${name}.json`), 'utf8')) as EngineRecord;
    const rows = r.rows.flatMap((row) => {
      const label = parseEngineLabel(row.label);
      return label ? [{ ...row, ...label }] : [];
    });
    for (const model of new Set(rows.map((row) => row.model))) {
      if (found.has(model)) continue;
      const ofModel = rows.filter((row) => row.model === model);
      const defaults = ofModel
        .filter((row) => row.variant === 'default' && !row.threads)
        .sort((a, b) => rank(a.state) - rank(b.state));
      const best = defaults[0];
      if (!best) continue;
      const sameState = (row: { state: string }) => defaults.find((d) => d.state === row.state);
      // the default measured beside a row: the same state, at as many threads
      const beside = (row: { state: string; threads: number | null }) =>
        ofModel.find(
          (d) => d.variant === 'default' && d.state === row.state && d.threads === row.threads,
        );
      const kernels = ofModel.find((row) => row.variant === 'tfjs-kernels');
      const kernelsDefault = kernels && beside(kernels);
      const evaluation = ofModel.find((row) => row.variant === 'evaluate' && !row.threads);
      const evaluationDefault = evaluation && beside(evaluation);
      const gated = ofModel.find((row) => row.variant === 'gated' && !row.threads);
      const gatedDefault = gated && beside(gated);
      // the gated training at fewer threads, as a share of the default at as many: its
      // products run on the native kernels' threads, its other kernels on one
      const gatedAt: Record<number, number> = {};
      for (const row of ofModel.filter((r) => r.variant === 'gated' && r.threads)) {
        const same = beside(row);
        if (same) gatedAt[row.threads!] = median(row.samples) / median(same.samples);
      }
      const gates = ENGINE_MODELS.find((c) => c.model === model)?.gates;
      // measured at fewer threads in some state: as a share of that state's default, applied
      // to the best state's (bench:engine measures them in its best build, which is this
      // ranking's best only where oneDNN is installed)
      const atThreads: Record<number, number> = {};
      for (const row of ofModel) {
        const same = row.variant === 'default' && row.threads ? sameState(row) : undefined;
        if (same)
          atThreads[row.threads!] =
            (median(best.samples) * median(row.samples)) / median(same.samples);
      }
      found.set(model, {
        model: model as ModelName,
        samplesPerSecond: median(best.samples),
        threads: Number(/(\d+) thread\(s\)/.exec(best.engine)?.[1] ?? r.cores),
        atThreads,
        record: name,
        state: best.state,
        cpu: r.cpu.trim(),
        tfjsKernelsShare: kernelsDefault
          ? median(kernels.samples) / median(kernelsDefault.samples)
          : null,
        gated:
          gatedDefault && gates
            ? {
                method: gates,
                share: median(gated.samples) / median(gatedDefault.samples),
                atThreads: gatedAt,
              }
            : null,
        evaluationShare: evaluationDefault
          ? median(evaluationDefault.samples) / median(evaluation.samples)
          : null,
      });
    }
  }
  return [...found.values()];
}

const rank = (state: string) => (STATES.includes(state) ? STATES.indexOf(state) : STATES.length);

/** Forward FLOPs per example of the dense model (architectures.ts's count). */
export function flopsPerExample(model: ModelName, inputShape: Shape3, classes: number): number {
  const specs = describeParams(buildArchitecture(model, inputShape, classes));
  return measureSize(specs, (name) =>
    specs.find((p) => p.name === name)!.shape.reduce((a, b) => a * b, 1),
  ).flops;
}

/** Whether a model has convolutions and batch norm: what it is scaled from must share them. */
function layerKinds(model: ModelName, inputShape: Shape3): string {
  const specs = describeParams(buildArchitecture(model, inputShape, ENGINE_CLASSES));
  const conv = specs.some((p) => p.role === 'kernel' && p.shape.length === 4);
  const batchNorm = hasBatchNorm(specs);
  return `${conv}/${batchNorm}`;
}

/** A model's speed on a dataset, measured or scaled by FLOPs, and where it comes from. */
export interface ModelSpeed {
  model: ModelName;
  flops: number;
  /** training samples/s of the native default at `threads` threads */
  samplesPerSecond: number;
  threads: number;
  /** the same at fewer threads, where measured */
  atThreads: Record<number, number>;
  /** e.g. `measured (engine-2026-12-02T0131, onednn)` or `scaled from conv-4 by FLOPs` */
  source: string;
  /** the model bench:engine measured: this one, or the one it is scaled from */
  measuredModel: ModelName;
  /** the CPU bench:engine measured it on */
  cpu: string;
  tfjsKernelsShare: number | null;
  gated: GatedShare | null;
  /** measured (MeasuredSpeed's), else null: FORWARD_SHARE is counted */
  evaluationShare: number | null;
}

/**
 * A model's speed: its measurement where a record has one (scaled by FLOPs where the dataset's
 * input differs from bench:engine's), else the measured model with the same layer kinds
 * (convolutions, batch norm) nearest in FLOPs per example, scaled by their FLOPs. Null when
 * no record measured any model.
 */
export function modelSpeed(
  model: ModelName,
  dataset: DatasetSize,
  measured: MeasuredSpeed[],
): ModelSpeed | null {
  if (measured.length === 0) return null;
  const flops = flopsPerExample(model, dataset.inputShape, dataset.classes);
  const benchShape = (m: ModelName) => ENGINE_MODELS.find((c) => c.model === m)?.shape;
  const benchFlops = (m: MeasuredSpeed) =>
    flopsPerExample(m.model, benchShape(m.model) ?? dataset.inputShape, ENGINE_CLASSES);
  const own = measured.find((m) => m.model === model);
  const kinds = layerKinds(model, dataset.inputShape);
  const alike = measured.filter(
    (m) => layerKinds(m.model, benchShape(m.model) ?? dataset.inputShape) === kinds,
  );
  const distance = (m: MeasuredSpeed) => Math.abs(Math.log(benchFlops(m) / flops));
  const from =
    own ??
    (alike.length > 0 ? alike : measured).reduce((a, b) => (distance(b) < distance(a) ? b : a));
  const ratio = benchFlops(from) / flops;
  const measuredAt = `${from.record}, ${from.state}`;
  return {
    model,
    flops,
    samplesPerSecond: from.samplesPerSecond * ratio,
    threads: from.threads,
    atThreads: Object.fromEntries(
      Object.entries(from.atThreads).map(([threads, sps]) => [threads, sps * ratio]),
    ),
    source:
      from.model !== model
        ? `scaled from ${from.model} (${measuredAt}) by FLOPs per example`
        : Math.abs(ratio - 1) > 1e-9
          ? `measured (${measuredAt}) on bench:engine's input, scaled by FLOPs per example`
          : `measured (${measuredAt})`,
    measuredModel: from.model,
    cpu: from.cpu,
    tfjsKernelsShare: from.tfjsKernelsShare,
    gated: from.gated,
    // a ratio of two speeds on the same model: the FLOPs scaling cancels
    evaluationShare: from.evaluationShare,
  };
}

// ── compacted models' speed, from the campaign's records ──

/**
 * Structured levels' compacted models as a plan prices their retraining: the speed-up over the
 * dense model, by `compactedKey`.
 */
export type CompactedSpeedups = Map<string, number>;

type StructuredSettings = Parameters<typeof structuredLevelValue>[0];

/** A compacted model's key: the model, its input, the structured method and the level's setting. */
function compactedKey(
  model: string,
  inputShape: readonly number[],
  structured: StructuredSettings,
  level: number,
): string {
  return `${model} ${inputShape.join('×')} ${structured.method} ${structuredLevelValue(structured, level)}`;
}

/**
 * The inference speed-ups the campaign's records in `records` (bench/records, or a folder of
 * the same layout) measured for structured levels' compacted models (a ticket's `structure.speedup`: batch-64
 * inference against the dense network), the median over every record of the same model,
 * input, method and setting. A retraining runs the compacted model forward and backward at a
 * batch size of its own, so the speed-up of its training is estimated by that of its
 * inference: nearer than the dense model's speed, which liu2017-slimming's compacted VGG-16s
 * at 50% and 70% of the channels trained 2.6–8.7 times faster than (their inference: 2.7–5.1).
 */
export function readCompactedSpeedups(records: string): CompactedSpeedups {
  const found = new Map<string, number[]>();
  for (const part of PARTS) {
    for (const r of readCampaign(records, part.name)) {
      const size = DATASET_SIZES[r.dataset.folder];
      if (!size || r.spec.method !== 'structured') continue;
      const structured = r.spec.structured as StructuredSettings;
      for (const t of r.tickets) {
        const speedup = t.structure?.speedup;
        if (t.level === 0 || speedup == null || !(speedup > 0)) continue;
        const key = compactedKey(String(r.spec.model), size.inputShape, structured, t.level);
        found.set(key, [...(found.get(key) ?? []), speedup]);
      }
    }
  }
  return new Map([...found].map(([key, speedups]) => [key, median(speedups)]));
}

// ── plans ──

/** How the campaign runs its jobs: `concurrency` at a time, each on `threads` of `cores`. */
export interface Workers {
  cores: number;
  concurrency: number;
  threads: number;
  /**
   * `threads` is a job's share while `concurrency` jobs run: fewer running share the cores
   * among them (src/jobs/scheduler.ts `shareCores`). Absent where TICKETLAB_THREADS fixes the
   * threads, on a cluster, and in records made before the scheduler shared them.
   */
  sharesCores?: true;
}

/** Where an experiment's dense network comes from when it copies one (src/jobs/dense-reuse.ts). */
export type DenseSource = number | 'data folder';

export interface ExperimentPlan {
  label: string;
  seed: number;
  model: ModelName;
  /** the dataset folder it trains on */
  dataset: string;
  /** a transfer: the index in the plan's experiments of the one whose ticket it trains */
  after?: number;
  /** trainings: each level's ticket and its controls, and the analyses' (θ_k and copies) */
  runs: number;
  /**
   * its dense network is copied rather than trained: from the experiment at this index of the
   * plan's, which trains it, or from the data folder, where an earlier run trained it
   */
  denseFrom?: DenseSource;
  /** estimated hours of its own dense training (0 where it copies one); null without a speed */
  denseHours: number | null;
  /** instability analyses: one per analysed ticket and rewind point */
  analyses: number;
  iterations: number;
  trainingSamples: number;
  evaluations: number;
  /** validation and test examples evaluated, over every evaluation */
  evaluatedExamples: number;
  /** estimated hours of this experiment's job on its share of the cores; null without a speed */
  hours: number | null;
  /**
   * how many times faster than on its share its job runs while n jobs run (index n − 1),
   * where the workers share the cores among the jobs running; null where they do not
   */
  speedups: number[] | null;
  /** trainings off the native step: a loss with unit gates' penalty, on tfjs's kernels */
  tfjsKernelRuns: number;
  /** retrainings of compacted models priced at a recorded speed-up (the others at the dense speed) */
  compactedRuns: { priced: number; all: number };
}

export interface PartPlan {
  part: CampaignPart;
  budget: Budget;
  seeds: number;
  /** the datasets it trains on: the first, or every one of a transfer part */
  datasets: DatasetSize[];
  workers: Workers;
  experiments: ExperimentPlan[];
  speeds: ModelSpeed[];
  /** estimated hours from the first job's start to the last one's end, `concurrency` at a time */
  wallHours: number | null;
}

/** Evaluations train() makes from `start` to `end`: at the start, every `every` iterations, at the end. */
export function evaluationsOf(start: number, end: number, every: number): number {
  return 1 + Math.floor(end / every) - Math.floor(start / every) + (end % every === 0 ? 0 : 1);
}

/**
 * The unit gates a run trains with, off the native step: l0's and bayesian's search (level 0)
 * adds their penalty to the loss, which the native step does not differentiate (slimming's
 * L1 term on |γ| it adds itself), so it trains on tfjs's kernels.
 */
function gatesOf(spec: ResolvedSpec, level: number): GateMethod | null {
  const method = spec.method === 'structured' ? spec.structured.method : null;
  return level === 0 && method && isGateMethod(method) ? method : null;
}

/**
 * A gated training's speed as a share of the native step at a job's threads: bench:engine's
 * measurement of the model with those gates (at those threads where it measured them), else
 * tfjs's kernels' share without them (too fast: the gates add noise and products of their
 * own), else the native step's.
 */
function gatedShare(speed: ModelSpeed, gates: GateMethod, threads: number): number {
  if (speed.gated?.method === gates) return speed.gated.atThreads[threads] ?? speed.gated.share;
  return speed.tfjsKernelsShare ?? 1;
}

/**
 * A job's samples/s: the speed measured at its threads where bench:engine measured that,
 * else its threads' share of the measured speed; less where jobs outnumber the cores.
 */
function jobSpeed(speed: ModelSpeed, workers: Workers): number {
  const crowding = Math.min(1, workers.cores / (workers.concurrency * workers.threads));
  const measured = speed.atThreads[workers.threads];
  return (measured ?? (speed.samplesPerSecond * workers.threads) / speed.threads) * crowding;
}

/** The instability analyses an experiment's plan includes (Frankle et al. 2020). */
export interface PlannedAnalyses {
  /** the analysed tickets (level 0 is the dense network), each at its rewind points k, in iterations */
  tickets: { level: number; method: TicketMethod; rewinds: number[] }[];
  /** points on each line between the two copies */
  points: number;
}

/** One training a plan counts: from `start` to `end`, evaluated every `every` iterations. */
interface Training {
  start: number;
  end: number;
  every: number;
  /** the unit gates it trains with, on tfjs's kernels; null on the native step */
  gates: GateMethod | null;
  /**
   * a structured level's compacted model: its speed-up over the dense model where the
   * campaign's records measured one (`readCompactedSpeedups`), else null (the dense speed)
   */
  compacted?: { speedup: number | null };
  /** the experiment's dense network (level 0), which other experiments may copy */
  dense: boolean;
}

/**
 * The trainings of an instability analysis as its job runs them (src/jobs/kinds/
 * instability.ts): per ticket and rewind point k, θ_k retrained from θ0 where the experiment
 * did not store it (k > 0 and not its own rewind point), then two copies from k to the end,
 * each evaluated at its start and end.
 */
function analysisTrainings(a: PlannedAnalyses, end: number, storedRewind: number): Training[] {
  return a.tickets.flatMap((ticket) =>
    ticket.rewinds.flatMap((k) => [
      ...(k > 0 && k !== storedRewind
        ? [{ start: 0, end: k, every: k, gates: null, dense: false }]
        : []),
      { start: k, end, every: end, gates: null, dense: false },
      { start: k, end, every: end, gates: null, dense: false },
    ]),
  );
}

export function planExperiment(
  label: string,
  spec: ResolvedSpec,
  dataset: DatasetSize,
  speed: ModelSpeed | null,
  workers: Workers,
  options: {
    analyses?: PlannedAnalyses;
    /** where the dense network it copies comes from */
    denseFrom?: DenseSource;
    /** compacted models' recorded speed-ups; without them, each at the dense speed */
    compacted?: CompactedSpeedups;
  } = {},
): ExperimentPlan {
  const { analyses, denseFrom } = options;
  const denseReused = denseFrom !== undefined;
  const { train, val } = splitCounts(dataset.train, spec.validationFraction, dataset.folder);
  const batch = Math.min(spec.training.batchSize, train);
  const perEpoch = iterationsPerEpoch(train, batch);
  const runs = plannedRuns(spec, perEpoch).filter((run) => !(denseReused && run.level === 0));
  const end = durationToIterations(spec.training.duration, perEpoch);
  const trainings: Training[] = [
    ...runs.map((run) => ({
      start: run.start,
      end: run.end,
      every: spec.training.evalEvery,
      gates: gatesOf(spec, run.level),
      dense: run.level === 0,
      ...(spec.method === 'structured' && run.level > 0
        ? {
            compacted: {
              speedup:
                options.compacted?.get(
                  compactedKey(spec.model, dataset.inputShape, spec.structured, run.level),
                ) ?? null,
            },
          }
        : {}),
    })),
    ...(analyses
      ? analysisTrainings(analyses, end, durationToIterations(spec.pruning.rewind, perEpoch))
      : []),
  ];
  const lines = analyses ? sum(analyses.tickets.map((t) => t.rewinds.length)) : 0;
  // each line's points: the test set, and a batch-norm model's recompute batches
  const curveExamples = analyses
    ? lines *
      analyses.points *
      linePointExamples(
        buildArchitecture(spec.model, dataset.inputShape, dataset.classes),
        { train, test: dataset.test },
        spec.training.batchSize,
      )
    : 0;
  const perJob = speed && jobSpeed(speed, workers);
  // the lines' points and the native trainings evaluate on the native forward pass; a gated
  // training evaluates on tfjs's kernels, as it trains
  const nativeEvaluation = speed?.evaluationShare ?? FORWARD_SHARE;
  let seconds = perJob ? (curveExamples * nativeEvaluation) / perJob : 0;
  let denseSeconds = 0;
  let plan = {
    iterations: 0,
    trainingSamples: 0,
    evaluations: 0,
    evaluatedExamples: curveExamples,
  };
  for (const t of trainings) {
    const iterations = t.end - t.start;
    const evaluations = evaluationsOf(t.start, t.end, t.every);
    const examples = evaluations * (val + dataset.test);
    plan = {
      iterations: plan.iterations + iterations,
      trainingSamples: plan.trainingSamples + iterations * batch,
      evaluations: plan.evaluations + evaluations,
      evaluatedExamples: plan.evaluatedExamples + examples,
    };
    if (perJob && speed) {
      // a gated training evaluates at a third of its own step; a compacted model runs its
      // training and its evaluation at its inference speed-up
      const gated = t.gates ? gatedShare(speed, t.gates, workers.threads) : 1;
      const compacted = t.compacted?.speedup ?? 1;
      const evaluation = t.gates ? FORWARD_SHARE / gated : nativeEvaluation / compacted;
      const training =
        (iterations * batch) / (perJob * gated * compacted) + (examples * evaluation) / perJob;
      seconds += training;
      if (t.dense) denseSeconds += training;
    }
  }
  return {
    label,
    seed: spec.seed,
    model: spec.model,
    dataset: dataset.folder,
    runs: trainings.length,
    ...(denseReused ? { denseFrom } : {}),
    analyses: lines,
    ...plan,
    hours: perJob ? seconds / 3600 : null,
    speedups:
      perJob && speed && workers.sharesCores
        ? Array.from({ length: workers.concurrency }, (_, i) => {
            const running = { ...workers, concurrency: i + 1 };
            const threads = workerThreads(i + 1, workers.cores);
            return jobSpeed(speed, { ...running, threads }) / perJob;
          })
        : null,
    denseHours: perJob ? denseSeconds / 3600 : null,
    tfjsKernelRuns: trainings.filter((t) => t.gates).length,
    compactedRuns: {
      priced: trainings.filter((t) => t.compacted?.speedup != null).length,
      all: trainings.filter((t) => t.compacted).length,
    },
  };
}

/** The analyses a part runs on an experiment of `spec`, from the part's choice of tickets and points. */
export function partAnalyses(
  part: CampaignPart,
  spec: ResolvedSpec,
  dataset: DatasetSize,
): PlannedAnalyses | undefined {
  if (!part.instability) return undefined;
  const perEpoch = specIterationsPerEpoch(spec, dataset.train, dataset.folder);
  const rewinds = part.instability.rewinds(
    durationToIterations(spec.training.duration, perEpoch),
    durationToIterations(spec.pruning.rewind, perEpoch),
  );
  return {
    // each analysed level's ticket and the controls the spec trains there, where one of the
    // points applies to it (a random re-initialisation has no θ_k for k > 0)
    tickets: part.instability.levels(prunedLevels(spec)).flatMap((level) =>
      methodsPerLevel(spec, level)
        .map((method) => ({ level, method, rewinds: analysableRewinds(method, rewinds) }))
        .filter((ticket) => ticket.rewinds.length > 0),
    ),
    points: part.instability.points,
  };
}

/** A job as the wall-clock simulation sees it. */
interface SimulatedJob {
  /** at its share of the cores */
  hours: number;
  /** how many times faster it runs while n jobs run (index n − 1); null: never faster */
  speedups: number[] | null;
  /** queued when that job ends (a transfer, once its source experiment is done) */
  after?: number;
  /** it copies that job's dense network, so waits while that job is training it */
  denseFrom?: number;
  /** hours until its own dense network is trained, from its start, at its share */
  denseHours: number;
}

/**
 * Hours until the last job ends when they start as the scheduler starts them
 * (src/jobs/scheduler.ts): in queue order, each as soon as a worker is free, passing over a
 * job whose dense network a running job is still training (it starts once that is trained);
 * a job with `after` joins the end of the queue when that one ends. While fewer jobs run than
 * workers, each runs as many times faster as its `speedups` say (the cores shared among them).
 */
function wallHours(jobs: SimulatedJob[], concurrency: number): number {
  const queue = jobs.flatMap((job, i) => (job.after === undefined ? [i] : []));
  // `done`: hours of its work at its share of the cores
  const running: { job: number; done: number }[] = [];
  const denseTrained = (r: { job: number; done: number }) => r.done >= jobs[r.job]!.denseHours;
  const waits = (job: SimulatedJob) =>
    running.some((r) => r.job === job.denseFrom && !denseTrained(r));
  let now = 0;
  while (queue.length > 0 || running.length > 0) {
    for (let q = 0; q < queue.length && running.length < concurrency;) {
      const job = queue[q]!;
      if (waits(jobs[job]!)) q++;
      else {
        queue.splice(q, 1);
        running.push({ job, done: 0 });
      }
    }
    const rate = (r: { job: number }) => {
      const speedup = jobs[r.job]!.speedups?.[running.length - 1];
      return speedup !== undefined && Number.isFinite(speedup) && speedup > 0 ? speedup : 1;
    };
    // the work each job has left to its next event: its dense network trained, or its end
    const targets = (r: { job: number; done: number }) => {
      const job = jobs[r.job]!;
      return denseTrained(r) ? [job.hours] : [job.denseHours, job.hours];
    };
    // the next moment the scheduler looks again: a job ends, or a dense network is trained
    const step = Math.min(...running.flatMap((r) => targets(r).map((t) => (t - r.done) / rate(r))));
    now += step;
    // a job whose next event this step reaches is there exactly (no rounding left short)
    for (const r of running)
      r.done = targets(r).find((t) => (t - r.done) / rate(r) <= step) ?? r.done + step * rate(r);
    for (const done of running.filter((r) => r.done >= jobs[r.job]!.hours)) {
      running.splice(running.indexOf(done), 1);
      jobs.forEach((job, i) => {
        if (job.after === done.job) queue.push(i);
      });
    }
  }
  return now;
}

/** An experiment's label: its own, after its dataset's folder where a part trains on several. */
export function sourceLabel(own: string, folder: string, datasets: number): string {
  return datasets > 1 ? `${folder}-${own}` : own;
}

/** A transfer's label: its source experiment's, the level of the ticket, and the target. */
export function transferLabel(source: string, level: number, target: string): string {
  return `${source}-level${level}-to-${target}`;
}

/**
 * A part's plan: every experiment of `seeds` seeds at `budget`, in the order bench:campaign
 * starts them, on the first of `datasets`; a transfer part's on each of them, each followed by
 * the transfers of its tickets at the part's levels to the others (as transfer.create makes
 * them, src/services/transfer.ts). An experiment whose dense network an earlier one trains
 * (the same θ0, data and training: the scores of one seed) is planned without it, as the
 * app copies it (src/jobs/dense-reuse.ts), and starts once that one is trained; one whose
 * dense network an earlier run trained into the data folder (`denseTrainedAlready`) is planned
 * without it from the start.
 */
export function planPart(
  part: CampaignPart,
  options: {
    budget: Budget;
    seeds: number;
    datasets: DatasetSize[];
    measured: MeasuredSpeed[];
    workers: Workers;
    /** compacted models' speed-ups the campaign's records measured; without them, the dense speed */
    compacted?: CompactedSpeedups;
    /**
     * whether the data folder the part trains into holds a dense network that an experiment of
     * this spec copies (an earlier run's); without it the plan counts every dense training
     */
    denseTrainedAlready?: (spec: ResolvedSpec) => boolean;
  },
): PartPlan {
  const { budget, seeds, measured, workers } = options;
  const datasets = part.transferLevels ? options.datasets : options.datasets.slice(0, 1);
  if (part.transferLevels && datasets.length < 2)
    throw new Error(`${part.name} transfers tickets between datasets: name two or more`);
  const speeds = new Map<string, ModelSpeed | null>();
  const speedOf = (model: ModelName, dataset: DatasetSize) => {
    const key = `${model} ${dataset.inputShape.join('×')} ${dataset.classes}`;
    if (!speeds.has(key)) speeds.set(key, modelSpeed(model, dataset, measured));
    return speeds.get(key)!;
  };
  // the app's own checks of durations, rewind point and schedule against the dataset's
  // epoch, so that a budget too short for the part fails here, before anything trains
  const checked = (spec: ResolvedSpec, dataset: DatasetSize) => {
    checkDurations(spec, specIterationsPerEpoch(spec, dataset.train, dataset.folder));
    return spec;
  };
  const experiments: ExperimentPlan[] = [];
  // the dense networks trained so far, by the experiment training each: a later experiment
  // with the same one copies it
  const denseTrained = new Map<string, number>();
  for (let seed = 0; seed < seeds; seed++) {
    for (const dataset of datasets) {
      for (const { label: own, spec } of partExperiments(part, seed, dataset.folder, budget)) {
        const resolved = checked(resolveSpec(spec), dataset);
        const label = sourceLabel(own, dataset.folder, datasets.length);
        const source = experiments.length;
        const dense = denseTrainingKey(resolved, 0);
        const denseFrom: DenseSource | undefined =
          dense === null
            ? undefined
            : options.denseTrainedAlready?.(resolved)
              ? 'data folder'
              : denseTrained.get(dense);
        experiments.push(
          planExperiment(label, resolved, dataset, speedOf(resolved.model, dataset), workers, {
            analyses: partAnalyses(part, resolved, dataset),
            denseFrom,
            compacted: options.compacted,
          }),
        );
        if (dense !== null && denseFrom === undefined) denseTrained.set(dense, source);
        for (const level of part.transferLevels?.(resolved.pruning.levels) ?? [])
          for (const target of datasets.filter((d) => d !== dataset)) {
            // the ticket named as the plan knows it: its id exists once its source has trained
            const ticket = { ticketId: `${label} level ${level}`, spec: resolved };
            const transfer = checked(transferSpec(ticket, target.folder), target);
            experiments.push({
              ...planExperiment(
                transferLabel(label, level, target.folder),
                transfer,
                target,
                speedOf(transfer.model, target),
                workers,
              ),
              after: source,
            });
          }
      }
    }
  }
  const hours = experiments.map((e) => e.hours);
  return {
    part,
    budget,
    seeds,
    datasets,
    workers,
    experiments,
    speeds: [...speeds.values()].filter((s): s is ModelSpeed => s !== null),
    wallHours: hours.every((h): h is number => h !== null)
      ? wallHours(
          experiments.map((e) => ({
            hours: e.hours!,
            speedups: e.speedups,
            after: e.after,
            // one in the data folder is there from the start
            denseFrom: typeof e.denseFrom === 'number' ? e.denseFrom : undefined,
            denseHours: e.denseHours!,
          })),
          workers.concurrency,
        )
      : null,
  };
}

// ── what a plan says ──

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Hours as the tables show them: two figures below ten, whole hours above. */
export function formatHours(h: number): string {
  return h >= 10 ? `${int(h)} h` : `${h.toPrecision(2)} h`;
}

export function planTotals(plan: PartPlan) {
  const e = plan.experiments;
  const hours = e.map((x) => x.hours);
  return {
    experiments: e.length,
    runs: sum(e.map((x) => x.runs)),
    iterations: sum(e.map((x) => x.iterations)),
    trainingSamples: sum(e.map((x) => x.trainingSamples)),
    evaluations: sum(e.map((x) => x.evaluations)),
    evaluatedExamples: sum(e.map((x) => x.evaluatedExamples)),
    jobHours: hours.every((h): h is number => h !== null) ? sum(hours) : null,
  };
}

/** One line per model speed: what it is, at how many threads, from where. */
export function describeSpeed(s: ModelSpeed): string {
  const threads = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
  const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
  const kernels =
    s.tfjsKernelsShare === null
      ? "tfjs's kernels not measured"
      : `tfjs's kernels at ${percent(s.tfjsKernelsShare)} of it`;
  const gatedFewer = Object.entries(s.gated?.atThreads ?? {}).map(
    ([n, share]) => `, ${percent(share)} at ${threads(+n)}`,
  );
  const gated = s.gated
    ? `; training with ${s.gated.method} gates at ${percent(s.gated.share)} of it${gatedFewer.join('')}`
    : '';
  const fewer = Object.entries(s.atThreads).map(([n, sps]) => `, ${int(sps)} at ${threads(+n)}`);
  const evaluation =
    s.evaluationShare === null
      ? `evaluating an example counted at ${FORWARD_SHARE.toFixed(2)} of training on it (a forward pass, not measured)`
      : `evaluating an example at ${s.evaluationShare.toFixed(2)} of training on it, ${s.measuredModel === s.model ? 'measured' : `as measured for ${s.measuredModel}`}`;
  return `${s.model}: ${int(s.samplesPerSecond)} samples/s at ${threads(s.threads)}${fewer.join('')}, ${s.source} (${(s.flops / 1e6).toFixed(2)} MFLOPs per example; ${kernels}${gated}; ${evaluation})`;
}

/** How a plan priced its models off the dense network: pruned ones, and compacted ones. */
function compactedPricing(experiments: ExperimentPlan[]): string {
  const priced = sum(experiments.map((e) => e.compactedRuns.priced));
  const all = sum(experiments.map((e) => e.compactedRuns.all));
  if (all === 0) return "pruned models at the dense model's speed";
  const recorded =
    "at the inference speed-up the campaign's records measured for the same model, method and setting (an estimate of their training's)";
  if (priced === 0)
    return "compacted models at the dense model's speed (no record has measured one at these settings)";
  if (priced === all) return `compacted models ${recorded}`;
  return `${priced} of ${all} compacted models ${recorded}, the others at the dense model's speed (no record has measured them)`;
}

/**
 * The plan as bench:campaign prints it; `here`, the CPU its jobs run on, where known: speeds
 * measured on another are named as such, since the estimate holds only as far as the CPUs are
 * alike.
 */
export function formatPlan(plan: PartPlan, here?: string): string[] {
  const t = planTotals(plan);
  const { workers, datasets } = plan;
  const { iterations, levels, compressions, labels: only } = plan.budget;
  const reduced = [
    iterations === undefined ? '' : `${iterations} iterations`,
    levels === undefined ? '' : `${levels} level${levels === 1 ? '' : 's'}`,
    compressions === undefined
      ? ''
      : `compression${compressions.length === 1 ? '' : 's'} ${compressions.map((c) => `10^${c}`).join(', ')}`,
  ].filter(Boolean);
  const budget = `${reduced.length === 0 ? "the paper's budget" : `reduced budget (${reduced.join(', ')})`}${only ? `, only ${only.join(', ')}` : ''}`;
  const lines = [
    `plan of ${plan.part.name} at ${budget}, ${plan.seeds} seed${plan.seeds === 1 ? '' : 's'}, on ${datasets.map((d) => `${d.folder} (${int(d.train)} training images, the validation set among them, and ${int(d.test)} test)`).join(' and ')}${plan.part.transferLevels ? `, each one's tickets trained on the other${datasets.length > 2 ? 's' : ''}` : ''}:`,
    `  ${int(t.experiments)} experiments, ${int(t.runs)} trainings, ${int(t.iterations)} iterations, ${int(t.trainingSamples)} training samples, ${int(t.evaluatedExamples)} evaluated examples (${int(t.evaluations)} evaluations of the validation and test sets)`,
  ];
  const labels = [...new Set(plan.experiments.map((e) => e.label))];
  for (const label of labels) {
    const e = plan.experiments.find((x) => x.label === label)!;
    lines.push(
      `  ${label}${label === e.model ? '' : ` (${e.model})`}, each seed: ${int(e.runs)} training${e.runs === 1 ? '' : 's'}${e.denseFrom === undefined ? '' : ` (its dense network copied from ${e.denseFrom === 'data folder' ? 'the data folder' : 'an earlier one'})`}${e.analyses > 0 ? ` (with the θ_k and copies of ${e.analyses} instability analyses)` : ''}, ${int(e.iterations)} iterations, ${int(e.evaluations)} evaluations${e.hours === null ? '' : `, estimated ${formatHours(e.hours)}`}${e.tfjsKernelRuns > 0 ? ` (${e.tfjsKernelRuns} training${e.tfjsKernelRuns === 1 ? '' : 's'} with a penalty on tfjs's kernels)` : ''}`,
    );
  }
  for (const s of plan.speeds)
    lines.push(
      `  speed: ${describeSpeed(s)}; a job here: ${int(jobSpeed(s, workers))} samples/s (estimate)`,
    );
  const elsewhere = plan.speeds.filter((s) => here !== undefined && s.cpu !== here);
  for (const cpu of new Set(elsewhere.map((s) => s.cpu))) {
    const models = elsewhere.filter((s) => s.cpu === cpu).map((s) => s.model);
    lines.push(
      `  ${models.join(', ')}: priced from bench:engine on ${cpu}, not on this machine (${here}); \`npm run bench:engine\` here measures this one (the newest record of a model prices it)`,
    );
  }
  for (const s of plan.speeds.filter((x) => x.gated === null))
    if (plan.experiments.some((e) => e.model === s.model && e.tfjsKernelRuns > 0))
      lines.push(
        s.tfjsKernelsShare === null
          ? `  ${s.model}: tfjs's kernels not measured, trainings with a penalty counted at the native step's speed (too fast)`
          : `  ${s.model}: training with unit gates not measured, counted at tfjs's kernels' speed without them (too fast)`,
      );
  if (t.jobHours === null || plan.wallHours === null)
    lines.push('  no bench:engine record measures any model: no time estimate');
  else
    lines.push(
      `  estimate: ${formatHours(t.jobHours)} of jobs, ${formatHours(plan.wallHours)} from start to end with ${workers.concurrency} at a time on ${workers.threads} of ${workers.cores} cores each${workers.sharesCores ? ' (fewer share the cores)' : ''}; evaluation as the speed says, and trainings with unit gates evaluate at ${FORWARD_SHARE.toFixed(2)} of their step per example; ${compactedPricing(plan.experiments)}`,
    );
  return lines;
}
