import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';
import { loadBuiltinMnist } from '../src/data/builtin.ts';

const made: string[] = [];
afterEach(() => {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
});

/** A fresh temp folder, removed after the test. */
export function tempDir(prefix = 'ticketlab-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/**
 * A real full disk for tests: a small tmpfs mounted on `dir`. Mounting needs root (CI runs
 * as root); false where it is refused, and the tests that need it are skipped.
 */
export function mountTmpfs(dir: string, size: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

export function unmount(dir: string) {
  if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
}

/** Whether this machine lets the tests mount a tmpfs (tried once, on a scratch folder). */
export function canMountTmpfs(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'ticketlab-tmpfs-probe-'));
  try {
    if (!mountTmpfs(probe, '1m')) return false;
    unmount(probe);
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Writes a file into `dir` until its file system has not one byte left; returns its path. */
export function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  try {
    for (const chunk of [1 << 20, 1 << 12, 1]) {
      const bytes = Buffer.alloc(chunk, 7);
      try {
        for (;;) writeSync(fd, bytes);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** ../shared/datasets beside the checkout, where CI puts real datasets. */
export const SHARED_DATASETS = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
export const hasShared = (name: string) => existsSync(join(SHARED_DATASETS, name));

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'ticketlab.mjs');

/** Runs the `ticketlab` CLI on a data folder (wasm backend) and returns what it printed. */
export function cli(args: string[], dataDir: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--data-dir', dataDir], {
    encoding: 'utf8',
    env: { ...process.env, TICKETLAB_BACKEND: 'wasm', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function writeSpec(dir: string, spec: unknown): string {
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

function idxFile(magic: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** Writes a grayscale image set as an IDX dataset folder (train and t10k files). */
export function writeIdxDataset(
  dir: string,
  sets: Record<'train' | 't10k', { images: Uint8Array; labels: Uint8Array; count: number }>,
  [h, w]: [number, number],
): string {
  mkdirSync(dir, { recursive: true });
  for (const [prefix, s] of Object.entries(sets)) {
    writeFileSync(
      join(dir, `${prefix}-images-idx3-ubyte`),
      idxFile(2051, [s.count, h, w], s.images),
    );
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idxFile(2049, [s.count], s.labels));
  }
  return dir;
}

/** max |a − b| relative to max |b|: float32 sums of many terms differ with their order. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** The cosine of the angle between two vectors (1: the same direction). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/**
 * `train`/40 digits shrunk to 8×8 (3×3 means of the central 24×24), so batch-norm nets train
 * in seconds: an IDX folder to import.
 */
export function tinyDigits(dir: string, train: number): string {
  const mnist = loadBuiltinMnist();
  const shrink = (set: typeof mnist.train, n: number) => {
    const images = new Uint8Array(n * 64);
    for (let i = 0; i < n; i++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) {
          let sum = 0;
          for (let dy = 0; dy < 3; dy++)
            for (let dx = 0; dx < 3; dx++)
              sum += set.images[i * 784 + (2 + y * 3 + dy) * 28 + 2 + x * 3 + dx]!;
          images[i * 64 + y * 8 + x] = Math.round(sum / 9);
        }
    return { images, labels: set.labels.slice(0, n), count: n };
  };
  return writeIdxDataset(
    join(dir, 'tiny'),
    { train: shrink(mnist.train, train), t10k: shrink(mnist.test, 40) },
    [8, 8],
  );
}
