import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TicketLabError } from '../core/errors.ts';
import { readCifarBatches } from './cifar.ts';
import type { DecodedDataset } from './dataset.ts';
import { datasetFileError, readDatasetFile } from './files.ts';
import { readIdxPair } from './idx.ts';

export interface ImportOptions {
  name?: string;
  /** Class count for IDX sets whose labels go beyond 0–9 (EMNIST splits). */
  classes?: number;
}

/** A class-names file: CIFAR-100's hundred names take about a kilobyte. */
const MAX_META_BYTES = 2 ** 20;

function findFile(dir: string, files: string[], pattern: RegExp): string | undefined {
  const hit = files.find((f) => pattern.test(f));
  return hit ? join(dir, hit) : undefined;
}

/**
 * Imports a dataset folder in a standard layout, detected from its file names:
 * IDX (`*train-images-idx3-ubyte[.gz]`, `*train-labels-idx1-ubyte`, `*t10k-…` or `*test-…`),
 * CIFAR-10 (`data_batch_N.bin[.gz]`, `test_batch.bin`) or CIFAR-100 (`train.bin`, `test.bin`).
 * Everything is decoded and checked before anything is stored, and only regular files are
 * read, each no further than its header promises (files.ts). Asynchronous throughout, so
 * the host's event loop keeps answering while a large folder is read.
 */
export async function importDatasetFolder(
  dir: string,
  options: ImportOptions = {},
): Promise<DecodedDataset> {
  const isFolder = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new TicketLabError('INVALID_DATASET', `${dir}: not a folder`);
  const files = (
    await readdir(dir).catch((e: unknown) => Promise.reject(datasetFileError(dir, e)))
  ).sort();
  const name = options.name ?? basename(dir);

  const trainImages = findFile(dir, files, /train-images-idx3-ubyte(\.gz)?$/);
  if (trainImages) {
    const need = (pattern: RegExp, what: string) =>
      findFile(dir, files, pattern) ??
      (() => {
        throw new TicketLabError(
          'INVALID_DATASET',
          `${dir}: has ${basename(trainImages)} but no ${what} file`,
        );
      })();
    const classCount = options.classes ?? 10;
    const train = await readIdxPair(
      {
        images: trainImages,
        labels: need(/train-labels-idx1-ubyte(\.gz)?$/, 'train-labels-idx1-ubyte'),
      },
      classCount,
    );
    const test = await readIdxPair(
      {
        images: need(/(t10k|test)-images-idx3-ubyte(\.gz)?$/, 't10k-images-idx3-ubyte'),
        labels: need(/(t10k|test)-labels-idx1-ubyte(\.gz)?$/, 't10k-labels-idx1-ubyte'),
      },
      classCount,
    );
    if (train.shape.join() !== test.shape.join()) {
      throw new TicketLabError(
        'INVALID_DATASET',
        `${dir}: train images are ${train.shape.join('×')} but test images are ${test.shape.join('×')}`,
      );
    }
    return {
      name,
      format: 'idx',
      inputShape: train.shape,
      classNames: Array.from({ length: classCount }, (_, i) => String(i)),
      train,
      test,
    };
  }

  const cifar10Train = files.filter((f) => /^data_batch_\d+\.bin(\.gz)?$/.test(f));
  const cifar100Train = findFile(dir, files, /^train\.bin(\.gz)?$/);
  if (cifar10Train.length > 0 || cifar100Train) {
    const variant = cifar10Train.length > 0 ? 'cifar10' : 'cifar100';
    const testFile = findFile(
      dir,
      files,
      variant === 'cifar10' ? /^test_batch\.bin(\.gz)?$/ : /^test\.bin(\.gz)?$/,
    );
    if (!testFile) {
      throw new TicketLabError(
        'INVALID_DATASET',
        `${dir}: has ${variant} training batches but no test batch`,
      );
    }
    const trainFiles =
      variant === 'cifar10' ? cifar10Train.map((f) => join(dir, f)) : [cifar100Train!];
    const classCount = variant === 'cifar10' ? 10 : 100;
    const metaFile = findFile(
      dir,
      files,
      variant === 'cifar10' ? /^batches\.meta\.txt$/ : /^fine_label_names\.txt$/,
    );
    const metaNames = metaFile
      ? Buffer.from(
          await readDatasetFile(metaFile, {
            headLength: 0,
            expect: (_, size) => size,
            limit: MAX_META_BYTES,
          }),
        )
          .toString('utf8')
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    return {
      name,
      format: variant,
      inputShape: [32, 32, 3],
      classNames:
        metaNames.length === classCount
          ? metaNames
          : Array.from({ length: classCount }, (_, i) => String(i)),
      train: await readCifarBatches(trainFiles, variant),
      test: await readCifarBatches([testFile], variant),
    };
  }
  throw new TicketLabError(
    'INVALID_DATASET',
    `${dir}: no dataset found; expected IDX files (train-images-idx3-ubyte…) or CIFAR binary batches (data_batch_1.bin…, test_batch.bin)`,
  );
}
