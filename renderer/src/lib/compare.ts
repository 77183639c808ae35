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
  remainingWeights: number;
  /** where the point sits on the x axis: remaining weights, or what `position` gave */
  x: number;
  n: number;
  mean: number;
  min: number;
  max: number;
  std: number;
}

export interface Series {
  key: string;
  specHash: string;
  method: string;
  label: string;
  points: SeriesPoint[];
}

export function summarise(values: number[]): Omit<SeriesPoint, 'level' | 'remainingWeights' | 'x'> {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, min: Math.min(...values), max: Math.max(...values), std: Math.sqrt(variance) };
}

/**
 * `value` picks the metric of a row (accuracy by the chosen reducer, early-stop iteration);
 * rows where it is null (still training) are left out.
 */
export function groupSeries(
  rows: CompareRow[],
  names: Map<string, string>,
  value: (row: CompareRow) => number | null,
  position: (row: CompareRow) => number | null = (r) => r.remainingWeights,
): Series[] {
  const bySeries = new Map<
    string,
    Map<number, { remaining: number[]; xs: number[]; values: number[] }>
  >();
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
    const levels = bySeries.get(key) ?? new Map();
    const at = levels.get(row.level) ?? { remaining: [], xs: [], values: [] };
    at.remaining.push(row.remainingWeights);
    at.xs.push(x);
    at.values.push(v);
    levels.set(row.level, at);
    bySeries.set(key, levels);
  }
  return [...bySeries].map(([key, levels]) => ({
    key,
    ...meta.get(key)!,
    points: [...levels]
      .sort(([a], [b]) => a - b)
      .map(([level, { remaining, xs, values }]) => ({
        level,
        remainingWeights: remaining.reduce((a, b) => a + b, 0) / remaining.length,
        x: xs.reduce((a, b) => a + b, 0) / xs.length,
        ...summarise(values),
      })),
  }));
}

/** The data behind the plot as CSV, one row per series and level. */
export function seriesCsv(series: Series[], metric: string): string {
  const lines = [
    `series,spec_hash,method,level,remaining_weights,n,${metric}_mean,${metric}_min,${metric}_max,${metric}_std`,
  ];
  for (const s of series)
    for (const p of s.points)
      lines.push(
        [
          JSON.stringify(s.label),
          s.specHash,
          s.method,
          p.level,
          p.remainingWeights,
          p.n,
          p.mean,
          p.min,
          p.max,
          p.std,
        ].join(','),
      );
  return lines.join('\n') + '\n';
}
