import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MethodOutput } from '../../src/api/contract.ts';
import { isTicketLabError } from '../../src/core/errors.ts';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { Lab } from '../../src/services/lab.ts';
import { tempDir, writeIdxDataset } from '../helpers.ts';

type Node = MethodOutput<'experiments.genealogy'>['nodes'][number];

/** 300 training and 100 test digits of the built-in MNIST from `first` on, as a dataset folder. */
function digitsFolder(dir: string, name: string, first: number): string {
  const mnist = loadBuiltinMnist();
  const take = (set: typeof mnist.train, n: number) => ({
    images: set.images.slice(first * 784, (first + n) * 784),
    labels: set.labels.slice(first, first + n),
    count: n,
  });
  return writeIdxDataset(
    join(dir, name),
    { train: take(mnist.train, 300), t10k: take(mnist.test, 100) },
    [28, 28],
  );
}

const baseSpec = {
  model: 'lenet-300-100',
  seed: 7,
  training: { duration: '20it', evalEvery: 10 },
};

describe('the genealogy of a θ0', () => {
  it('draws IMP, a rewind branch, SNIP, SynFlow and one-shot from the same θ0 and a transfer as one tree, and filters it', async () => {
    const data = tempDir();
    const lab = Lab.open({ dataDir: data, runAll: true });
    try {
      // small datasets keep each evaluation short
      const source = await lab.invoke('datasets.import', { path: digitsFolder(data, 'a', 0) });
      const digits = await lab.invoke('datasets.import', { path: digitsFolder(data, 'b', 300) });
      const base = { ...baseSpec, dataset: source.id };
      const run = async (spec: unknown) => {
        const { experiment, job } = await lab.invoke('experiments.create', { spec, start: true });
        expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
        return experiment.id;
      };
      const imp = await run({
        ...base,
        pruning: { levels: 2 },
        controls: { randomReinit: true, randomPrune: true },
      });
      const rewound = await run({ ...base, pruning: { levels: 1, rewind: '5it' } });
      const snip = await run({ ...base, method: 'pai', pai: { score: 'snip', compressions: [1] } });
      const synflow = await run({
        ...base,
        method: 'pai',
        pai: { score: 'synflow', compressions: [1], rounds: 5 },
      });
      const oneshot = await run({
        ...base,
        method: 'oneshot',
        oneshot: { compressions: [0.5] },
      });
      // another seed is another θ0: not in the tree
      const otherSeed = await run({ ...base, seed: 8, pruning: { levels: 0 } });

      const level2 = (await lab.invoke('experiments.get', { id: imp })).tickets.find(
        (t) => t.level === 2 && t.method === 'imp',
      )!;
      const transfer = await lab.invoke('transfer.create', {
        ticketId: level2.id,
        targets: [digits.id],
        duration: '20it',
      });
      expect((await lab.scheduler.wait(transfer.jobs[0]!.id)).state).toBe('done');
      const transferId = transfer.experiments[0]!.id;

      const tree = await lab.invoke('experiments.genealogy', { id: snip });
      const family = [imp, rewound, snip, synflow, oneshot, transferId];
      expect(tree.experiments.map((e) => e.id)).toEqual(family);
      expect(tree.experiments.map((e) => e.id)).not.toContain(otherSeed);
      expect(tree.theta0).toMatchObject({ model: 'lenet-300-100', seed: 7, init: 'glorot-normal' });
      expect(tree.experiments.map((e) => e.branch)).toEqual([
        'IMP, reset to θ0',
        'IMP, rewind to 5it',
        'snip',
        'synflow',
        'one-shot, reset to θ0',
        `transfer to ${digits.name}`,
      ]);

      // every stored ticket of the five experiments is a node, once, under θ0
      const stored = (
        await Promise.all(family.map((id) => lab.invoke('experiments.get', { id })))
      ).flatMap((e) => e.tickets.map((t) => t.id));
      const [root, ...tickets] = tree.nodes;
      expect(root).toMatchObject({ kind: 'theta0', parentId: null });
      expect(tickets.map((n) => n.id).sort()).toEqual([...stored].sort());
      expect(tree.total).toBe(stored.length + 1);
      const byId = new Map(tree.nodes.map((n) => [n.id, n]));
      const depth = (n: Node): number => (n.parentId ? 1 + depth(byId.get(n.parentId)!) : 0);
      for (const n of tickets) expect(byId.has(n.parentId!), n.id).toBe(true);

      // the dense networks of the five experiments hang under θ0, each on its branch
      const dense = tree.nodes.filter((n) => n.parentId === root!.id);
      expect(dense.map((n) => [n.method, n.experimentId])).toEqual(
        [imp, rewound, snip, synflow, oneshot].map((id) => ['dense', id]),
      );
      // IMP's levels chain from its dense network; each level's controls hang under it
      const of = (experimentId: string, method: string, level: number) =>
        tickets.find(
          (n) => n.experimentId === experimentId && n.method === method && n.level === level,
        )!;
      expect(depth(of(imp, 'imp', 2))).toBe(3);
      expect(of(imp, 'imp', 1).parentId).toBe(of(imp, 'dense', 0).id);
      expect(of(imp, 'random-reinit', 2).parentId).toBe(of(imp, 'imp', 2).id);
      expect(of(imp, 'random-prune', 1).parentId).toBe(of(imp, 'imp', 1).id);
      expect(of(rewound, 'imp', 1).parentId).toBe(of(rewound, 'dense', 0).id);
      expect(of(snip, 'snip', 1).parentId).toBe(of(snip, 'dense', 0).id);
      expect(of(synflow, 'synflow', 1).parentId).toBe(of(synflow, 'dense', 0).id);
      expect(of(oneshot, 'oneshot', 1).parentId).toBe(of(oneshot, 'dense', 0).id);
      // the transfer hangs under the ticket it came from, on the other dataset
      const transferred = of(transferId, 'transfer', 1);
      expect(transferred).toMatchObject({ parentId: level2.id, dataset: digits.id });
      expect(tree.datasets.map((d) => d.id)).toEqual([source.id, digits.id]);
      expect(tree.methods).toEqual(
        [
          'dense',
          'imp',
          'oneshot',
          'random-prune',
          'random-reinit',
          'snip',
          'synflow',
          'transfer',
        ].sort(),
      );

      // the same tree from any member, the transfer included
      const fromTransfer = await lab.invoke('experiments.genealogy', { id: transferId });
      expect(fromTransfer.nodes.map((n) => n.id)).toEqual(tree.nodes.map((n) => n.id));

      // filters keep what passes and the ancestors that connect it to θ0
      const onlySnip = await lab.invoke('experiments.genealogy', { id: imp, methods: ['snip'] });
      expect(onlySnip.nodes.filter((n) => n.match && n.kind === 'ticket').map((n) => n.id)).toEqual(
        [of(snip, 'snip', 1).id],
      );
      expect(onlySnip.nodes.map((n) => n.id)).toEqual([
        root!.id,
        of(snip, 'dense', 0).id,
        of(snip, 'snip', 1).id,
      ]);
      expect(onlySnip.total).toBe(tree.total);
      const onDigits = await lab.invoke('experiments.genealogy', {
        id: imp,
        datasets: [digits.id],
      });
      expect(onDigits.nodes.filter((n) => n.match && n.kind === 'ticket')).toHaveLength(
        tickets.filter((n) => n.dataset === digits.id).length,
      );
      expect(onDigits.nodes.map((n) => n.id)).toContain(level2.id); // its ancestor
      const sparse = await lab.invoke('experiments.genealogy', {
        id: imp,
        minRemaining: 0,
        maxRemaining: 0.7,
      });
      const matched = sparse.nodes.filter((n) => n.match && n.kind === 'ticket');
      expect(matched.length).toBeGreaterThan(0);
      expect(matched.every((n) => n.remainingWeights <= 0.7)).toBe(true);
      expect(matched.length).toBe(tickets.filter((n) => n.remainingWeights <= 0.7).length);
      const best = Math.max(...tickets.map((n) => n.testAccuracy ?? 0));
      const accurate = await lab.invoke('experiments.genealogy', { id: imp, minAccuracy: best });
      expect(
        accurate.nodes.filter((n) => n.match && n.kind === 'ticket').map((n) => n.testAccuracy),
      ).toEqual(tickets.filter((n) => n.testAccuracy === best).map(() => best));

      await expect(lab.invoke('experiments.genealogy', { id: 'nope' })).rejects.toSatisfy(
        (e: unknown) => isTicketLabError(e, 'NOT_FOUND'),
      );
    } finally {
      await lab.close();
    }
  }, 120_000);

  it('refuses an experiment that has not started: its θ0 is not stored yet', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      const { experiment } = await lab.invoke('experiments.create', { spec: baseSpec });
      await expect(lab.invoke('experiments.genealogy', { id: experiment.id })).rejects.toThrow(
        /has no dense network yet: its θ0 is stored when its training starts/,
      );
    } finally {
      await lab.close();
    }
  });
});
