import { describe, expect, it } from 'vitest';
import { specHash } from '../../src/api/spec-hash.ts';
import {
  canonicalSpec,
  checkAugmentation,
  checkDurations,
  resolveSpec,
} from '../../src/api/spec.ts';
import { createExperiment } from '../../src/services/experiments.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';

describe('training recipes in the spec', () => {
  it('defaults to today’s training: a constant rate, coupled decay, no augmentation', () => {
    const t = resolveSpec({ model: 'lenet-300-100' }).training;
    expect(t).toMatchObject({
      schedule: 'constant',
      milestones: [],
      milestoneFactor: 0.1,
      warmup: '0it',
      nesterov: false,
      weightDecayMode: 'l2',
      augmentation: { cropPadding: 0, horizontalFlip: false },
    });
    // the defaults, written out, are not part of the identity
    expect(
      canonicalSpec(
        resolveSpec({
          model: 'lenet-300-100',
          training: { schedule: 'constant', weightDecayMode: 'l2', augmentation: {} },
        }),
      ),
    ).toBe('{"model":"lenet-300-100"}');
  });

  it('pins the hash of a non-default recipe', () => {
    const spec = resolveSpec({
      model: 'resnet-20',
      training: {
        optimizer: 'sgd',
        learningRate: 0.1,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 5e-4,
        weightDecayMode: 'decoupled',
        schedule: 'multistep',
        milestones: ['80ep', '75%'],
        milestoneFactor: 0.2,
        warmup: '500it',
        augmentation: { cropPadding: 4, horizontalFlip: true },
      },
    });
    expect(canonicalSpec(spec)).toBe(
      '{"model":"resnet-20","training":{"augmentation":{"cropPadding":4,"horizontalFlip":true},"learningRate":0.1,"milestoneFactor":0.2,"milestones":["80ep","75%"],"momentum":0.9,"nesterov":true,"optimizer":"sgd","schedule":"multistep","warmup":"500it","weightDecay":0.0005,"weightDecayMode":"decoupled"}}',
    );
    expect(specHash(spec)).toBe('2bca8becfc501ecd8d9975dd4827fc8bccd83231a1fc0c8f97d545204f1832fb');
  });

  it('carries OpenLTH’s and You et al.’s recipes in presets', () => {
    const resnet = resolveSpec({ model: 'resnet-20', preset: 'openlth' });
    expect(resnet.training).toMatchObject({
      optimizer: 'sgd',
      learningRate: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
      weightDecayMode: 'l2',
      batchSize: 128,
      duration: '160ep',
      schedule: 'multistep',
      milestones: ['80ep', '120ep'],
      milestoneFactor: 0.1,
      augmentation: { cropPadding: 4, horizontalFlip: true },
    });
    expect(resnet.pruning).toMatchObject({ scope: 'global', globalRate: 0.2, pruneOutput: false });
    // LeNet keeps OpenLTH's mnist_lenet_300_100 settings: no schedule, no augmentation
    const lenet = resolveSpec({ model: 'lenet-300-100', preset: 'openlth' }).training;
    expect(lenet).toMatchObject({ schedule: 'constant', momentum: 0, weightDecay: 0 });
    expect(lenet.augmentation).toEqual({ cropPadding: 0, horizontalFlip: false });
    const eb = resolveSpec({ model: 'vgg-11', preset: 'early-bird-2020' });
    expect(eb.method).toBe('structured');
    expect(eb.structured).toMatchObject({ method: 'slimming', sparsity: 1e-4 });
    expect(eb.training).toMatchObject({
      optimizer: 'sgd',
      learningRate: 0.1,
      momentum: 0.9,
      duration: '160ep',
      schedule: 'multistep',
      milestones: ['50%', '75%'],
    });
  });

  it('refuses recipes that do not fit together, naming the field and the fix', () => {
    const bad: [unknown, RegExp][] = [
      [
        { schedule: 'multistep' },
        /spec\.training\.milestones: a multistep schedule needs at least one milestone/,
      ],
      [
        { milestones: ['80ep'] },
        /spec\.training\.milestones: milestones apply to the multistep schedule only/,
      ],
      [{ schedule: 'cosine', milestones: ['50%'] }, /the schedule is "cosine"/],
      [
        { schedule: 'multistep', milestones: ['75%', '50%'] },
        /spec\.training\.milestones\[1\]: "50%" is not after "75%"/,
      ],
      [{ schedule: 'multistep', milestones: ['100%'] }, /strictly between 0% and 100%/],
      [
        { schedule: 'multistep', milestones: ['soon'] },
        /spec\.training\.milestones\.0: "soon": expected a milestone such as "80ep", "32000it" or "50%"/,
      ],
      [{ schedule: 'step' }, /spec\.training\.schedule: .*"constant"\|"multistep"\|"cosine"/],
      [
        { nesterov: true },
        /spec\.training\.nesterov: Nesterov momentum needs the sgd optimiser with momentum > 0 \(got adam\)/,
      ],
      [
        { optimizer: 'sgd', nesterov: true },
        /\(got sgd with momentum 0\); set spec\.training\.momentum/,
      ],
      [{ weightDecayMode: 'adamw' }, /spec\.training\.weightDecayMode: .*"l2"\|"decoupled"/],
      [
        { augmentation: { horizontalflip: true } },
        /spec\.training\.augmentation\.horizontalflip: unknown field \(did you mean "horizontalFlip"\?\)/,
      ],
    ];
    for (const [training, message] of bad)
      expect(
        () => resolveSpec({ model: 'conv-4', training }),
        JSON.stringify(training),
      ).toThrowError(message);
  });

  it('refuses milestones outside the training or out of order once the epoch size is known', () => {
    const at = (training: object) => () =>
      checkDurations(
        resolveSpec({ model: 'conv-4', training: { duration: '10ep', ...training } }),
        100,
      );
    expect(at({ schedule: 'multistep', milestones: ['5ep', '400it'] })).toThrowError(
      /spec\.training\.milestones\[1\]: "400it" is iteration 400, not after the milestone before it \("5ep", iteration 500\)/,
    );
    expect(at({ schedule: 'multistep', milestones: ['10ep'] })).toThrowError(
      /spec\.training\.milestones\[0\]: "10ep" is iteration 1000 \(100 iterations per epoch, 1000 in training\); a milestone must fall inside the training/,
    );
    expect(at({ schedule: 'multistep', milestones: ['0it'] })).toThrowError(
      /milestones\[0\]: "0it" is iteration 0/,
    );
    expect(at({ warmup: '12ep' })).toThrowError(
      /spec\.training\.warmup: "12ep" is 1200 iterations.*must end before the training does/,
    );
    expect(at({ schedule: 'multistep', milestones: ['5ep', '95%'], warmup: '1ep' })).not.toThrow();
  });

  it('refuses augmentation on data that are not images', () => {
    const training = resolveSpec({
      model: 'lenet-300-100',
      training: { augmentation: { horizontalFlip: true } },
    }).training;
    expect(() => checkAugmentation(training, [1, 1, 784], 'tabular')).toThrowError(
      /spec\.training\.augmentation\.horizontalFlip: tabular's examples are 1×1×784 \(height × width × channels\), not images/,
    );
    expect(() => checkAugmentation(training, [28, 28, 1], 'mnist')).not.toThrow();
    const store = Store.open(tempDir());
    try {
      expect(() =>
        createExperiment(store, {
          model: 'lenet-300-100',
          training: { augmentation: { cropPadding: 30 } },
        }),
      ).toThrowError(
        /cropPadding: 30 pixels of padding on .*28×28 images would crop mostly padding; use less than 28/,
      );
      expect(() =>
        createExperiment(store, {
          model: 'lenet-300-100',
          training: { duration: '2ep', schedule: 'multistep', milestones: ['3ep'] },
        }),
      ).toThrowError(/milestones\[0\]: "3ep" is iteration/);
    } finally {
      store.close();
    }
  });
});
