import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.ts';
import type { ModelName, Shape3 } from '../../src/engine/architectures.ts';
import { toOnnx } from '../../src/export/onnx.ts';
import { appOutputs, maxAbsDiff, randomTicket, toNchw } from './fixtures.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

const CASES: [ModelName, Shape3][] = [
  ['lenet-300-100', [28, 28, 1]],
  ['lenet-5', [28, 28, 1]],
  ['conv-2', [32, 32, 3]],
  ['vgg-11', [32, 32, 3]],
  ['resnet-20', [32, 32, 3]],
];

describe('ONNX export, run by onnxruntime', () => {
  it.each(CASES)(
    '%s computes what the app computes (max abs diff < 1e-4)',
    async (model, shape) => {
      const ticket = randomTicket(model, shape, 10);
      const expected = await appOutputs(ticket);
      const bytes = toOnnx(ticket, {
        producerVersion: 'test',
        docString: 'test',
      });
      const session = await InferenceSession.create(bytes);
      expect(session.inputNames).toEqual(['input']);
      expect(session.outputNames).toEqual(['logits']);
      const [h, w, c] = shape;
      const input = new Tensor('float32', toNchw(ticket.input, ticket.batch, shape), [
        ticket.batch,
        c,
        h,
        w,
      ]);
      const { logits } = await session.run({ input });
      expect(logits!.dims).toEqual([ticket.batch, 10]);
      expect(maxAbsDiff(logits!.data as Float32Array, expected)).toBeLessThan(1e-4);
      // not vacuous: outputs vary across examples and classes
      expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(1e-2);
      await session.release();
    },
  );
});
