import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { buildArchitecture, describeParams, layerWidths } from '../../src/engine/architectures.ts';
import { Lab } from '../../src/services/lab.ts';
import { waitForEvent } from '../jobs/fixtures.ts';
import { cli, tempDir, tinyDigits, writeIdxDataset, writeSpec } from '../helpers.ts';

const TRAIN = 600;
const TEST = 200;

/** The first 600/200 digits of the built-in MNIST as an IDX dataset: 9 iterations per epoch at batch 60. */
function smallMnist(dir: string) {
  const mnist = loadBuiltinMnist();
  const take = (set: typeof mnist.train, n: number) => ({
    images: set.images.slice(0, n * 784),
    labels: set.labels.slice(0, n),
    count: n,
  });
  const folder = writeIdxDataset(
    dir,
    { train: take(mnist.train, TRAIN), t10k: take(mnist.test, TEST) },
    [28, 28],
  );
  return { folder, test: take(mnist.test, TEST) };
}

function importSmall(data: string) {
  const small = smallMnist(join(data, 'small'));
  const imported = cli(['datasets', 'import', small.folder], data);
  expect(imported.code).toBe(0);
  return { id: /as (\S+):/.exec(imported.stdout)![1]!, test: small.test };
}

type Ticket = {
  id: string;
  level: number;
  method: string;
  parentId: string | null;
  runId: string;
  remainingParams: number;
  finalTestAccuracy: number;
  speedup: { batch1: number; batch64: number; backend: string } | null;
};

/** The tickets of the (only) experiment in a data folder, as `ticketlab show --json` lists them. */
function ticketsOf(data: string): Ticket[] {
  const [experiment] = JSON.parse(cli(['ls', '--json'], data).stdout);
  return JSON.parse(cli(['show', experiment.id, '--json'], data).stdout).tickets;
}

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
};

describe('structured pruning jobs', () => {
  it('L1 filter pruning cuts neurons out, retrains the smaller model, measures it, and exports it as itself', async () => {
    const data = tempDir();
    const dataset = importSmall(data);
    const spec = {
      model: 'lenet-300-100',
      dataset: dataset.id,
      method: 'structured',
      training: { duration: '36it', evalEvery: 18 },
      structured: { method: 'l1-filter', rates: [0.5, 0.8], fineTune: '18it', latencyRuns: 3 },
    };
    const run = cli(['run', writeSpec(data, spec)], data);
    expect(run.stderr).not.toMatch(/failed/);
    expect(run.code).toBe(0);
    const tickets = ticketsOf(data);
    const dense = tickets.find((t) => t.method === 'dense')!;
    const cut = tickets.filter((t) => t.method === 'l1-filter').sort((a, b) => a.level - b.level);
    expect(cut.map((t) => t.parentId)).toEqual([dense.id, dense.id]);
    expect(dense.speedup).toBeNull();
    // `show` says what its speed-up columns are and where they were measured
    const [experiment] = JSON.parse(cli(['ls', '--json'], data).stdout);
    expect(cli(['show', experiment.id], data).stdout).toContain(
      `at batch 1 and 64, measured on ${cut[0]!.speedup!.backend}`,
    );

    const lab = Lab.open({ dataDir: data });
    try {
      const half = await lab.invoke('tickets.get', { id: cut[0]!.id });
      // floor(0.5·300) and floor(0.5·100) neurons removed; the output layer keeps its 10
      expect(half.units).toEqual([
        { layer: 'fc1.kernel', total: 300, removed: 150 },
        { layer: 'fc2.kernel', total: 100, removed: 50 },
      ]);
      expect(half.structure!.layers).toEqual([
        { name: 'fc1', kind: 'dense', units: 150 },
        { name: 'fc2', kind: 'dense', units: 50 },
        { name: 'fc3', kind: 'dense', units: 10 },
      ]);
      expect(cut[0]!.remainingParams).toBe(784 * 150 + 150 + 150 * 50 + 50 + 50 * 10 + 10);
      expect(cut[1]!.remainingParams).toBe(784 * 60 + 60 + 60 * 20 + 20 + 20 * 10 + 10);

      // measured: the file size is the stored weights' own, the latencies are medians of real runs
      const inference = half.structure!.inference!;
      const row = lab.store.getTicket(cut[0]!.id)!;
      expect(inference.fileBytes.compact).toBe(lab.store.blobs.get(row.trainedBlob!).length);
      expect(inference.fileBytes.dense).toBe(
        lab.store.blobs.get(lab.store.getTicket(dense.id)!.trainedBlob!).length,
      );
      expect(inference.runs).toBe(3);
      expect(inference.latency.map((l) => l.batch)).toEqual([1, 64]);
      for (const l of inference.latency) {
        expect(l.compactMs).toBeGreaterThan(0);
        expect(l.compactThroughput).toBeCloseTo((l.batch * 1000) / l.compactMs, 6);
      }
      expect(cut[0]!.speedup!.batch64).toBeCloseTo(
        inference.latency[1]!.denseMs / inference.latency[1]!.compactMs,
        10,
      );
      expect(cut[0]!.speedup!.backend).toBe(inference.backend);
      // the fine-tuning trained the compacted weights (it starts from the cut ones)
      expect(row.initBlob).not.toBe(row.trainedBlob);
      expect(lab.store.getRun(cut[0]!.runId)!.iterations).toBe(18);
    } finally {
      lab.close();
    }

    // The ONNX export is the smaller model: onnxruntime scores it as the app recorded.
    const onnxPath = join(data, 'cut.onnx');
    const exported = cli(['export', cut[1]!.id, '--format', 'onnx', '--out', onnxPath], data);
    expect(exported.code).toBe(0);
    const densePath = join(data, 'dense.onnx');
    expect(cli(['export', dense.id, '--format', 'onnx', '--out', densePath], data).code).toBe(0);
    expect(statSync(onnxPath).size).toBeLessThan(statSync(densePath).size / 4);
    const session = await InferenceSession.create(readFileSync(onnxPath));
    const pixels = Float32Array.from(dataset.test.images, (v) => v / 255);
    const { logits } = await session.run({
      input: new Tensor('float32', pixels, [TEST, 1, 28, 28]),
    });
    const out = logits!.data as Float32Array;
    let correct = 0;
    for (let i = 0; i < TEST; i++)
      if (argmax(out.subarray(i * 10, i * 10 + 10)) === dataset.test.labels[i]) correct++;
    expect(Math.abs(correct / TEST - cut[1]!.finalTestAccuracy)).toBeLessThanOrEqual(1 / TEST);
    await session.release();

    // a compacted ticket is not a mask to transfer
    const refused = cli(['transfer', cut[0]!.id, '--to', dataset.id], data);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/compacted \(structured\) model/);
  });

  it('network slimming stops at the Early-Bird ticket and prunes the smallest batch-norm scales globally; a model without batch norm is refused', async () => {
    const data = tempDir();
    const lab = Lab.open({ dataDir: data });
    // 120 examples, 108 after the validation split: one batch of 60 per epoch
    const dataset = (await lab.invoke('datasets.import', { path: tinyDigits(data, 120) })).id;
    await expect(
      lab.invoke('experiments.create', {
        spec: {
          model: 'conv-4',
          dataset,
          method: 'structured',
          structured: { method: 'slimming' },
        },
      }),
    ).rejects.toThrowError(
      expect.objectContaining({
        code: 'INVALID_SPEC',
        message: expect.stringMatching(
          /conv-4 has no batch norm after conv1, .*Use a model with batch norm \(vgg-11, vgg-16, resnet-20\)/,
        ),
      }),
    );
    expect((await lab.invoke('experiments.list', {})).total).toBe(0); // nothing was created
    lab.close();

    const spec = {
      model: 'resnet-20',
      dataset,
      method: 'structured',
      training: { duration: '30ep', evalEvery: 3 },
      structured: {
        method: 'slimming',
        rates: [0.4],
        fineTune: '3it',
        sparsity: 1e-2,
        earlyBird: { window: 3, threshold: 0.3 },
        latencyRuns: 1,
      },
    };
    const run = cli(['run', writeSpec(data, spec)], data);
    expect(run.code).toBe(0);
    const tickets = ticketsOf(data);
    const dense = tickets.find((t) => t.method === 'dense')!;
    const slim = tickets.find((t) => t.method === 'slimming')!;
    const stored = Lab.open({ dataDir: data });
    try {
      const search = await stored.invoke('tickets.get', { id: dense.id });
      const [bird] = search.structure!.earlyBird;
      expect(bird!.ratio).toBe(0.4);
      // the rule, applied to the stored distances, fires exactly at the recorded epoch
      const d = bird!.distances;
      const fires = (e: number) =>
        e >= 3 && [1, 2].every((back) => d[e - 1]![e - 1 - back]! <= 0.3);
      const first = d.findIndex((_, i) => fires(i + 1)) + 1;
      expect(first).toBeGreaterThan(0);
      expect(bird!.detectedEpoch).toBe(first);
      expect(d).toHaveLength(first); // no epoch recorded after it: training stopped there
      expect(bird!.prunedEpoch).toBe(first);
      expect(run.stderr).toContain(
        `Early-Bird ticket at pruning ratio 0.4 drawn at epoch ${first}.`,
      );
      // and `show` says so afterwards
      const [experiment] = JSON.parse(cli(['ls', '--json'], data).stdout);
      expect(cli(['show', experiment.id], data).stdout).toContain(
        `40.0% of the channels: the rule fired at epoch ${first}; pruned at epoch ${first}`,
      );
      expect(stored.store.getRun(dense.runId)!.iterations).toBe(first); // one iteration per epoch

      // the stored network is plain ResNet-20: nothing added for the search
      const plain = describeParams(buildArchitecture('resnet-20', [8, 8, 1], 10));
      const weights = stored.store.getTensors(stored.store.getTicket(dense.id)!.trainedBlob!);
      expect([...weights.keys()].sort()).toEqual(plain.map((p) => p.name).sort());

      // the units removed are those of the stored mask: 40% of the channels, one threshold
      const cut = await stored.invoke('tickets.get', { id: slim.id });
      const mask = stored.store.getTicket(dense.id)!.structure!.earlyBird![0]!.mask;
      expect(cut.units.reduce((n, u) => n + u.removed, 0)).toBe(
        [...mask].filter((c) => c === '0').length,
      );
      expect(cut.units.every((u) => u.removed < u.total)).toBe(true);
      expect(cut.ticket.parentId).toBe(dense.id);
      expect(cut.structure!.earlyBird[0]!.detectedEpoch).toBe(first);
      expect(slim.speedup).not.toBeNull();
    } finally {
      stored.close();
    }
  });

  it('PCA replaces hidden layers by low-rank pairs from the trained network’s responses and retrains them', async () => {
    const data = tempDir();
    const dataset = importSmall(data);
    const spec = {
      model: 'lenet-300-100',
      dataset: dataset.id,
      method: 'structured',
      training: { duration: '36it', evalEvery: 18 },
      structured: {
        method: 'pca',
        energies: [0.9],
        calibrationSamples: 300,
        fineTune: '0it', // measured as replaced, without retraining
        latencyRuns: 2,
      },
    };
    expect(cli(['run', writeSpec(data, spec)], data).code).toBe(0);
    const tickets = ticketsOf(data);
    const pca = tickets.find((t) => t.method === 'pca')!;
    const lab = Lab.open({ dataDir: data });
    try {
      const view = await lab.invoke('tickets.get', { id: pca.id });
      expect(view.units).toEqual([]); // no neuron is removed: each layer's rank is
      const ranks = view.structure!.ranks;
      expect(ranks.map((r) => [r.layer, r.total])).toEqual([
        ['fc1', 300],
        ['fc2', 100],
      ]);
      expect(ranks[0]!.kept).toBeLessThan(300);
      const layers = view.structure!.layers;
      expect(layers[0]).toEqual({ name: 'fc1_lowrank', kind: 'dense', units: ranks[0]!.kept });
      expect(layers.at(-1)).toEqual({ name: 'fc3', kind: 'dense', units: 10 });
      // its size is the pairs' real parameter count
      const arch = lab.store.getTicket(pca.id)!.structure!.architecture!;
      const weights = lab.store.getTensors(lab.store.getTicket(pca.id)!.trainedBlob!);
      const params = [...weights.values()].reduce((n, t) => n + t.data.length, 0);
      expect(pca.remainingParams).toBe(params);
      expect(arch.layers.filter((l) => l.kind === 'dense')).toHaveLength(
        3 + ranks.filter((r) => r.kept < r.total).length,
      );
      expect(pca.speedup).not.toBeNull();
      expect(lab.store.getRun(pca.runId)!.iterations).toBe(0);
    } finally {
      lab.close();
    }
  });

  it('L0 gates and Bayesian group noise learn which units to remove; each level keeps what its mask says', async () => {
    const data = tempDir();
    const dataset = importSmall(data);
    const base = {
      model: 'lenet-300-100',
      dataset: dataset.id,
      method: 'structured',
      training: { duration: '300it', evalEvery: 100, learningRate: 0.02 },
    };
    const specs = [
      { ...base, structured: { method: 'l0', l0Lambda: 100, fineTune: '9it', latencyRuns: 1 } },
      {
        ...base,
        structured: {
          method: 'bayesian',
          logAlphaThresholds: [3, -2],
          fineTune: '9it',
          latencyRuns: 1,
        },
      },
    ];
    for (const spec of specs) expect(cli(['run', writeSpec(data, spec)], data).code).toBe(0);
    const lab = Lab.open({ dataDir: data });
    const shown: { experiment: string; widths: string[] }[] = [];
    try {
      for (const e of (await lab.invoke('experiments.list', {})).items) {
        const tickets = lab.store.listTickets(e.id);
        const dense = tickets.find((t) => t.method === 'dense')!;
        const masks = dense.structure!.levelMasks!;
        // the stored network is plain: its gates are folded away
        const names = [...lab.store.getTensors(dense.trainedBlob!).keys()];
        expect(names.filter((n) => !/\.(kernel|bias)$/.test(n))).toEqual([]);
        const levels = tickets.filter((t) => t.level > 0).sort((a, b) => a.level - b.level);
        expect(levels).toHaveLength(masks.length);
        const removed = levels.map((t, i) => {
          const units = t.structure!.units!;
          const kept = units.reduce((n, u) => n + u.kept, 0);
          expect(kept).toBe([...masks[i]!].filter((c) => c === '1').length);
          // L0 gates the input pixels too (Louizos et al. 2018): the smaller model reads
          // the kept ones through an input selection
          expect(units.map((u) => u.layer)).toEqual(
            t.method === 'l0' ? ['input_select', 'fc1', 'fc2'] : ['fc1', 'fc2'],
          );
          const arch = t.structure!.architecture!;
          expect(layerWidths(arch)).toBe(
            `${t.method === 'l0' ? '' : '784-'}${units.map((u) => u.kept).join('-')}-10`,
          );
          return units.reduce((n, u) => n + u.total, 0) - kept;
        });
        if (levels[0]!.method === 'l0') {
          // the ticket page lists the input selection first, with the pixels it keeps
          const view = await lab.invoke('tickets.get', { id: levels[0]!.id });
          expect(view.structure!.layers[0]).toEqual({
            name: 'input_select',
            kind: 'select',
            units: levels[0]!.structure!.units![0]!.kept,
          });
          expect(view.ticket.widths).toBe(layerWidths(levels[0]!.structure!.architecture!));
        }
        shown.push({
          experiment: e.id,
          widths: levels.map((t) => layerWidths(t.structure!.architecture!)),
        });
        if (levels[0]!.method === 'l0') expect(removed[0]).toBeGreaterThan(0);
        // a lower log α threshold removes at least the units a higher one does
        else expect(removed[1]).toBeGreaterThanOrEqual(removed[0]!);
      }
    } finally {
      lab.close();
    }
    // `show` names each compacted model's widths
    for (const { experiment, widths } of shown) {
      const show = cli(['show', experiment], data);
      for (const w of widths) expect(show.stdout).toContain(w);
    }
  });

  it('a slimming search paused mid-epoch resumes exactly: same Early-Bird record, same weights', async () => {
    // 200 examples, 180 after the validation split: 3 iterations of 60 per epoch; 12 epochs,
    // so that the pause below lands inside the search even where the native step is fast
    const spec = async (lab: Lab) => ({
      model: 'resnet-20',
      dataset: (await lab.invoke('datasets.import', { path: tinyDigits(tempDir(), 200) })).id,
      method: 'structured',
      training: { duration: '12ep', evalEvery: 6 },
      structured: {
        method: 'slimming',
        rates: [0.5],
        fineTune: '1it',
        sparsity: 1e-3,
        earlyBird: { enabled: false, window: 3 },
        latencyRuns: 1,
      },
    });
    const searched = async (lab: Lab, experimentId: string) => {
      const dense = lab.store.listTickets(experimentId).find((t) => t.method === 'dense')!;
      return { weights: dense.trainedBlob, earlyBird: dense.structure!.earlyBird };
    };
    const straight = Lab.open({ dataDir: tempDir(), runAll: true });
    let expected: Awaited<ReturnType<typeof searched>>;
    try {
      const { experiment, job } = await straight.invoke('experiments.create', {
        spec: await spec(straight),
        start: true,
      });
      expect((await straight.scheduler.wait(job!.id)).state).toBe('done');
      expected = await searched(straight, experiment.id);
    } finally {
      await straight.close();
    }
    expect(expected.earlyBird![0]!.distances).toHaveLength(12); // a row per epoch

    const lab = Lab.open({ dataDir: tempDir(), runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: await spec(lab),
        start: true,
      });
      // past the first epoch's checkpoint (3 iterations), inside the second
      await waitForEvent(lab, (e) => e.type === 'job.progress' && e.level === 0 && e.step > 4);
      await lab.invoke('jobs.pause', { jobId: job!.id });
      const paused = await lab.scheduler.wait(job!.id);
      expect(paused.state).toBe('paused');
      expect(paused.checkpointRun).toBe('0/dense');
      await lab.invoke('jobs.resume', { jobId: job!.id });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      expect(await searched(lab, experiment.id)).toEqual(expected);
    } finally {
      await lab.close();
    }
  });

  it("shows a job's progress as its share of the planned iterations: a long search is most of a structured job", async () => {
    const data = tempDir();
    const dataset = importSmall(data);
    const lab = Lab.open({ dataDir: data, runAll: true });
    try {
      const seen: { level: number; step: number; progress: number }[] = [];
      lab.subscribe((e) => {
        if (e.type === 'job.progress') seen.push(e);
      });
      const { job } = await lab.invoke('experiments.create', {
        spec: {
          model: 'lenet-300-100',
          dataset: dataset.id,
          method: 'structured',
          training: { duration: '200it', evalEvery: 100 },
          structured: { method: 'l0', fineTune: '10it', latencyRuns: 1 },
        },
        start: true,
      });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      // the search (200 iterations) and one compacted model retrained for 10: 210 in all;
      // counting runs instead, the search's middle would show a quarter
      // (the worker reports a step at most every 250 ms, and always the last)
      const search = seen.filter((e) => e.level === 0);
      const retraining = seen.filter((e) => e.level === 1);
      expect(search.at(-1)!.step).toBe(200);
      for (const e of search) expect(e.progress).toBeCloseTo(e.step / 210, 9);
      for (const e of retraining) expect(e.progress).toBeCloseTo((200 + e.step) / 210, 9);
      expect(lab.store.getJob(job!.id)!.progress).toBe(1);
    } finally {
      await lab.close();
    }
  });

  it('refuses structured specs it cannot run, naming the field', () => {
    const data = tempDir();
    const controls = cli(
      [
        'run',
        writeSpec(data, {
          model: 'lenet-300-100',
          method: 'structured',
          controls: { randomPrune: true },
        }),
      ],
      data,
    );
    expect(controls.code).not.toBe(0);
    expect(controls.stderr).toMatch(/spec\.controls: the random controls/);
    const rate = cli(
      [
        'run',
        writeSpec(data, {
          model: 'lenet-300-100',
          method: 'structured',
          structured: { rates: [1] },
        }),
      ],
      data,
    );
    expect(rate.stderr).toMatch(/spec\.structured\.rates\.0/);
  });
});
