import { hierarchy, tree } from 'd3-hierarchy';
import { describe, expect, it } from 'vitest';
import {
  groupSeries,
  seriesCsv,
  summarise,
  type CompareRow,
} from '../../renderer/src/lib/compare.ts';
import {
  hiddenCount,
  lineageTree,
  nodeRadius,
  type TicketView,
} from '../../renderer/src/lib/lineage.ts';
import { heatmapGrid } from '../../renderer/src/lib/heatmap.ts';
import { TEMPLATES, validateSpec } from '../../renderer/src/lib/templates.ts';
import { listAllExperiments } from '../../renderer/src/lib/experiments.ts';
import { createClient } from '../../src/api/client.ts';
import { createExperiment } from '../../src/services/experiments.ts';
import { Lab } from '../../src/services/lab.ts';
import { tempDir } from '../helpers.ts';

const ticket = (
  id: string,
  parentId: string | null,
  level: number,
  method: string,
  remaining = 1,
): TicketView => ({
  id,
  parentId,
  sourceTicketId: null,
  level,
  method,
  remainingWeights: remaining,
  testAccuracy: 0.9,
  finalTestAccuracy: 0.9,
  earlyStopIteration: 10,
  remainingParams: 1,
  totalParams: 1,
  flops: 1,
  remainingWeightsPerLayer: [],
  trained: true,
  runId: null,
  wallTimeMs: null,
  backend: null,
  speedup: null,
});

describe('lineage tree data', () => {
  const tickets = [
    ticket('d', null, 0, 'dense'),
    ticket('i1', 'd', 1, 'imp', 0.8),
    ticket('r1', 'i1', 1, 'random-reinit', 0.8),
    ticket('i2', 'i1', 2, 'imp', 0.64),
    ticket('x', null, 1, 'transfer', 0.5),
  ];

  it('nests tickets under their parents, roots under one virtual root, children ordered by level', () => {
    const root = lineageTree(tickets);
    expect(root.children.map((c) => c.id)).toEqual(['d', 'x']);
    const i1 = root.children[0]!.children[0]!;
    expect(i1.children.map((c) => c.id)).toEqual(['r1', 'i2']);
    const laid = hierarchy(root);
    tree<typeof root>().nodeSize([10, 10])(laid);
    expect(laid.descendants()).toHaveLength(tickets.length + 1);
  });

  it('collapses a branch and counts what it hides', () => {
    const root = lineageTree(tickets, new Set(['i1']));
    expect(root.children[0]!.children[0]!.children).toEqual([]);
    expect(hiddenCount(tickets, 'i1')).toBe(2);
    expect(hiddenCount(tickets, 'd')).toBe(3);
  });

  it('sizes nodes by the square root of remaining weights, with a floor', () => {
    expect(nodeRadius(1)).toBe(14);
    expect(nodeRadius(0.25)).toBe(7);
    expect(nodeRadius(0.0001)).toBe(3);
  });
});

describe('compare data shaping', () => {
  const row = (
    experimentId: string,
    specHash: string,
    level: number,
    acc: number | null,
    speedup: number | null = null,
  ): CompareRow => ({
    experimentId,
    specHash,
    replicate: 0,
    ticketId: `${experimentId}-${level}`,
    level,
    method: level === 0 ? 'dense' : 'imp',
    remainingWeights: 0.8 ** level,
    testAccuracy: acc,
    finalTestAccuracy: acc,
    minTestAccuracy: acc,
    maxTestAccuracy: acc,
    earlyStopIteration: 100,
    speedup,
  });

  it('pools replicates of one spec per level with mean, min, max, std and N', () => {
    const series = groupSeries(
      [
        row('a', 'h1', 1, 0.9),
        row('b', 'h1', 1, 0.8),
        row('c', 'h2', 1, 0.5),
        row('a', 'h1', 2, null),
      ],
      new Map([['a', 'Spec one']]),
      (r) => r.testAccuracy,
    );
    expect(series.map((s) => s.label)).toEqual(['Spec one · imp', 'h2 · imp']);
    const [p] = series[0]!.points;
    expect(p).toMatchObject({ level: 1, n: 2, min: 0.8, max: 0.9 });
    expect(p!.mean).toBeCloseTo(0.85, 12);
    expect(p!.std).toBeCloseTo(Math.sqrt(0.005), 12);
    expect(series[0]!.points).toHaveLength(1); // the untrained level is left out
    expect(seriesCsv(series, 'acc').split('\n')[1]).toMatch(
      /^"Spec one · imp",h1,imp,1,0\.8,2,0\.85/,
    );
  });

  it('places points by another measure when asked (accuracy vs measured speed-up), skipping rows without it', () => {
    const series = groupSeries(
      [row('a', 'h1', 1, 0.9, 2), row('b', 'h1', 1, 0.8, 3), row('c', 'h2', 1, 0.7, null)],
      new Map(),
      (r) => r.testAccuracy,
      (r) => r.speedup,
    );
    expect(series).toHaveLength(1);
    expect(series[0]!.points[0]).toMatchObject({ x: 2.5, n: 2, remainingWeights: 0.8 });
  });

  it('summarises one value with zero spread', () => {
    expect(summarise([0.7])).toEqual({ n: 1, mean: 0.7, min: 0.7, max: 0.7, std: 0 });
  });
});

describe('new-experiment validation', () => {
  it('accepts every template and counts its trainings', () => {
    for (const t of TEMPLATES) expect(validateSpec(t.spec).ok, t.id).toBe(true);
    expect(validateSpec(TEMPLATES[0]!.spec).cost).toEqual({ runs: 11, iterationsPerRun: '2000' });
  });

  it('names the field of every error, as the core does', () => {
    const v = validateSpec({ model: 'lenet-300-100', trainnig: {}, pruning: { levels: -1 } });
    expect(v.ok).toBe(false);
    expect(v.errors.join('\n')).toMatch(
      /spec\.trainnig: unknown field \(did you mean "training"\?\)/,
    );
    expect(v.errors.join('\n')).toMatch(/spec\.pruning\.levels/);
  });
});

describe('transfer heatmap', () => {
  it('lays cells out source × target, with a symmetric colour extent', () => {
    const cell = (sourceDataset: string, targetDataset: string, vsRandom: number | null) => ({
      sourceDataset,
      targetDataset,
      n: 2,
      vsRandom,
      vsTargetTicket: null,
    });
    const grid = heatmapGrid(
      {
        rows: [],
        cells: [
          cell('mnist', 'fashion', -0.03),
          cell('fashion', 'mnist', 0.01),
          cell('mnist', 'kmnist', null),
        ],
      },
      'vsRandom',
    );
    expect(grid.sources).toEqual(['fashion', 'mnist']);
    expect(grid.targets).toEqual(['fashion', 'kmnist', 'mnist']);
    expect(grid.value('mnist', 'fashion')).toEqual({ v: -0.03, n: 2 });
    expect(grid.value('fashion', 'fashion')).toBeUndefined();
    expect(grid.extent).toBe(0.03);
  });
});

describe('listAllExperiments', () => {
  it('reaches every experiment past the API page of 1,000, with the filter applied', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      const insert = lab.store.db.transaction(() => {
        for (let seed = 0; seed < 1204; seed++)
          createExperiment(lab.store, {
            model: 'lenet-300-100',
            seed,
            name: seed % 2 ? `odd ${seed}` : `even ${seed}`,
          });
      });
      insert();
      const client = createClient(lab.transport());
      const all = await listAllExperiments(client);
      expect(all.total).toBe(1204);
      expect(new Set(all.items.map((e) => e.id)).size).toBe(1204);
      const odd = await listAllExperiments(client, { search: 'odd' });
      expect(odd.items).toHaveLength(602);
      expect(odd.items.every((e) => e.name.startsWith('odd'))).toBe(true);
    } finally {
      await lab.close();
    }
  }, 120_000);
});
