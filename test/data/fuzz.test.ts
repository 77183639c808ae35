import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { importDataset } from '../../src/services/datasets.ts';
import { Store } from '../../src/store/store.ts';
import { hasShared, SHARED_DATASETS, tempDir } from '../helpers.ts';

/**
 * The importers against mutated real files: bytes flipped (headers included), files cut
 * short or grown, gzip streams damaged. Each import either stores a dataset or is refused
 * with INVALID_DATASET naming the file; nothing else is thrown, nothing half-imported stays,
 * and what was stored before is untouched.
 */
type Mutation = (bytes: Buffer, rng: Rng) => Buffer;

const MUTATIONS: Record<string, Mutation> = {
  'flip a header byte': (b, rng) => flip(b, rng.int(Math.min(16, b.length))),
  'flip any byte': (b, rng) => flip(b, rng.int(b.length)),
  'cut short': (b, rng) => b.subarray(0, rng.int(b.length)),
  grow: (b, rng) => Buffer.concat([b, Buffer.from(randomBytes(rng, 1 + rng.int(64)))]),
  'zero a run': (b, rng) => {
    const out = Buffer.from(b);
    const at = rng.int(b.length);
    out.fill(0, at, Math.min(out.length, at + 1 + rng.int(32)));
    return out;
  },
  'random bytes': (_b, rng) => Buffer.from(randomBytes(rng, rng.int(200))),
};

function flip(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  if (out.length) out[at] = out[at]! ^ (1 << (at % 8));
  return out;
}

function randomBytes(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(256));
}

/** A real IDX file cut down to its first `count` items (header count rewritten). */
function firstItems(gz: string, count: number, itemBytes: number): Buffer {
  const raw = gunzipSync(readFileSync(gz));
  const dims = raw[3]!;
  const header = Buffer.from(raw.subarray(0, 4 + 4 * dims));
  header.writeUInt32BE(count, 4);
  return Buffer.concat([header, raw.subarray(header.length, header.length + count * itemBytes)]);
}

async function fuzz(
  name: string,
  files: Record<string, Buffer>,
  cases: number,
  seed: number,
): Promise<{ stored: number; refused: number }> {
  const data = tempDir();
  const store = Store.open(join(data, 'lab'));
  const rng = new Rng(seed);
  const names = Object.keys(files);
  const outcome = { stored: 0, refused: 0 };
  const stored = new Set<string>();
  try {
    const before = store.listDatasets().length;
    for (let i = 0; i < cases; i++) {
      const dir = join(data, `case-${i}`);
      mkdirSync(dir);
      const target = names[rng.int(names.length)]!;
      const kinds = Object.keys(MUTATIONS);
      const kind = kinds[rng.int(kinds.length)]!;
      for (const [file, bytes] of Object.entries(files)) {
        let out = bytes;
        if (file === target) {
          // Damage the stored bytes: a gzip file is mutated as gzip half the time, as
          // its content (gzipped again) otherwise.
          const gz = file.endsWith('.gz');
          out =
            gz && rng.next() < 0.5
              ? gzipSync(MUTATIONS[kind]!(gunzipSync(bytes), rng))
              : MUTATIONS[kind]!(bytes, rng);
        }
        writeFileSync(join(dir, file), out);
      }
      const result = await importDataset(store, dir, { name: `case ${i}` }).then(
        (row) => row.id,
        (e: unknown) => e as { code?: string; message?: string },
      );
      if (typeof result === 'string') {
        outcome.stored++;
        stored.add(result);
      } else {
        outcome.refused++;
        expect(result.code, `${name} case ${i} (${kind} in ${target}): ${result.message}`).toBe(
          'INVALID_DATASET',
        );
        expect(result.message).toMatch(/^[\w.-]+(\.gz)?: |no |missing|found/i);
      }
      rmSync(dir, { recursive: true });
    }
    // Damage that leaves the content alone (a gzip header's time stamp) finds the same row.
    expect(store.listDatasets().length - before).toBe(stored.size);
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    store.close();
  }
  return outcome;
}

describe('dataset importers against mutated real files (fuzz)', () => {
  it.runIf(hasShared('mnist-10k'))(
    'IDX: every mutation is stored or refused as INVALID_DATASET, and nothing half-stored stays',
    async () => {
      const src = join(SHARED_DATASETS, 'mnist-10k');
      const images = (f: string) => firstItems(join(src, f), 60, 784);
      const labels = (f: string) => firstItems(join(src, f), 60, 1);
      const files = {
        'train-images-idx3-ubyte.gz': gzipSync(images('train-images-idx3-ubyte.gz')),
        'train-labels-idx1-ubyte.gz': gzipSync(labels('train-labels-idx1-ubyte.gz')),
        't10k-images-idx3-ubyte': images('t10k-images-idx3-ubyte.gz'),
        't10k-labels-idx1-ubyte': labels('t10k-labels-idx1-ubyte.gz'),
      };
      const outcome = await fuzz('IDX', files, 300, 20261201);
      console.info(`fuzz IDX: 300 mutated folders, ${JSON.stringify(outcome)}`);
      expect(outcome.refused).toBeGreaterThan(100);
    },
    180_000,
  );

  it.runIf(hasShared('cifar10'))(
    'CIFAR binary: every mutation is stored or refused as INVALID_DATASET',
    async () => {
      const src = join(SHARED_DATASETS, 'cifar10');
      const records = (f: string) => gunzipSync(readFileSync(join(src, f))).subarray(0, 40 * 3073);
      const files = {
        'data_batch_1.bin.gz': gzipSync(records('data_batch_1.bin.gz')),
        'test_batch.bin': records('test_batch.bin.gz'),
        'batches.meta.txt': readFileSync(join(src, 'batches.meta.txt')),
      };
      const outcome = await fuzz('CIFAR', files, 150, 20261202);
      console.info(`fuzz CIFAR: 150 mutated folders, ${JSON.stringify(outcome)}`);
      expect(outcome.refused).toBeGreaterThan(30);
    },
    180_000,
  );
});
