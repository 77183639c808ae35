import type { z } from 'zod';
import type { SweepCost, SweepView } from '../api/contract.ts';
import { jobIterations, runsInJob } from '../api/methods.ts';
import type { ResolvedSpec } from '../api/spec.ts';
import {
  ComputeTarget,
  expandSweep,
  resolveSweep,
  type ComputeTargetSpec,
  type ResolvedSweep,
} from '../api/sweep.ts';
import { TicketLabError } from '../core/errors.ts';
import { sha256Hex } from '../core/hash.ts';
import type { Store } from '../store/store.ts';
import {
  addSweepMembers,
  findSweepByHash,
  getSetting,
  getSweep,
  insertSweep,
  listSweeps,
  sweepMembers,
  type SweepRow,
} from '../store/sweeps.ts';
import { checkSpec, createExperiment, experimentSummary } from './experiments.ts';

export type SweepCostView = z.output<typeof SweepCost>;
export type SweepViewT = z.output<typeof SweepView>;

interface PlannedExperiment {
  values: Record<string, unknown>;
  hash: string;
  name: string;
  spec: unknown;
  runs: number;
  resolved: ResolvedSpec;
  iterationsPerEpoch: number;
  /** the stored experiment with this spec (replicate 0), if any */
  existingId: string | null;
}

export interface SweepPlan {
  sweep: ResolvedSweep;
  hash: string;
  experiments: PlannedExperiment[];
  cost: SweepCostView;
}

function nameOf(
  store: Store,
  sweep: ResolvedSweep,
  values: Record<string, unknown>,
): string | undefined {
  if (!sweep.name) return undefined;
  // a dataset is named by its name, not its id: experiment names are read by people
  const show = (k: string, v: unknown) =>
    typeof v !== 'string'
      ? JSON.stringify(v)
      : k === 'dataset'
        ? (store.getDataset(v)?.name ?? v)
        : v;
  const point = Object.entries(values)
    .map(([k, v]) => `${k}=${show(k, v)}`)
    .join(' ');
  return point ? `${sweep.name} · ${point}` : sweep.name;
}

/** Trained runs stored for an experiment (its tickets with trained weights). */
function trainedRuns(store: Store, experimentId: string): number {
  return store.listTickets(experimentId).filter((t) => t.trainedBlob !== null).length;
}

/**
 * Expands and checks a sweep against this data folder and prices it, storing nothing:
 * which of its experiments exist already and how much training is left.
 */
export function planSweep(store: Store, input: unknown): SweepPlan {
  const sweep = resolveSweep(input);
  const experiments = expandSweep(sweep).map(({ values, spec }) => {
    const named = { ...spec, name: nameOf(store, sweep, values) ?? spec.name };
    const checked = checkSpec(store, named);
    return {
      values,
      hash: checked.hash,
      name: named.name ?? '',
      spec: named,
      runs: runsInJob(checked.spec),
      resolved: checked.spec,
      iterationsPerEpoch: checked.iterationsPerEpoch,
      existingId: store.findExperimentsByHash(checked.hash)[0]?.id ?? null,
    };
  });
  const unique = new Set(experiments.map((e) => e.hash));
  if (unique.size < experiments.length)
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid sweep: ${experiments.length - unique.size} of its ${experiments.length} combinations are the same experiment as another (an axis whose values resolve alike, or that the method ignores). Remove the repeated values.`,
    );
  let runsLeft = 0;
  let iterations = 0;
  let iterationsLeft = 0;
  let upperBound = false;
  for (const e of experiments) {
    const done = e.existingId ? Math.min(e.runs, trainedRuns(store, e.existingId)) : 0;
    runsLeft += e.runs - done;
    const all = jobIterations(e.resolved, e.iterationsPerEpoch);
    iterations += all.iterations;
    // the runners train a job's runs in the planned order, so the first `done` are stored
    iterationsLeft += jobIterations(e.resolved, e.iterationsPerEpoch, done).iterations;
    upperBound ||= all.upperBound;
  }
  return {
    sweep,
    hash: sha256Hex(JSON.stringify([...unique].sort())),
    experiments,
    cost: {
      experiments: experiments.length,
      stored: experiments.filter((e) => e.existingId).length,
      runs: experiments.reduce((n, e) => n + e.runs, 0),
      runsLeft,
      iterations,
      iterationsLeft,
      iterationsAreUpperBound: upperBound,
    },
  };
}

/** The data folder's compute target (settings key `computeTarget`), local when unset. */
export function defaultTarget(store: Store): ComputeTargetSpec {
  const stored = getSetting(store, 'computeTarget');
  if (stored === undefined) return { kind: 'local' };
  const parsed = ComputeTarget.safeParse(stored);
  if (!parsed.success)
    throw new TicketLabError(
      'INVALID_INPUT',
      `The data folder's computeTarget setting is invalid (${parsed.error.issues[0]?.message}); set it again with \`ticketlab target <target.json>\` (or \`ticketlab target local\`).`,
    );
  return parsed.data;
}

/**
 * Stores a sweep: finds or creates each of its experiments (by spec hash, so an experiment
 * another sweep or a plain run made is shared, never trained twice) and the sweep itself
 * (by the set of its experiments, so running it again continues it).
 */
export function createSweep(store: Store, plan: SweepPlan): SweepRow {
  return store.transaction(() => {
    const members = plan.experiments.map((e, position) => ({
      experimentId: createExperiment(store, e.spec).experiment.id,
      position,
      point: e.values,
    }));
    const existing = findSweepByHash(store, plan.hash);
    if (existing) {
      addSweepMembers(store, existing.id, members);
      return existing;
    }
    return insertSweep(
      store,
      {
        name: plan.sweep.name ?? `sweep of ${plan.experiments.length} experiments`,
        specJson: JSON.stringify(plan.sweep),
        specHash: plan.hash,
      },
      members,
    );
  });
}

export function targetOfSweep(store: Store, row: SweepRow): ComputeTargetSpec {
  return resolveSweep(JSON.parse(row.specJson)).target ?? defaultTarget(store);
}

export function requireSweep(store: Store, id: string): SweepRow {
  const row = getSweep(store, id);
  if (!row)
    throw new TicketLabError('NOT_FOUND', `No sweep ${id}; \`ticketlab sweeps\` lists them.`);
  return row;
}

export function sweepView(store: Store, row: SweepRow): SweepViewT {
  const members = sweepMembers(store, row.id);
  const experiments = members.map((m) => {
    const e = store.getExperiment(m.experimentId)!;
    const runs = runsInJob(JSON.parse(e.specJson));
    return {
      point: m.point,
      experiment: experimentSummary(store, m.experimentId),
      runs,
      runsDone: Math.min(runs, trainedRuns(store, m.experimentId)),
    };
  });
  const runs = experiments.reduce((n, e) => n + e.runs, 0);
  const runsDone = experiments.reduce((n, e) => n + e.runsDone, 0);
  const byStatus: Record<string, number> = {};
  for (const e of experiments)
    byStatus[e.experiment.status] = (byStatus[e.experiment.status] ?? 0) + 1;
  return {
    id: row.id,
    name: row.name,
    specHash: row.specHash,
    axes: resolveSweep(JSON.parse(row.specJson)).axes,
    target: targetOfSweep(store, row),
    experiments,
    statusCounts: byStatus,
    runs,
    runsDone,
    progress: runs === 0 ? 1 : runsDone / runs,
    createdAt: row.createdAt,
  };
}

export function listSweepViews(store: Store): SweepViewT[] {
  return listSweeps(store).map((row) => sweepView(store, row));
}
