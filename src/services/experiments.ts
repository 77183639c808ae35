import { checkControls, METHOD_SPECS } from '../api/methods.ts';
import { checkAugmentation, checkDurations, resolveSpec, type ResolvedSpec } from '../api/spec.ts';
import { specHash } from '../api/spec-hash.ts';
import { TicketLabError } from '../core/errors.ts';
import type { z } from 'zod';
import type { ExperimentDetail, ExperimentSummary, TicketView } from '../api/contract.ts';
import type {
  ExperimentFilter,
  ExperimentListRow,
  ExperimentRow,
  RunRow,
  Store,
  TicketRow,
} from '../store/store.ts';
import { buildArchitecture, layerWidths } from '../engine/architectures.ts';
import type { InferenceMeasurement } from '../pruning/structured/record.ts';
import { checkSlimmable } from '../pruning/structured/slimming.ts';
import { specIterationsPerEpoch } from '../core/split-counts.ts';
import { getDatasetRow } from './datasets.ts';
import { checkTransferSpec } from './transfer-source.ts';

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
  const { spec, hash } = checkSpec(store, input);
  const existing = store.findExperimentsByHash(hash);
  if (existing.length > 0 && !options.newReplicate)
    return { experiment: existing[0]!, created: false };
  const replicate = existing.length === 0 ? 0 : Math.max(...existing.map((e) => e.replicate)) + 1;
  const experiment = store.insertExperiment({
    name: spec.name ?? `${spec.model} ${METHOD_SPECS[spec.method].label(spec)} on ${spec.dataset}`,
    specJson: JSON.stringify(spec),
    specHash: hash,
    replicate,
    method: spec.method,
    datasetId: spec.dataset,
    model: spec.model,
  });
  return { experiment, created: true };
}

export interface CheckedSpec {
  spec: ResolvedSpec;
  hash: string;
  /** training iterations in one epoch of its dataset's training split */
  iterationsPerEpoch: number;
}

/**
 * Validates a spec against this data folder without storing anything: its dataset exists,
 * its training split is not empty, its durations are finite, its controls are at levels it
 * prunes, a transfer's source exists.
 */
export function checkSpec(store: Store, input: unknown): CheckedSpec {
  const spec = resolveSpec(input);
  const dataset = getDatasetRow(store, spec.dataset); // fails early, naming the known datasets
  // Refused here rather than failing in the worker: an empty training split, endless durations.
  const perEpoch = specIterationsPerEpoch(spec, dataset.trainCount, dataset.name);
  checkDurations(spec, perEpoch);
  checkAugmentation(spec.training, dataset.inputShape, dataset.name);
  checkControls(spec);
  if (spec.method === 'transfer') checkTransferSpec(store, spec);
  if (spec.method === 'structured' && spec.structured.method === 'slimming')
    checkSlimmable(buildArchitecture(spec.model, dataset.inputShape, dataset.classNames.length));
  return { spec, hash: specHash(spec), iterationsPerEpoch: perEpoch };
}

// ── read side: the shapes of the contract (and of `ticketlab ls/show --json`) ──

export type ExperimentSummaryView = z.output<typeof ExperimentSummary>;
export type TicketViewT = z.output<typeof TicketView>;
export type ExperimentDetailView = z.output<typeof ExperimentDetail>;

export function toSummary(e: ExperimentListRow): ExperimentSummaryView {
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    method: e.method,
    model: e.model,
    dataset: e.datasetId,
    datasetName: e.datasetName,
    specHash: e.specHash,
    replicate: e.replicate,
    levels: e.levels,
    minRemainingWeights: e.minRemainingFraction,
    accuracyAtMinRemaining: e.accuracyAtMinRemaining,
    tags: e.tags,
    notes: e.notes,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

/** Dense over compacted median latency at batch 1 and 64, as measured. */
function speedupOf(m: InferenceMeasurement | null): TicketViewT['speedup'] {
  const at = (batch: number) => {
    const l = m?.latency.find((x) => x.batch === batch);
    return l ? l.denseMs / l.compactMs : null;
  };
  const batch1 = at(1);
  const batch64 = at(64);
  return m && batch1 !== null && batch64 !== null ? { batch1, batch64, backend: m.backend } : null;
}

/**
 * A run whose minimum validation loss is at its first evaluation, where training started,
 * has no early-stopped network: what is stored there (iteration and accuracy) is the
 * untrained one, and the view says so rather than present it as a ticket's result.
 */
function earlyStopNote(run: RunRow | undefined): string | null {
  if (!run || run.status !== 'done' || run.earlyStopIteration !== run.startIteration) return null;
  if (run.iterations <= run.startIteration) return null;
  const where =
    run.startIteration === 0
      ? 'iteration 0'
      : `iteration ${run.startIteration}, where training started`;
  return `early stop at ${where}: training never improved validation loss, so the test accuracy at early stop is that of the weights before training`;
}

export function toTicketView(t: TicketRow, run: RunRow | undefined): TicketViewT {
  return {
    id: t.id,
    parentId: t.parentId,
    sourceTicketId: t.sourceTicketId,
    level: t.level,
    method: t.method,
    remainingWeights: t.remainingFraction,
    testAccuracy: run?.testAccuracy ?? null,
    finalTestAccuracy: run?.finalTestAccuracy ?? null,
    earlyStopIteration: run?.earlyStopIteration ?? null,
    earlyStopNote: earlyStopNote(run),
    remainingParams: t.remainingParams,
    totalParams: t.totalParams,
    flops: t.flops,
    remainingWeightsPerLayer: t.layerRemaining.map((l) => ({
      ...l,
      remaining: l.total === 0 ? 0 : l.kept / l.total,
    })),
    trained: t.trainedBlob !== null,
    runId: run?.id ?? null,
    wallTimeMs: run?.wallTimeMs ?? null,
    backend: run?.backend ?? null,
    reusedFromRunId: run?.reusedFrom ?? null,
    kernelThreads: run?.kernelThreads ?? null,
    speedup: speedupOf(t.inference),
    widths: t.structure?.architecture ? layerWidths(t.structure.architecture) : null,
  };
}

function requireExperiment(store: Store, id: string): ExperimentRow {
  const e = store.getExperiment(id);
  if (!e)
    throw new TicketLabError('NOT_FOUND', `No experiment ${id}; \`ticketlab ls\` lists them.`);
  return e;
}

export function experimentSummary(store: Store, id: string): ExperimentSummaryView {
  requireExperiment(store, id);
  return toSummary(store.listExperiments({ id }, 1)[0]!);
}

/** The lineage: every ticket with its parent and its run's summary (no metric history). */
export function lineage(store: Store, id: string): TicketViewT[] {
  requireExperiment(store, id);
  const runOf = new Map(store.listRunsOfExperiment(id).map((r) => [r.ticketId, r]));
  return store.listTickets(id).map((t) => toTicketView(t, runOf.get(t.id)));
}

export function showExperiment(store: Store, id: string): ExperimentDetailView {
  const e = requireExperiment(store, id);
  return {
    ...experimentSummary(store, id),
    spec: JSON.parse(e.specJson),
    error: e.error,
    tickets: lineage(store, id),
  };
}

export function listExperiments(
  store: Store,
  filter: ExperimentFilter = {},
  limit = 100,
  offset = 0,
) {
  return {
    items: store.listExperiments(filter, limit, offset).map(toSummary),
    total: store.countExperiments(filter),
  };
}
