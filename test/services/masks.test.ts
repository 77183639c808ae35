import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodOutput } from '../../src/api/contract.ts';
import { isTicketLabError } from '../../src/core/errors.ts';
import { Lab } from '../../src/services/lab.ts';
import { BIN, writeSpec } from '../helpers.ts';

/**
 * Mask views measured on masks from real IMP runs on the built-in MNIST: two seeds of
 * LeNet-300-100 and a LeNet-5, trained by the CLI into one data folder.
 */
const LENET = {
  model: 'lenet-300-100',
  // Adam at 5e-3 for 200 iterations moves the trained weights well past their initial scale,
  // so magnitude pruning sees what training learned; half the dense weights go per level.
  training: { duration: '200it', evalEvery: 200, learningRate: 5e-3 },
  pruning: { rates: { dense: 0.5 } },
};

let data: string;
let lab: Lab;
type Ticket = { id: string; level: number; method: string; parentId: string | null };
let seed0: Ticket[];
let seed1: Ticket[];
let lenet5: Ticket[];

/** The CLI on the test's data folder, without blocking the test runner while it trains. */
async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [BIN, ...args, '--data-dir', data],
      { env: { ...process.env, TICKETLAB_BACKEND: 'wasm' } },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

/** Runs a spec to the end; its experiment's id. */
async function run(name: string, spec: object): Promise<string> {
  const r = await cli(['run', writeSpec(data, { name, ...spec })]);
  expect(r.code, r.stderr).toBe(0);
  return /Experiment (\S+):/.exec(r.stdout)![1]!;
}

beforeAll(async () => {
  data = mkdtempSync(join(tmpdir(), 'ticketlab-masks-'));
  const ids = [
    await run('masks seed 0', { ...LENET, pruning: { ...LENET.pruning, levels: 2 } }),
    // a second seed, shorter: its level 1 is compared with seed 0's
    await run('masks seed 1', {
      ...LENET,
      seed: 1,
      training: { ...LENET.training, duration: '50it', evalEvery: 50 },
      pruning: { ...LENET.pruning, levels: 1 },
    }),
    await run('masks lenet-5', {
      model: 'lenet-5',
      training: { duration: '10it', evalEvery: 10 },
      pruning: { levels: 1, rates: { conv: 0.5 } },
    }),
  ];
  lab = Lab.open({ dataDir: data });
  const tickets = async (id: string) => (await lab.invoke('experiments.get', { id })).tickets;
  seed0 = await tickets(ids[0]!);
  seed1 = await tickets(ids[1]!);
  lenet5 = await tickets(ids[2]!);
}, 600_000);

afterAll(async () => {
  await lab?.close();
  if (data) rmSync(data, { recursive: true, force: true });
});

const at = (tickets: Ticket[], level: number) =>
  tickets.find((t) => t.level === level && t.method !== 'random-prune')!;

type Overlap = NonNullable<MethodOutput<'tickets.masks'>['overlap']>;

describe('mask views of real tickets', () => {
  it('draws the digit region: after two IMP levels the first layer keeps more weights from central pixels than from the border', async () => {
    const last = await lab.invoke('tickets.masks', { ticketId: at(seed0, 2).id });
    const map = last.inputMap!;
    expect(map).toMatchObject({ layer: 'fc1.kernel', height: 28, width: 28, channels: 1 });
    expect(map.perPixel).toBe(300);
    // every kept weight of the first layer is counted at exactly one pixel
    expect(map.kept.reduce((a, b) => a + b, 0)).toBe(last.layers[0]!.kept);
    const mean = (keep: (x: number, y: number) => boolean) => {
      const xs = map.kept.filter((_, p) => keep(p % 28, Math.floor(p / 28)));
      return xs.reduce((a, b) => a + b, 0) / xs.length / map.perPixel;
    };
    const centre = mean((x, y) => x >= 8 && x < 20 && y >= 8 && y < 20);
    const border = mean((x, y) => Math.min(x, y, 27 - x, 27 - y) < 3);
    // Border pixels are constant in every image, so their weights learn only what a bias
    // learns and keep their initial magnitude: pruning takes them first.
    expect(centre).toBeGreaterThan(border * 1.1);
    // dense first level: every pixel keeps all its weights
    const dense = await lab.invoke('tickets.masks', { ticketId: at(seed0, 0).id });
    expect(new Set(dense.inputMap!.kept)).toEqual(new Set([300]));
  });

  it('counts each layer per output unit, matching the kept weights and removed units stored with the ticket', async () => {
    for (const ticket of [at(seed0, 2), at(lenet5, 1)]) {
      const masks = await lab.invoke('tickets.masks', { ticketId: ticket.id });
      const detail = await lab.invoke('tickets.get', { id: ticket.id });
      expect(masks.layers.map((l) => l.layer)).toEqual(
        detail.ticket.remainingWeightsPerLayer.map((l) => l.layer),
      );
      for (const l of masks.layers) {
        const stored = detail.ticket.remainingWeightsPerLayer.find((s) => s.layer === l.layer)!;
        expect(l.cells).toHaveLength(l.rows * l.cols);
        expect(l.cells.reduce((a, b) => a + b, 0)).toBe(stored.kept);
        expect(l.total).toBe(stored.total);
        expect(l.rows * l.cols * l.cellTotal).toBe(l.total);
        expect(Math.max(...l.cells)).toBeLessThanOrEqual(l.cellTotal);
        const emptyRows = Array.from({ length: l.rows }, (_, r) =>
          l.cells.slice(r * l.cols, (r + 1) * l.cols).every((c) => c === 0),
        ).filter(Boolean).length;
        expect(emptyRows).toBe(detail.units.find((u) => u.layer === l.layer)!.removed);
      }
    }
    const conv = (await lab.invoke('tickets.masks', { ticketId: at(lenet5, 1).id })).layers;
    // LeNet-5's conv2: 50 filters × 20 input channels, 5×5 weights per cell
    expect(conv[1]).toMatchObject({
      layer: 'conv2.kernel',
      kind: 'conv2d',
      shape: [5, 5, 20, 50],
      rows: 50,
      cols: 20,
      cellTotal: 25,
    });
    expect(conv[1]!.kept).toBeLessThan(conv[1]!.total);
    // LeNet-5 starts with a convolution: no pixel map
    expect((await lab.invoke('tickets.masks', { ticketId: at(lenet5, 1).id })).inputMap).toBeNull();
  });

  it('overlaps masks: identical with itself, a child inside its parent, two seeds in between', async () => {
    const overlap = async (a: Ticket, b: Ticket): Promise<Overlap> =>
      (await lab.invoke('tickets.masks', { ticketId: a.id, againstId: b.id })).overlap!;
    const self = await overlap(at(seed0, 2), at(seed0, 2));
    expect(self.whole.jaccard).toBe(1);
    expect(self.whole.onlyHere + self.whole.onlyThere).toBe(0);

    const child = at(seed0, 2);
    const parent = seed0.find((t) => t.id === child.parentId)!;
    const lineage = await overlap(child, parent);
    expect(lineage.against).toMatchObject({ id: parent.id, experimentName: 'masks seed 0' });
    for (const l of [...lineage.layers, lineage.whole]) {
      expect(l.onlyHere).toBe(0); // IMP only removes weights
      expect(l.onlyThere).toBeGreaterThan(0);
    }
    const kept = (await lab.invoke('tickets.masks', { ticketId: child.id })).layers;
    expect(lineage.layers.map((l) => l.both)).toEqual(kept.map((l) => l.kept));

    const seeds = await overlap(at(seed0, 1), at(seed1, 1));
    expect(seeds.against.experimentName).toBe('masks seed 1');
    expect(seeds.whole.jaccard).toBeGreaterThan(0);
    expect(seeds.whole.jaccard).toBeLessThan(1);
    expect(seeds.whole.onlyHere).toBeGreaterThan(0);
    expect(seeds.whole.onlyThere).toBeGreaterThan(0);
    const sum = (k: 'both' | 'onlyHere' | 'onlyThere') =>
      seeds.layers.reduce((s, l) => s + l[k], 0);
    expect(seeds.whole.both).toBe(sum('both'));
    expect(seeds.whole.jaccard).toBeCloseTo(
      sum('both') / (sum('both') + sum('onlyHere') + sum('onlyThere')),
      12,
    );
  });

  it('refuses to overlap tickets of different architectures, naming both shapes', async () => {
    const refused = lab.invoke('tickets.masks', {
      ticketId: at(seed0, 1).id,
      againstId: at(lenet5, 1).id,
    });
    await expect(refused).rejects.toSatisfy((e: unknown) => isTicketLabError(e, 'INVALID_INPUT'));
    await expect(refused).rejects.toThrowError(
      /lenet-300-100 on 28×28×1 inputs \(fc1\.kernel 784×300, fc2\.kernel 300×100, fc3\.kernel 100×10\) against lenet-5 on 28×28×1 inputs \(conv1\.kernel 5×5×1×20, conv2\.kernel 5×5×20×50, fc1\.kernel 800×500, fc2\.kernel 500×10\)/,
    );
  });

  it('offers only tickets of the same architecture to compare with, searchable by experiment name', async () => {
    const all = await lab.invoke('tickets.comparable', { ticketId: at(seed0, 2).id });
    const lenet300 = [...seed0, ...seed1].filter((t) => t.id !== at(seed0, 2).id);
    expect(all.total).toBe(lenet300.length);
    expect(new Set(all.items.map((t) => t.id))).toEqual(new Set(lenet300.map((t) => t.id)));
    const found = await lab.invoke('tickets.comparable', {
      ticketId: at(seed0, 2).id,
      search: 'seed 1',
    });
    expect(found.items.map((t) => t.experimentName)).toEqual(seed1.map(() => 'masks seed 1'));
    expect(found.items[0]).toMatchObject({ level: expect.any(Number), datasetName: /MNIST/ });
  });

  it('prints the per-layer table and the overlap from the CLI', async () => {
    const r = await cli(['masks', at(seed0, 2).id, '--against', at(seed1, 1).id]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^masks seed 0, imp level 2, 2\d\.\d% of weights/);
    expect(r.stdout).toMatch(/fc1\.kernel\s+784×300\s+[\d,]+\s+235,200\s+\d+\.\d%/);
    expect(r.stdout).toMatch(/all prunable layers\s+266,200\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+0\.\d{3}/);
    expect(r.stdout).toMatch(/against: masks seed 1, imp level 1/);
    // the pixel map: 28 rows of 28 shades
    expect(r.stdout.split('\n').filter((l) => /^[ .:\-=+*#%@]{28}$/.test(l))).toHaveLength(28);
    const wrong = await cli(['masks', at(seed0, 2).id, '--against', at(lenet5, 1).id]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/different architectures/);
  }, 60_000);
});
