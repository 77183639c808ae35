import { describe, expect, it } from 'vitest';
import { buildArchitecture } from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import type { TicketOutcome } from '../../src/pruning/imp.ts';
import { runOneShot, type OneShotConfig } from '../../src/pruning/oneshot.ts';
import { tinyMnist } from '../engine/fixtures.ts';

const config: OneShotConfig = {
  arch: buildArchitecture('lenet-300-100', [28, 28, 1], 10),
  data: tinyMnist(300, 100),
  init: 'glorot-normal',
  seed: 5,
  training: {
    optimizer: 'adam',
    learningRate: 1.2e-3,
    momentum: 0,
    weightDecay: 0,
    batchSize: 60,
    iterations: 6,
    evalEvery: 6,
  },
  rewindIteration: 0,
  controls: { randomReinit: true, randomPrune: false },
  scope: 'global',
  compressions: [0.5, 1],
};

describe('one-shot magnitude pruning after training', () => {
  it('keeps the largest trained weights at each compression, resets them to θ0, and resumes from the stored dense network', async () => {
    await initBackend('wasm');
    const tickets: TicketOutcome[] = [];
    await runOneShot(config, { onTicket: (t) => void tickets.push(t) });
    expect(tickets.map((t) => `${t.level}/${t.method}/${t.parent?.method ?? '-'}`)).toEqual([
      '0/dense/-',
      '1/oneshot/dense',
      '1/random-reinit/oneshot',
      '2/oneshot/dense',
      '2/random-reinit/oneshot',
    ]);
    const [dense, level1, , level2] = tickets as TicketOutcome[];
    expect(level1!.size.prunableKept).toBe(Math.round(266200 * 10 ** -0.5));
    expect(level2!.size.prunableKept).toBe(Math.round(266200 * 0.1));
    // global: every kept weight is at least as large, trained, as every pruned one
    let minKept = Infinity;
    let maxPruned = 0;
    for (const [name, m] of level2!.mask) {
      const w = dense!.trainedWeights.get(name)!;
      m.forEach((keep, i) => {
        if (keep) minKept = Math.min(minKept, Math.abs(w[i]!));
        else maxPruned = Math.max(maxPruned, Math.abs(w[i]!));
      });
    }
    expect(minKept).toBeGreaterThanOrEqual(maxPruned);
    // survivors start from θ0
    const theta0 = dense!.startWeights.get('fc1.kernel')!;
    const m = level2!.mask.get('fc1.kernel')!;
    expect(
      level2!.startWeights.get('fc1.kernel')!.every((v, i) => v === (m[i] ? theta0[i] : 0)),
    ).toBe(true);

    const rest: TicketOutcome[] = [];
    await runOneShot(
      config,
      { onTicket: (t) => void rest.push(t) },
      {
        completed: new Set(['0/dense', '1/oneshot', '1/random-reinit']),
        resume: {
          denseTrained: dense!.trainedWeights,
          rewindWeights: dense!.startWeights,
        },
      },
    );
    expect(rest.map((t) => `${t.level}/${t.method}`)).toEqual(['2/oneshot', '2/random-reinit']);
    expect(Array.from(rest[0]!.mask.get('fc2.kernel')!)).toEqual(
      Array.from(level2!.mask.get('fc2.kernel')!),
    );
  });
});
