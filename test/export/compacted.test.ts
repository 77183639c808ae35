import * as tfl from '@tensorflow/tfjs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBundle, decodeMetadata } from '../../src/core/tensorfile.ts';
import { describeParams, type ModelName, type Shape3 } from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { toOnnx } from '../../src/export/onnx.ts';
import { ARCHITECTURE_METADATA_KEY, toSafetensors } from '../../src/export/safetensors.ts';
import { denseMask } from '../../src/pruning/mask.ts';
import { l1UnitMask } from '../../src/pruning/structured/l1-filter.ts';
import { INPUT_SELECTION, unitArchitecture } from '../../src/pruning/structured/gates.ts';
import { compact } from '../../src/pruning/structured/surgery.ts';
import { lowRankApproximate } from '../../src/pruning/structured/pca.ts';
import {
  appOutputs,
  maxAbsDiff,
  randomTicket,
  tfjsOutputs,
  toNchw,
  type TicketFixture,
} from './fixtures.ts';
import { torchReferenceForward } from './torch-reference.ts';

beforeAll(async () => {
  await initBackend('cpu');
  await tfl.setBackend('cpu');
});

/** A structured ticket: half the filters/neurons of every layer removed by surgery. */
function compacted(model: ModelName, shape: Shape3): TicketFixture {
  const t = randomTicket(model, shape, 10, 7, 1);
  const small = compact(t.arch, t.weights, l1UnitMask(t.arch, t.weights, 0.5));
  return {
    ...t,
    arch: small.arch,
    weights: small.weights,
    mask: denseMask(describeParams(small.arch)),
  };
}

/**
 * An L0 ticket of LeNet-300-100 (Louizos et al. 2018): some input features and hidden units
 * removed, so the smaller model reads its input through a selection of features.
 */
function inputSelected(shape: Shape3): TicketFixture {
  const t = randomTicket('lenet-300-100', shape, 10, 7, 1);
  const features = shape[0] * shape[1] * shape[2];
  const units = new Map([
    [INPUT_SELECTION, Uint8Array.from({ length: features }, (_, i) => ((i * 7) % 5 < 2 ? 1 : 0))],
    ['fc1', Uint8Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 0 : 1))],
  ]);
  const small = compact(unitArchitecture(t.arch, 'l0'), t.weights, units);
  return {
    ...t,
    arch: small.arch,
    weights: small.weights,
    mask: denseMask(describeParams(small.arch)),
  };
}

/** A PCA ticket: its hidden layers replaced by low-rank pairs (a 1×1 conv after convolutions). */
async function lowRank(): Promise<TicketFixture> {
  const t = randomTicket('lenet-5', [28, 28, 1], 10, 7, 1, 3);
  const count = 60;
  const x = Float32Array.from({ length: count * 784 }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
  const small = await lowRankApproximate(t.arch, t.weights, { x, count }, 0.9);
  expect(small.ranks.some((r) => r.kept < r.total)).toBe(true);
  return {
    ...t,
    arch: small.arch,
    weights: small.weights,
    mask: denseMask(describeParams(small.arch)),
  };
}

describe('exports of compacted (structured) models', () => {
  it.each([
    ['lenet-5', [28, 28, 1]],
    ['vgg-11', [32, 32, 3]],
    ['resnet-20', [16, 16, 3]],
    ['lenet-5 PCA', [28, 28, 1]],
    ['lenet-300-100 L0 with input selection', [28, 28, 1]],
    ['lenet-300-100 L0 with input selection', [6, 6, 3]],
  ] as [string, Shape3][])(
    '%s (%j): ONNX, TF.js and safetensors of the smaller model compute what the app computes',
    async (model, shape) => {
      const ticket =
        model === 'lenet-5 PCA'
          ? await lowRank()
          : model.includes('input selection')
            ? inputSelected(shape)
            : compacted(model as ModelName, shape);
      const expected = await appOutputs(ticket);
      const [h, w, c] = shape;
      const nchw = toNchw(ticket.input, ticket.batch, shape);

      const onnx = toOnnx(ticket, { producerVersion: 't', docString: 't' });
      const selection = ticket.arch.layers.find((l) => l.kind === 'select');
      // the selection is a Gather of constant indices, not a product with a 0/1 matrix
      expect(Buffer.from(onnx).includes('Gather')).toBe(selection !== undefined);
      const session = await InferenceSession.create(onnx);
      const { logits } = await session.run({
        input: new Tensor('float32', nchw, [ticket.batch, c, h, w]),
      });
      expect(maxAbsDiff(logits!.data as Float32Array, expected)).toBeLessThan(1e-4);
      await session.release();

      expect(maxAbsDiff((await tfjsOutputs(ticket)).data, expected)).toBeLessThan(1e-4);

      const { bytes } = toSafetensors(ticket, {});
      const arch = JSON.parse(decodeMetadata(bytes)[ARCHITECTURE_METADATA_KEY]!);
      if (selection) {
        const indices = decodeBundle(bytes).get(`${INPUT_SELECTION}.indices`)!;
        expect(indices).toMatchObject({ dtype: 'I32', shape: [selection.indices.length] });
        expect(arch.layers[1]).toMatchObject({
          type: 'Select',
          in_features: shape[0] * shape[1] * shape[2],
          out_features: selection.indices.length,
        });
      }
      expect(
        maxAbsDiff(torchReferenceForward(arch, decodeBundle(bytes), nchw, ticket.batch), expected),
      ).toBeLessThan(1e-4);
    },
    60_000,
  );
});
