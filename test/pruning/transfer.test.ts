import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { prepareData } from '../../src/data/split.ts';
import { buildArchitecture, describeParams } from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { initWeights } from '../../src/engine/weights.ts';
import type { TicketOutcome } from '../../src/pruning/imp.ts';
import { randomMaskLike } from '../../src/pruning/magnitude.ts';
import { applyMask, countKept, denseMask } from '../../src/pruning/mask.ts';
import { runTransfer, transferPlan, type TransferConfig } from '../../src/pruning/transfer.ts';
import { randomImages } from '../engine/fixtures.ts';

const lenet = (shape: [number, number, number], classes: number) =>
  buildArchitecture('lenet-300-100', shape, classes);

describe('transfer plan', () => {
  it('carries every parameter over between datasets of the same shape', () => {
    expect(transferPlan(lenet([28, 28, 1], 10), lenet([28, 28, 1], 10))).toEqual({
      reinitialised: [],
    });
  });

  it('re-initialises only the output layer when the class count differs', () => {
    expect(transferPlan(lenet([28, 28, 1], 10), lenet([28, 28, 1], 47))).toEqual({
      reinitialised: ['fc3.kernel', 'fc3.bias'],
    });
  });

  it('refuses another input shape, naming the layer and both shapes', () => {
    expect(() => transferPlan(lenet([28, 28, 1], 10), lenet([32, 32, 3], 10))).toThrowError(
      /found on 28×28×1 inputs, 10 classes and cannot transfer to 32×32×3 inputs, 10 classes: fc1\.kernel is 784×300 there and 3072×300 here/,
    );
    expect(() =>
      transferPlan(lenet([28, 28, 1], 10), buildArchitecture('lenet-5', [28, 28, 1], 10)),
    ).toThrowError(/lenet-300-100 ticket cannot be trained as a lenet-5/);
  });
});

describe('runTransfer', () => {
  it('trains the source mask and start weights on the target, with a random ticket of the same per-layer sparsity', async () => {
    await initBackend('wasm');
    const sourceArch = lenet([28, 28, 1], 10);
    const specs = describeParams(sourceArch);
    const mask = randomMaskLike(
      new Map([...denseMask(specs)].map(([n, m]) => [n, m.map((_, i) => (i % 3 === 0 ? 0 : 1))])),
      new Rng(5),
    );
    const startWeights = applyMask(initWeights(specs, 'glorot-normal', 9), mask);
    const target = prepareData(randomImages([28, 28, 1], 240, 4), 0.2);
    const config: TransferConfig = {
      arch: lenet([28, 28, 1], 4),
      data: target,
      init: 'glorot-normal',
      seed: 3,
      training: {
        optimizer: 'adam',
        learningRate: 1e-3,
        momentum: 0,
        weightDecay: 0,
        batchSize: 32,
        iterations: 4,
        evalEvery: 4,
      },
      rewindIteration: 0,
      controls: { randomReinit: false, randomPrune: true },
      source: { arch: sourceArch, mask, startWeights, ticketId: 'tkt_src' },
    };
    const tickets: TicketOutcome[] = [];
    const warnings: string[] = [];
    await runTransfer(config, {
      onTicket: (t) => void tickets.push(t),
      onWarning: (w) => void warnings.push(w),
    });
    expect(tickets.map((t) => `${t.level}/${t.method}/${t.parent?.method ?? '-'}`)).toEqual([
      '1/transfer/-',
      '1/random-prune/transfer',
    ]);
    const [transferred, random] = tickets as [TicketOutcome, TicketOutcome];
    // hidden layers: the source's mask and start weights exactly
    for (const name of ['fc1.kernel', 'fc2.kernel', 'fc1.bias']) {
      expect(Array.from(transferred.startWeights.get(name)!)).toEqual(
        Array.from(startWeights.get(name)!),
      );
    }
    expect(Array.from(transferred.mask.get('fc1.kernel')!)).toEqual(
      Array.from(mask.get('fc1.kernel')!),
    );
    // the output layer: 4 classes instead of 10, fresh, at the source layer's density
    const out = transferred.mask.get('fc3.kernel')!;
    expect(out.length).toBe(100 * 4);
    expect(countKept(out)).toBe(
      Math.round((countKept(mask.get('fc3.kernel')!) / (100 * 10)) * (100 * 4)),
    );
    expect(warnings.join()).toMatch(
      /tkt_src has 10 classes and this dataset 4: fc3\.kernel, fc3\.bias/,
    );
    // the random ticket: same per-layer counts, another mask, fresh weights
    for (const [name, m] of transferred.mask) {
      expect(countKept(random.mask.get(name)!)).toBe(countKept(m));
    }
    expect(Array.from(random.mask.get('fc1.kernel')!)).not.toEqual(
      Array.from(transferred.mask.get('fc1.kernel')!),
    );
    const kept = random.mask.get('fc1.kernel')!;
    const w = random.startWeights.get('fc1.kernel')!;
    const src = startWeights.get('fc1.kernel')!;
    expect(w.some((v, i) => kept[i] === 1 && v !== src[i])).toBe(true);
    expect(w.every((v, i) => kept[i] === 1 || v === 0)).toBe(true);

    // a resumed job skips what is stored
    const rest: TicketOutcome[] = [];
    await runTransfer(
      config,
      { onTicket: (t) => void rest.push(t) },
      {
        completed: new Set(['1/transfer']),
      },
    );
    expect(rest.map((t) => t.method)).toEqual(['random-prune']);
  });
});
