import { describe, expect, it } from 'vitest';
import type { TensorBundle } from '../../src/core/tensorfile.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';

const tensors = (...values: number[]): TensorBundle =>
  new Map([['w', { dtype: 'F32', shape: [values.length], data: Float32Array.from(values) }]]);

/** A store with one experiment's dense ticket and its run, started. */
function oneRun(store: Store) {
  const dataset = store.insertDataset({
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
  const experiment = (seed: number) =>
    store.insertExperiment({
      name: `seed ${seed}`,
      specJson: '{}',
      specHash: `hash${seed}`,
      replicate: 0,
      method: 'imp',
      datasetId: dataset.id,
      model: 'lenet-300-100',
    });
  const ticket = store.insertTicket({
    experimentId: experiment(1).id,
    parentId: null,
    method: 'dense',
    level: 0,
    datasetId: dataset.id,
    architecture: 'lenet-300-100',
    remainingFraction: 1,
    remainingParams: 3,
    totalParams: 3,
    flops: 3,
    layerRemaining: [],
    maskBlob: store.putTensors(tensors(1, 1, 1)),
    initBlob: store.putTensors(tensors(1, 2, 3)),
    rewindBlob: null,
    trainedBlob: store.putTensors(tensors(4, 5, 6)),
    sourceTicketId: null,
  });
  const run = store.startRun({
    ticketId: ticket.id,
    seed: 1,
    startIteration: 0,
    hyperparams: {},
    backend: 'wasm',
  });
  return { run, ticket, other: experiment(2) };
}

describe("a run's kernel threads", () => {
  it('are kept span by span, and a resume from an earlier checkpoint replaces the spans it retook', () => {
    const store = Store.open(tempDir());
    try {
      const { run } = oneRun(store);
      const spans = () => store.getRun(run.id)!.kernelThreads;
      expect(spans()).toBeNull();
      store.noteKernelThreads(run.id, 1, 1);
      store.noteKernelThreads(run.id, 40, 2);
      store.noteKernelThreads(run.id, 90, 1);
      expect(spans()).toEqual([
        { fromIteration: 1, threads: 1 },
        { fromIteration: 40, threads: 2 },
        { fromIteration: 90, threads: 1 },
      ]);
      // a worker's first step after a resume at 61 reports its threads: steps 61 on were
      // taken again, all at 2
      store.noteKernelThreads(run.id, 61, 2);
      expect(spans()).toEqual([
        { fromIteration: 1, threads: 1 },
        { fromIteration: 40, threads: 2 },
      ]);
      // the same threads as the span before: no new span
      store.noteKernelThreads(run.id, 30, 1);
      expect(spans()).toEqual([{ fromIteration: 1, threads: 1 }]);
    } finally {
      store.close();
    }
  });

  it("go with a reused dense network's copy: they are the original training's", () => {
    const store = Store.open(tempDir());
    try {
      const { run, ticket, other } = oneRun(store);
      store.noteKernelThreads(run.id, 1, 2);
      store.noteKernelThreads(run.id, 7, 1);
      const copy = store.copyTrainedTicket(other.id, ticket.id);
      const copied = store.runOfTicket(copy.id)!;
      expect(copied.reusedFrom).toBe(run.id);
      expect(copied.kernelThreads).toEqual([
        { fromIteration: 1, threads: 2 },
        { fromIteration: 7, threads: 1 },
      ]);
    } finally {
      store.close();
    }
  });
});
