import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { TicketLabError } from '../core/errors.ts';
import { sha256Hex } from '../core/hash.ts';
import { decodeBundle, encodeBundle, type TensorBundle } from '../core/tensorfile.ts';
import { diskFullError, isDiskFull } from './disk.ts';

/**
 * Content-addressed blob folder beside the database: `<root>/ab/cdef…` named by the
 * sha256 of the bytes. Writes go to a temp file, are fsynced, then renamed into place,
 * so a crash leaves either the whole blob or none. Reads verify the hash.
 * Used by the host and by the compute worker (the worker writes, the host records).
 */
export class BlobStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  pathOf(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  remove(sha256: string): void {
    rmSync(this.pathOf(sha256), { force: true });
  }

  byteSize(sha256: string): number {
    return statSync(this.pathOf(sha256)).size;
  }

  put(bytes: Uint8Array): string {
    const sha256 = sha256Hex(bytes);
    const path = this.pathOf(sha256);
    if (existsSync(path)) return sha256;
    const tmp = join(this.root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(dirname(path), { recursive: true });
      const fd = openSync(tmp, 'w');
      try {
        let written = 0;
        while (written < bytes.byteLength) {
          written += writeSync(fd, bytes, written, bytes.byteLength - written);
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (e) {
      // A failed write (a full disk above all) leaves nothing behind: the partial temp file
      // would hold the space the user is about to free.
      rmSync(tmp, { force: true });
      if (isDiskFull(e)) throw diskFullError(this.root);
      throw e;
    }
    return sha256;
  }

  get(sha256: string): Buffer {
    const path = this.pathOf(sha256);
    if (!existsSync(path)) {
      throw new TicketLabError('BLOB_MISSING', `Blob ${sha256} is missing from ${this.root}.`);
    }
    const bytes = readFileSync(path);
    const actual = sha256Hex(bytes);
    if (actual !== sha256) {
      throw new TicketLabError(
        'BLOB_CORRUPT',
        `Blob ${path} is corrupted: its content hashes to ${actual.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…. Restore it from a backup or rerun the experiment that produced it.`,
      );
    }
    return bytes;
  }

  putTensors(bundle: TensorBundle): string {
    return this.put(encodeBundle(bundle));
  }

  getTensors(sha256: string): TensorBundle {
    return decodeBundle(this.get(sha256), `blob ${sha256.slice(0, 12)}…`);
  }
}
