import type { ModelName } from '../src/engine/architectures.ts';
import type { GateMethod } from '../src/core/vocabulary.ts';

/**
 * The models `npm run bench:engine` measures, each on random data of its shape with 10
 * classes; the campaign's plan (bench/campaign/plan.ts) scales the others from these by
 * FLOPs per example. `large`: batch-norm networks, whose steps take a good part of a second:
 * fewer masking repeats, and tfjs's kernels (seconds a step) only with --all. `gates`: the
 * unit gates a campaign trains the model with (louizos2018-l0, louizos2017-bc), measured too:
 * their training runs on tfjs's kernels with a penalty and noise of its own.
 */
export const ENGINE_MODELS: {
  model: ModelName;
  shape: [number, number, number];
  steps: number;
  large?: boolean;
  gates?: GateMethod;
}[] = [
  { model: 'lenet-300-100', shape: [28, 28, 1], steps: 1000, gates: 'l0' },
  { model: 'lenet-5', shape: [28, 28, 1], steps: 200, gates: 'bayesian' },
  { model: 'conv-2', shape: [32, 32, 3], steps: 40 },
  { model: 'conv-4', shape: [32, 32, 3], steps: 40 },
  { model: 'vgg-11', shape: [32, 32, 3], steps: 20, large: true },
  { model: 'resnet-20', shape: [32, 32, 3], steps: 30, large: true },
];

/** the class count of bench:engine's random data */
export const ENGINE_CLASSES = 10;
