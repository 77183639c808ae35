import type { ModelName } from '../src/engine/architectures.ts';

/** bench/results/paper.json, written by bench/paper.ts and drawn by bench/plots.tsx. */

/** One ticket row pooled over seeds. */
export interface Row {
  level: number;
  method: string;
  remaining: number;
  acc: number[];
  earlyStop: number[];
}

/** What one part ran, with its budget, and its rows (IMP) or rows per score (PaI). */
export interface Part {
  model: ModelName;
  dataset: string;
  iterations: number;
  seeds: number;
  concurrency: number;
  wallMinutes: number;
  date: string;
  rows?: Row[];
  scores?: Record<string, Row[]>;
}

export type Results = Partial<Record<'imp' | 'pai' | 'conv4', Part>>;
