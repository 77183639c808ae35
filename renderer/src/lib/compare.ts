import type { MethodOutput } from '../../../src/api/contract.ts';

/**
 * Shapes `compare` rows for the plot and the table: replicates (experiments with the same
 * spec hash) are grouped into one series per spec and method, and every level gets the
 * mean, min, max and standard deviation of the chosen metric over the replicates.
 */
export type CompareRow = MethodOutput<'compare'>['rows'][number];

export const REDUCERS = ['at early stop', 'last', 'best', 'min', 'max'] as const;
export type Reducer = (typeof REDUCERS)[number];

/** Test accuracy of a run by reducer (accuracy: best is the highest). */
export const ACCURACY: Record<Reducer, (r: CompareRow) => number | null> = {
  'at early stop': (r) => r.testAccuracy,
  last: (r) => r.finalTestAccuracy,
  best: (r) => r.maxTestAccuracy,
  min: (r) => r.minTestAccuracy,
  max: (r) => r.maxTestAccuracy,
};

export interface SeriesPoint {
  level: number;
  /** the ticket method at this point: a series' method, or `dense` for its starting point */
  method: string;
  remainingWeights: number;
  /** where the point sits on the x axis: remaining weights, or what `position` gave */
  x: number;
  n: number;
  mean: number;
  min: number;
  max: number;
  /** sample standard deviation; null for a single replicate, which has no spread */
  std: number | null;
}

export interface Series {
  key: string;
  specHash: string;
  method: string;
  label: string;
  points: SeriesPoint[];
}

export function summarise(
  values: number[],
): Omit<SeriesPoint, 'level' | 'method' | 'remainingWeights' | 'x'> {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null;
  return { n, mean, min: Math.min(...values), max: Math.max(...values), std };
}

/**
 * `value` picks the metric of a row (accuracy by the chosen reducer, early-stop iteration);
 * rows where it is null (still training) are left out. The dense network is where every
 * pruned line of its spec starts, so its point opens each of them instead of standing alone
 * as a series of one point; a spec with nothing but a dense ticket keeps it as its series.
 */
export function groupSeries(
  rows: CompareRow[],
  names: Map<string, string>,
  value: (row: CompareRow) => number | null,
  position: (row: CompareRow) => number | null = (r) => r.remainingWeights,
): Series[] {
  type At = { remaining: number[]; xs: number[]; values: number[] };
  const bySeries = new Map<string, Map<number, At>>();
  const meta = new Map<string, { specHash: string; method: string; label: string }>();
  for (const row of rows) {
    const v = value(row);
    const x = position(row);
    if (v === null || x === null) continue;
    const key = `${row.specHash}/${row.method}`;
    if (!meta.has(key))
      meta.set(key, {
        specHash: row.specHash,
        method: row.method,
        label: `${names.get(row.experimentId) ?? row.specHash.slice(0, 8)} · ${row.method}`,
      });
    const levels = bySeries.get(key) ?? new Map<number, At>();
    const at = levels.get(row.level) ?? { remaining: [], xs: [], values: [] };
    at.remaining.push(row.remainingWeights);
    at.xs.push(x);
    at.values.push(v);
    levels.set(row.level, at);
    bySeries.set(key, levels);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const points = (method: string, levels: Map<number, At>): SeriesPoint[] =>
    [...levels]
      .sort(([a], [b]) => a - b)
      .map(([level, { remaining, xs, values }]) => ({
        level,
        method,
        remainingWeights: mean(remaining),
        x: mean(xs),
        ...summarise(values),
      }));
  const pruned = new Set(
    [...meta.values()].filter((m) => m.method !== 'dense').map((m) => m.specHash),
  );
  const out: Series[] = [];
  for (const [key, levels] of bySeries) {
    const m = meta.get(key)!;
    if (m.method === 'dense' && pruned.has(m.specHash)) continue;
    const dense = bySeries.get(`${m.specHash}/dense`);
    const start = m.method !== 'dense' && dense ? points('dense', dense) : [];
    out.push({ key, ...m, points: [...start, ...points(m.method, levels)] });
  }
  return out;
}

/** The dense network's mean per spec, for a reference line (null: no dense point). */
export function denseReferences(
  series: Series[],
): { specHash: string; label: string; y: number }[] {
  const seen = new Map<string, { specHash: string; label: string; y: number }>();
  for (const s of series) {
    const dense = s.points.find((p) => p.method === 'dense');
    if (!dense || seen.has(s.specHash)) continue;
    seen.set(s.specHash, {
      specHash: s.specHash,
      label: s.label.replace(/ · [^·]*$/, ''),
      y: dense.mean,
    });
  }
  return [...seen.values()];
}

/**
 * The data behind the plot as CSV, one row per series and level. The reducer (how each run's
 * accuracy was read) and the band (what lo/hi are) are named in the header and on every row,
 * so a file read on its own says what it holds.
 */
export function seriesCsv(
  series: Series[],
  metric: string,
  reducer = '',
  band: 'minmax' | 'std' = 'minmax',
): string {
  const lines = [
    `series,spec_hash,method,level,remaining_weights,n,${metric}_mean,${metric}_min,${metric}_max,${metric}_std,reducer,band,band_lo,band_hi`,
  ];
  const bandName = band === 'std' ? '± std' : 'min–max';
  for (const s of series)
    for (const p of s.points)
      lines.push(
        [
          JSON.stringify(s.label),
          s.specHash,
          p.method,
          p.level,
          p.remainingWeights,
          p.n,
          p.mean,
          p.min,
          p.max,
          p.std ?? '',
          JSON.stringify(reducer),
          JSON.stringify(bandName),
          band === 'minmax' ? p.min : p.std === null ? '' : p.mean - p.std,
          band === 'minmax' ? p.max : p.std === null ? '' : p.mean + p.std,
        ].join(','),
      );
  return lines.join('\n') + '\n';
}
