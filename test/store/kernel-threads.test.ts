import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';
import { insertDenseTicket, insertTestDataset, insertTestExperiment, tensors } from './fixtures.ts';

/** A store with one experiment's dense ticket and its run, started. */
function oneRun(store: Store) {
  const dataset = insertTestDataset(store);
  const experiment = (seed: number) => insertTestExperiment(store, dataset.id, seed);
  const ticket = insertDenseTicket(store, experiment(1).id, dataset.id, {
    mask: store.putTensors(tensors(1, 1, 1)),
    init: store.putTensors(tensors(1, 2, 3)),
    trained: store.putTensors(tensors(4, 5, 6)),
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
