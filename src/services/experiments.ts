import { durationToIterations, resolveSpec, specHash, type ResolvedSpec } from '../api/spec.ts';
import { isTicketLabError, TicketLabError } from '../core/errors.ts';
import { deriveSeed } from '../core/random.ts';
import { prepareData } from '../data/split.ts';
import { buildArchitecture, describeParams, type ModelName } from '../engine/architectures.ts';
import { initBackend } from '../engine/backend.ts';
import { bundleToWeights, weightsToBundle } from '../engine/model.ts';
import type { TrainProgress } from '../engine/train.ts';
import { runImp, type ImpResume, type RunInfo, type TicketOutcome } from '../pruning/imp.ts';
import { bundleToMask, maskToBundle } from '../pruning/mask.ts';
import type { ExperimentRow, MetricRow, RunRow, Store, TicketRow } from '../store/store.ts';
import { getDatasetRow, loadDataset } from './datasets.ts';

export interface CreateResult {
  experiment: ExperimentRow;
  /** false when an experiment with the same spec hash already existed and was returned */
  created: boolean;
}

/**
 * Validates a spec and finds or creates its experiment. A spec whose hash is stored
 * returns the stored experiment; `newReplicate` asks for one more replicate instead.
 */
export function createExperiment(
  store: Store,
  input: unknown,
  options: { newReplicate?: boolean } = {},
): CreateResult {
  const spec = resolveSpec(input);
  getDatasetRow(store, spec.dataset); // fails early, naming the known datasets
  const hash = specHash(spec);
  const existing = store.findExperimentsByHash(hash);
  if (existing.length > 0 && !options.newReplicate)
    return { experiment: existing[0]!, created: false };
  const replicate = existing.length === 0 ? 0 : Math.max(...existing.map((e) => e.replicate)) + 1;
  const experiment = store.insertExperiment({
    name: spec.name ?? `${spec.model} IMP on ${spec.dataset}`,
    specJson: JSON.stringify(spec),
    specHash: hash,
    replicate,
    method: spec.method,
    datasetId: spec.dataset,
    model: spec.model,
  });
  return { experiment, created: true };
}

/** Replicate 0 uses the spec's seed; others derive theirs from it. */
export function replicateSeed(spec: ResolvedSpec, replicate: number): number {
  return replicate === 0 ? spec.seed : deriveSeed(spec.seed, 'replicate', replicate) % 2 ** 31;
}

export interface RunEvents {
  onStart?(info: {
    experiment: ExperimentRow;
    backend: string;
    device: string;
    iterationsPerRun: number;
    runsTotal: number;
    runsDone: number;
  }): void;
  onRunStart?(run: RunInfo): void;
  onProgress?(run: RunInfo, p: TrainProgress): void;
  onTicket?(ticket: TicketRow, run: RunRow): void;
}

function parentKey(p: { level: number; method: string }): string {
  return `${p.level}/${p.method}`;
}

/** A level is complete when its IMP ticket and every requested control are stored. */
function methodsPerLevel(spec: ResolvedSpec, level: number): string[] {
  if (level === 0) return ['dense'];
  return [
    'imp',
    ...(spec.controls.randomReinit ? ['random-reinit'] : []),
    ...(spec.controls.randomPrune ? ['random-prune'] : []),
  ];
}

/**
 * Runs (or continues) an experiment in this process. Each trained ticket is stored at
 * once, with its blobs, run and metrics in one transaction, so a cancel or crash loses
 * at most the training in flight; running it again continues after the last complete
 * level.
 */
export async function runExperiment(
  store: Store,
  experimentId: string,
  options: { signal?: AbortSignal; events?: RunEvents } = {},
): Promise<ExperimentRow> {
  const experiment = store.getExperiment(experimentId);
  if (!experiment) throw new TicketLabError('NOT_FOUND', `No experiment ${experimentId}`);
  const spec = resolveSpec(JSON.parse(experiment.specJson));
  const events = options.events ?? {};
  const backend = await initBackend();

  const dataset = loadDataset(store, spec.dataset);
  const arch = buildArchitecture(
    spec.model as ModelName,
    dataset.inputShape,
    dataset.classNames.length,
  );
  const data = prepareData(dataset, spec.validationFraction);
  const batchSize = Math.min(spec.training.batchSize, data.train.count);
  const itersPerEpoch = Math.floor(data.train.count / batchSize);
  const iterations = durationToIterations(spec.training.duration, itersPerEpoch);
  const rewindIteration = durationToIterations(spec.pruning.rewind, itersPerEpoch);
  if (iterations < 1)
    throw new TicketLabError(
      'INVALID_SPEC',
      `spec.training.duration: "${spec.training.duration}" is zero iterations`,
    );
  if (rewindIteration >= iterations) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `spec.pruning.rewind: ${spec.pruning.rewind} (${rewindIteration} iterations) must come before the end of training (${iterations} iterations)`,
    );
  }

  // Resume: keep complete levels, drop the tickets of a level cut short.
  let tickets = store.listTickets(experimentId);
  let lastComplete = -1;
  for (let level = 0; ; level++) {
    const have = new Set(tickets.filter((t) => t.level === level).map((t) => t.method));
    if (!methodsPerLevel(spec, level).every((m) => have.has(m))) break;
    lastComplete = level;
  }
  store.deleteTicketsAbove(experimentId, lastComplete);
  tickets = store.listTickets(experimentId);
  const ticketIds = new Map(tickets.map((t) => [parentKey(t), t.id]));

  let resume: ImpResume | undefined;
  if (lastComplete >= 0) {
    const last = tickets.find(
      (t) => t.level === lastComplete && (t.method === 'imp' || t.method === 'dense'),
    )!;
    const dense = tickets.find((t) => t.level === 0 && t.method === 'dense')!;
    resume = {
      level: lastComplete,
      mask: bundleToMask(store.getTensors(last.maskBlob!)),
      trainedWeights: bundleToWeights(store.getTensors(last.trainedBlob!)),
      rewindWeights: bundleToWeights(store.getTensors(dense.rewindBlob ?? dense.initBlob!)),
    };
  }

  const runsTotal = Array.from(
    { length: spec.pruning.levels + 1 },
    (_, l) => methodsPerLevel(spec, l).length,
  ).reduce((a, b) => a + b, 0);
  const runsDone = tickets.length;
  store.setExperimentStatus(experimentId, 'running');
  events.onStart?.({
    experiment,
    backend: backend.name,
    device: backend.device,
    iterationsPerRun: iterations,
    runsTotal,
    runsDone,
  });

  const specs = describeParams(arch);
  const hyperparams = { ...spec.training, iterations, rewindIteration, batchSize };

  const storeTicket = (t: TicketOutcome) => {
    // Blobs first (content-addressed, idempotent), then the rows in one transaction.
    const maskBlob = store.putTensors(maskToBundle(specs, t.mask));
    const initBlob = store.putTensors(weightsToBundle(specs, t.startWeights));
    const trainedBlob = store.putTensors(weightsToBundle(specs, t.trainedWeights));
    const rewindBlob = t.rewindWeights
      ? store.putTensors(weightsToBundle(specs, t.rewindWeights))
      : null;
    const { earlyStop, final } = t.training;
    return store.transaction(() => {
      const ticket = store.insertTicket({
        experimentId,
        parentId: t.parent ? (ticketIds.get(parentKey(t.parent)) ?? null) : null,
        method: t.method,
        level: t.level,
        datasetId: spec.dataset,
        architecture: spec.model,
        remainingFraction: t.size.remainingFraction,
        remainingParams: t.size.remainingParams,
        totalParams: t.size.totalParams,
        flops: t.size.flops,
        layerRemaining: t.size.layers,
        maskBlob,
        initBlob,
        rewindBlob,
        trainedBlob,
      });
      ticketIds.set(parentKey(t), ticket.id);
      const finishedAt = new Date().toISOString();
      const run = store.insertRun({
        ticketId: ticket.id,
        seed: t.seed,
        startIteration: t.level === 0 ? 0 : rewindIteration,
        hyperparams,
        backend: backend.name,
        status: 'done',
        iterations,
        earlyStopIteration: earlyStop.iteration,
        bestValLoss: earlyStop.valLoss,
        valAccuracy: earlyStop.valAccuracy,
        testAccuracy: earlyStop.testAccuracy,
        finalTestAccuracy: final.testAccuracy,
        wallTimeMs: Math.round(t.training.wallTimeMs),
        error: null,
        startedAt: new Date(Date.now() - t.training.wallTimeMs).toISOString(),
        finishedAt,
      });
      const metrics: MetricRow[] = [];
      for (const p of t.training.evals) {
        if (p.trainLoss !== null)
          metrics.push({
            runId: run.id,
            split: 'train',
            step: p.iteration,
            epoch: p.epoch,
            loss: p.trainLoss,
            accuracy: null,
          });
        metrics.push({
          runId: run.id,
          split: 'val',
          step: p.iteration,
          epoch: p.epoch,
          loss: p.valLoss,
          accuracy: p.valAccuracy,
        });
        metrics.push({
          runId: run.id,
          split: 'test',
          step: p.iteration,
          epoch: p.epoch,
          loss: p.testLoss,
          accuracy: p.testAccuracy,
        });
      }
      store.insertMetrics(metrics);
      return { ticket, run };
    });
  };

  try {
    await runImp(
      {
        arch,
        data,
        init: spec.init,
        seed: replicateSeed(spec, experiment.replicate),
        training: { ...spec.training, batchSize, iterations },
        rewindIteration,
        levels: spec.pruning.levels,
        scope: spec.pruning.scope,
        rates: spec.pruning.rates,
        globalRate: spec.pruning.globalRate,
        pruneOutput: spec.pruning.pruneOutput,
        controls: spec.controls,
      },
      {
        onRunStart: (run) => events.onRunStart?.(run),
        onProgress: (run, p) => events.onProgress?.(run, p),
        onTicket: (t) => {
          const { ticket, run } = storeTicket(t);
          events.onTicket?.(ticket, run);
        },
      },
      { signal: options.signal, resume },
    );
    store.setExperimentStatus(experimentId, 'done');
  } catch (e) {
    if (isTicketLabError(e, 'CANCELLED'))
      store.setExperimentStatus(
        experimentId,
        'cancelled',
        'Stopped by the user; finished levels are kept.',
      );
    else store.setExperimentStatus(experimentId, 'failed', (e as Error).message);
    throw e;
  }
  return store.getExperiment(experimentId)!;
}

// ── read side: the shapes `ticketlab ls/show --json` print (scripts rely on these names) ──

export interface TicketView {
  id: string;
  parentId: string | null;
  level: number;
  method: string;
  /** fraction 0–1 of prunable weights kept */
  remainingWeights: number;
  /** test accuracy 0–1 at the early-stopping iteration */
  testAccuracy: number | null;
  finalTestAccuracy: number | null;
  earlyStopIteration: number | null;
  remainingParams: number;
  totalParams: number;
  flops: number;
  remainingWeightsPerLayer: { layer: string; total: number; kept: number; remaining: number }[];
}

export interface ExperimentView {
  id: string;
  name: string;
  status: string;
  error: string | null;
  method: string;
  model: string;
  dataset: string;
  specHash: string;
  replicate: number;
  spec: ResolvedSpec;
  createdAt: string;
  updatedAt: string;
  tickets: TicketView[];
  runs: (Omit<RunRow, 'hyperparams'> & { hyperparams: Record<string, unknown> })[];
}

export function toTicketView(t: TicketRow, run: RunRow | undefined): TicketView {
  return {
    id: t.id,
    parentId: t.parentId,
    level: t.level,
    method: t.method,
    remainingWeights: t.remainingFraction,
    testAccuracy: run?.testAccuracy ?? null,
    finalTestAccuracy: run?.finalTestAccuracy ?? null,
    earlyStopIteration: run?.earlyStopIteration ?? null,
    remainingParams: t.remainingParams,
    totalParams: t.totalParams,
    flops: t.flops,
    remainingWeightsPerLayer: t.layerRemaining.map((l) => ({
      ...l,
      remaining: l.total === 0 ? 0 : l.kept / l.total,
    })),
  };
}

export function showExperiment(store: Store, id: string): ExperimentView {
  const e = store.getExperiment(id);
  if (!e)
    throw new TicketLabError('NOT_FOUND', `No experiment ${id}; \`ticketlab ls\` lists them.`);
  const runs = store.listRunsOfExperiment(id);
  const runOf = new Map(runs.map((r) => [r.ticketId, r]));
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    error: e.error,
    method: e.method,
    model: e.model,
    dataset: e.datasetId,
    specHash: e.specHash,
    replicate: e.replicate,
    spec: JSON.parse(e.specJson),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    tickets: store.listTickets(id).map((t) => toTicketView(t, runOf.get(t.id))),
    runs,
  };
}

export interface ExperimentSummary {
  id: string;
  name: string;
  status: string;
  method: string;
  model: string;
  dataset: string;
  specHash: string;
  replicate: number;
  levels: number;
  /** lowest remaining-weight fraction reached by an IMP ticket */
  minRemainingWeights: number | null;
  createdAt: string;
}

export function listExperiments(store: Store, limit = 100, offset = 0): ExperimentSummary[] {
  return store.listExperiments(limit, offset).map((e) => ({
    id: e.id,
    name: e.name,
    status: e.status,
    method: e.method,
    model: e.model,
    dataset: e.datasetId,
    specHash: e.specHash,
    replicate: e.replicate,
    levels: e.levels,
    minRemainingWeights: e.minRemainingFraction,
    createdAt: e.createdAt,
  }));
}
