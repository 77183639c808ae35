import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../../src/api/spec.ts';
import { nativeBlas } from '../../src/engine/native-blas.ts';
import { denseTrainedAlready } from '../../src/jobs/dense-reuse.ts';
import { Lab } from '../../src/services/lab.ts';
import { tempDir, tinyDigits } from '../helpers.ts';

describe('one dense training per θ0', () => {
  it('copies the dense network an identical experiment trains, waits for it rather than train it twice, and keeps the copy when the original goes', async () => {
    const data = tempDir();
    const lab = Lab.open({ dataDir: data, runAll: true, concurrency: 2 });
    try {
      const dataset = await lab.invoke('datasets.import', { path: tinyDigits(data, 200) });
      const base = {
        model: 'lenet-300-100',
        dataset: dataset.id,
        seed: 3,
        training: { duration: '30it', evalEvery: 10 },
      };
      const pai = (score: string, changes: object = {}) => ({
        ...base,
        method: 'pai',
        pai: { score, compressions: [1] },
        ...changes,
      });
      const start = (spec: object) => lab.invoke('experiments.create', { spec, start: true });
      const finish = async (created: Awaited<ReturnType<typeof start>>) => {
        expect((await lab.scheduler.wait(created.job!.id)).state).toBe('done');
        return lab.invoke('experiments.get', { id: created.experiment.id });
      };
      const denseOf = (e: Awaited<ReturnType<typeof finish>>) =>
        e.tickets.find((t) => t.level === 0 && t.method === 'dense')!;

      // three scores of one seed, queued together for two workers: one dense training
      const scores = await Promise.all(['snip', 'magnitude', 'random'].map((s) => start(pai(s))));
      const done = await Promise.all(scores.map(finish));
      const dense = done.map(denseOf);
      const trained = dense.filter((t) => t.reusedFromRunId === null);
      expect(trained).toHaveLength(1);
      const [original] = trained;
      for (const t of dense) {
        expect(t.trained).toBe(true);
        expect(t.testAccuracy).toBe(original!.testAccuracy);
        if (t !== original) expect(t.reusedFromRunId).toBe(original!.runId);
        // and the threads it trained on: the original's (recorded where the native kernels ran)
        expect(t.kernelThreads).toEqual(original!.kernelThreads);
      }
      if (nativeBlas()) expect(original!.kernelThreads).not.toBeNull();
      // each went on to prune and train its own level 1
      for (const e of done)
        expect(e.tickets.filter((t) => t.level === 1 && t.trained)).toHaveLength(1);
      // the copy has the original's curves
      const copy = dense.find((t) => t !== original)!;
      const curve = async (runId: string) =>
        (await lab.invoke('runs.metrics', { runId, split: 'val' })).points;
      expect((await curve(copy.runId!)).length).toBeGreaterThan(1);
      expect(await curve(copy.runId!)).toEqual(await curve(original!.runId!));
      // the report marks the copy's wall time as the original's, not a second training's
      const copied = done.find((e) => denseOf(e) === copy)!;
      const { html } = await lab.invoke('experiments.report', { ids: [copied.id] });
      expect(html).toContain(`level 0, dense: reused from run ${original!.runId}`);

      // the original's experiment deleted, the copies keep their weights
      const owner = done.find((e) => denseOf(e) === original)!;
      await lab.invoke('experiments.delete', { id: owner.id });
      const kept = lab.store.getTicket(copy.id)!;
      expect(lab.store.blobs.getTensors(kept.trainedBlob!).size).toBeGreaterThan(0);
      expect(lab.store.blobs.getTensors(kept.initBlob!).size).toBeGreaterThan(0);

      // IMP from the same θ0, trained the same way, copies it too (from a copy now: it
      // names the run that trained it) and prunes from it
      const imp = await finish(await start({ ...base, pruning: { levels: 1 } }));
      expect(denseOf(imp).reusedFromRunId).toBe(original!.runId);
      expect(imp.tickets.find((t) => t.level === 1)!.trained).toBe(true);

      // what a plan asks before it creates an experiment (bench/campaign.ts): is its dense
      // network in the store already
      const trainedAlready = (spec: object) => denseTrainedAlready(lab.store, resolveSpec(spec));
      expect(trainedAlready(pai('grasp'))).toBe(true);

      // another seed, another learning rate, a rewind point whose θ_k the original did not
      // keep: each a different dense training, trained again
      for (const spec of [
        pai('snip', { seed: 4 }),
        pai('snip', { training: { ...base.training, learningRate: 0.002 } }),
        { ...base, pruning: { levels: 1, rewind: '5it' } },
      ]) {
        expect(trainedAlready(spec)).toBe(false);
        expect(denseOf(await finish(await start(spec))).reusedFromRunId).toBeNull();
        expect(trainedAlready(spec)).toBe(true);
      }
    } finally {
      await lab.close();
    }
  });

  it('starts the job waiting for a dense network as soon as it is trained, not when the job training it ends', async () => {
    const data = tempDir();
    const lab = Lab.open({ dataDir: data, runAll: true, concurrency: 2 });
    try {
      const dataset = await lab.invoke('datasets.import', { path: tinyDigits(data, 200) });
      const spec = (score: string) => ({
        model: 'lenet-300-100',
        dataset: dataset.id,
        seed: 5,
        method: 'pai',
        pai: { score, compressions: [1] },
        training: { duration: '30it', evalEvery: 10 },
      });
      const created = [];
      for (const score of ['snip', 'magnitude'])
        created.push(await lab.invoke('experiments.create', { spec: spec(score), start: true }));
      const jobs = created.map((c) => c.job!.id);
      // when the first pruned ticket is stored, its job has not ended: the other job must
      // have started already, on the dense network trained before it
      const othersState: string[] = [];
      const unsubscribe = lab.subscribe((e) => {
        if (e.type !== 'ticket.created' || e.level !== 1 || othersState.length > 0) return;
        const other = jobs.find((id) => id !== e.jobId)!;
        othersState.push(lab.store.getJob(other)!.state);
      });
      for (const id of jobs) expect((await lab.scheduler.wait(id)).state).toBe('done');
      unsubscribe();
      expect(othersState).toHaveLength(1);
      expect(othersState[0]).not.toBe('queued');
      // and it copied that dense network rather than train its own
      const dense = await Promise.all(
        created.map(async (c) => {
          const e = await lab.invoke('experiments.get', { id: c.experiment.id });
          return e.tickets.find((t) => t.level === 0)!;
        }),
      );
      expect(dense.filter((t) => t.reusedFromRunId === null)).toHaveLength(1);
    } finally {
      await lab.close();
    }
  });
});
