import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { Lab } from '../../src/services/lab.ts';
import { cli, tempDir, writeIdxDataset, writeSpec } from '../helpers.ts';

/** Digits 0–4 of the built-in MNIST as a 5-class dataset of the same 28×28 shape. */
function fiveDigits(dir: string): string {
  const mnist = loadBuiltinMnist();
  const pick = (set: typeof mnist.train, max: number) => {
    const idx: number[] = [];
    for (let i = 0; i < set.count && idx.length < max; i++) if (set.labels[i]! < 5) idx.push(i);
    const images = new Uint8Array(idx.length * 784);
    idx.forEach((j, r) => images.set(set.images.subarray(j * 784, (j + 1) * 784), r * 784));
    return { images, labels: Uint8Array.from(idx, (j) => set.labels[j]!), count: idx.length };
  };
  return writeIdxDataset(
    dir,
    { train: pick(mnist.train, 900), t10k: pick(mnist.test, 300) },
    [28, 28],
  );
}

const importedId = (stdout: string) => /as (\S+):/.exec(stdout)![1]!;

describe('ticket transfer', () => {
  it('trains an MNIST ticket on another dataset beside a random ticket, links it to its source, and fills the matrix', async () => {
    const data = tempDir();
    const spec = {
      model: 'lenet-300-100',
      preset: 'frankle-carbin-2019',
      training: { duration: '40it', evalEvery: 20 },
      pruning: { levels: 2 },
    };
    expect(cli(['run', writeSpec(data, spec)], data).code).toBe(0);
    const [source] = JSON.parse(cli(['ls', '--json'], data).stdout);
    const level2 = JSON.parse(cli(['show', source.id, '--json'], data).stdout).tickets.find(
      (t: { level: number; method: string }) => t.level === 2 && t.method === 'imp',
    );

    const five = cli(
      ['datasets', 'import', fiveDigits(join(data, 'five')), '--classes', '5'],
      data,
    );
    expect(five.code).toBe(0);
    const fiveId = importedId(five.stdout);

    // A 32×32×3 dataset cannot take a LeNet-300-100 ticket found on 28×28×1 digits.
    const cifar = join(data, 'cifar');
    mkdirSync(cifar);
    const record = (label: number) => Buffer.concat([Buffer.from([label]), Buffer.alloc(3072, 9)]);
    writeFileSync(join(cifar, 'data_batch_1.bin'), Buffer.concat([record(1), record(2)]));
    writeFileSync(join(cifar, 'test_batch.bin'), record(3));
    const cifarId = importedId(cli(['datasets', 'import', cifar], data).stdout);
    const refused = cli(['transfer', level2.id, '--to', `${fiveId},${cifarId}`], data);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /cannot transfer to 32×32×3 inputs, 10 classes: fc1\.kernel is 784×300 there and 3072×300 here/,
    );
    expect(JSON.parse(cli(['ls', '--json'], data).stdout)).toHaveLength(1); // nothing created

    const run = cli(['transfer', level2.id, '--to', fiveId, '--duration', '40it'], data);
    expect(run.stderr).toMatch(/fc3\.kernel, fc3\.bias start from a fresh initialisation/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\s+1\s+transfer\s+64\.\d%\s+\d+\.\d\d%/m);
    expect(run.stdout).toMatch(/^\s+1\s+random-prune\s+64\.\d%\s+\d+\.\d\d%/m);

    const lab = Lab.open({ dataDir: data });
    try {
      const experiments = (await lab.invoke('experiments.list', {})).items;
      const transfer = experiments.find((e) => e.method === 'transfer')!;
      expect(transfer.dataset).toBe(fiveId);
      const detail = await lab.invoke('experiments.get', { id: transfer.id });
      const [ticket, random] = detail.tickets;
      expect(ticket).toMatchObject({
        method: 'transfer',
        sourceTicketId: level2.id,
        parentId: null,
      });
      expect(random).toMatchObject({
        method: 'random-prune',
        parentId: ticket!.id,
        sourceTicketId: null,
      });
      expect(ticket!.testAccuracy).toBeGreaterThan(0.2); // 5 classes: chance is 0.2

      const lineage = await lab.invoke('experiments.lineage', { id: source.id });
      expect(lineage.transfers).toEqual([
        expect.objectContaining({
          sourceTicketId: level2.id,
          ticketId: ticket!.id,
          dataset: fiveId,
        }),
      ]);

      const matrix = await lab.invoke('transfer.matrix', {});
      expect(matrix.rows).toHaveLength(1);
      const row = matrix.rows[0]!;
      expect(row).toMatchObject({ sourceDataset: 'builtin:mnist', targetDataset: fiveId });
      expect(row.vsRandom).toBeCloseTo(ticket!.testAccuracy! - random!.testAccuracy!, 10);
      expect(row.targetTicketId).toBeNull(); // no IMP run on the five digits yet
      expect(matrix.cells).toEqual([
        expect.objectContaining({
          sourceDataset: 'builtin:mnist',
          targetDataset: fiveId,
          n: 1,
          nVsRandom: 1,
          nVsTargetTicket: 0, // no target ticket to set it against
        }),
      ]);

      // The same transfer again is the same experiment, already done.
      const again = await lab.invoke('transfer.create', {
        ticketId: level2.id,
        targets: [fiveId],
        duration: '40it',
      });
      expect(again.created).toEqual([false]);
      expect(again.jobs).toEqual([null]);
    } finally {
      await lab.close();
    }
  });
});
