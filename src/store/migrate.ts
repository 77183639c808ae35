import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { TicketLabError } from '../core/errors.ts';
import { sha256Hex } from '../core/hash.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;

export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => FILE_PATTERN.test(f))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name), 'utf8');
      return { version: Number(name.slice(0, 4)), name, sql, checksum: sha256Hex(sql) };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new TicketLabError(
        'MIGRATION_FAILED',
        `${m.name}: expected migration number ${String(i + 1).padStart(4, '0')} (numbers are consecutive from 0001)`,
      );
    }
  });
  return migrations;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/**
 * Applies pending migrations, one transaction each. Before touching anything it checks
 * that every migration already applied matches the file on disk and that the database
 * is not newer than this app; either problem stops with a typed error and the database
 * untouched (STYLE.md §8: never log and skip).
 */
export function migrate(db: Database.Database, migrations: Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL
  ) STRICT`);
  const applied = db
    .prepare('SELECT version, name, checksum FROM schema_migrations ORDER BY version')
    .all() as AppliedRow[];
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of applied) {
    const file = known.get(row.version);
    if (!file) {
      throw new TicketLabError(
        'DATABASE_NEWER_THAN_APP',
        `The database has migration ${row.name}, which this version of TicketLab does not know: it was written by a newer TicketLab. Update the app; the database was not changed.`,
      );
    }
    if (file.checksum !== row.checksum) {
      throw new TicketLabError(
        'MIGRATION_MISMATCH',
        `Migration ${row.name} was applied with checksum ${row.checksum.slice(0, 12)}… but the file on disk is ${file.name} with checksum ${file.checksum.slice(0, 12)}…: migrations must never be edited after they land. The database was not changed.`,
      );
    }
  }
  const done = new Set(applied.map((r) => r.version));
  const record = db.prepare(
    'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)',
  );
  const newlyApplied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    try {
      db.transaction(() => {
        db.exec(m.sql);
        record.run(m.version, m.name, m.checksum, new Date().toISOString());
      })();
    } catch (e) {
      throw new TicketLabError(
        'MIGRATION_FAILED',
        `Migration ${m.name} failed and was rolled back: ${(e as Error).message}`,
      );
    }
    newlyApplied.push(m.version);
  }
  return newlyApplied;
}
