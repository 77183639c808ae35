import { resolveSpec, type ResolvedSpec } from '../api/spec.ts';
import { TicketLabError } from '../core/errors.ts';
import { buildArchitecture } from '../engine/architectures.ts';
import { transferPlan } from '../pruning/transfer.ts';
import type { Store, TicketRow } from '../store/store.ts';
import { getDatasetRow } from './datasets.ts';

/**
 * The source ticket of a transfer and whether its shapes carry over: checked when a
 * transfer experiment is created (experiments.ts) and when transfers are asked for
 * (transfer.ts).
 */

export function sourceOf(
  store: Store,
  ticketId: string,
): { ticket: TicketRow; spec: ResolvedSpec } {
  const ticket = store.getTicket(ticketId);
  if (!ticket) throw new TicketLabError('NOT_FOUND', `No ticket ${ticketId} to transfer.`);
  if (!ticket.maskBlob || !ticket.initBlob) {
    throw new TicketLabError('INVALID_INPUT', `Ticket ${ticketId} has no stored mask yet.`);
  }
  if (ticket.structure?.architecture) {
    throw new TicketLabError(
      'INVALID_INPUT',
      `Ticket ${ticketId} is a compacted (structured) model; transfer takes masked tickets of the full architecture.`,
    );
  }
  const experiment = store.getExperiment(ticket.experimentId)!;
  return { ticket, spec: resolveSpec(JSON.parse(experiment.specJson)) };
}

/** Refuses a transfer spec whose source is missing or whose shapes cannot carry over. */
export function checkTransferSpec(store: Store, spec: ResolvedSpec): void {
  const source = sourceOf(store, spec.transfer.source!);
  if (source.spec.model !== spec.model) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `spec.model: the source ticket ${source.ticket.id} is a ${source.spec.model}, not a ${spec.model}.`,
    );
  }
  const from = getDatasetRow(store, source.ticket.datasetId);
  const to = getDatasetRow(store, spec.dataset);
  transferPlan(
    buildArchitecture(spec.model, from.inputShape, from.classNames.length),
    buildArchitecture(spec.model, to.inputShape, to.classNames.length),
  );
}
