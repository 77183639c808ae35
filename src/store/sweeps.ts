import { newId, type Store } from './store.ts';

/** Named statements for sweeps, their experiments and the data folder's settings. */

export interface SweepRow {
  id: string;
  name: string;
  specJson: string;
  specHash: string;
  createdAt: string;
  updatedAt: string;
}

export interface SweepMemberRow {
  experimentId: string;
  position: number;
  /** axis path → value */
  point: Record<string, unknown>;
}

type Row = Record<string, unknown>;
const now = () => new Date().toISOString();

function toSweep(r: Row): SweepRow {
  return {
    id: r.id as string,
    name: r.name as string,
    specJson: r.spec_json as string,
    specHash: r.spec_hash as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function findSweepByHash(store: Store, specHash: string): SweepRow | undefined {
  const r = store.db.prepare('SELECT * FROM sweeps WHERE spec_hash = ?').get(specHash) as
    Row | undefined;
  return r && toSweep(r);
}

export function getSweep(store: Store, id: string): SweepRow | undefined {
  const r = store.db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as Row | undefined;
  return r && toSweep(r);
}

/** Newest first. */
export function listSweeps(store: Store): SweepRow[] {
  return (store.db.prepare('SELECT * FROM sweeps ORDER BY created_at DESC, id').all() as Row[]).map(
    toSweep,
  );
}

export function insertSweep(
  store: Store,
  s: Pick<SweepRow, 'name' | 'specJson' | 'specHash'>,
  members: SweepMemberRow[],
): SweepRow {
  const id = newId('swp');
  const t = now();
  store.transaction(() => {
    store.db
      .prepare(
        'INSERT INTO sweeps (id, name, spec_json, spec_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(id, s.name, s.specJson, s.specHash, t, t);
    addSweepMembers(store, id, members);
  });
  return getSweep(store, id)!;
}

/** Adds experiments to a sweep; one already in it is left as it is. */
export function addSweepMembers(store: Store, sweepId: string, members: SweepMemberRow[]) {
  const insert = store.db.prepare(
    'INSERT OR IGNORE INTO sweep_experiments (sweep_id, experiment_id, position, point_json) VALUES (?, ?, ?, ?)',
  );
  for (const m of members) insert.run(sweepId, m.experimentId, m.position, JSON.stringify(m.point));
}

export function sweepMembers(store: Store, sweepId: string): SweepMemberRow[] {
  return (
    store.db
      .prepare(
        'SELECT experiment_id, position, point_json FROM sweep_experiments WHERE sweep_id = ? ORDER BY position',
      )
      .all(sweepId) as Row[]
  ).map((r) => ({
    experimentId: r.experiment_id as string,
    position: r.position as number,
    point: JSON.parse(r.point_json as string) as Record<string, unknown>,
  }));
}

export function getSetting(store: Store, key: string): unknown {
  const r = store.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as
    { value: string } | undefined;
  return r ? (JSON.parse(r.value) as unknown) : undefined;
}

export function setSetting(store: Store, key: string, value: unknown) {
  store.db
    .prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    )
    .run(key, JSON.stringify(value));
}
