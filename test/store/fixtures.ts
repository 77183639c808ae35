import type { TensorBundle } from '../../src/core/tensorfile.ts';
import type { Store } from '../../src/store/store.ts';

/** One tensor `w` holding `values`: a blob's content, distinct per list of values. */
export const tensors = (...values: number[]): TensorBundle =>
  new Map([['w', { dtype: 'F32', shape: [values.length], data: Float32Array.from(values) }]]);

/** A one-image dataset row: what an experiment needs to refer to. */
export function insertTestDataset(store: Store) {
  return store.insertDataset({
    id: 'ds_test',
    name: 'test',
    format: 'idx',
    inputShape: [1, 1, 1],
    classNames: ['a', 'b'],
    trainCount: 1,
    testCount: 1,
    contentHash: 'x',
    sourcePath: null,
    tensorsBlob: store.putTensors(tensors(42)),
  });
}

/** An IMP experiment on the dataset, named and hashed by `seed`. */
export function insertTestExperiment(store: Store, datasetId: string, seed: number) {
  return store.insertExperiment({
    name: `seed ${seed}`,
    specJson: '{}',
    specHash: `hash${seed}`,
    replicate: 0,
    method: 'imp',
    datasetId,
    model: 'lenet-300-100',
  });
}

/** A trained dense ticket of the experiment, with the blobs given. */
export function insertDenseTicket(
  store: Store,
  experimentId: string,
  datasetId: string,
  blobs: { mask: string; init: string; trained: string },
) {
  return store.insertTicket({
    experimentId,
    parentId: null,
    method: 'dense',
    level: 0,
    datasetId,
    architecture: 'lenet-300-100',
    remainingFraction: 1,
    remainingParams: 3,
    totalParams: 3,
    flops: 3,
    layerRemaining: [],
    maskBlob: blobs.mask,
    initBlob: blobs.init,
    rewindBlob: null,
    trainedBlob: blobs.trained,
    sourceTicketId: null,
  });
}
