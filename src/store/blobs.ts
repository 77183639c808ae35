import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { TicketLabError } from '../core/errors.ts';
import { writeDurably } from '../core/files.ts';
import { sha256Hex } from '../core/hash.ts';
import {
  decodeBundle,
  encodeBundle,
  encodeBundleParts,
  type TensorBundle,
} from '../core/tensorfile.ts';
import { diskFullError, isDiskFull } from './disk.ts';

/** Bytes hashed between yields to the event loop: a few milliseconds of SHA-256. */
const HASH_SLICE = 4 * 2 ** 20;

/** sha256 of the pieces in order, yielding to the event loop between slices. */
async function sha256Of(parts: Uint8Array[]): Promise<string> {
  const hash = createHash('sha256');
  for (const part of parts) {
    for (let at = 0; at < part.byteLength; at += HASH_SLICE) {
      hash.update(part.subarray(at, at + HASH_SLICE));
      await yieldToLoop();
    }
  }
  return hash.digest('hex');
}

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

  /** A fresh temp name in the blob folder: written in full, then renamed into place. */
  private tempPath(): string {
    return join(this.root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** The blob's bytes, refused unless they hash to its name. */
  private verified(sha256: string, bytes: Buffer, actual: string): Buffer {
    if (actual !== sha256) {
      throw new TicketLabError(
        'BLOB_CORRUPT',
        `Blob ${this.pathOf(sha256)} is corrupted: its content hashes to ${actual.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…. Restore it from a backup or rerun the experiment that produced it.`,
      );
    }
    return bytes;
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
    const tmp = this.tempPath();
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeDurably(tmp, bytes);
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
    return this.verified(sha256, bytes, sha256Hex(bytes));
  }

  putTensors(bundle: TensorBundle): string {
    return this.put(encodeBundle(bundle));
  }

  getTensors(sha256: string): TensorBundle {
    return decodeBundle(this.get(sha256), `blob ${sha256.slice(0, 12)}…`);
  }

  /**
   * `putTensors` for large bundles (datasets) on a host that must stay responsive: the
   * bundle is hashed in slices with yields in between and written asynchronously, piece by
   * piece, never copied into one buffer. The same bytes, so the same hash, as `putTensors`.
   */
  async putTensorsAsync(bundle: TensorBundle): Promise<string> {
    const parts = encodeBundleParts(bundle);
    const sha256 = await sha256Of(parts);
    const path = this.pathOf(sha256);
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    )
      return sha256;
    const tmp = this.tempPath();
    try {
      await mkdir(dirname(path), { recursive: true });
      const file = await open(tmp, 'w');
      try {
        let position = 0;
        for (const part of parts) {
          for (let at = 0; at < part.byteLength;) {
            const { bytesWritten } = await file.write(part, at, part.byteLength - at, position);
            at += bytesWritten;
            position += bytesWritten;
          }
        }
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, path);
    } catch (e) {
      // as in put(): nothing left behind, and a full disk said as such
      await rm(tmp, { force: true });
      if (isDiskFull(e)) throw diskFullError(this.root);
      throw e;
    }
    return sha256;
  }

  /** `getTensors` without blocking the event loop: read asynchronously, hashed in slices. */
  async getTensorsAsync(sha256: string): Promise<TensorBundle> {
    const path = this.pathOf(sha256);
    const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      throw new TicketLabError('BLOB_MISSING', `Blob ${sha256} is missing from ${this.root}.`);
    });
    this.verified(sha256, bytes, await sha256Of([bytes]));
    return decodeBundle(bytes, `blob ${sha256.slice(0, 12)}…`);
  }
}
