import { buildArchitecture, type Architecture, type ModelName } from '../engine/architectures.ts';
import type { DatasetRow, Store, TicketRow } from '../store/store.ts';
import { getDatasetRow } from './datasets.ts';

/**
 * The architecture a ticket's stored tensors (mask, weights) belong to, with its dataset: a
 * compacted structured ticket's own, smaller one, else its model's on the dataset's inputs.
 */
export function ticketArchitecture(
  store: Store,
  ticket: TicketRow,
): { arch: Architecture; dataset: DatasetRow } {
  const dataset = getDatasetRow(store, ticket.datasetId);
  const arch =
    ticket.structure?.architecture ??
    buildArchitecture(
      ticket.architecture as ModelName,
      dataset.inputShape,
      dataset.classNames.length,
    );
  return { arch, dataset };
}
