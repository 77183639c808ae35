import type { MethodOutput } from '../../../src/api/contract.ts';

export type TransferMatrix = MethodOutput<'transfer.matrix'>;

export interface HeatmapCell {
  /** mean difference over the pair's transfers; null while none is trained */
  v: number | null;
  n: number;
  /** sample standard deviation of the pair's differences; null under two of them */
  spread: number | null;
  /** the mean lies inside its spread: no win or loss can be read from it */
  tie: boolean;
}

export interface HeatmapGrid {
  sources: string[];
  targets: string[];
  value: (source: string, target: string) => HeatmapCell | undefined;
  /** the largest |value|: the colour scale runs from −extent to +extent, 0 neutral */
  extent: number;
}

/** Source × target cells of the transfer matrix for one of its two differences. */
export function heatmapGrid(
  matrix: TransferMatrix,
  metric: 'vsRandom' | 'vsTargetTicket',
): HeatmapGrid {
  const key = (s: string, t: string) => `${s}\u0000${t}`;
  const sources = [...new Set(matrix.cells.map((c) => c.sourceDataset))].sort();
  const targets = [...new Set(matrix.cells.map((c) => c.targetDataset))].sort();
  // the per-transfer differences behind each cell's mean, for its spread
  const values = new Map<string, number[]>();
  for (const r of matrix.rows) {
    const v = r[metric];
    if (v === null) continue;
    const k = key(r.sourceDataset, r.targetDataset);
    values.set(k, [...(values.get(k) ?? []), v]);
  }
  const cells = new Map(
    matrix.cells.map((c) => {
      const k = key(c.sourceDataset, c.targetDataset);
      const v = c[metric];
      const spread = standardDeviation(values.get(k) ?? []);
      return [
        k,
        {
          v,
          // the transfers behind this difference, not those still training
          n: metric === 'vsRandom' ? c.nVsRandom : c.nVsTargetTicket,
          spread,
          tie: v !== null && spread !== null && Math.abs(v) <= spread,
        },
      ];
    }),
  );
  const extent = Math.max(1e-6, ...matrix.cells.map((c) => Math.abs(c[metric] ?? 0)));
  return { sources, targets, value: (s, t) => cells.get(key(s, t)), extent };
}

function standardDeviation(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
}

/**
 * A cell's background: a diverging scale through the theme's accuracy colours (green a gain,
 * red a loss) whose depth is |value| over the matrix's largest |value|, so the strongest cell
 * is the deepest whatever the magnitudes; a tie is neutral, not a faint loss.
 */
export function cellColour(cell: HeatmapCell, extent: number): string {
  if (cell.v === null) return 'var(--untrained)';
  if (cell.tie) return 'var(--neutral)';
  // at most 65%: the cell's text stays readable on the deepest colour in both themes
  const depth = Math.round(Math.min(1, Math.abs(cell.v) / extent) * 65);
  return `color-mix(in srgb, ${cell.v >= 0 ? 'var(--acc-high)' : 'var(--acc-low)'} ${depth}%, var(--bg))`;
}
