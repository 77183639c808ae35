import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBundle, decodeMetadata } from '../../src/core/tensorfile.ts';
import { initBackend } from '../../src/engine/backend.ts';
import type { ModelName, Shape3 } from '../../src/engine/architectures.ts';
import { ARCHITECTURE_METADATA_KEY, toSafetensors } from '../../src/export/safetensors.ts';
import { appOutputs, maxAbsDiff, randomTicket, toNchw } from './fixtures.ts';
import { torchReferenceForward } from './torch-reference.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

const CASES: [ModelName, Shape3][] = [
  ['lenet-300-100', [28, 28, 1]],
  ['lenet-5', [28, 28, 1]],
  ['conv-2', [16, 16, 3]],
  ['resnet-20', [16, 16, 3]],
];

describe('safetensors export in PyTorch conventions', () => {
  it.each(CASES)(
    '%s rebuilt from the file and its description computes what the app computes',
    async (model, shape) => {
      const ticket = randomTicket(model, shape, 10, 3, 0.4, 2);
      const expected = await appOutputs(ticket);
      const { bytes } = toSafetensors(ticket, { ticket: 't1' });
      const meta = decodeMetadata(bytes);
      expect(meta.format).toBe('pt');
      expect(meta.ticket).toBe('t1');
      const architecture = JSON.parse(meta[ARCHITECTURE_METADATA_KEY]!);
      const tensors = decodeBundle(bytes);
      const out = torchReferenceForward(
        architecture,
        tensors,
        toNchw(ticket.input, ticket.batch, shape),
        ticket.batch,
      );
      expect(maxAbsDiff(out, expected)).toBeLessThan(1e-4);
      expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(1e-2);
    },
  );

  it('names tensors as a torch.nn.utils.prune state dict, masks matching the app mask', () => {
    const ticket = randomTicket('lenet-5', [28, 28, 1], 10);
    const tensors = decodeBundle(toSafetensors(ticket, {}).bytes);
    expect([...tensors.keys()].sort()).toEqual(
      [
        'conv1.bias',
        'conv1.weight_mask',
        'conv1.weight_orig',
        'conv2.bias',
        'conv2.weight_mask',
        'conv2.weight_orig',
        'fc1.bias',
        'fc1.weight_mask',
        'fc1.weight_orig',
        'fc2.bias',
        'fc2.weight_mask',
        'fc2.weight_orig',
      ].sort(),
    );
    expect(tensors.get('conv1.weight_orig')!.shape).toEqual([20, 1, 5, 5]);
    expect(tensors.get('fc1.weight_orig')!.shape).toEqual([500, 800]);
    const kept = (name: string) => ticket.mask.get(name)!.reduce((a, b) => a + b, 0);
    const maskSum = (name: string) =>
      (tensors.get(name)!.data as Float32Array).reduce((a, b) => a + b, 0);
    expect(maskSum('fc1.weight_mask')).toBe(kept('fc1.kernel'));
    expect(maskSum('conv2.weight_mask')).toBe(kept('conv2.kernel'));
  });
});
