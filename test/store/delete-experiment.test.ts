import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insertClusterJob } from '../../src/store/cluster-jobs.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';
import { insertDenseTicket, insertTestDataset, insertTestExperiment, tensors } from './fixtures.ts';

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
      const dataset = insertTestDataset(store);
      // The dense mask is all ones in every experiment of a model: one shared blob.
      const sharedMask = store.putTensors(tensors(1, 1, 1));
      const experiment = (seed: number) => {
        const e = insertTestExperiment(store, dataset.id, seed);
        const own = [store.putTensors(tensors(seed, 0)), store.putTensors(tensors(seed, 1))];
        insertDenseTicket(store, e.id, dataset.id, {
          mask: sharedMask,
          init: own[0]!,
          trained: own[1]!,
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
      const dataset = insertTestDataset(store);
      const experiment = (seed: number) => insertTestExperiment(store, dataset.id, seed).id;
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
