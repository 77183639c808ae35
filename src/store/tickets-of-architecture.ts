import type { Store, TicketRow } from './store.ts';

/** A masked ticket named as people read it: its experiment's name, method, level, weights. */
export interface ArchitecturePeerRow {
  id: string;
  experimentId: string;
  experimentName: string;
  method: string;
  level: number;
  remainingFraction: number;
  datasetName: string;
}

/**
 * Tickets, in any experiment, whose masks have the same shapes as `ticket`'s: the same model
 * on inputs of the same shape and class count, masked (not compacted by structured surgery).
 * Newest experiments first, levels in order; `search` matches experiment name, method or
 * dataset name.
 */
export function ticketsOfArchitecture(
  store: Store,
  ticket: TicketRow,
  o: { search: string; limit: number; offset: number },
): { rows: ArchitecturePeerRow[]; total: number } {
  const from = `FROM tickets t
    JOIN experiments e ON e.id = t.experiment_id
    JOIN datasets d ON d.id = t.dataset_id
    JOIN datasets here ON here.id = @datasetId
    WHERE t.architecture = @architecture
      AND d.input_shape = here.input_shape
      AND json_array_length(d.class_names) = json_array_length(here.class_names)
      AND t.mask_blob IS NOT NULL
      AND (t.structure IS NULL OR json_extract(t.structure, '$.architecture') IS NULL)
      AND t.id != @id
      AND (@search = '' OR e.name LIKE @like ESCAPE '\\' OR t.method LIKE @like ESCAPE '\\'
           OR d.name LIKE @like ESCAPE '\\')`;
  const params = {
    datasetId: ticket.datasetId,
    architecture: ticket.architecture,
    id: ticket.id,
    search: o.search,
    like: `%${o.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
  };
  const total = (store.db.prepare(`SELECT COUNT(*) AS n ${from}`).get(params) as { n: number }).n;
  const rows = store.db
    .prepare(
      `SELECT t.id, t.experiment_id, e.name AS experiment_name, t.method, t.level,
              t.remaining_fraction, d.name AS dataset_name
       ${from}
       ORDER BY e.created_at DESC, e.id, t.level, t.method
       LIMIT @limit OFFSET @offset`,
    )
    .all({ ...params, limit: o.limit, offset: o.offset }) as Record<string, unknown>[];
  return {
    total,
    rows: rows.map((r) => ({
      id: r.id as string,
      experimentId: r.experiment_id as string,
      experimentName: r.experiment_name as string,
      method: r.method as string,
      level: r.level as number,
      remainingFraction: r.remaining_fraction as number,
      datasetName: r.dataset_name as string,
    })),
  };
}
