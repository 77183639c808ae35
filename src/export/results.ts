import type { ExperimentDetail, ThreadSpan, TicketView } from '../api/contract.ts';
import type { z } from 'zod';

/**
 * An experiment's results as files: CSV tables (tickets, runs, metrics), one JSON
 * document with everything, or the lineage as a nested JSON tree. Fractions stay
 * fractions (0–1), as in the contract.
 */
export interface RunRecord {
  id: string;
  ticketId: string;
  seed: number;
  status: string;
  backend: string;
  iterations: number;
  earlyStopIteration: number | null;
  bestValLoss: number | null;
  valAccuracy: number | null;
  testAccuracy: number | null;
  finalTestAccuracy: number | null;
  wallTimeMs: number | null;
  /** the native kernels' threads while it trained, span by span */
  kernelThreads: z.output<typeof ThreadSpan>[] | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export interface MetricRecord {
  runId: string;
  split: string;
  step: number;
  epoch: number;
  loss: number;
  accuracy: number | null;
}

export interface ExperimentResults {
  experiment: z.output<typeof ExperimentDetail>;
  runs: RunRecord[];
  metrics: MetricRecord[];
}

type Cell = string | number | boolean | null | undefined;

function csvCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export function resultsCsv(r: ExperimentResults): Record<string, string> {
  const e = r.experiment;
  return {
    'tickets.csv': toCsv(
      [
        'experiment_id',
        'ticket_id',
        'parent_id',
        'source_ticket_id',
        'level',
        'method',
        'remaining_weights',
        'remaining_params',
        'total_params',
        'flops',
        'test_accuracy',
        'final_test_accuracy',
        'early_stop_iteration',
        'run_id',
      ],
      e.tickets.map((t) => [
        e.id,
        t.id,
        t.parentId,
        t.sourceTicketId,
        t.level,
        t.method,
        t.remainingWeights,
        t.remainingParams,
        t.totalParams,
        t.flops,
        t.testAccuracy,
        t.finalTestAccuracy,
        t.earlyStopIteration,
        t.runId,
      ]),
    ),
    'runs.csv': toCsv(
      [
        'run_id',
        'ticket_id',
        'seed',
        'status',
        'backend',
        'iterations',
        'early_stop_iteration',
        'best_val_loss',
        'val_accuracy',
        'test_accuracy',
        'final_test_accuracy',
        'wall_time_ms',
        'kernel_threads',
        'started_at',
        'finished_at',
        'error',
      ],
      r.runs.map((run) => [
        run.id,
        run.ticketId,
        run.seed,
        run.status,
        run.backend,
        run.iterations,
        run.earlyStopIteration,
        run.bestValLoss,
        run.valAccuracy,
        run.testAccuracy,
        run.finalTestAccuracy,
        run.wallTimeMs,
        run.kernelThreads && JSON.stringify(run.kernelThreads),
        run.startedAt,
        run.finishedAt,
        run.error,
      ]),
    ),
    'metrics.csv': toCsv(
      ['run_id', 'split', 'step', 'epoch', 'loss', 'accuracy'],
      r.metrics.map((m) => [m.runId, m.split, m.step, m.epoch, m.loss, m.accuracy]),
    ),
  };
}

export function resultsJson(r: ExperimentResults): string {
  return JSON.stringify({ format: 'ticketlab-results-v1', ...r }, null, 2) + '\n';
}

type TicketNode = z.output<typeof TicketView> & { children: TicketNode[] };

/** Tickets nested under their parents; roots are tickets without a parent. */
export function lineageTree(tickets: z.output<typeof TicketView>[]): TicketNode[] {
  const nodes = new Map(tickets.map((t) => [t.id, { ...t, children: [] as TicketNode[] }]));
  const roots: TicketNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parentId ? nodes.get(node.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}
