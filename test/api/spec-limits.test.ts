import { describe, expect, it } from 'vitest';
import { specHash } from '../../src/api/spec-hash.ts';
import { resolveSpec, SPEC_LIMITS } from '../../src/api/spec.ts';
import { isTicketLabError } from '../../src/core/errors.ts';
import { prepareData } from '../../src/data/split.ts';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { divergenceHint } from '../../src/engine/train.ts';
import { createExperiment } from '../../src/services/experiments.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';

/** The INVALID_SPEC message `f` throws (failing the test when it throws anything else). */
function invalidSpec(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(isTicketLabError(e, 'INVALID_SPEC')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected INVALID_SPEC, but the spec was accepted');
}

describe('spec upper bounds', () => {
  it('refuses durations, learning rates, weight decay and evaluation intervals past their maxima, naming field, bound and value', () => {
    const spec = (training: object) => () => resolveSpec({ model: 'lenet-300-100', training });
    expect(invalidSpec(spec({ duration: '99999999999999999999999ep' }))).toMatch(
      /spec\.training\.duration: "99999999999999999999999ep" is too long: a duration may be at most 1000000000 iterations/,
    );
    expect(invalidSpec(spec({ duration: '1000000001it' }))).toMatch(/spec\.training\.duration/);
    expect(
      invalidSpec(() =>
        resolveSpec({ model: 'lenet-300-100', pruning: { rewind: '5000000000it' } }),
      ),
    ).toMatch(/spec\.pruning\.rewind: "5000000000it" is too long/);
    expect(invalidSpec(spec({ learningRate: 50 }))).toMatch(
      /spec\.training\.learningRate: must be at most 10 \(got 50\)/,
    );
    expect(invalidSpec(spec({ weightDecay: 5 }))).toMatch(
      /spec\.training\.weightDecay: must be at most 1 \(got 5\)/,
    );
    expect(invalidSpec(spec({ evalEvery: 1e12 }))).toMatch(
      /spec\.training\.evalEvery: must be at most 1000000000 iterations \(got 1000000000000\)/,
    );
    // The maxima themselves are accepted, and bounds leave the pinned hashes alone.
    const atLimits = resolveSpec({
      model: 'lenet-300-100',
      training: {
        learningRate: SPEC_LIMITS.learningRate,
        weightDecay: SPEC_LIMITS.weightDecay,
        evalEvery: SPEC_LIMITS.evalEvery,
        duration: `${SPEC_LIMITS.iterations}it`,
      },
    });
    expect(atLimits.training.learningRate).toBe(10);
    expect(specHash(resolveSpec({ model: 'lenet-300-100' }))).toBe(
      'ad87d3baea3e78e4706ddbdf2c9a1a0b5a41237253297ff3b4aff826dd3de103',
    );
  });

  it('refuses epochs that come to more than 10^9 iterations on the dataset, before anything is stored', () => {
    const store = Store.open(tempDir());
    try {
      // built-in MNIST: 7,200 of its 8,000 training examples train, at batch 60 = 120 per epoch
      expect(
        invalidSpec(() =>
          createExperiment(store, { model: 'lenet-300-100', training: { duration: '10000000ep' } }),
        ),
      ).toMatch(
        /spec\.training\.duration: "10000000ep" is 1200000000 iterations \(120 per epoch\); at most 1000000000 are allowed/,
      );
      expect(store.listExperiments()).toEqual([]);
    } finally {
      store.close();
    }
  });
});

describe('a rewind point past the end of training', () => {
  it('is refused when the experiment is created, in iterations of this dataset, before anything is stored', () => {
    const store = Store.open(tempDir());
    try {
      // 120 iterations per epoch on the built-in MNIST: 1ep50it is iteration 170 of 150
      expect(
        invalidSpec(() =>
          createExperiment(store, {
            model: 'lenet-300-100',
            training: { duration: '150it' },
            pruning: { rewind: '1ep50it' },
          }),
        ),
      ).toMatch(
        /spec\.pruning\.rewind: "1ep50it" is iteration 170, not before the end of training \("150it", 150 iterations at 120 per epoch\)/,
      );
      expect(store.listExperiments()).toEqual([]);
      // the last iteration before the end is a valid rewind point
      createExperiment(store, {
        model: 'lenet-300-100',
        training: { duration: '150it' },
        pruning: { rewind: '149it' },
      });
      expect(store.listExperiments()).toHaveLength(1);
    } finally {
      store.close();
    }
  });
});

describe('an empty training split', () => {
  it('is refused when the experiment is created, naming the field and the dataset sizes', () => {
    const store = Store.open(tempDir());
    try {
      const message = invalidSpec(() =>
        createExperiment(store, { model: 'lenet-300-100', validationFraction: 0.99999 }),
      );
      expect(message).toMatch(
        /spec\.validationFraction: 0\.99999 of the 8000 training examples of MNIST \(built-in, 10,000 digits\) holds out 8000 for validation and leaves 0 to train on; choose a smaller fraction/,
      );
      expect(store.listExperiments()).toEqual([]);
      // one example left to train on is still a (tiny) training split
      expect(
        createExperiment(store, { model: 'lenet-300-100', validationFraction: 0.9999 }).created,
      ).toBe(true);
    } finally {
      store.close();
    }
  });

  it('is refused by the split itself (a transfer takes its fraction to another dataset)', () => {
    const mnist = loadBuiltinMnist();
    expect(invalidSpec(() => prepareData(mnist, 0.99999))).toMatch(
      /spec\.validationFraction: 0\.99999 of the 8000 training examples/,
    );
  });
});

describe('divergence hints', () => {
  it('name the hyper-parameter most likely at fault, from the optimiser and its settings', () => {
    const base = { optimizer: 'adam' as const, learningRate: 5, momentum: 0, weightDecay: 0 };
    expect(divergenceHint(base)).toBe(
      'Likely cause: the learning rate 5 is high for adam; try spec.training.learningRate ≤ 0.01.',
    );
    expect(divergenceHint({ ...base, optimizer: 'sgd', learningRate: 0.5, momentum: 0.9 })).toBe(
      'Likely cause: the learning rate 0.5 is high for sgd with momentum 0.9; try spec.training.learningRate ≤ 0.1.',
    );
    expect(
      divergenceHint({ ...base, optimizer: 'sgd', learningRate: 0.8, weightDecay: 1 }),
    ).toMatch(
      /^Likely cause: the weight decay 1 is strong at learning rate 0\.8 \(lr × decay = 0\.8\); try spec\.training\.weightDecay ≤ 0\.1\.$/,
    );
    expect(divergenceHint({ ...base, learningRate: 1e-3 })).toMatch(
      /^The learning rate 0\.001 is within the usual range for adam \(≤ 0\.01\), so the data is the more likely cause/,
    );
  });
});
