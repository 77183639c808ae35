import { hierarchy, tree } from 'd3-hierarchy';
import { describe, expect, it } from 'vitest';
import { logAxisTicks, wrapText } from '../../renderer/src/lib/axis.ts';
import {
  denseReferences,
  groupSeries,
  seriesCsv,
  summarise,
  type CompareRow,
} from '../../renderer/src/lib/compare.ts';
import {
  accuracyScale,
  fitTransform,
  hiddenCount,
  lineageTree,
  nodeRadius,
  type TicketView,
} from '../../renderer/src/lib/lineage.ts';
import { cellColour, heatmapGrid, type TransferMatrix } from '../../renderer/src/lib/heatmap.ts';
import { TEMPLATES, validateSpec } from '../../renderer/src/lib/templates.ts';
import { resolveSpec } from '../../src/api/spec.ts';
import { specIterationsPerEpoch } from '../../src/core/split-counts.ts';
import { listAllExperiments } from '../../renderer/src/lib/experiments.ts';
import { appWording } from '../../renderer/src/lib/errors.ts';
import { writeFilesAtomically } from '../../src/core/files.ts';
import { writeFileSync } from 'node:fs';
import { threadSpans } from '../../renderer/src/lib/format.ts';
import { join } from 'node:path';
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
  earlyStopNote: null,
  remainingParams: 1,
  totalParams: 1,
  flops: 1,
  remainingWeightsPerLayer: [],
  trained: true,
  runId: null,
  wallTimeMs: null,
  backend: null,
  reusedFromRunId: null,
  kernelThreads: null,
  speedup: null,
  widths: null,
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
    speedupBackend: speedup === null ? null : 'wasm',
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

  it('starts every pruned line of a spec at its dense point, with no series for dense alone', () => {
    const rows = [
      row('a', 'h1', 0, 0.98),
      row('b', 'h1', 0, 0.96),
      row('a', 'h1', 1, 0.97),
      { ...row('a', 'h1', 1, 0.9), method: 'random-reinit' },
      row('c', 'h2', 0, 0.5), // a spec with only its dense network keeps it as a series
    ];
    const series = groupSeries(rows, new Map([['a', 'Run']]), (r) => r.testAccuracy);
    expect(series.map((s) => s.label)).toEqual(['Run · imp', 'Run · random-reinit', 'h2 · dense']);
    expect(series[0]!.points.map((p) => [p.method, p.level, p.n])).toEqual([
      ['dense', 0, 2],
      ['imp', 1, 1],
    ]);
    expect(series[1]!.points[0]).toMatchObject({ method: 'dense', n: 2 });
    const refs = denseReferences(series);
    expect(refs.map((r) => r.label)).toEqual(['Run', 'h2']);
    expect(refs[0]!.y).toBeCloseTo(0.97, 12);
    // the CSV names the reducer and the band on every row
    const csv = seriesCsv(series, 'acc', 'best', 'std').split('\n');
    expect(csv[0]).toBe(
      'series,spec_hash,method,level,remaining_weights,n,acc_mean,acc_min,acc_max,acc_std,reducer,band,band_lo,band_hi',
    );
    expect(csv[1]).toMatch(
      /^"Run · imp",h1,dense,0,1,2,0\.97,.*,"best","± std",0\.95\d*,0\.98\d*$/,
    );
  });

  it('labels at least three values on a log axis, however narrow or wide the span', () => {
    const labelled = (t: { value: number; label: boolean }[]) =>
      t.filter((x) => x.label).map((x) => x.value);
    // within one decade (64%–100%): d3 gives 0.7, 0.8, 0.9, 1; only 1 is a 1-2-5 value
    expect(labelled(logAxisTicks([0.7, 0.8, 0.9, 1], [0.7, 0.8, 0.9, 1])).length).toBe(4);
    // a narrow span where d3 gives one tick: round linear values instead
    expect(labelled(logAxisTicks([0.9], [0.88, 0.9, 0.92, 0.94]))).toEqual([0.88, 0.9, 0.92, 0.94]);
    // three decades: powers of ten are enough
    const wide = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
    expect(labelled(logAxisTicks(wide, []))).toEqual([0.001, 0.01, 0.1, 1]);
    // under two decades: 1, 2 and 5 of each
    expect(labelled(logAxisTicks([0.1, 0.2, 0.3, 0.5, 1], [])).length).toBe(4);
  });

  it('wraps legend names at spaces and never drops a character', () => {
    const name = 'LeNet-300-100 IMP on MNIST (replicate study) · random-reinit';
    const lines = wrapText(name, 20);
    expect(lines.every((l) => l.length <= 20)).toBe(true);
    expect(lines.join(' ')).toBe(name);
    expect(wrapText('averyveryverylongword', 8).join('')).toBe('averyveryverylongword');
  });

  it('summarises one value with no spread: its std is unknown, not 0', () => {
    expect(summarise([0.7])).toEqual({ n: 1, mean: 0.7, min: 0.7, max: 0.7, std: null });
    expect(
      seriesCsv(
        [
          {
            key: 'k',
            specHash: 'h',
            method: 'imp',
            label: 'one',
            points: [
              { level: 1, method: 'imp', remainingWeights: 0.8, x: 0.8, ...summarise([0.7]) },
            ],
          },
        ],
        'acc',
        '',
        'std',
      ).split('\n')[1],
    ).toBe('"one",h,imp,1,0.8,1,0.7,0.7,0.7,,"","± std",,');
  });
});

describe('new-experiment validation', () => {
  it('accepts every template and counts its trainings', () => {
    for (const t of TEMPLATES) expect(validateSpec(t.spec).ok, t.id).toBe(true);
    expect(validateSpec(TEMPLATES[0]!.spec).cost).toEqual({
      runs: 11,
      duration: '2000it',
      iterations: 22_000,
      upperBound: false,
    });
  });

  it('counts the iterations as the runners train them: rewound levels from k, fine-tuning, epochs', () => {
    // dense 1000; each IMP level from the rewind point (900); each re-init from 0 (1000)
    const rewound = validateSpec({
      model: 'lenet-300-100',
      training: { duration: '1000it' },
      pruning: { levels: 2, rewind: '100it' },
      controls: { randomReinit: true },
    });
    expect(rewound.cost).toMatchObject({ runs: 5, iterations: 4_800, upperBound: false });
    const slimming = TEMPLATES.find((t) => t.id === 'slimming-early-bird')!.spec;
    // 20 epochs of search and a 2-epoch retraining: no count until the epoch's size is known
    expect(validateSpec(slimming).cost).toMatchObject({ runs: 2, iterations: null });
    const perEpoch = specIterationsPerEpoch(resolveSpec(slimming), 60_000, 'mnist');
    expect(validateSpec(slimming, 60_000).cost).toMatchObject({
      runs: 2,
      iterations: 22 * perEpoch,
      upperBound: true,
    });
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
      nVsRandom: vsRandom === null ? 0 : 2,
      vsTargetTicket: null,
      nVsTargetTicket: 0,
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
    expect(grid.value('mnist', 'fashion')).toEqual({ v: -0.03, n: 2, spread: null, tie: false });
    expect(grid.value('fashion', 'fashion')).toBeUndefined();
    expect(grid.extent).toBe(0.03);
  });
});

describe('transfer heatmap spread', () => {
  const row = (source: string, target: string, vsRandom: number | null) =>
    ({
      sourceDataset: source,
      targetDataset: target,
      vsRandom,
      vsTargetTicket: null,
    }) as TransferMatrix['rows'][number];
  const matrix = (rows: TransferMatrix['rows']): TransferMatrix => {
    const pairs = new Map<string, (number | null)[]>();
    for (const r of rows)
      pairs.set(`${r.sourceDataset}|${r.targetDataset}`, [
        ...(pairs.get(`${r.sourceDataset}|${r.targetDataset}`) ?? []),
        r.vsRandom,
      ]);
    return {
      rows,
      cells: [...pairs].map(([k, all]) => {
        const vs = all.filter((v): v is number => v !== null);
        return {
          sourceDataset: k.split('|')[0]!,
          targetDataset: k.split('|')[1]!,
          n: all.length,
          vsRandom: vs.reduce((a, b) => a + b, 0) / vs.length,
          nVsRandom: vs.length,
          vsTargetTicket: null,
          nVsTargetTicket: 0,
        };
      }),
    };
  };

  it('calls a mean inside its spread a tie and paints it neutral, not as a loss', () => {
    const grid = heatmapGrid(
      matrix([
        row('a', 'b', -0.01),
        row('a', 'b', 0.005), // mean −0.0025, std ≈ 0.0106: a tie
        row('b', 'a', -0.04),
        row('b', 'a', -0.05), // mean −0.045, std ≈ 0.007: a loss
        row('a', 'a', 0.02), // one transfer: no spread, not a tie
      ]),
      'vsRandom',
    );
    const tie = grid.value('a', 'b')!;
    expect(tie.n).toBe(2);
    expect(tie.spread).toBeCloseTo(Math.sqrt(0.0001125), 9);
    expect(tie.tie).toBe(true);
    expect(cellColour(tie, grid.extent)).toBe('var(--neutral)');
    const loss = grid.value('b', 'a')!;
    expect(loss.tie).toBe(false);
    expect(cellColour(loss, grid.extent)).toBe('color-mix(in srgb, var(--acc-low) 65%, var(--bg))');
    const single = grid.value('a', 'a')!;
    expect([single.spread, single.tie]).toEqual([null, false]);
    // depth is scaled to the largest |mean|: +0.02 against 0.045
    expect(cellColour(single, grid.extent)).toBe(
      'color-mix(in srgb, var(--acc-high) 29%, var(--bg))',
    );
  });

  it('counts in N only the transfers behind the difference, not those still training', () => {
    const grid = heatmapGrid(
      matrix([row('a', 'b', -0.01), row('a', 'b', 0.005), row('a', 'b', null)]),
      'vsRandom',
    );
    expect(grid.value('a', 'b')).toMatchObject({ n: 2, tie: true });
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

describe('lineage view', () => {
  it('spans the colour scale over the accuracies shown, untrained tickets aside', () => {
    const scale = accuracyScale([
      { testAccuracy: 0.97 },
      { testAccuracy: null },
      { testAccuracy: 0.95 },
      { testAccuracy: 0.96 },
    ])!;
    expect([scale.min, scale.max]).toEqual([0.95, 0.97]);
    expect(scale.share(0.95)).toBe(0);
    expect(scale.share(0.97)).toBe(1);
    expect(scale.share(0.96)).toBeCloseTo(0.5, 9);
    expect(accuracyScale([{ testAccuracy: 0.9 }])!.share(0.9)).toBe(1);
    expect(accuracyScale([{ testAccuracy: null }])).toBeNull();
  });

  it('fits a drawing into the view, centred, never enlarged past the cap', () => {
    const t = fitTransform({ x0: 0, x1: 1000, y0: -100, y1: 100 }, 500, 400, 0);
    expect(t.k).toBe(0.5);
    expect([t.x, t.y]).toEqual([0, 200]);
    expect(fitTransform({ x0: 0, x1: 10, y0: 0, y1: 10 }, 500, 400, 0).k).toBe(1.2);
  });
});

describe('appWording', () => {
  /** The message the core gives for what `run` does, as the app shows it. */
  const shown = async (run: () => unknown) => {
    try {
      await run();
    } catch (e) {
      return { core: (e as Error).message, app: appWording((e as Error).message) };
    }
    throw new Error('expected a refusal');
  };

  it('says the core’s command-line hints the app’s way, and leaves other messages alone', async () => {
    const dir = tempDir();
    const file = join(dir, 'model.onnx');
    writeFileSync(file, 'x');
    const exists = await shown(() =>
      writeFilesAtomically([{ path: file, bytes: new Uint8Array(1) }], false),
    );
    expect(exists.core).toMatch(/--force/);
    expect(exists.app).toBe(`Already there: ${file}. Choose another name, or replace it.`);

    const lab = Lab.open({ dataDir: tempDir() });
    try {
      for (const [method, input] of [
        ['experiments.get', { id: 'exp_000000000000' }],
        ['jobs.pause', { jobId: 'job_000000000000' }],
        ['sweeps.get', { id: 'swp_000000000000' }],
        ['experiments.create', { spec: { model: 'lenet-300-100', dataset: 'ds_000000000000' } }],
      ] as const) {
        const refusal = await shown(() => lab.invoke(method, input as never));
        expect(refusal.core).toMatch(/`ticketlab /);
        expect(refusal.app).not.toMatch(/ticketlab|--/);
        expect(refusal.app).toMatch(/_000000000000/); // what was not found is still named
      }
      const plain = await shown(() => lab.invoke('experiments.rename', { id: 'x', name: '' }));
      expect(plain.app).toBe(plain.core);
    } finally {
      await lab.close();
    }
  });
});

describe("a run's kernel threads, as the ticket view says them", () => {
  it('names one count for a run that kept its threads, and each span where they changed', () => {
    expect(threadSpans(null)).toBe('not recorded');
    expect(threadSpans([{ fromIteration: 1, threads: 2 }])).toBe('2');
    expect(
      threadSpans([
        { fromIteration: 1, threads: 2 },
        { fromIteration: 2, threads: 1 },
        { fromIteration: 58, threads: 2 },
      ]),
    ).toBe('2 (step 1), then 1 (steps 2–57), then 2 (from step 58)');
  });
});
