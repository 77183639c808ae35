import {
  closeSync,
  copyFileSync,
  constants,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TicketLabError } from './errors.ts';

export interface OutputFile {
  path: string;
  bytes: Uint8Array;
}

/** A hidden name beside `path`, so a rename onto it stays within one filesystem. */
function sibling(path: string, suffix: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.${suffix}`);
}

/** Writes `bytes` to a new file at `path` and syncs it to disk before returning. */
export function writeDurably(path: string, bytes: Uint8Array): void {
  // 'wx': a temp name that somehow exists is never followed or truncated.
  const fd = openSync(path, 'wx');
  try {
    let written = 0;
    while (written < bytes.byteLength)
      written += writeSync(fd, bytes, written, bytes.byteLength - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Keeps a copy of an existing target under a hidden name, so it can be put back. A hard
 * link leaves the target in place and costs nothing; filesystems without links get a copy.
 */
function backUp(path: string): string {
  const backup = sibling(path, 'bak');
  try {
    linkSync(path, backup);
  } catch {
    copyFileSync(path, backup, constants.COPYFILE_EXCL);
  }
  return backup;
}

class FolderInTheWay extends Error {}

function quietly(f: () => void): void {
  try {
    f();
  } catch {
    // cleaning up after a failure: the first error is the one worth reporting
  }
}

/**
 * Writes a set of files all or nothing (a model and its sidecar, a TF.js folder, a CSV
 * set), and single files the same way. Every file is first written in full to a temp file
 * beside its target; only then are the temps renamed over the targets one by one, each
 * existing target first kept under a backup name. When anything fails, the targets
 * already replaced get their backups back (or are removed where there was none), folders
 * this call created are removed, and every temp and backup is deleted: the destination is
 * as it was. An existing target is an error unless `force`.
 */
export function writeFilesAtomically(files: OutputFile[], force: boolean): void {
  const existing = files.filter((f) => existsSync(f.path)).map((f) => f.path);
  if (existing.length > 0 && !force) {
    throw new TicketLabError(
      'FILE_EXISTS',
      `Not overwriting ${existing.join(', ')}: choose another path or pass --force.`,
    );
  }
  /** folders this call made: the top one mkdir created and the file's own folder under it */
  const createdDirs: { top: string; leaf: string }[] = [];
  const temps: (string | null)[] = files.map(() => null);
  const backups: (string | null)[] = files.map(() => null);
  let committed = 0;
  let current = files[0]?.path ?? '';
  try {
    for (const [i, f] of files.entries()) {
      current = f.path;
      const made = mkdirSync(dirname(f.path), { recursive: true });
      if (made) createdDirs.push({ top: made, leaf: dirname(f.path) });
      const tmp = sibling(f.path, 'tmp');
      temps[i] = tmp;
      writeDurably(tmp, f.bytes);
    }
    for (const [i, f] of files.entries()) {
      current = f.path;
      const target = statSync(f.path, { throwIfNoEntry: false });
      if (target?.isDirectory()) throw new FolderInTheWay();
      if (target) backups[i] = backUp(f.path);
      renameSync(temps[i]!, f.path);
      temps[i] = null;
      committed = i + 1;
    }
  } catch (e) {
    // Undo in reverse: a replaced file gets its backup back, a new one goes.
    for (let i = committed - 1; i >= 0; i--) {
      const backup = backups[i];
      if (backup) {
        quietly(() => renameSync(backup, files[i]!.path));
        backups[i] = null;
      } else quietly(() => unlinkSync(files[i]!.path));
    }
    for (const p of [...temps, ...backups]) if (p) quietly(() => unlinkSync(p));
    for (const dirs of createdDirs.reverse()) removeEmptyFolders(dirs);
    const fix =
      e instanceof FolderInTheWay
        ? 'it is a folder: remove it or choose another path'
        : `${(e as Error).message}: check that the folder is writable and has space, or choose another path`;
    throw new TicketLabError(
      'WRITE_FAILED',
      `Could not write ${current} (${fix}); nothing was changed at ${files.map((f) => f.path).join(', ')}.`,
    );
  }
  for (const backup of backups) if (backup) quietly(() => unlinkSync(backup));
}

/** Removes the folders from `leaf` up to `top` while they are empty. */
function removeEmptyFolders({ top, leaf }: { top: string; leaf: string }): void {
  for (let dir = leaf; ; dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (or already gone): whatever is in it was not ours to remove
    }
    if (dir === top || dirname(dir) === dir) return;
  }
}
