import * as tfl from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.ts';
import type { ModelName, Shape3 } from '../../src/engine/architectures.ts';
import { appOutputs, maxAbsDiff, randomTicket, tfjsOutputs } from './fixtures.ts';

beforeAll(async () => {
  await initBackend('cpu');
  await tfl.setBackend('cpu');
});

const CASES: [ModelName, Shape3][] = [
  ['lenet-300-100', [28, 28, 1]],
  ['lenet-5', [28, 28, 1]],
  ['vgg-11', [32, 32, 3]],
  ['resnet-20', [32, 32, 3]],
];

describe('TF.js LayersModel export', () => {
  it.each(CASES)(
    '%s loads with tf.loadLayersModel and predicts what the app predicts',
    async (model, shape) => {
      const ticket = randomTicket(model, shape, 10);
      const expected = await appOutputs(ticket);
      const y = await tfjsOutputs(ticket);
      expect(y.shape).toEqual([ticket.batch, 10]);
      expect(maxAbsDiff(y.data, expected)).toBeLessThan(1e-4);
      expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(1e-2);
    },
  );
});
