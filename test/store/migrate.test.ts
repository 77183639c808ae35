import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ensureBuiltinDataset } from '../../src/services/datasets.ts';
import { MIGRATIONS_DIR, Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';

function migrationsCopy(): string {
  const dir = join(tempDir(), 'migrations');
  mkdirSync(dir);
  copyFileSync(join(MIGRATIONS_DIR, '0001_initial.sql'), join(dir, '0001_initial.sql'));
  return dir;
}

describe('migration runner', () => {
  it('applies migrations in order, records checksums, and is idempotent', () => {
    const data = tempDir();
    const migrations = migrationsCopy();
    writeFileSync(
      join(migrations, '0002_add_color.sql'),
      'ALTER TABLE experiments ADD COLUMN color TEXT;',
    );
    Store.open(data, migrations).close();
    const db = new Database(join(data, 'ticketlab.db'));
    const rows = db
      .prepare('SELECT version, name, checksum FROM schema_migrations ORDER BY version')
      .all() as { version: number; name: string; checksum: string }[];
    expect(rows.map((r) => r.name)).toEqual(['0001_initial.sql', '0002_add_color.sql']);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]
    ).map((t) => t.name);
    for (const t of [
      'datasets',
      'experiments',
      'tickets',
      'runs',
      'metrics',
      'jobs',
      'blobs',
      'exports',
    ])
      expect(tables).toContain(t);
    db.close();
    Store.open(data, migrations).close(); // nothing pending: no error, no duplicate rows
  });

  it('refuses a database whose applied migration differs from the file, leaving it untouched', () => {
    const data = tempDir();
    const migrations = migrationsCopy();
    Store.open(data, migrations).close();
    const dbFile = join(data, 'ticketlab.db');
    const before = readFileSync(dbFile);
    writeFileSync(
      join(migrations, '0001_initial.sql'),
      readFileSync(join(migrations, '0001_initial.sql'), 'utf8') + '\n-- edited\n',
    );
    expect(() => Store.open(data, migrations)).toThrowError(/0001_initial\.sql.*never be edited/s);
    expect(readFileSync(dbFile).equals(before)).toBe(true);
  });

  it('refuses a database written by a newer app', () => {
    const data = tempDir();
    const migrations = migrationsCopy();
    writeFileSync(join(migrations, '0002_future.sql'), 'CREATE TABLE future (x INTEGER);');
    Store.open(data, migrations).close();
    const older = migrationsCopy();
    const size = statSync(join(data, 'ticketlab.db')).size;
    expect(() => Store.open(data, older)).toThrowError(/0002_future\.sql.*newer TicketLab/s);
    expect(statSync(join(data, 'ticketlab.db')).size).toBe(size);
  });

  it('rolls back a failing migration and reports it', () => {
    const data = tempDir();
    const migrations = migrationsCopy();
    writeFileSync(
      join(migrations, '0002_broken.sql'),
      'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;',
    );
    expect(() => Store.open(data, migrations)).toThrowError(
      /0002_broken\.sql failed and was rolled back/,
    );
    const db = new Database(join(data, 'ticketlab.db'));
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual(
      { n: 0 },
    );
    expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: 1 });
    db.close();
  });

  it("0002 keeps exports recorded before it, attached to their ticket's experiment", () => {
    const data = tempDir();
    const old = Store.open(data, migrationsCopy());
    const dataset = ensureBuiltinDataset(old);
    const experiment = old.insertExperiment({
      name: 'x',
      specJson: '{}',
      specHash: 'h',
      replicate: 0,
      method: 'imp',
      datasetId: dataset.id,
      model: 'lenet-300-100',
    });
    const ticket = { id: 'tkt_1' };
    old.db
      .prepare(
        `INSERT INTO tickets (id, experiment_id, method, level, dataset_id, architecture,
           remaining_fraction, remaining_params, total_params, flops, layer_remaining, created_at)
         VALUES ('tkt_1', ?, 'dense', 0, ?, 'lenet-300-100', 1, 10, 10, 20, '[]', 'now')`,
      )
      .run(experiment.id, dataset.id);
    old.db
      .prepare('INSERT INTO exports VALUES (?, ?, ?, ?, ?, ?)')
      .run('xpt_1', ticket.id, 'onnx', '/tmp/m.onnx', 'ab'.repeat(32), '2026-01-01T00:00:00Z');
    old.close();

    const store = Store.open(data);
    expect(store.listExports(experiment.id)).toEqual([
      {
        id: 'xpt_1',
        experimentId: experiment.id,
        ticketId: ticket.id,
        format: 'onnx',
        path: '/tmp/m.onnx',
        bytes: 0,
        checksum: 'ab'.repeat(32),
        createdAt: '2026-01-01T00:00:00Z',
      },
    ]);
    store.close();
  });

  it('enforces foreign keys', () => {
    const store = Store.open(tempDir());
    expect(() =>
      store.insertExperiment({
        name: 'x',
        specJson: '{}',
        specHash: 'h',
        replicate: 0,
        method: 'imp',
        datasetId: 'no-such-dataset',
        model: 'lenet-300-100',
      }),
    ).toThrowError(/FOREIGN KEY/);
    store.close();
  });
});
