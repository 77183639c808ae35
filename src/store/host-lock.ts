import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const NAME = /^[0-9]+-[0-9a-f]{12}\.lock$/;

/** SQLite's codes for "another connection holds a lock on this file". */
const isBusy = (e: unknown) => {
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
};

/**
 * The lock a host holds on the jobs it runs. A heartbeat cannot tell a dead host from one
 * whose event loop is blocked or that is stopped (SIGSTOP, a laptop lid), and a job taken
 * over from a live host runs twice. So a host that runs jobs holds an exclusive SQLite lock
 * (fcntl on POSIX, LockFileEx on Windows) on its own file under `<data folder>/locks/` for
 * as long as its process lives: the OS keeps it while the process exists, whatever it is
 * doing, and drops it the moment the process dies, SIGKILL included. SQLite's own locking
 * is used, rather than a hand-made flock binding, because it works the same on every
 * platform and also between connections of one process.
 */
export class HostLock {
  private constructor(
    private readonly db: Database.Database,
    readonly dir: string,
    /** the file's name, recorded on every job this host claims */
    readonly name: string,
  ) {}

  static acquire(dataDir: string): HostLock {
    const dir = join(dataDir, 'locks');
    mkdirSync(dir, { recursive: true });
    const name = `${process.pid}-${randomBytes(6).toString('hex')}.lock`;
    const db = new Database(join(dir, name), { timeout: 0 });
    try {
      // Nothing is ever written: the open transaction is the lock, held until close.
      db.exec('BEGIN EXCLUSIVE');
    } catch (e) {
      db.close();
      throw e;
    }
    return new HostLock(db, dir, name);
  }

  /**
   * Whether a live process holds the lock `name` in this data folder. A lock file left by
   * a process that died is removed on the way (no one can take that name again).
   */
  static isHeld(dataDir: string, name: string): boolean {
    if (!NAME.test(name)) return false;
    const path = join(dataDir, 'locks', name);
    if (!existsSync(path)) return false;
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: true, timeout: 0 });
    } catch (e) {
      if ((e as { code?: unknown }).code === 'SQLITE_CANTOPEN') return false; // just removed
      throw e;
    }
    try {
      db.exec('BEGIN EXCLUSIVE');
      // ROLLBACK, not COMMIT: nothing is written, so a full disk cannot fail the probe.
      db.exec('ROLLBACK');
    } catch (e) {
      if (isBusy(e)) return true;
      throw e;
    } finally {
      db.close();
    }
    rmSync(path, { force: true });
    return false;
  }

  release(): void {
    if (!this.db.open) return;
    this.db.close();
    rmSync(join(this.dir, this.name), { force: true });
  }
}
