import { TicketLabError } from '../core/errors.ts';
import { BUILTIN_MNIST_ID, loadBuiltinMnist } from '../data/builtin.ts';
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
): DatasetRow {
  const tensorsBlob = store.putTensors(datasetToBundle(ds));
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
  return datasetFromBundle(row, store.getTensors(row.tensorsBlob));
}
