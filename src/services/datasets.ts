import { TicketLabError } from '../core/errors.ts';
import type { TensorBundle } from '../core/tensorfile.ts';
import { BUILTIN_MNIST_ID, loadBuiltinMnist } from '../data/builtin.ts';
import type { DecodedDataset } from '../data/dataset.ts';
import { importDatasetFolder, type ImportOptions } from '../data/import.ts';
import type { DatasetRow, Store } from '../store/store.ts';

function toBundle(ds: DecodedDataset): TensorBundle {
  const [h, w, c] = ds.inputShape;
  return new Map([
    ['train.images', { dtype: 'U8', shape: [ds.train.count, h, w, c], data: ds.train.images }],
    ['train.labels', { dtype: 'U8', shape: [ds.train.count], data: ds.train.labels }],
    ['test.images', { dtype: 'U8', shape: [ds.test.count, h, w, c], data: ds.test.images }],
    ['test.labels', { dtype: 'U8', shape: [ds.test.count], data: ds.test.labels }],
  ]);
}

/**
 * Stores a decoded dataset: its tensors become one blob (whose hash is the dataset's
 * content hash) and then one row. Importing the same content twice finds the first.
 */
function register(
  store: Store,
  ds: DecodedDataset,
  id: string | null,
  sourcePath: string | null,
): DatasetRow {
  const tensorsBlob = store.putTensors(toBundle(ds));
  const existing = store.findDatasetByHash(tensorsBlob);
  if (existing) return existing;
  return store.insertDataset({
    id: id ?? `ds_${tensorsBlob.slice(0, 12)}`,
    name: ds.name,
    format: ds.format,
    inputShape: ds.inputShape,
    classNames: ds.classNames,
    trainCount: ds.train.count,
    testCount: ds.test.count,
    contentHash: tensorsBlob,
    sourcePath,
    tensorsBlob,
  });
}

/** The built-in MNIST is registered on first use; no import step for the user. */
export function ensureBuiltinDataset(store: Store): DatasetRow {
  return (
    store.getDataset(BUILTIN_MNIST_ID) ??
    register(store, loadBuiltinMnist(), BUILTIN_MNIST_ID, null)
  );
}

export function importDataset(store: Store, dir: string, options: ImportOptions = {}): DatasetRow {
  // Decoding checks everything before anything is written: nothing half-imported stays.
  return register(store, importDatasetFolder(dir, options), null, dir);
}

export function getDatasetRow(store: Store, id: string): DatasetRow {
  if (id === BUILTIN_MNIST_ID) return ensureBuiltinDataset(store);
  const row = store.getDataset(id);
  if (!row) {
    const known = store.listDatasets().map((d) => d.id);
    throw new TicketLabError(
      'DATASET_NOT_FOUND',
      `Dataset "${id}" is not in this data folder. Known: ${[BUILTIN_MNIST_ID, ...known.filter((k) => k !== BUILTIN_MNIST_ID)].join(', ')}. Import one with \`ticketlab datasets import <folder>\`.`,
    );
  }
  return row;
}

export function loadDataset(store: Store, id: string): DecodedDataset {
  const row = getDatasetRow(store, id);
  const bundle = store.getTensors(row.tensorsBlob);
  const u8 = (name: string) => {
    const t = bundle.get(name);
    if (!t || t.dtype !== 'U8')
      throw new TicketLabError('BLOB_CORRUPT', `Dataset ${id}: tensor ${name} is missing`);
    return t.data;
  };
  return {
    name: row.name,
    format: row.format,
    inputShape: row.inputShape,
    classNames: row.classNames,
    train: { images: u8('train.images'), labels: u8('train.labels'), count: row.trainCount },
    test: { images: u8('test.images'), labels: u8('test.labels'), count: row.testCount },
  };
}
