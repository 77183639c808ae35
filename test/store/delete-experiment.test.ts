import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorBundle } from '../../src/core/tensorfile.ts';
import { insertClusterJob } from '../../src/store/cluster-jobs.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';

const tensors = (...values: number[]): TensorBundle =>
  new Map([['w', { dtype: 'F32', shape: [values.length], data: Float32Array.from(values) }]]);

/** Every blob file in the folder (the two-letter shards), as sha256 hashes. */
function blobFiles(store: Store): string[] {
  return readdirSync(store.blobs.root)
    .filter((d) => d.length === 2)
    .flatMap((d) => readdirSync(`${store.blobs.root}/${d}`).map((f) => d + f))
    .sort();
}

describe('deleting an experiment', () => {
  it('removes the blobs only it referred to, and keeps those another row still uses', () => {
    const store = Store.open(tempDir());
    try {
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
      // The dense mask is all ones in every experiment of a model: one shared blob.
      const sharedMask = store.putTensors(tensors(1, 1, 1));
      const experiment = (seed: number) => {
        const e = store.insertExperiment({
          name: `seed ${seed}`,
          specJson: '{}',
          specHash: `hash${seed}`,
          replicate: 0,
          method: 'imp',
          datasetId: dataset.id,
          model: 'lenet-300-100',
        });
        const own = [store.putTensors(tensors(seed, 0)), store.putTensors(tensors(seed, 1))];
        store.insertTicket({
          experimentId: e.id,
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
          maskBlob: sharedMask,
          initBlob: own[0]!,
          rewindBlob: null,
          trainedBlob: own[1]!,
          sourceTicketId: null,
        });
        // a paused job's checkpoint belongs to the experiment too
        const checkpoint = store.putTensors(tensors(seed, 2));
        const job = store.insertJob(e.id, 'imp');
        store.updateJob(job.id, { state: 'paused', checkpointBlob: checkpoint });
        return { id: e.id, own: [...own, checkpoint] };
      };
      const a = experiment(1);
      const b = experiment(2);

      expect(store.deleteExperiment(a.id)).toBe(3);
      for (const sha of a.own) expect(existsSync(store.blobs.pathOf(sha))).toBe(false);
      // what b and the dataset use is intact, and no file is left that no row refers to
      const kept = [dataset.tensorsBlob, sharedMask, ...b.own].sort();
      expect(blobFiles(store)).toEqual(kept);
      for (const sha of kept) expect(store.getTensors(sha).size).toBe(1);

      expect(store.deleteExperiment(b.id)).toBe(4); // the shared mask goes with the last user
      expect(blobFiles(store)).toEqual([dataset.tensorsBlob]);
    } finally {
      store.close();
    }
  });

  it("removes its cluster jobs' folders from the data folder, and nothing else there", () => {
    const dataDir = tempDir();
    const store = Store.open(dataDir);
    try {
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
        }).id;
      /** A job of the experiment on Slurm, with what its folder holds after a run. */
      const clusterJob = (
        experimentId: string,
        folderOf = (jobId: string) => `cluster/${jobId}`,
      ) => {
        const job = store.insertJob(experimentId, 'imp');
        const folder = folderOf(job.id);
        insertClusterJob(store, job.id, '{"kind":"slurm"}', folder);
        mkdirSync(join(dataDir, folder), { recursive: true });
        for (const f of ['start.json', 'messages.jsonl', 'slurm-7.out'])
          writeFileSync(join(dataDir, folder, f), '{}\n');
        store.updateJob(job.id, { state: 'done' });
        return join(dataDir, folder);
      };
      const a = experiment(1);
      // an experiment run twice on the cluster (submitted again after it ended)
      const aFolders = [clusterJob(a), clusterJob(a)];
      const b = experiment(2);
      const bFolder = clusterJob(b);
      // a job array's output beside the folders, and a folder outside cluster/ (never one
      // TicketLab makes) that a damaged row could name
      writeFileSync(join(dataDir, 'cluster', 'slurm-5_0.out'), 'array task 0\n');
      const c = experiment(3);
      const outside = clusterJob(c, () => 'elsewhere');

      store.deleteExperiment(a);
      for (const f of aFolders) expect(existsSync(f)).toBe(false);
      expect(readdirSync(bFolder).sort()).toEqual(['messages.jsonl', 'slurm-7.out', 'start.json']);
      expect(readdirSync(join(dataDir, 'cluster')).sort()).toEqual(
        [bFolder.split('/').at(-1)!, 'slurm-5_0.out'].sort(),
      );

      store.deleteExperiment(c);
      expect(readdirSync(outside)).toHaveLength(3);
      expect(existsSync(bFolder)).toBe(true);
    } finally {
      store.close();
    }
  });
});
