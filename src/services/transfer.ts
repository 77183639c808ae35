import type { z } from 'zod';
import type { TransferMatrix } from '../api/contract.ts';
import { resolveSpec, type ResolvedSpec } from '../api/spec.ts';
import type { ExperimentRow, Store, TicketRow } from '../store/store.ts';
import { getDatasetRow } from './datasets.ts';
import { createExperiment } from './experiments.ts';
import { checkTransferSpec, sourceOf } from './transfer-source.ts';

/**
 * Transfer experiments: one per (source ticket, target dataset), each training the
 * transferred ticket and a random ticket of the same per-layer sparsity on the target.
 */

export interface TransferRequest {
  ticketId: string;
  targets: string[];
  /** training length on the targets; the source experiment's by default */
  duration?: string;
  newReplicate: boolean;
}

/**
 * One transfer experiment per target, trained with the source experiment's settings (same
 * optimiser, budget, seed and initialisation) and the random-ticket control. Every target
 * is checked before any experiment is created.
 */
export function createTransfers(
  store: Store,
  r: TransferRequest,
): { experiment: ExperimentRow; created: boolean }[] {
  const source = sourceOf(store, r.ticketId);
  const sourceDataset = getDatasetRow(store, source.ticket.datasetId);
  const specs = r.targets.map((target) => {
    const targetDataset = getDatasetRow(store, target);
    const spec = transferSpec({ ticketId: r.ticketId, spec: source.spec }, targetDataset.id, {
      // named as people read it (the source ticket's id is in its spec and lineage)
      name: `${source.spec.model} ${source.ticket.method} level ${source.ticket.level} ticket (${(source.ticket.remainingFraction * 100).toFixed(1)}%) from ${sourceDataset.name} on ${targetDataset.name}`,
      duration: r.duration,
    });
    checkTransferSpec(store, spec);
    return spec;
  });
  return store.transaction(() =>
    specs.map((spec) => createExperiment(store, spec, { newReplicate: r.newReplicate })),
  );
}

/**
 * The spec of a ticket's transfer to the dataset `target`: the source experiment's settings
 * (same optimiser, budget, seed and initialisation) and the random-ticket control. The
 * campaign's plan (bench/campaign/plan.ts) counts a transfer's trainings from it.
 */
export function transferSpec(
  source: { ticketId: string; spec: ResolvedSpec },
  target: string,
  options: { name?: string; duration?: string } = {},
): ResolvedSpec {
  return resolveSpec({
    ...(options.name ? { name: options.name } : {}),
    method: 'transfer',
    model: source.spec.model,
    dataset: target,
    init: source.spec.init,
    seed: source.spec.seed,
    validationFraction: source.spec.validationFraction,
    training: {
      ...source.spec.training,
      ...(options.duration ? { duration: options.duration } : {}),
    },
    controls: { randomPrune: true },
    transfer: { source: source.ticketId },
  });
}

type MatrixRow = z.output<typeof TransferMatrix>['rows'][number];

function mean(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** The trained run's test accuracy (at its early-stop iteration) of a ticket, if any. */
function accuracyOf(store: Store, ticket: TicketRow | undefined): number | null {
  return ticket ? (store.runOfTicket(ticket.id)?.testAccuracy ?? null) : null;
}

/**
 * Every transferred ticket against its random ticket and, where one exists, the IMP ticket
 * found on the target itself with the closest remaining-weight fraction (within a factor
 * of 1.5), and the cells source dataset × target dataset averaged over rows.
 */
export function transferMatrix(store: Store): z.output<typeof TransferMatrix> {
  const rows: MatrixRow[] = [];
  for (const t of store.transferredTickets()) {
    const source = store.getTicket(t.sourceTicketId!);
    if (!source) continue;
    const transferred = accuracyOf(store, t);
    const random = accuracyOf(store, store.findTicket(t.experimentId, t.level, 'random-prune'));
    // Replicates of the target's IMP run share the closest level: their mean is the reference.
    const candidates = store
      .trainedTicketsOn(t.datasetId, t.architecture, 'imp')
      .map((c) => ({ c, gap: Math.abs(Math.log(c.remainingFraction / t.remainingFraction)) }))
      .filter(({ gap }) => gap <= Math.log(1.5))
      .sort((a, b) => a.gap - b.gap);
    const closest = candidates
      .filter(({ gap }) => gap - candidates[0]!.gap < 1e-9)
      .map(({ c }) => c);
    const found = closest[0];
    const targetFound = mean(closest.map((c) => accuracyOf(store, c)));
    rows.push({
      experimentId: t.experimentId,
      ticketId: t.id,
      sourceTicketId: source.id,
      sourceDataset: source.datasetId,
      targetDataset: t.datasetId,
      model: t.architecture,
      remainingWeights: t.remainingFraction,
      transferAccuracy: transferred,
      randomAccuracy: random,
      targetTicketId: found?.id ?? null,
      targetTicketRemainingWeights: found?.remainingFraction ?? null,
      targetTicketAccuracy: targetFound,
      targetTicketCount: closest.length,
      vsRandom: transferred !== null && random !== null ? transferred - random : null,
      vsTargetTicket:
        transferred !== null && targetFound !== null ? transferred - targetFound : null,
    });
  }
  const cells = new Map<string, MatrixRow[]>();
  for (const row of rows) {
    const key = `${row.sourceDataset}\u0000${row.targetDataset}`;
    cells.set(key, [...(cells.get(key) ?? []), row]);
  }
  return {
    rows,
    cells: [...cells.values()].map((group) => ({
      sourceDataset: group[0]!.sourceDataset,
      targetDataset: group[0]!.targetDataset,
      n: group.length,
      vsRandom: mean(group.map((r) => r.vsRandom)),
      nVsRandom: group.filter((r) => r.vsRandom !== null).length,
      vsTargetTicket: mean(group.map((r) => r.vsTargetTicket)),
      nVsTargetTicket: group.filter((r) => r.vsTargetTicket !== null).length,
    })),
  };
}
