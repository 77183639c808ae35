import type { MethodOutput } from '../../../src/api/contract.ts';

export type TransferMatrix = MethodOutput<'transfer.matrix'>;

export interface HeatmapGrid {
  sources: string[];
  targets: string[];
  /** value per `source\0target`, null where no transfer is trained yet */
  value: (source: string, target: string) => { v: number | null; n: number } | undefined;
  /** the largest |value|, for a symmetric colour scale around 0 */
  extent: number;
}

/** Source × target cells of the transfer matrix for one of its two differences. */
export function heatmapGrid(
  matrix: TransferMatrix,
  metric: 'vsRandom' | 'vsTargetTicket',
): HeatmapGrid {
  const sources = [...new Set(matrix.cells.map((c) => c.sourceDataset))].sort();
  const targets = [...new Set(matrix.cells.map((c) => c.targetDataset))].sort();
  const cells = new Map(
    matrix.cells.map((c) => [
      `${c.sourceDataset}\u0000${c.targetDataset}`,
      { v: c[metric], n: c.n },
    ]),
  );
  const extent = Math.max(1e-6, ...matrix.cells.map((c) => Math.abs(c[metric] ?? 0)));
  return { sources, targets, value: (s, t) => cells.get(`${s}\u0000${t}`), extent };
}
