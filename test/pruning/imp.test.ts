import { describe, expect, it } from 'vitest';
import { buildArchitecture, describeParams } from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { initWeights } from '../../src/engine/weights.ts';
import { runImp, type ImpConfig, type TicketOutcome } from '../../src/pruning/imp.ts';
import { tinyMnist } from '../engine/fixtures.ts';

const data = tinyMnist(600, 200);
const arch = buildArchitecture('lenet-300-100', data.train.shape, 10);
const specs = describeParams(arch);
const base: ImpConfig = {
  arch,
  data,
  init: 'glorot-normal',
  seed: 4,
  training: {
    optimizer: 'adam',
    learningRate: 1.2e-3,
    momentum: 0,
    weightDecay: 0,
    batchSize: 60,
    iterations: 12,
    evalEvery: 6,
  },
  rewindIteration: 0,
  levels: 2,
  scope: 'layerwise',
  rates: { dense: 0.2, conv: 0.1, output: 0.1 },
  globalRate: 0.2,
  pruneOutput: true,
  controls: { randomReinit: true, randomPrune: true },
};

async function collect(config: ImpConfig): Promise<TicketOutcome[]> {
  const tickets: TicketOutcome[] = [];
  await runImp(config, { onTicket: (t) => void tickets.push(t) });
  return tickets;
}

const equalOn = (a: Float32Array, b: Float32Array, mask: Uint8Array) =>
  a.every((v, i) => (mask[i] ? v === b[i] : v === 0));

describe('iterative magnitude pruning', () => {
  it('resets survivors to θ0, prunes from the trained weights, and adds the controls per level', async () => {
    await initBackend('wasm');
    const tickets = await collect(base);
    expect(tickets.map((t) => `${t.level}/${t.method}`)).toEqual([
      '0/dense',
      '1/imp',
      '1/random-reinit',
      '1/random-prune',
      '2/imp',
      '2/random-reinit',
      '2/random-prune',
    ]);
    const theta0 = initWeights(specs, 'glorot-normal', 4);
    const [dense, imp1, reinit1, random1, imp2] = tickets as [
      TicketOutcome,
      TicketOutcome,
      TicketOutcome,
      TicketOutcome,
      TicketOutcome,
    ];
    for (const name of ['fc1.kernel', 'fc3.kernel']) {
      expect(equalOn(imp1.startWeights.get(name)!, theta0.get(name)!, imp1.mask.get(name)!)).toBe(
        true,
      );
      expect(equalOn(imp2.startWeights.get(name)!, theta0.get(name)!, imp2.mask.get(name)!)).toBe(
        true,
      );
      // random re-init: same mask, other values
      expect(Array.from(reinit1.mask.get(name)!)).toEqual(Array.from(imp1.mask.get(name)!));
      expect(
        equalOn(reinit1.startWeights.get(name)!, theta0.get(name)!, reinit1.mask.get(name)!),
      ).toBe(false);
      // random pruning: other positions, same count, θ0 values
      expect(
        equalOn(random1.startWeights.get(name)!, theta0.get(name)!, random1.mask.get(name)!),
      ).toBe(true);
    }
    // level 1 pruned the dense level's smallest trained weights
    const trained = dense.trainedWeights.get('fc1.kernel')!;
    let maxPruned = 0;
    let minKept = Infinity;
    imp1.mask
      .get('fc1.kernel')!
      .forEach((m, i) =>
        m
          ? (minKept = Math.min(minKept, Math.abs(trained[i]!)))
          : (maxPruned = Math.max(maxPruned, Math.abs(trained[i]!))),
      );
    expect(maxPruned).toBeLessThanOrEqual(minKept);
    expect(imp2.parent).toEqual({ level: 1, method: 'imp' });
    expect(reinit1.parent).toEqual({ level: 1, method: 'imp' });
    expect(imp1.size.remainingFraction).toBeCloseTo(
      (235200 * 0.8 + 30000 * 0.8 + 1000 * 0.9) / 266200,
      6,
    );
    expect(imp2.size.remainingFraction).toBeLessThan(imp1.size.remainingFraction);
    // per-layer remaining weights are recorded
    expect(imp1.size.layers.map((l) => l.layer)).toEqual([
      'fc1.kernel',
      'fc2.kernel',
      'fc3.kernel',
    ]);
  });

  it('rewinds survivors to θ_k, the dense weights after k iterations, and continues from k', async () => {
    await initBackend('wasm');
    const tickets = await collect({
      ...base,
      rewindIteration: 4,
      levels: 1,
      controls: { randomReinit: false, randomPrune: false },
    });
    const [dense, imp1] = tickets as [TicketOutcome, TicketOutcome];
    const thetaK = dense.rewindWeights!;
    expect(thetaK).not.toBeNull();
    const theta0 = initWeights(specs, 'glorot-normal', 4);
    expect(thetaK.get('fc1.kernel')!.some((v, i) => v !== theta0.get('fc1.kernel')![i])).toBe(true);
    expect(
      equalOn(
        imp1.startWeights.get('fc1.kernel')!,
        thetaK.get('fc1.kernel')!,
        imp1.mask.get('fc1.kernel')!,
      ),
    ).toBe(true);
    expect(imp1.training.evals[0]!.iteration).toBe(4);
  });

  it('under rewinding, the random re-initialisation trains from iteration 0; the random mask from θ_k', async () => {
    await initBackend('wasm');
    const tickets = await collect({ ...base, rewindIteration: 4, levels: 1 });
    const [, imp1, reinit1, random1] = tickets as TicketOutcome[];
    expect(reinit1!.method).toBe('random-reinit');
    expect(reinit1!.training.evals[0]!.iteration).toBe(0);
    expect(reinit1!.training.evals.at(-1)!.iteration).toBe(12);
    expect(imp1!.training.evals[0]!.iteration).toBe(4);
    expect(random1!.training.evals[0]!.iteration).toBe(4);
  });

  it('continues with the missing controls of the last stored level', async () => {
    await initBackend('wasm');
    const full = await collect({ ...base, levels: 1 });
    const [dense, imp1] = full as [TicketOutcome, TicketOutcome];
    const rest: TicketOutcome[] = [];
    await runImp(
      { ...base, levels: 1 },
      { onTicket: (t) => void rest.push(t) },
      {
        resume: {
          completed: new Set(['0/dense', '1/imp', '1/random-reinit']),
          last: { level: 1, mask: imp1.mask, trainedWeights: imp1.trainedWeights },
          rewindWeights: dense.startWeights,
        },
      },
    );
    expect(rest.map((t) => `${t.level}/${t.method}`)).toEqual(['1/random-prune']);
    expect(rest[0]!.training.final.testAccuracy).toBe(full[3]!.training.final.testAccuracy);
  });

  it('continues from a stored level and reaches the same tickets', async () => {
    await initBackend('wasm');
    const config = { ...base, controls: { randomReinit: false, randomPrune: false } };
    const full = await collect(config);
    const rest: TicketOutcome[] = [];
    const [dense] = full as [TicketOutcome];
    await runImp(
      config,
      { onTicket: (t) => void rest.push(t) },
      {
        resume: {
          completed: new Set(['0/dense']),
          last: { level: 0, mask: dense.mask, trainedWeights: dense.trainedWeights },
          rewindWeights: initWeights(specs, 'glorot-normal', 4),
        },
      },
    );
    expect(rest.map((t) => t.level)).toEqual([1, 2]);
    expect(Array.from(rest[1]!.mask.get('fc1.kernel')!)).toEqual(
      Array.from(full[2]!.mask.get('fc1.kernel')!),
    );
    expect(rest[1]!.training.final.testAccuracy).toBe(full[2]!.training.final.testAccuracy);
  });
});
