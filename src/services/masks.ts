import type { z } from 'zod';
import type { MaskTicket, TicketMasks } from '../api/contract.ts';
import { TicketLabError } from '../core/errors.ts';
import type { TensorBundle } from '../core/tensorfile.ts';
import { describeParams, type ParamSpec, type Shape3 } from '../engine/architectures.ts';
import {
  describeMaskShapes,
  inputPixelMap,
  layerMaskViews,
  maskOverlap,
  sameMaskShapes,
} from '../pruning/mask-views.ts';
import type { Store, TicketRow } from '../store/store.ts';
import { ticketsOfArchitecture } from '../store/tickets-of-architecture.ts';
import { ticketArchitecture } from './ticket-architecture.ts';

/** A ticket's stored mask with what it takes to read it; only the mask blob is read. */
interface LoadedMask {
  row: TicketRow;
  ticket: z.output<typeof MaskTicket>;
  mask: TensorBundle;
  params: ParamSpec[];
  inputShape: Shape3;
}

function loadMask(store: Store, id: string): LoadedMask {
  const row = store.getTicket(id);
  if (!row) throw new TicketLabError('NOT_FOUND', `No ticket ${id}.`);
  if (!row.maskBlob) {
    throw new TicketLabError(
      'INVALID_INPUT',
      `Ticket ${id} has no stored mask (a structured ticket is a smaller dense model); pick a masked ticket.`,
    );
  }
  const experiment = store.getExperiment(row.experimentId)!;
  // a compacted structured ticket's mask is over its own, smaller architecture
  const { arch, dataset } = ticketArchitecture(store, row);
  return {
    row,
    ticket: {
      id: row.id,
      experimentId: row.experimentId,
      experimentName: experiment.name,
      method: row.method,
      level: row.level,
      remainingWeights: row.remainingFraction,
      model: row.architecture,
      datasetName: dataset.name,
      inputShape: dataset.inputShape,
    },
    mask: store.getTensors(row.maskBlob),
    params: describeParams(arch),
    inputShape: dataset.inputShape,
  };
}

const describe = (m: LoadedMask) =>
  `${m.ticket.model} on ${m.ticket.inputShape.join('×')} inputs (${describeMaskShapes(m.mask, m.params)})`;

/**
 * A ticket's mask views, measured from its stored mask: per-layer heat-maps, the first
 * layer's kept weights per input pixel, and, with `againstId`, the overlap with another
 * ticket's mask of the same architecture (any experiment).
 */
export function ticketMasks(
  store: Store,
  ticketId: string,
  againstId?: string,
): z.output<typeof TicketMasks> {
  const here = loadMask(store, ticketId);
  let overlap: z.output<typeof TicketMasks>['overlap'] = null;
  if (againstId) {
    const there = loadMask(store, againstId);
    if (!sameMaskShapes(here.mask, there.mask)) {
      throw new TicketLabError(
        'INVALID_INPUT',
        `Tickets ${here.ticket.id} and ${there.ticket.id} have different architectures, so their masks cannot overlap: ${describe(here)} against ${describe(there)}. Pick a ticket of the same model on inputs of the same shape and class count.`,
      );
    }
    overlap = { against: there.ticket, ...maskOverlap(here.mask, there.mask, here.params) };
  }
  return {
    ticket: here.ticket,
    layers: layerMaskViews(here.mask, here.params),
    inputMap: inputPixelMap(here.mask, here.params, here.inputShape),
    overlap,
  };
}

/** Tickets whose masks can overlap this one's, named by experiment, level and weights. */
export function comparableTickets(
  store: Store,
  ticketId: string,
  o: { search: string; limit: number; offset: number },
) {
  const row = store.getTicket(ticketId);
  if (!row) throw new TicketLabError('NOT_FOUND', `No ticket ${ticketId}.`);
  // a compacted ticket's shapes are its own: masked tickets of its model do not fit them
  if (row.structure?.architecture) return { total: 0, items: [] };
  const { rows, total } = ticketsOfArchitecture(store, row, o);
  return {
    total,
    items: rows.map((r) => ({
      id: r.id,
      experimentId: r.experimentId,
      experimentName: r.experimentName,
      method: r.method,
      level: r.level,
      remainingWeights: r.remainingFraction,
      datasetName: r.datasetName,
    })),
  };
}
