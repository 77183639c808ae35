import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/api/contract.ts';
import { isTicketLabError } from '../../src/core/errors.ts';
import { Lab } from '../../src/services/lab.ts';
import { hasShared, SHARED_DATASETS, tempDir, tinyDigits } from '../helpers.ts';

const SPEC = { model: 'lenet-300-100', training: { duration: '10it' }, pruning: { levels: 1 } };

describe('the contract in process (no training)', () => {
  it('validates every input at the boundary, naming the field; nothing reaches the store', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      await expect(lab.invoke('experiments.rename', { id: 'x', name: '' })).rejects.toSatisfy(
        (e: unknown) =>
          isTicketLabError(e, 'INVALID_INPUT') && /input\.name: /.test((e as Error).message),
      );
      const wrongKey = lab.invoke('jobs.pause', { job: 'x' });
      await expect(wrongKey).rejects.toThrowError(
        /input\.job: unknown field \(did you mean "jobId"\?\)/,
      );
      await expect(wrongKey).rejects.toThrowError(/input\.jobId: Invalid input: expected string/);
      await expect(lab.invoke('nope' as never, {})).rejects.toThrowError(/Unknown method "nope"/);
      expect((await lab.invoke('experiments.list', {})).total).toBe(0);
      expect(Object.keys(METHODS).length).toBeGreaterThanOrEqual(20);
    } finally {
      await lab.close();
    }
  });

  it('creates, duplicates, renames, tags, annotates, filters, pages and deletes experiments', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      const { experiment } = await lab.invoke('experiments.create', { spec: SPEC });
      expect(experiment).toMatchObject({ status: 'created', levels: 0, replicate: 0 });
      const copy = await lab.invoke('experiments.duplicate', { id: experiment.id });
      expect(copy).toMatchObject({ specHash: experiment.specHash, replicate: 1 });
      await lab.invoke('experiments.rename', { id: copy.id, name: 'second seed' });
      await lab.invoke('experiments.tag', { id: copy.id, tags: ['seeds', 'seeds', 'lenet'] });
      const annotated = await lab.invoke('experiments.annotate', {
        id: copy.id,
        notes: 'why: variance',
      });
      expect(annotated).toMatchObject({
        name: 'second seed',
        tags: ['seeds', 'lenet'],
        notes: 'why: variance',
      });
      expect(
        (await lab.invoke('experiments.list', { search: 'variance' })).items.map((e) => e.id),
      ).toEqual([copy.id]);
      expect((await lab.invoke('experiments.list', { limit: 1 })).items).toHaveLength(1);
      expect((await lab.invoke('experiments.list', { limit: 1, offset: 1 })).items[0]!.id).not.toBe(
        (await lab.invoke('experiments.list', { limit: 1 })).items[0]!.id,
      );
      expect((await lab.invoke('experiments.list', { status: 'created' })).total).toBe(2);
      await lab.invoke('experiments.delete', { id: copy.id });
      expect((await lab.invoke('experiments.list', {})).total).toBe(1);
      await expect(lab.invoke('experiments.get', { id: copy.id })).rejects.toSatisfy((e: unknown) =>
        isTicketLabError(e, 'NOT_FOUND'),
      );
      const info = await lab.invoke('system.info', {});
      expect(info.versions).toMatchObject({ node: process.versions.node, tfjs: '4.22.0' });
    } finally {
      await lab.close();
    }
  });

  it('lists the built-in dataset and inspects samples for a grid', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      const datasets = await lab.invoke('datasets.list', {});
      expect(datasets.map((d) => d.id)).toContain('builtin:mnist');
      const { samples, dataset } = await lab.invoke('datasets.inspect', {
        id: 'builtin:mnist',
        count: 4,
      });
      expect(dataset.inputShape).toEqual([28, 28, 1]);
      expect(samples).toHaveLength(4);
      expect(samples[0]!.pixels).toHaveLength(784);
      expect(samples[0]!.className).toBe(String(samples[0]!.label));
      if (hasShared('cifar10')) {
        const cifar = await lab.invoke('datasets.import', {
          path: join(SHARED_DATASETS, 'cifar10'),
          name: 'CIFAR-10 subset',
        });
        const grid = await lab.invoke('datasets.inspect', { id: cifar.id, count: 2 });
        expect(grid.samples[0]!.pixels).toHaveLength(3072);
        expect(cifar.classNames).toContain(grid.samples[0]!.className);
      }
      await expect(lab.invoke('datasets.import', { path: tempDir() })).rejects.toThrowError(
        /no dataset found/,
      );
    } finally {
      await lab.close();
    }
  });

  it('names datasets where people read them: in summaries, in search, in sweep experiment names', async () => {
    const dataDir = tempDir();
    const lab = Lab.open({ dataDir });
    try {
      const digits = await lab.invoke('datasets.import', {
        path: tinyDigits(join(dataDir, 'digits'), 40),
        name: 'forty small digits',
      });
      const { experiment } = await lab.invoke('experiments.create', {
        spec: { ...SPEC, dataset: digits.id },
      });
      expect(experiment).toMatchObject({ dataset: digits.id, datasetName: 'forty small digits' });
      await lab.invoke('experiments.create', { spec: SPEC });
      const listed = await lab.invoke('experiments.list', {});
      expect(listed.items.map((e) => e.datasetName).sort()).toEqual([
        'MNIST (built-in, 10,000 digits)',
        'forty small digits',
      ]);
      // found by its dataset's name as well as by its id
      for (const search of ['small digits', digits.id])
        expect((await lab.invoke('experiments.list', { search })).items.map((e) => e.id)).toEqual([
          experiment.id,
        ]);
      const plan = await lab.invoke('sweeps.plan', {
        spec: { name: 'both', base: SPEC, axes: { dataset: ['builtin:mnist', digits.id] } },
      });
      expect(plan.experiments.map((e) => e.name)).toEqual([
        'both · dataset=MNIST (built-in, 10,000 digits)',
        'both · dataset=forty small digits',
      ]);
    } finally {
      await lab.close();
    }
  });
});
