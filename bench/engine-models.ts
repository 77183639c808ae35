import type { ModelName } from '../src/engine/architectures.ts';

/**
 * The models `npm run bench:engine` measures, each on random data of its shape with 10
 * classes; the campaign's plan (bench/campaign/plan.ts) scales the others from these by
 * FLOPs per example. `large`: batch-norm networks, whose steps take a good part of a second:
 * fewer masking repeats, and tfjs's kernels (seconds a step) only with --all.
 */
export const ENGINE_MODELS: {
  model: ModelName;
  shape: [number, number, number];
  steps: number;
  large?: boolean;
}[] = [
  { model: 'lenet-300-100', shape: [28, 28, 1], steps: 1000 },
  { model: 'conv-4', shape: [32, 32, 3], steps: 40 },
  { model: 'vgg-11', shape: [32, 32, 3], steps: 20, large: true },
  { model: 'resnet-20', shape: [32, 32, 3], steps: 30, large: true },
];

/** the class count of bench:engine's random data */
export const ENGINE_CLASSES = 10;
