import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../../src/api/spec.ts';
import { deriveSeed } from '../../src/core/random.ts';
import type { ScoringIteration, ScoringStatistics } from '../../src/core/vocabulary.ts';
import { buildArchitecture, describeParams } from '../../src/engine/architectures.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { Model } from '../../src/engine/model.ts';
import { initWeights } from '../../src/engine/weights.ts';
import { paiRunner } from '../../src/jobs/methods/pai.ts';
import type { TicketOutcome } from '../../src/pruning/imp.ts';
import { countKept, denseMask, type Mask } from '../../src/pruning/mask.ts';
import { runPai, type PaiConfig } from '../../src/pruning/pai.ts';
import { pruneAtInit } from '../../src/pruning/scores.ts';
import { tinyMnist } from '../engine/fixtures.ts';
import { tinyConvNet } from './fixtures.ts';

const data = tinyMnist(300, 100);
const config = (over: Partial<PaiConfig>): PaiConfig => ({
  arch: buildArchitecture('lenet-300-100', [28, 28, 1], 10),
  data,
  init: 'glorot-normal',
  seed: 2,
  training: {
    optimizer: 'adam',
    learningRate: 1.2e-3,
    momentum: 0,
    weightDecay: 0,
    batchSize: 60,
    iterations: 4,
    evalEvery: 4,
  },
  rewindIteration: 0,
  controls: { randomReinit: false, randomPrune: false },
  score: 'magnitude',
  scope: 'global',
  compressions: [1],
  rounds: 3,
  iterative: 'off',
  statistics: 'batch',
  samples: 50,
  ...over,
});

describe('pruning at initialisation', () => {
  it('prunes θ0 to each compression ratio, trains from θ0, and skips stored runs', async () => {
    await initBackend('wasm');
    const tickets: TicketOutcome[] = [];
    await runPai(config({ score: 'snip', compressions: [1, 2] }), {
      onTicket: (t) => void tickets.push(t),
    });
    expect(tickets.map((t) => `${t.level}/${t.method}`)).toEqual(['0/dense', '1/snip', '2/snip']);
    expect(tickets[1]!.size.prunableKept).toBe(Math.round(266200 * 0.1));
    expect(tickets[2]!.size.prunableKept).toBe(Math.round(266200 * 0.01));
    const theta0 = tickets[0]!.startWeights.get('fc2.kernel')!;
    const mask = tickets[2]!.mask.get('fc2.kernel')!;
    expect(
      tickets[2]!.startWeights.get('fc2.kernel')!.every((w, i) => w === (mask[i] ? theta0[i] : 0)),
    ).toBe(true);
    const rest: TicketOutcome[] = [];
    await runPai(
      config({ score: 'snip', compressions: [1, 2] }),
      { onTicket: (t) => void rest.push(t) },
      { completed: new Set(['0/dense', '1/snip']) },
    );
    expect(rest.map((t) => `${t.level}/${t.method}`)).toEqual(['2/snip']);
    expect(Array.from(rest[0]!.mask.get('fc1.kernel')!)).toEqual(
      Array.from(tickets[2]!.mask.get('fc1.kernel')!),
    );
  });

  it('reports layer collapse, naming the layers cut off', async () => {
    await initBackend('wasm');
    const warnings: string[] = [];
    const tickets: TicketOutcome[] = [];
    // At 10^4 compression, global magnitude keeps only the output layer's large Glorot weights.
    await runPai(config({ score: 'magnitude', compressions: [4] }), {
      onTicket: (t) => void tickets.push(t),
      onWarning: (m) => warnings.push(m),
    });
    const emptied = [...tickets[1]!.mask].filter(([, m]) => countKept(m) === 0).map(([n]) => n);
    expect(emptied.length).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `Layer collapse: magnitude at compression 10\\^4 prunes every weight of ${emptied.join(', ')}`,
      ),
    );
  });

  it('a spec’s iterative SNIP with running batch-norm statistics is what its job prunes with', async () => {
    await initBackend('wasm');
    const arch = tinyConvNet();
    const pai = { score: 'snip' as const, compressions: [1.5], rounds: 3 };
    const spec = resolveSpec({
      model: 'lenet-5',
      method: 'pai',
      pai: { ...pai, iterative: 'revive', batchNormStatistics: 'running' },
    });
    const base = config({ arch, init: 'kaiming-normal' });
    let ticket: TicketOutcome | undefined;
    await paiRunner.run({
      spec,
      base,
      hooks: { onTicket: (t) => void (t.level === 1 && (ticket = t)) },
      options: { signal: new AbortController().signal, pauseSignal: new AbortController().signal },
      completed: new Set(),
      classes: 10,
      iterationsPerEpoch: 1,
      job: undefined as never,
      blobs: undefined as never,
    });
    const specs = describeParams(arch);
    const prune = async (iterative: ScoringIteration, statistics: ScoringStatistics) => {
      const model = new Model(arch, initWeights(specs, 'kaiming-normal', base.seed));
      try {
        return await pruneAtInit(model, denseMask(specs), {
          score: 'snip',
          density: 10 ** -1.5,
          scope: 'global',
          rounds: 3,
          iterative,
          statistics,
          samples: 100,
          seed: deriveSeed(base.seed, 'score', 1),
          data,
        });
      } finally {
        model.dispose();
      }
    };
    const layers = (mask: Mask) => [...mask].map(([name, m]) => [name, Array.from(m)]);
    expect(layers(ticket!.mask)).toEqual(layers(await prune('revive', 'running')));
    expect(layers(ticket!.mask)).not.toEqual(layers(await prune('off', 'running')));
    expect(layers(ticket!.mask)).not.toEqual(layers(await prune('revive', 'batch')));
  });
});
