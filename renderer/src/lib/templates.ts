import { jobIterations, runsInJob, specJobIterations } from '../../../src/api/methods.ts';
import { resolveSpec, type ExperimentSpecInput } from '../../../src/api/spec.ts';

/** The classic setups, ready to edit (issue 4: templates for the new-experiment form). */
export interface Template {
  id: string;
  title: string;
  about: string;
  spec: ExperimentSpecInput;
  /** a dataset this template is meant for, picked when imported (by name) */
  prefers?: RegExp;
}

export const TEMPLATES: Template[] = [
  {
    id: 'lenet-imp',
    title: 'LeNet-300-100 IMP on MNIST',
    about: 'Frankle & Carbin 2019: iterative magnitude pruning with reset to θ₀, with controls.',
    spec: {
      model: 'lenet-300-100',
      preset: 'frankle-carbin-2019',
      dataset: 'builtin:mnist',
      training: { duration: '2000it', evalEvery: 200 },
      pruning: { levels: 5 },
      controls: { randomReinit: true },
    },
  },
  {
    id: 'conv4-rewind',
    title: 'Conv-4 with rewinding on CIFAR-10',
    about: 'Frankle et al. 2020: rewind surviving weights to iteration 500 instead of θ₀.',
    spec: {
      model: 'conv-4',
      preset: 'frankle-carbin-2019',
      dataset: 'builtin:mnist',
      pruning: { levels: 5, rewind: '500it' },
    },
    prefers: /cifar-?10\b/i,
  },
  {
    id: 'synflow',
    title: 'SynFlow at initialisation',
    about: 'Tanaka et al. 2020: data-free pruning before training, 10^0.5 … 10^3 compression.',
    spec: {
      model: 'lenet-300-100',
      preset: 'frankle-carbin-2019',
      method: 'pai',
      dataset: 'builtin:mnist',
      training: { duration: '2000it', evalEvery: 200 },
      pai: { score: 'synflow' },
    },
  },
  {
    id: 'slimming-early-bird',
    title: 'Network slimming with Early-Bird tickets',
    about:
      'You et al. 2020: L1 on the batch-norm scale factors, stop when the channel masks settle, cut the channels out and retrain the smaller model; measured speed-up.',
    spec: {
      model: 'resnet-20',
      method: 'structured',
      dataset: 'builtin:mnist',
      training: { duration: '20ep', evalEvery: 150 },
      structured: { method: 'slimming', rates: [0.5], sparsity: 1e-3, fineTune: '2ep' },
    },
  },
  {
    id: 'l1-filter',
    title: 'L1 filter pruning of LeNet-5',
    about:
      'Li et al. 2017: remove the filters and neurons with the smallest L1 norms at 30/50/70%, retrain each smaller model.',
    spec: {
      model: 'lenet-5',
      method: 'structured',
      dataset: 'builtin:mnist',
      training: { duration: '2ep', evalEvery: 150 },
      structured: { method: 'l1-filter', rates: [0.3, 0.5, 0.7], fineTune: '1ep' },
    },
  },
];

export interface Validation {
  ok: boolean;
  /** one message per line, naming the field */
  errors: string[];
  cost: {
    runs: number;
    /** the training length resolved (the preset's where the spec names none) */
    duration: string;
    /** summed over the runs as the runners train them; null until the dataset's size is known */
    iterations: number | null;
    upperBound: boolean;
  } | null;
}

/**
 * Validates as the core will (the same schema), with a cost summary for the form: its
 * iterations need the dataset's `trainCount` where a length is in epochs.
 */
export function validateSpec(spec: unknown, trainCount?: number): Validation {
  try {
    const resolved = resolveSpec(spec);
    let total: { iterations: number; upperBound: boolean } | null;
    if (trainCount !== undefined) total = specJobIterations(resolved, trainCount);
    else {
      // The sum is linear in the iterations per epoch: where it is the same at 1 and 2, no
      // length is in epochs, and it needs no dataset size.
      const [one, two] = [jobIterations(resolved, 1), jobIterations(resolved, 2)];
      total = one.iterations === two.iterations ? one : null;
    }
    return {
      ok: true,
      errors: [],
      cost: {
        runs: runsInJob(resolved),
        duration: resolved.training.duration,
        iterations: total?.iterations ?? null,
        upperBound: total?.upperBound ?? false,
      },
    };
  } catch (e) {
    const message = (e as Error).message.replace(/^Invalid spec:\n/, '');
    return { ok: false, errors: message.split('\n'), cost: null };
  }
}
