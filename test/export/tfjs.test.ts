import * as tfl from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.ts';
import type { ModelName, Shape3 } from '../../src/engine/architectures.ts';
import { toTfjs } from '../../src/export/tfjs.ts';
import { appOutputs, maxAbsDiff, randomTicket } from './fixtures.ts';

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
      const { modelJson, weightsBin } = toTfjs(ticket, 'test');
      // through JSON text, as the file on disk is read
      const json = JSON.parse(JSON.stringify(modelJson));
      const loaded = await tfl.loadLayersModel(
        tfl.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0].weights,
          weightData: weightsBin.slice().buffer,
        }),
      );
      const x = tfl.tensor4d(ticket.input, [ticket.batch, ...shape]);
      const y = loaded.predict(x) as tfl.Tensor;
      expect(y.shape).toEqual([ticket.batch, 10]);
      expect(maxAbsDiff(await y.data(), expected)).toBeLessThan(1e-4);
      expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(1e-2);
      tfl.dispose([x, y]);
      loaded.dispose();
    },
  );
});
