import { TicketLabError } from '../core/errors.ts';
import { BUILTIN_MNIST_ID, loadBuiltinMnist, loadBuiltinMnistAsync } from '../data/builtin.ts';
import { datasetFromBundle, datasetToBundle, type DecodedDataset } from '../data/dataset.ts';
import { importDatasetFolder, type ImportOptions } from '../data/import.ts';
import type { DatasetRow, Store } from '../store/store.ts';

/**
 * Stores a decoded dataset: its tensors become one blob (whose hash is the dataset's
 * content hash) and then one row. Importing the same content twice finds the first.
 */
function register(
  store: Store,
  ds: DecodedDataset,
  id: string | null,
  sourcePath: string | null,
  /** the tensors' blob where already written (an import writes it asynchronously) */
  written?: string,
): DatasetRow {
  const tensorsBlob = written ?? store.putTensors(datasetToBundle(ds));
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

/** `ensureBuiltinDataset` that keeps the event loop free while the digits are decoded. */
export async function ensureBuiltinDatasetAsync(store: Store): Promise<DatasetRow> {
  const row = store.getDataset(BUILTIN_MNIST_ID);
  if (row) return row;
  const ds = await loadBuiltinMnistAsync();
  const tensorsBlob = await store.putTensorsAsync(datasetToBundle(ds));
  // Synchronous from here: a concurrent call finds this row, or inserts it before this one looks.
  return (
    store.getDataset(BUILTIN_MNIST_ID) ?? register(store, ds, BUILTIN_MNIST_ID, null, tensorsBlob)
  );
}

/**
 * Imports a dataset folder without blocking the host's event loop (reading, inflating,
 * reordering and hashing all yield), so the server and the desktop app keep answering.
 */
export async function importDataset(
  store: Store,
  dir: string,
  options: ImportOptions = {},
): Promise<DatasetRow> {
  // Decoding checks everything before anything is written: nothing half-imported stays.
  const ds = await importDatasetFolder(dir, options);
  const tensorsBlob = await store.putTensorsAsync(datasetToBundle(ds));
  // Synchronous from here: no other import can record the same content between the
  // look-up and the insert.
  return register(store, ds, null, dir, tensorsBlob);
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
  return datasetFromBundle(row, store.getTensors(row.tensorsBlob));
}

/** `loadDataset` for request handlers: the blob is read and verified off the event loop. */
export async function loadDatasetAsync(store: Store, id: string): Promise<DecodedDataset> {
  const row = getDatasetRow(store, id);
  return datasetFromBundle(row, await store.getTensorsAsync(row.tensorsBlob));
}
