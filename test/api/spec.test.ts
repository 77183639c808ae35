import { describe, expect, it } from 'vitest';
import { specHash } from '../../src/api/spec-hash.ts';
import { canonicalSpec, ExperimentSpec, resolveSpec, type ModelName } from '../../src/api/spec.ts';
import { splitCounts } from '../../src/core/split-counts.ts';
import { createExperiment } from '../../src/services/experiments.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';

describe('experiment spec', () => {
  it('hashes only fields that differ from their defaults, with sorted keys', () => {
    const spec = resolveSpec({ model: 'lenet-300-100', training: { learningRate: 0.01 }, seed: 3 });
    expect(canonicalSpec(spec)).toBe(
      '{"model":"lenet-300-100","seed":3,"training":{"learningRate":0.01}}',
    );
    // Writing a default explicitly changes nothing.
    expect(
      specHash(
        resolveSpec({
          model: 'lenet-300-100',
          training: { learningRate: 0.01, batchSize: 60 },
          seed: 3,
          init: 'glorot-normal',
        }),
      ),
    ).toBe(specHash(spec));
    // Names and presets are not identity; their resolved values are.
    expect(
      specHash(
        resolveSpec({
          model: 'lenet-300-100',
          training: { learningRate: 0.01 },
          seed: 3,
          name: 'mine',
        }),
      ),
    ).toBe(specHash(spec));
  });

  it('keeps pinned hashes (a changed hash means old experiments are no longer found)', () => {
    expect(specHash(resolveSpec({ model: 'lenet-300-100' }))).toBe(
      'ad87d3baea3e78e4706ddbdf2c9a1a0b5a41237253297ff3b4aff826dd3de103',
    );
    expect(canonicalSpec(resolveSpec({ model: 'conv-4', preset: 'frankle-carbin-2019' }))).toBe(
      '{"model":"conv-4","training":{"duration":"25000it","learningRate":0.0003}}',
    );
    expect(
      canonicalSpec(resolveSpec({ model: 'lenet-300-100', preset: 'frankle-carbin-2019' })),
    ).toBe('{"model":"lenet-300-100","validationFraction":0.08333333333333333}');
  });

  it('holds out 5K of the training set as Frankle & Carbin: of MNIST’s 60K, of CIFAR-10’s 50K', () => {
    const heldOut = (model: ModelName, train: number) =>
      splitCounts(
        train,
        resolveSpec({ model, preset: 'frankle-carbin-2019' }).validationFraction,
        'x',
      ).val;
    expect(heldOut('lenet-300-100', 60_000)).toBe(5000);
    for (const model of ['conv-2', 'conv-4', 'conv-6', 'vgg-11', 'resnet-20'] as const)
      expect(heldOut(model, 50_000)).toBe(5000);
    // a scaled-down set holds out the same share
    expect(heldOut('conv-4', 10_000)).toBe(1000);
  });

  it('a new option with a default does not change old hashes', () => {
    const extended = ExperimentSpec.extend({ futureOption: ExperimentSpec.shape.seed.default(0) });
    const old = resolveSpec({ model: 'lenet-5', seed: 7 });
    const withNew = extended.parse({ model: 'lenet-5', seed: 7 });
    expect(withNew.futureOption).toBe(0);
    expect(canonicalSpec(old)).toBe('{"model":"lenet-5","seed":7}');
  });

  it('fills presets from the papers', () => {
    const fc = resolveSpec({ model: 'lenet-300-100', preset: 'frankle-carbin-2019' });
    expect(fc.training).toMatchObject({
      optimizer: 'adam',
      learningRate: 1.2e-3,
      batchSize: 60,
      duration: '50000it',
    });
    expect(fc.pruning.rates).toEqual({ dense: 0.2, conv: 0.1, output: 0.1 });
    expect(resolveSpec({ model: 'conv-6', preset: 'frankle-carbin-2019' }).pruning.rates.conv).toBe(
      0.15,
    );
    const olth = resolveSpec({ model: 'lenet-300-100', preset: 'openlth' });
    expect(olth.training).toMatchObject({
      optimizer: 'sgd',
      learningRate: 0.1,
      batchSize: 128,
      duration: '40ep',
    });
    expect(olth.pruning).toMatchObject({ scope: 'global', globalRate: 0.2, pruneOutput: false });
    expect(olth.init).toBe('kaiming-normal');
    // The user's own values win over the preset's.
    expect(
      resolveSpec({ model: 'lenet-300-100', preset: 'openlth', training: { batchSize: 32 } })
        .training.batchSize,
    ).toBe(32);
  });

  it('rejects unknown and misspelled fields and bad values, naming the field and allowed values', () => {
    expect(() =>
      resolveSpec({ model: 'lenet-300-100', training: { learningrate: 0.1 } }),
    ).toThrowError(/spec\.training\.learningrate: unknown field \(did you mean "learningRate"\?\)/);
    expect(() => resolveSpec({ model: 'lenet-300-100', bogus: 1 })).toThrowError(
      /spec\.bogus: unknown field/,
    );
    expect(() => resolveSpec({ model: 'lenet-300' })).toThrowError(
      /spec\.model: .*"lenet-300-100"\|"lenet-5"/,
    );
    expect(() => resolveSpec({ model: 'lenet-5', training: { optimizer: 'adamw' } })).toThrowError(
      /spec\.training\.optimizer: .*"adam"\|"sgd"/,
    );
    expect(() => resolveSpec({ model: 'lenet-5', pruning: { rewind: '5 epochs' } })).toThrowError(
      /spec\.pruning\.rewind: expected a duration/,
    );
    expect(() => resolveSpec({})).toThrowError(/spec\.model/);
  });

  it('a transfer names its source ticket, which must exist', () => {
    expect(() => resolveSpec({ model: 'lenet-300-100', method: 'transfer' })).toThrowError(
      /spec\.transfer\.source: a transfer needs the id of the ticket to transfer/,
    );
    const store = Store.open(tempDir());
    try {
      expect(() =>
        createExperiment(store, {
          model: 'lenet-300-100',
          method: 'transfer',
          transfer: { source: 'tkt_nope' },
        }),
      ).toThrowError(/No ticket tkt_nope to transfer/);
    } finally {
      store.close();
    }
  });

  it('finds the stored experiment for a known hash, and makes a replicate only when asked', () => {
    const store = Store.open(tempDir());
    const input = {
      model: 'lenet-300-100',
      training: { duration: '10it' },
      pruning: { levels: 1 },
    };
    const first = createExperiment(store, input);
    expect(first.created).toBe(true);
    const again = createExperiment(store, { ...input, name: 'same thing, other name' });
    expect(again.created).toBe(false);
    expect(again.experiment.id).toBe(first.experiment.id);
    const replicate = createExperiment(store, input, { newReplicate: true });
    expect(replicate.created).toBe(true);
    expect(replicate.experiment.replicate).toBe(1);
    expect(replicate.experiment.specHash).toBe(first.experiment.specHash);
    expect(() => createExperiment(store, { model: 'lenet-5', dataset: 'nope' })).toThrowError(
      /Dataset "nope" is not in this data folder/,
    );
    store.close();
  });
});
