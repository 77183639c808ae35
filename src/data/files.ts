import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { TicketLabError } from '../core/errors.ts';

/**
 * Reading the files of a dataset folder that may be hostile or broken: a FIFO or a device
 * named like a dataset file, a symbolic link to /dev/zero, a sparse multi-gigabyte file,
 * a gzip bomb. Only regular files are read; each file's header says how many bytes its
 * content must hold, and that is checked against the file's size before the content is
 * read (raw files) or enforced while it is inflated (gzip), so nothing reads or inflates
 * more than its header promises.
 *
 * All reads are asynchronous (libuv's thread pool does the I/O and the inflating) so that
 * a long import leaves the event loop free: in browser mode the same loop answers every
 * other request. A worker thread was the alternative; it would need its own entry point in
 * each host (tsx loader for the CLI and server, a separate bundle for Electron), and a
 * worker blocked in a read of a FIFO cannot be stopped, whereas here nothing that is not a
 * regular file is ever read.
 */

/** The most bytes one dataset file may hold once decompressed (EMNIST ByClass: 547 MB). */
export const MAX_FILE_BYTES = 2 ** 30;
const READ_CHUNK = 8 * 2 ** 20;

export function invalidDataset(file: string, problem: string): never {
  throw new TicketLabError('INVALID_DATASET', `${basename(file)}: ${problem}`);
}

function kindOf(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isDirectory()) return 'a folder';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

function describeBytes(n: number): string {
  return n >= 2 ** 30
    ? `${+(n / 2 ** 30).toFixed(1)} GiB`
    : n >= 2 ** 20
      ? `${+(n / 2 ** 20).toFixed(1)} MiB`
      : `${n} bytes`;
}

/** A Node error on a dataset file (ENOENT, ELOOP, EACCES…) as INVALID_DATASET naming the file. */
export function datasetFileError(file: string, e: unknown): TicketLabError {
  if (e instanceof TicketLabError) return e;
  const err = e as NodeJS.ErrnoException;
  const problem =
    err.code === 'ENOENT'
      ? 'does not exist (removed while importing?); put the file back and import again'
      : err.code === 'EACCES' || err.code === 'EPERM'
        ? 'cannot be read (permission denied); make it readable (chmod a+r) or copy it into a folder you own'
        : err.code === 'ELOOP'
          ? 'is a symbolic link that loops back on itself; replace it with the file itself'
          : err.code === 'EISDIR'
            ? 'is a folder, not a file; move it aside and put the dataset file in its place'
            : err.code === 'EMFILE' || err.code === 'ENFILE'
              ? 'cannot be opened: too many open files; close other programs and import again'
              : `cannot be read (${err.code ?? err.name}: ${err.message}); check the disk and import again`;
  return new TicketLabError('INVALID_DATASET', `${basename(file)}: ${problem}`);
}

/** Refuses anything but a regular file, saying what it is instead and what to do. */
function requireRegular(file: string, s: Stats, linkTarget: string | null) {
  if (s.isFile()) return;
  const what = linkTarget
    ? `is a symbolic link to ${linkTarget}, which is ${kindOf(s)}`
    : `is ${kindOf(s)}`;
  invalidDataset(
    file,
    `${what}, not a regular file; TicketLab imports only regular files: put the downloaded file itself in its place`,
  );
}

export interface DatasetFile {
  path: string;
  handle: FileHandle;
  /** bytes on disk (compressed, for gzip) */
  size: number;
}

/**
 * Opens a regular file for reading, following a symbolic link only to a regular file.
 * The link's target may lie anywhere: the import already reads any folder its caller
 * names, so what makes a file dangerous is its type and size, not where it lives.
 */
export async function openDatasetFile(path: string): Promise<DatasetFile> {
  let handle: FileHandle | undefined;
  try {
    const link = await lstat(path);
    let linkTarget: string | null = null;
    let target = link;
    if (link.isSymbolicLink()) {
      linkTarget = await readlink(path);
      try {
        target = await stat(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          invalidDataset(
            path,
            `is a symbolic link to ${linkTarget}, which does not exist; point it at the dataset file or copy the file in`,
          );
        }
        throw e;
      }
    }
    requireRegular(path, target, linkTarget);
    // O_NONBLOCK: should the path be swapped for a FIFO after the check above, the open
    // still returns at once (a blocking open waits for a writer forever) and the fstat
    // below refuses it. It has no effect on regular files.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const opened = await handle.stat();
    requireRegular(path, opened, linkTarget);
    return { path, handle, size: opened.size };
  } catch (e) {
    await handle?.close();
    throw datasetFileError(path, e);
  }
}

/**
 * How many bytes a file's content must hold, decided from its first bytes. Called once with
 * `observed` null (gzip: the inflated size is not known yet; return null when the header
 * cannot say) and again, or only, with the observed size, when it must throw the
 * format's own message if the size is wrong.
 */
export type ExpectedSize = (head: Uint8Array, observed: number | null) => number | null;

export interface ReadOptions {
  /** bytes of (decompressed) content `expect` needs to see */
  headLength: number;
  expect: ExpectedSize;
  /** most bytes accepted; MAX_FILE_BYTES unless given */
  limit?: number;
}

function overLimit(path: string, promised: number | null, limit: number): never {
  invalidDataset(
    path,
    promised === null
      ? `inflates to more than the ${describeBytes(limit)} TicketLab reads from one dataset file (a gzip bomb?); download the file again`
      : `header promises ${describeBytes(promised)}, more than the ${describeBytes(limit)} TicketLab reads from one dataset file; is the header damaged, or is this not a dataset file?`,
  );
}

function checkSize(path: string, expected: number | null, size: number, gz: boolean) {
  if (expected !== null && expected !== size) {
    invalidDataset(
      path,
      `${gz ? 'inflates to' : 'is'} ${size} bytes but its header promises ${expected}; download the file again`,
    );
  }
}

/**
 * Reads a dataset file's content (gunzipped when it starts with the gzip magic number),
 * refusing it before reading anything beyond its first bytes when its size disagrees with
 * what its header promises.
 */
export async function readDatasetFile(path: string, options: ReadOptions): Promise<Uint8Array> {
  const limit = options.limit ?? MAX_FILE_BYTES;
  const file = await openDatasetFile(path);
  try {
    const magic = new Uint8Array(2);
    const { bytesRead } = await file.handle.read(magic, 0, 2, 0);
    const gz = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    return gz ? await inflate(file, options, limit) : await readRaw(file, options, limit);
  } catch (e) {
    throw datasetFileError(path, e);
  } finally {
    await file.handle.close();
  }
}

async function readRaw(file: DatasetFile, options: ReadOptions, limit: number) {
  const head = new Uint8Array(Math.min(options.headLength, file.size));
  await file.handle.read(head, 0, head.length, 0);
  // The size on disk is checked against the header before any content is read: a sparse
  // 2 GB file behind a small header costs one stat, not 2 GB of memory.
  const expected = options.expect(head, file.size) ?? file.size;
  checkSize(file.path, expected, file.size, false);
  if (expected > limit) overLimit(file.path, expected, limit);
  const out = new Uint8Array(expected);
  for (let at = 0; at < expected;) {
    const { bytesRead } = await file.handle.read(out, at, Math.min(READ_CHUNK, expected - at), at);
    if (bytesRead === 0) {
      invalidDataset(file.path, `shrank to ${at} bytes while being read; import it again`);
    }
    at += bytesRead;
  }
  return out;
}

/**
 * Inflates a gzip file as a stream: the header is read from the first inflated bytes, the
 * content goes straight into a buffer of the promised size, and inflating stops as soon as
 * it would produce more (a few megabytes of gzip can inflate to gigabytes of zeros).
 */
async function inflate(file: DatasetFile, options: ReadOptions, limit: number) {
  const head = new Uint8Array(options.headLength);
  const state = {
    headFilled: 0,
    /** undefined until the header is complete; null when the header cannot say */
    expected: undefined as number | null | undefined,
    /** the content, filled in place, once its size is known */
    out: null as Uint8Array | null,
    /** otherwise what has been inflated so far */
    chunks: [] as Uint8Array[],
    size: 0,
  };
  const tooMuch = (promised: number): never =>
    invalidDataset(
      file.path,
      `inflates to more than the ${promised} bytes its header promises (a damaged file, or a gzip bomb); download the file again`,
    );
  const consume = async (inflated: AsyncIterable<Buffer>) => {
    for await (const chunk of inflated) {
      let rest: Uint8Array = chunk;
      if (state.expected === undefined) {
        const take = Math.min(chunk.length, head.length - state.headFilled);
        head.set(chunk.subarray(0, take), state.headFilled);
        state.headFilled += take;
        state.size += take;
        rest = chunk.subarray(take);
        if (state.headFilled < head.length) continue;
        state.expected = options.expect(head, null);
        if (state.expected === null) {
          state.chunks.push(head.slice());
        } else {
          if (state.expected > limit) overLimit(file.path, state.expected, limit);
          if (head.length > state.expected) tooMuch(state.expected);
          state.out = new Uint8Array(state.expected);
          state.out.set(head);
        }
      }
      if (rest.length === 0) continue;
      if (state.out) {
        if (state.size + rest.length > state.out.length) tooMuch(state.out.length);
        state.out.set(rest, state.size);
      } else {
        if (state.size + rest.length > limit) overLimit(file.path, null, limit);
        state.chunks.push(Uint8Array.prototype.slice.call(rest));
      }
      state.size += rest.length;
    }
  };
  const source = file.handle.createReadStream({
    start: 0,
    autoClose: false,
    highWaterMark: 2 ** 20,
  });
  let refusal: unknown = null;
  try {
    // A refusal thrown while consuming ends the pipeline and stops the inflating; the
    // pipeline then rejects with its own AbortError, so the refusal is kept aside.
    await pipeline(source, createGunzip({ chunkSize: 2 ** 20 }), (inflated) =>
      consume(inflated).catch((e: unknown) => {
        refusal = e;
        throw e;
      }),
    );
  } catch (e) {
    if (refusal) throw refusal;
    if ((e as NodeJS.ErrnoException).code?.startsWith('Z_')) {
      invalidDataset(
        file.path,
        `gzip data is damaged or truncated (${(e as Error).message}); download the file again.`,
      );
    }
    throw e;
  }
  if (state.expected === undefined) {
    // shorter than the header: the format says what that means
    const content = head.slice(0, state.headFilled);
    checkSize(file.path, options.expect(content, state.size), state.size, true);
    return content;
  }
  checkSize(file.path, options.expect(head, state.size), state.size, true);
  if (state.out) return state.out;
  const all = new Uint8Array(state.size);
  let at = 0;
  for (const c of state.chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}
