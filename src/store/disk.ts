import { statfsSync } from 'node:fs';
import { TicketLabError } from '../core/errors.ts';

/**
 * Whether an error means the disk (or the user's quota) is full: SQLite's SQLITE_FULL
 * (raised by the database and by `PRAGMA max_page_count`), or ENOSPC/EDQUOT from a file write.
 */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'DISK_FULL';
}

/** Megabytes an unprivileged writer may still use in the folder's file system (null: unknown). */
export function freeMegabytes(folder: string): number | null {
  try {
    const s = statfsSync(folder);
    return Math.floor((s.bavail * s.bsize) / 2 ** 20);
  } catch {
    return null;
  }
}

/** The error a job pauses with when a write found the disk full, naming the folder and the fix. */
export function diskFullError(folder: string): TicketLabError {
  const free = freeMegabytes(folder);
  return new TicketLabError(
    'DISK_FULL',
    `disk full: ${free ?? '?'} MB free in ${folder}; free space and resume`,
  );
}
