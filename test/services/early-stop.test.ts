import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { splitCounts } from '../../src/core/split-counts.ts';
import { SPLIT_SEED } from '../../src/data/split.ts';
import { Lab } from '../../src/services/lab.ts';
import { cli, tempDir, writeIdxDataset } from '../helpers.ts';

/**
 * 300 training and 100 test digits. `contradicting`: the examples the validation split holds
 * out (its seeded permutation) are labelled 1 and every other training example 0, so
 * learning the training labels can only raise the validation loss.
 */
function importDigits(data: string, contradicting: boolean) {
  const mnist = loadBuiltinMnist();
  const heldOut = new Set(
    new Rng(SPLIT_SEED).permutation(300).subarray(0, splitCounts(300, 0.1, 'digits').val),
  );
  const take = (set: typeof mnist.train, n: number, train: boolean) => {
    const labels = set.labels.slice(0, n);
    if (contradicting) labels.forEach((_, i) => (labels[i] = !train || heldOut.has(i) ? 1 : 0));
    return { images: set.images.slice(0, n * 784), labels, count: n };
  };
  const folder = writeIdxDataset(
    join(data, contradicting ? 'contradicting' : 'digits'),
    { train: take(mnist.train, 300, true), t10k: take(mnist.test, 100, false) },
    [28, 28],
  );
  const imported = cli(['datasets', 'import', folder], data);
  expect(imported.code).toBe(0);
  return /as (\S+):/.exec(imported.stdout)![1]!;
}

const spec = (dataset: string) => ({
  model: 'lenet-300-100',
  dataset,
  training: { duration: '40it', evalEvery: 10 },
  pruning: { levels: 0 },
});

describe('early stop at the iteration training started from', () => {
  it('is reported plainly, by the API and `show`, when training never improved validation loss', async () => {
    const data = tempDir();
    const contradicting = importDigits(data, true);
    const digits = importDigits(data, false);
    const lab = Lab.open({ dataDir: data, runAll: true });
    try {
      for (const dataset of [contradicting, digits]) {
        const { job } = await lab.invoke('experiments.create', {
          spec: spec(dataset),
          start: true,
        });
        expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      }
      const ticketOf = async (dataset: string) => {
        const e = (await lab.invoke('experiments.list', {})).items.find(
          (x) => x.dataset === dataset,
        )!;
        const [ticket] = (await lab.invoke('experiments.get', { id: e.id })).tickets;
        const val = lab.store.allMetrics(ticket!.runId!).filter((m) => m.split === 'val');
        const best = val.reduce((a, b) => (b.loss < a.loss ? b : a));
        return { experimentId: e.id, ticket: ticket!, bestStep: best.step };
      };

      const untrained = await ticketOf(contradicting);
      expect(untrained.bestStep).toBe(0); // the premise: the lowest validation loss is before training
      expect(untrained.ticket.earlyStopIteration).toBe(0);
      expect(untrained.ticket.earlyStopNote).toBe(
        'early stop at iteration 0: training never improved validation loss, so the test accuracy at early stop is that of the weights before training',
      );
      // stored as measured: the iteration and the accuracy there, nothing rewritten
      const run = lab.store.getRun(untrained.ticket.runId!)!;
      expect(run.earlyStopIteration).toBe(0);
      expect(run.iterations).toBe(40);

      const trained = await ticketOf(digits);
      expect(trained.bestStep).toBeGreaterThan(0);
      expect(trained.ticket.earlyStopIteration).toBe(trained.bestStep);
      expect(trained.ticket.earlyStopNote).toBeNull();

      const shown = cli(['show', untrained.experimentId], data).stdout;
      expect(shown).toMatch(/\b0 \(untrained\)/);
      expect(shown).toContain(
        `note: level 0 dense (${untrained.ticket.id}): early stop at iteration 0: training never improved validation loss`,
      );
      expect(cli(['show', trained.experimentId], data).stdout).not.toMatch(/untrained|note:/);
      const json = JSON.parse(cli(['show', untrained.experimentId, '--json'], data).stdout);
      expect(json.tickets[0].earlyStopNote).toBe(untrained.ticket.earlyStopNote);
    } finally {
      await lab.close();
    }
  }, 120_000);
});
