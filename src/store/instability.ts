import type { ThetaKSource } from '../core/vocabulary.ts';
import type { CurvePoint } from '../pruning/instability.ts';
import { newId, type Store } from './store.ts';

/** One rewind point of a ticket's instability analysis (migrations/0007_instability.sql). */
export interface InstabilityRow {
  id: string;
  ticketId: string;
  jobId: string;
  rewind: string;
  rewindIteration: number;
  points: number;
  seeds: [number, number] | null;
  thetaK: ThetaKSource | null;
  copies: [string | null, string | null];
  curve: CurvePoint[] | null;
  barrier: number | null;
  createdAt: string;
}

type Row = Record<string, unknown>;

const toRow = (r: Row): InstabilityRow => ({
  id: r.id as string,
  ticketId: r.ticket_id as string,
  jobId: r.job_id as string,
  rewind: r.rewind as string,
  rewindIteration: r.rewind_iteration as number,
  points: r.points as number,
  seeds: r.seeds ? (JSON.parse(r.seeds as string) as [number, number]) : null,
  thetaK: (r.theta_k as ThetaKSource | null) ?? null,
  copies: [(r.copy_a_blob as string | null) ?? null, (r.copy_b_blob as string | null) ?? null],
  curve: r.curve ? (JSON.parse(r.curve as string) as CurvePoint[]) : null,
  barrier: (r.barrier as number | null) ?? null,
  createdAt: r.created_at as string,
});

const now = () => new Date().toISOString();

export function insertInstability(
  store: Store,
  r: { ticketId: string; jobId: string; rewind: string; rewindIteration: number; points: number },
): InstabilityRow {
  const id = newId('ins');
  const t = now();
  store.db
    .prepare(
      `INSERT INTO instability (id, ticket_id, job_id, rewind, rewind_iteration, points, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(id, r.ticketId, r.jobId, r.rewind, r.rewindIteration, r.points, t, t);
  return toRow(store.db.prepare('SELECT * FROM instability WHERE id = ?').get(id) as Row);
}

/** A ticket's analyses, oldest first. */
export function instabilityOfTicket(store: Store, ticketId: string): InstabilityRow[] {
  return (
    store.db
      .prepare('SELECT * FROM instability WHERE ticket_id = ? ORDER BY created_at, rowid')
      .all(ticketId) as Row[]
  ).map(toRow);
}

/** A job's rewind points, in the order they were asked for. */
export function instabilityOfJob(store: Store, jobId: string): InstabilityRow[] {
  return (
    store.db
      .prepare('SELECT * FROM instability WHERE job_id = ? ORDER BY rowid')
      .all(jobId) as Row[]
  ).map(toRow);
}

export function setInstabilityCopy(
  store: Store,
  id: string,
  c: { copy: 0 | 1; blob: string; seeds: [number, number]; thetaK: ThetaKSource },
): void {
  store.db
    .prepare(
      `UPDATE instability SET ${c.copy === 0 ? 'copy_a_blob' : 'copy_b_blob'} = ?, seeds = ?, theta_k = ?, updated_at = ? WHERE id = ?`,
    )
    .run(c.blob, JSON.stringify(c.seeds), c.thetaK, now(), id);
}

export function setInstabilityCurve(
  store: Store,
  id: string,
  c: { curve: CurvePoint[]; barrier: number },
): void {
  store.db
    .prepare('UPDATE instability SET curve = ?, barrier = ?, updated_at = ? WHERE id = ?')
    .run(JSON.stringify(c.curve), c.barrier, now(), id);
}
