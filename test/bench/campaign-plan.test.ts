import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPart, partExperiments, PARTS, type Budget } from '../../bench/campaign/parts.ts';
import {
  DATASET_SIZES,
  datasetSize,
  flopsPerExample,
  formatPlan,
  planExperiment,
  planPart,
  readCompactedSpeedups,
  readEngineSpeeds,
  type Workers,
} from '../../bench/campaign/plan.ts';
import { FORWARD_SHARE } from '../../src/api/methods.ts';
import { resolveSpec, type ResolvedSpec } from '../../src/api/spec.ts';
import { importDatasetFolder } from '../../src/data/import.ts';
import { BN_RECOMPUTE_BATCHES } from '../../src/pruning/line-examples.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SHARED = join(ROOT, '..', 'shared', 'datasets');
/** bench:campaign's default on two cores: two jobs at a time, one thread each */
const TWO_CORES: Workers = { cores: 2, concurrency: 2, threads: 1 };

/** A bench:engine record (as bench/engine.ts writes it) of the given rows, at 2 threads. */
function engineRecord(
  dir: string,
  name: string,
  rows: { model: string; samplesPerSecond: number; label?: string }[],
  cpu = 'test cpu',
): void {
  const record = {
    date: '2026-12-02T07:00:00.000Z',
    cpu,
    cores: 2,
    rows: rows.map((r) => ({
      label: r.label ?? 'wasm default, onednn',
      model: r.model,
      // rounds around the median
      samples: [r.samplesPerSecond * 0.9, r.samplesPerSecond, r.samplesPerSecond * 1.2],
      engine: 'CPU (WebAssembly, SIMD); native training step, 2 thread(s)',
    })),
  };
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(record));
}

/** The spec's evaluation points from `start` to `end`, listed: the start, every `every`, the end. */
const evaluationPoints = (start: number, end: number, every: number) => {
  const points = new Set([start, end]);
  for (let it = start + 1; it <= end; it++) if (it % every === 0) points.add(it);
  return points.size;
};

describe("a campaign part's plan", () => {
  const records = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
  const LENET_SPEED = 2400;
  engineRecord(records, 'engine-2026-12-02T0700', [
    { model: 'lenet-300-100', samplesPerSecond: LENET_SPEED },
  ]);
  const measured = readEngineSpeeds(records);
  /** one level of a short LeNet-300-100 part on MNIST, on two cores */
  const options = {
    budget: { iterations: 100, levels: 1 },
    seeds: 1,
    datasets: [datasetSize('mnist')],
    workers: TWO_CORES,
  };

  it('counts trainings, iterations, training samples and evaluated examples as the spec asks', () => {
    const part = findPart('fc2019-lenet');
    const budget = { iterations: 250, levels: 2 };
    const dataset = datasetSize('mnist-10k');
    const plan = planPart(part, {
      budget,
      seeds: 2,
      datasets: [dataset],
      measured,
      workers: TWO_CORES,
    });

    // by hand from the spec: the dense network, then each level's ticket and its controls
    const spec = resolveSpec(part.experiments(0, 'mnist-10k', budget)[0]!.spec);
    const controls = [spec.controls.randomReinit, spec.controls.randomPrune].filter(Boolean);
    const runs = 1 + budget.levels * (1 + controls.length);
    const val = Math.round(dataset.train * spec.validationFraction);
    const evaluations = evaluationPoints(0, budget.iterations, spec.training.evalEvery);
    const trainingSamples = runs * budget.iterations * spec.training.batchSize;
    const evaluatedExamples = runs * evaluations * (val + dataset.test);
    expect(plan.experiments.map((e) => [e.label, e.seed])).toEqual([
      ['lenet-300-100', 0],
      ['lenet-300-100', 1],
    ]);
    for (const e of plan.experiments) {
      expect(e).toMatchObject({
        runs,
        iterations: runs * budget.iterations,
        trainingSamples,
        evaluations: runs * evaluations,
        evaluatedExamples,
      });
      // a job at one of the record's two threads trains at half its speed; evaluation is a forward pass
      const seconds =
        (trainingSamples + evaluatedExamples * FORWARD_SHARE) / (LENET_SPEED * (1 / 2));
      expect(e.hours).toBeCloseTo(seconds / 3600, 10);
    }
    // two experiments, two at a time: the wall time of one
    expect(plan.wallHours).toBeCloseTo(plan.experiments[0]!.hours!, 10);
    // three, two at a time: the third waits for one of the first two
    const three = planPart(part, {
      budget,
      seeds: 3,
      datasets: [dataset],
      measured,
      workers: TWO_CORES,
    });
    expect(three.wallHours).toBeCloseTo(2 * plan.experiments[0]!.hours!, 10);
  });

  it('prices evaluation at the cost bench:engine measured for the model, where it did', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    // evaluating an example at a fifth of training on it, where a forward pass would be a third
    engineRecord(dir, 'engine-2026-12-02T0700', [
      { model: 'lenet-300-100', samplesPerSecond: LENET_SPEED },
      { model: 'lenet-300-100', samplesPerSecond: 5 * LENET_SPEED, label: 'wasm evaluate, onednn' },
    ]);
    const [speed] = readEngineSpeeds(dir);
    expect(speed!.evaluationShare).toBeCloseTo(1 / 5, 12);
    const part = findPart('fc2019-lenet');
    const budget = { iterations: 250, levels: 2 };
    const dataset = datasetSize('mnist-10k');
    const plans = [readEngineSpeeds(dir), measured].map((m) =>
      planPart(part, { budget, seeds: 1, datasets: [dataset], measured: m, workers: TWO_CORES }),
    );
    const [e, unmeasured] = plans.map((p) => p.experiments[0]!);
    const seconds = (share: number) =>
      (e!.trainingSamples + e!.evaluatedExamples * share) / (LENET_SPEED * (1 / 2));
    expect(e!.hours).toBeCloseTo(seconds(1 / 5) / 3600, 10);
    expect(unmeasured!.hours).toBeCloseTo(seconds(FORWARD_SHARE) / 3600, 10);
    expect(formatPlan(plans[0]!).join('\n')).toMatch(
      /evaluating an example at 0\.20 of training on it, measured/,
    );
    expect(formatPlan(plans[1]!).join('\n')).toMatch(/counted at 0\.33 of training on it/);
  });

  it('prices a job running with fewer beside it at the threads the scheduler then gives it', () => {
    const part = findPart('fc2019-lenet');
    const budget = { iterations: 250, levels: 2 };
    const options = { budget, datasets: [datasetSize('mnist-10k')], measured };
    const sharing = { ...TWO_CORES, sharesCores: true as const };
    const fixed = planPart(part, { ...options, seeds: 3, workers: TWO_CORES });
    const shared = planPart(part, { ...options, seeds: 3, workers: sharing });
    const h = fixed.experiments[0]!.hours!;
    // a job's own hours are at its share either way
    expect(shared.experiments.map((e) => e.hours)).toEqual(fixed.experiments.map((e) => e.hours));
    // alone on both of the record's two threads it trains twice as fast (linear in threads)
    expect(shared.experiments[0]!.speedups).toEqual([2, 1]);
    expect(fixed.experiments[0]!.speedups).toBeNull();
    // two at a time to h, then the third alone on both cores: half of h more
    expect(fixed.wallHours).toBeCloseTo(2 * h, 10);
    expect(shared.wallHours).toBeCloseTo(1.5 * h, 10);
    expect(formatPlan(shared).join('\n')).toContain(
      'with 2 at a time on 1 of 2 cores each (fewer share the cores)',
    );

    // snip trains the dense network grasp copies: alone until it is trained (at twice the
    // speed), then beside grasp; random last, alone
    const scores = findPart('tanaka2020-conv4');
    const plan = planPart(scores, {
      budget: { iterations: 500, compressions: [0.5], labels: ['snip', 'grasp', 'random'] },
      seeds: 1,
      datasets: [datasetSize('cifar10-jpeg')],
      measured,
      workers: sharing,
    });
    const [snip, grasp, random] = plan.experiments;
    const training = random!.hours!;
    expect(snip!.denseHours).toBeCloseTo(training, 10);
    expect(grasp!.hours).toBeCloseTo(training, 10);
    // snip's dense network to 0.5, snip's and grasp's compressions to 1.5, random's to 2
    expect(plan.wallHours).toBeCloseTo(2 * training, 10);
  });

  it("checks every part's specs as the app does, at the paper's budget and a shorter one, and refuses one too short", () => {
    // on `folder` (a transfer part: from it to the others)
    const plan = (part: (typeof PARTS)[number], folder: string, budget: Budget) =>
      planPart(part, {
        budget,
        seeds: 1,
        datasets: [folder, ...part.datasets.filter((f) => f !== folder)].map(datasetSize),
        measured,
        workers: TWO_CORES,
      });
    for (const part of PARTS)
      for (const folder of part.datasets)
        for (const budget of [{}, { iterations: 2000, levels: 1 }])
          expect(() => plan(part, folder, budget), `${part.name} on ${folder}`).not.toThrow();
    // OpenLTH's drops at epochs 80 and 120 move with a shorter training: to its 50% and 75%
    const short = (part: string) =>
      resolveSpec(findPart(part).experiments(0, 'cifar10-jpeg', { iterations: 2000 })[0]!.spec);
    for (const part of ['frankle2020-resnet20', 'tanaka2020-vgg16'])
      expect(short(part).training.milestones).toEqual(['50%', '75%']);
    // 2 iterations hold no drop at 50% and at 75%: the app's own refusal, before anything trains
    expect(() => plan(findPart('tanaka2020-vgg16'), 'cifar10-jpeg', { iterations: 2 })).toThrow(
      /spec\.training\.milestones\[1\]: "75%" is iteration 2 .* a milestone must fall inside the training/,
    );
  });

  it('runs only the experiments named, at the compressions given, and refuses names and compressions a part has not', () => {
    const part = findPart('tanaka2020-conv4');
    const budget = { iterations: 500, compressions: [0.5, 2], labels: ['random', 'grasp'] };
    const plan = planPart(part, {
      budget,
      seeds: 2,
      datasets: [datasetSize('cifar10-jpeg')],
      measured,
      workers: TWO_CORES,
    });
    // the part's order, each seed's
    expect(plan.experiments.map((e) => [e.label, e.seed])).toEqual([
      ['grasp', 0],
      ['random', 0],
      ['grasp', 1],
      ['random', 1],
    ]);
    // the dense network and one training per compression; the second score of a seed copies
    // the first's dense network, as the app does (src/jobs/dense-reuse.ts)
    expect(plan.experiments.map((e) => [e.runs, e.iterations])).toEqual([
      [3, 3 * 500],
      [2, 2 * 500],
      [3, 3 * 500],
      [2, 2 * 500],
    ]);
    const [grasp] = partExperiments(part, 0, 'cifar10-jpeg', budget);
    expect(resolveSpec(grasp!.spec).pai).toMatchObject({ score: 'grasp', compressions: [0.5, 2] });
    // without them, every score on the spec's whole grid
    const all = partExperiments(part, 0, 'cifar10-jpeg', { iterations: 500 });
    expect(all.map((e) => e.label)).toEqual(['synflow', 'snip', 'grasp', 'magnitude', 'random']);
    expect(resolveSpec(all[0]!.spec).pai.compressions).toHaveLength(6);

    expect(() => partExperiments(part, 0, 'cifar10-jpeg', { labels: ['grasp', 'imp'] })).toThrow(
      'tanaka2020-conv4 has no experiment "imp": its experiments are synflow, snip, grasp, magnitude, random',
    );
    expect(() =>
      partExperiments(findPart('fc2019-lenet'), 0, 'mnist', { compressions: [1] }),
    ).toThrow(/fc2019-lenet prunes no compressions at initialisation/);
  });

  it('starts an experiment that copies a dense network once that network is trained, as the scheduler does', () => {
    const part = findPart('tanaka2020-conv4');
    const budget = { iterations: 500, compressions: [0.5], labels: ['grasp', 'snip', 'random'] };
    const plan = planPart(part, {
      budget,
      seeds: 1,
      datasets: [datasetSize('cifar10-jpeg')],
      measured,
      workers: TWO_CORES,
    });
    const [snip, grasp, random] = plan.experiments;
    expect(plan.experiments.map((e) => [e.label, e.denseFrom])).toEqual([
      ['snip', undefined],
      ['grasp', 0],
      ['random', 0],
    ]);
    // every training here is as long: the dense network, then one compression
    const training = random!.hours!;
    expect(snip!.hours).toBeCloseTo(2 * training, 10);
    expect(snip!.denseHours).toBeCloseTo(training, 10);
    expect(grasp!.denseHours).toBe(0);
    // two workers: snip from 0 to 2; grasp waits for snip's dense network and trains from 1
    // to 2, random from 2 to 3 (not at once beside snip: that would end at 2)
    expect(plan.wallHours).toBeCloseTo(3 * training, 10);
  });

  it('prices a dense network an earlier run trained into the data folder as copied, with no wait', () => {
    const part = findPart('tanaka2020-conv4');
    const budget = { iterations: 500, compressions: [0.5], labels: ['grasp', 'snip', 'random'] };
    const options = {
      budget,
      seeds: 1,
      datasets: [datasetSize('cifar10-jpeg')],
      measured,
      workers: TWO_CORES,
    };
    const fresh = planPart(part, options);
    const asked: ResolvedSpec[] = [];
    const plan = planPart(part, {
      ...options,
      denseTrainedAlready: (spec) => asked.push(spec) > 0,
    });
    expect(asked.map((spec) => [spec.pai.score, spec.dataset])).toEqual([
      ['snip', 'cifar10-jpeg'],
      ['grasp', 'cifar10-jpeg'],
      ['random', 'cifar10-jpeg'],
    ]);
    expect(plan.experiments.map((e) => e.denseFrom)).toEqual(Array(3).fill('data folder'));
    // each trains one compression, none the dense network
    const training = fresh.experiments[2]!.hours!;
    for (const [i, e] of plan.experiments.entries()) {
      expect(e.hours).toBeCloseTo(training, 10);
      expect(e.runs).toBe(fresh.experiments[i]!.runs - (i === 0 ? 1 : 0));
    }
    // two workers and no wait: 2 trainings from start to end, against 3 when snip trains it
    expect(fresh.wallHours).toBeCloseTo(3 * training, 10);
    expect(plan.wallHours).toBeCloseTo(2 * training, 10);
    expect(formatPlan(plan).join('\n')).toContain(
      'snip (conv-4), each seed: 1 training (its dense network copied from the data folder)',
    );
  });

  it('trains pruned tickets from the rewind point, the random re-initialisation from 0', () => {
    const part = findPart('frankle2020-resnet20');
    const budget = { iterations: 3000, levels: 2 };
    const plan = planPart(part, {
      budget,
      seeds: 1,
      datasets: [datasetSize('cifar10-jpeg')],
      measured,
      workers: TWO_CORES,
    });
    const rewinds = part.experiments(0, 'cifar10-jpeg', budget).map(({ label, spec }) => {
      const resolved = resolveSpec(spec);
      const k = Number(/^(\d+)it$/.exec(resolved.pruning.rewind)![1]);
      // dense from 0; each level: the ticket from k, the re-initialisation from 0
      const trainings =
        budget.iterations + budget.levels * (budget.iterations - k + budget.iterations);
      // the analyses at the experiment's own k, its θ_k stored: two copies from k to the end
      // of the dense network and of the last level's ticket, and of its re-initialisation at 0
      const copies = 2 * (budget.iterations - k) * (k === 0 ? 3 : 2);
      expect(plan.experiments.find((e) => e.label === label)!.iterations).toBe(trainings + copies);
      return k;
    });
    // 2,000 of the paper's 62,500 iterations, scaled to 3,000
    expect(rewinds).toEqual([0, 96]);
  });

  it("counts an instability analysis's θ_k retraining only where the experiment did not store θ_k", () => {
    const dataset = datasetSize('mnist-10k');
    const rewinds = [0, 100, 400];
    const analyses = {
      tickets: [
        { level: 0, method: 'dense' as const, rewinds },
        { level: 1, method: 'imp' as const, rewinds },
      ],
      points: 5,
    };
    const plan = (rewind: string) =>
      planExperiment(
        'imp',
        resolveSpec({
          model: 'lenet-300-100',
          dataset: 'mnist-10k',
          training: { duration: '1000it', evalEvery: 500 },
          pruning: { levels: 1, rewind },
        }),
        dataset,
        null,
        TWO_CORES,
        { analyses },
      );
    // 2 IMP trainings; per ticket: 2 copies from 0, θ_100 and 2 copies, θ_400 and 2 copies
    const reset = plan('0it');
    const copies = 2 * (1000 + 900 + 600);
    expect(reset).toMatchObject({ runs: 2 + 2 * 8, analyses: 6 });
    expect(reset.iterations).toBe(1000 + 1000 + 2 * (copies + 100 + 400));
    // rewound to 400: the ticket trains from there, and θ_400 is the experiment's own
    const rewound = plan('400it');
    expect(rewound.runs).toBe(2 + 2 * 7);
    expect(rewound.iterations).toBe(1000 + 600 + 2 * (copies + 100));
    // the ticket evaluates 3 times either way (at its start, at 500, at its end); the two
    // θ_400 retrainings twice each (their start and end)
    const val = Math.round(dataset.train * 0.1);
    expect(reset.evaluatedExamples - rewound.evaluatedExamples).toBe(2 * 2 * (val + dataset.test));
  });

  it("counts a line's points as its test set, and a batch-norm model's also as its statistics' recompute batches", () => {
    const dataset = datasetSize('cifar10-jpeg');
    const examplesOfTwoMorePoints = (model: 'conv-2' | 'resnet-20') => {
      const spec = resolveSpec({
        model,
        dataset: 'cifar10-jpeg',
        training: { duration: '200it', evalEvery: 100, batchSize: 64 },
        pruning: { levels: 1 },
      });
      const plan = (points: number) =>
        planExperiment('imp', spec, dataset, null, TWO_CORES, {
          analyses: { tickets: [{ level: 1, method: 'imp' as const, rewinds: [0, 50] }], points },
        });
      return plan(5).evaluatedExamples - plan(3).evaluatedExamples;
    };
    // two lines, two more points each
    expect(examplesOfTwoMorePoints('conv-2')).toBe(2 * 2 * dataset.test);
    expect(examplesOfTwoMorePoints('resnet-20')).toBe(
      2 * 2 * (dataset.test + BN_RECOMPUTE_BATCHES * 64),
    );
  });

  it("scales with the record's samples/s, and from a measured model by FLOPs where a model was not measured", () => {
    const part = findPart('fc2019-lenet');
    const faster = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(faster, 'engine-2026-12-02T0700', [
      { model: 'lenet-300-100', samplesPerSecond: 3 * LENET_SPEED },
    ]);
    const slow = planPart(part, { ...options, measured }).experiments[0]!.hours!;
    const fast = planPart(part, { ...options, measured: readEngineSpeeds(faster) });
    expect(fast.experiments[0]!.hours).toBeCloseTo(slow / 3, 10);

    // Conv-2/4/6 with only Conv-4 measured: the others at its speed times its FLOPs over theirs
    const conv = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(conv, 'engine-2026-12-02T0700', [
      { model: 'lenet-300-100', samplesPerSecond: LENET_SPEED },
      { model: 'conv-4', samplesPerSecond: 80 },
    ]);
    const cifar = datasetSize('cifar10-jpeg');
    const plan = planPart(findPart('fc2019-conv'), {
      ...options,
      datasets: [cifar],
      measured: readEngineSpeeds(conv),
    });
    const flops = (m: 'conv-2' | 'conv-4' | 'conv-6') =>
      flopsPerExample(m, cifar.inputShape, cifar.classes);
    for (const model of ['conv-2', 'conv-6'] as const) {
      const speed = plan.speeds.find((s) => s.model === model)!;
      expect(speed.samplesPerSecond).toBeCloseTo((80 * flops('conv-4')) / flops(model), 6);
      expect(speed.source).toMatch(/^scaled from conv-4 /);
    }
    expect(plan.speeds.find((s) => s.model === 'conv-4')!.source).toMatch(/^measured \(/);
  });

  it("takes the speed measured at a job's threads where the record has it, of the same machine state", () => {
    const part = findPart('fc2019-lenet');
    /** a LeNet-300-100 row at `factor` times LENET_SPEED */
    const lenet = (factor: number, label?: string) => ({
      model: 'lenet-300-100',
      samplesPerSecond: factor * LENET_SPEED,
      label,
    });
    // one thread measured faster than two (oneDNN's threads cost more than they gain on LeNet);
    // a state without its default row says nothing
    const both = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(both, 'engine-2026-12-02T0700', [
      lenet(1),
      lenet(1.5, 'wasm default at 1 thread, onednn'),
      lenet(9, 'wasm default at 1 thread, fresh'),
    ]);
    const halved = planPart(part, { ...options, measured }).experiments[0]!.hours!;
    const plan = planPart(part, { ...options, measured: readEngineSpeeds(both) });
    // half of the 2-thread speed without the row; the measured 1.5× with it: 3× faster
    expect(plan.experiments[0]!.hours).toBeCloseTo(halved / 3, 10);
    expect(plan.speeds[0]!.atThreads).toEqual({ 1: 1.5 * LENET_SPEED });
    // measured in another build: its share of that build's default, applied to the best build's
    const otherBuild = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(otherBuild, 'engine-2026-12-02T0700', [
      lenet(1),
      lenet(2, 'wasm default, openblas'),
      lenet(3, 'wasm default at 1 thread, openblas'),
    ]);
    const [speed] = readEngineSpeeds(otherBuild);
    expect(speed!.state).toBe('onednn');
    expect(speed!.atThreads).toEqual({ 1: 1.5 * LENET_SPEED });
    // at two threads a job still takes the record's default
    const twoThreads = planPart(part, {
      ...options,
      workers: { cores: 2, concurrency: 1, threads: 2 },
      measured: readEngineSpeeds(both),
    });
    expect(twoThreads.experiments[0]!.hours).toBeCloseTo(halved / 2, 10);
  });

  it('scales a model from the measured one with the same layer kinds', () => {
    const all = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(all, 'engine-2026-12-02T0700', [
      { model: 'lenet-300-100', samplesPerSecond: LENET_SPEED },
      { model: 'conv-4', samplesPerSecond: 80 },
      { model: 'vgg-11', samplesPerSecond: 26 },
      { model: 'resnet-20', samplesPerSecond: 259 },
    ]);
    const speeds = readEngineSpeeds(all);
    const options = { budget: { iterations: 10 }, seeds: 1, measured: speeds, workers: TWO_CORES };
    const source = (part: string, folder: string, model: string) =>
      planPart(findPart(part), { ...options, datasets: [datasetSize(folder)] }).speeds.find(
        (s) => s.model === model,
      )!.source;
    // LeNet-5 has convolutions (like Conv-4, unlike LeNet-300-100); VGG-16 batch norm like VGG-11
    expect(source('louizos2017-bc', 'mnist', 'lenet-5')).toMatch(/^scaled from conv-4 /);
    expect(source('tanaka2020-vgg16', 'cifar10-jpeg', 'vgg-16')).toMatch(/^scaled from vgg-11 /);
  });

  it('takes each model from the newest record that measured it, up to the record named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(dir, 'engine-2026-12-01T2200', [
      { model: 'lenet-300-100', samplesPerSecond: 1000 },
      { model: 'conv-4', samplesPerSecond: 50 },
    ]);
    engineRecord(dir, 'engine-2026-12-02T0100', [
      { model: 'conv-4', samplesPerSecond: 80 },
      { model: 'conv-4', samplesPerSecond: 60, label: 'wasm default, openblas' },
    ]);
    const speed = (upTo?: string) =>
      new Map(readEngineSpeeds(dir, upTo).map((s) => [s.model, [s.samplesPerSecond, s.record]]));
    expect(speed()).toEqual(
      new Map([
        ['conv-4', [80, 'engine-2026-12-02T0100']],
        ['lenet-300-100', [1000, 'engine-2026-12-01T2200']],
      ]),
    );
    expect(speed('engine-2026-12-01T2200').get('conv-4')).toEqual([50, 'engine-2026-12-01T2200']);
    expect(() => readEngineSpeeds(dir, 'engine-2026-12-01T2300')).toThrow(/no bench:engine record/);
  });

  it('names the speeds measured on another CPU than the one the plan is for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(
      dir,
      'engine-2026-12-01T2200',
      [{ model: 'conv-2', samplesPerSecond: 80 }],
      'CPU A',
    );
    engineRecord(
      dir,
      'engine-2026-12-02T0100',
      [{ model: 'conv-4', samplesPerSecond: 50 }],
      'CPU B',
    );
    const plan = planPart(findPart('fc2019-conv'), {
      budget: { iterations: 100, levels: 1 },
      seeds: 1,
      datasets: [datasetSize('cifar10-jpeg')],
      measured: readEngineSpeeds(dir),
      workers: TWO_CORES,
    });
    const notes = (here?: string) =>
      formatPlan(plan, here).filter((line) => line.includes('not on this machine'));
    // conv-6 is scaled from conv-4, so measured where conv-4 was
    expect(notes('CPU B')).toEqual([
      '  conv-2: priced from bench:engine on CPU A, not on this machine (CPU B); `npm run bench:engine` here measures this one (the newest record of a model prices it)',
    ]);
    expect(notes('CPU C')).toEqual([
      expect.stringMatching(
        /^ {2}conv-2: priced from bench:engine on CPU A, not on this machine \(CPU C\);/,
      ),
      expect.stringMatching(
        /^ {2}conv-4, conv-6: priced from bench:engine on CPU B, not on this machine \(CPU C\);/,
      ),
    ]);
    expect(notes('CPU A')).toHaveLength(1);
    expect(notes()).toEqual([]);
  });

  it("counts a gated training at the measured share of its gates' training (at a job's threads where measured), else tfjs's kernels', a slimming search at the native step's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ticketlab-engine-'));
    engineRecord(dir, 'engine-2026-12-02T0700', [
      { model: 'lenet-300-100', samplesPerSecond: 2000, label: 'wasm default, fresh' },
      { model: 'lenet-300-100', samplesPerSecond: 500, label: 'wasm tfjs-kernels, fresh' },
    ]);
    const part = findPart('louizos2018-l0');
    const budget = { iterations: 200 };
    const dataset = datasetSize('mnist');
    const plan = planPart(part, {
      budget,
      seeds: 1,
      datasets: [dataset],
      measured: readEngineSpeeds(dir),
      workers: TWO_CORES,
    });
    const spec = resolveSpec(part.experiments(0, 'mnist', budget)[0]!.spec);
    const val = Math.round(dataset.train * spec.validationFraction);
    const batch = spec.training.batchSize;
    const evaluated = evaluationPoints(0, 200, spec.training.evalEvery) * (val + dataset.test);
    // the gated training on tfjs's kernels at a quarter of the speed, evaluating on them too
    // (a forward pass of its own step); one compacted model (one level) fine-tuned for as
    // long on the native step; a job at half the record's speed
    const perJob = 2000 / 2;
    const training = (samplesPerSecond: number) =>
      (200 * batch + evaluated * FORWARD_SHARE) / samplesPerSecond;
    const compacted = training(perJob);
    const seconds = training(perJob / 4) + compacted;
    const [experiment] = plan.experiments;
    expect(experiment!.runs).toBe(2);
    expect(experiment!.tfjsKernelRuns).toBe(1);
    expect(experiment!.hours).toBeCloseTo(seconds / 3600, 10);
    const slimming = planPart(findPart('liu2017-slimming'), {
      budget,
      seeds: 1,
      datasets: [datasetSize('cifar10-jpeg')],
      measured: readEngineSpeeds(dir),
      workers: TWO_CORES,
    });
    expect(slimming.experiments.map((e) => e.tfjsKernelRuns)).toEqual([0]);

    // bench:engine's training with LeNet-300-100's l0 gates, at a fifth: it replaces the share
    // of tfjs's kernels without gates for l0's search, and only for l0's
    engineRecord(dir, 'engine-2026-12-02T0800', [
      { model: 'lenet-300-100', samplesPerSecond: 2000, label: 'wasm default, fresh' },
      { model: 'lenet-300-100', samplesPerSecond: 500, label: 'wasm tfjs-kernels, fresh' },
      { model: 'lenet-300-100', samplesPerSecond: 400, label: 'wasm gated, fresh' },
    ]);
    const measured = readEngineSpeeds(dir);
    expect(measured[0]!.gated).toEqual({ method: 'l0', share: 0.2, atThreads: {} });
    const gated = planPart(part, {
      budget,
      seeds: 1,
      datasets: [dataset],
      measured,
      workers: TWO_CORES,
    });
    expect(gated.experiments[0]!.hours).toBeCloseTo((training(perJob / 5) + compacted) / 3600, 10);
    const otherGates = {
      ...measured[0]!,
      gated: { method: 'bayesian' as const, share: 0.2, atThreads: {} },
    };
    const ungated = planPart(part, {
      budget,
      seeds: 1,
      datasets: [dataset],
      measured: [otherGates],
      workers: TWO_CORES,
    });
    expect(ungated.experiments[0]!.hours).toBeCloseTo(seconds / 3600, 10);

    // the gated training measured at one thread too: a one-thread job takes its share of the
    // one-thread native step (600 of 1,500 samples/s), not the share at two threads (a fifth)
    engineRecord(dir, 'engine-2026-12-02T0900', [
      { model: 'lenet-300-100', samplesPerSecond: 2000, label: 'wasm default, fresh' },
      { model: 'lenet-300-100', samplesPerSecond: 1500, label: 'wasm default at 1 thread, fresh' },
      { model: 'lenet-300-100', samplesPerSecond: 400, label: 'wasm gated, fresh' },
      { model: 'lenet-300-100', samplesPerSecond: 600, label: 'wasm gated at 1 thread, fresh' },
    ]);
    const atOneThread = readEngineSpeeds(dir);
    expect(atOneThread[0]!.gated).toEqual({ method: 'l0', share: 0.2, atThreads: { 1: 0.4 } });
    const oneThread = planPart(part, {
      budget,
      seeds: 1,
      datasets: [dataset],
      measured: atOneThread,
      workers: TWO_CORES,
    });
    expect(oneThread.experiments[0]!.hours).toBeCloseTo(
      (training(600) + training(1500)) / 3600,
      10,
    );
  });

  it("retrains a gated part's compacted models for 2 epochs, fewer iterations only under a test-sized budget", () => {
    const fineTune = (iterations: number) =>
      resolveSpec(findPart('louizos2017-bc').experiments(0, 'mnist', { iterations })[0]!.spec)
        .structured.fineTune;
    expect(fineTune(22_000)).toBe('2ep');
    expect(fineTune(1_100)).toBe('2ep');
    expect(fineTune(1_099)).toBe('1099it');
  });

  it("prices a compacted model's retraining at the speed-up the campaign's records measured for its model, method and setting", () => {
    const part = findPart('liu2017-slimming');
    const budget = { iterations: 250 };
    const dataset = datasetSize('cifar10-jpeg');
    const spec = resolveSpec(partExperiments(part, 0, dataset.folder, budget)[0]!.spec);
    expect(spec.structured.rates).toEqual([0.5, 0.7]);
    /**
     * A record in the records folder `root` of the part's experiment (with `other`'s
     * changes to its spec): its levels' speed-ups.
     */
    const record = (
      root: string,
      name: string,
      speedups: number[],
      other: Record<string, unknown> = {},
    ) => {
      const folder = join(root, 'campaign', part.name);
      mkdirSync(folder, { recursive: true });
      const tickets = [1, ...speedups].map((speedup, level) => ({
        level,
        method: level === 0 ? 'dense' : 'slimming',
        structure: level === 0 ? undefined : { speedup },
      }));
      const r = { dataset: { folder: dataset.folder }, spec: { ...spec, ...other }, tickets };
      writeFileSync(join(folder, `${name}.json`), JSON.stringify(r));
    };
    const campaign = mkdtempSync(join(tmpdir(), 'ticketlab-campaign-'));
    // three seeds at both rates: the medians are 3 at 50% and 5 at 70%
    record(campaign, 'seed0', [2, 5]);
    record(campaign, 'seed1', [4, 6]);
    record(campaign, 'seed2', [3, 4]);
    // another model's and another rate's compacted models say nothing of these
    record(campaign, 'vgg-11', [100, 100], { model: 'vgg-11' });
    const rates = (r: number[]) => ({ structured: { ...spec.structured, rates: r } });
    record(campaign, 'rates', [100, 100], rates([0.3, 0.4]));
    const partPlan = (compacted?: Map<string, number>) =>
      planPart(part, {
        budget,
        seeds: 1,
        datasets: [dataset],
        measured,
        workers: TWO_CORES,
        compacted,
      });
    const plan = (compacted?: Map<string, number>) => partPlan(compacted).experiments[0]!;
    const line = (compacted?: Map<string, number>) => formatPlan(partPlan(compacted)).join('\n');
    const dense = plan();
    const priced = plan(readCompactedSpeedups(campaign));
    // the dense training and each retraining are 250 iterations evaluated at their start and end:
    // a third of the experiment each at the dense speed, that third over the speed-up compacted
    const third = dense.hours! / 3;
    expect(priced.hours).toBeCloseTo(third * (1 + 1 / 3 + 1 / 5), 10);
    expect(priced.compactedRuns).toEqual({ priced: 2, all: 2 });
    expect(dense.compactedRuns).toEqual({ priced: 0, all: 2 });
    // what is counted stays as it was
    expect({ ...priced, hours: 0, compactedRuns: 0 }).toEqual({
      ...dense,
      hours: 0,
      compactedRuns: 0,
    });
    expect(line(readCompactedSpeedups(campaign))).toMatch(
      /compacted models at the inference speed-up the campaign's records measured/,
    );
    expect(line()).toMatch(/compacted models at the dense model's speed \(no record/);
    // with a record at 50% only, the 70% model is priced at the dense speed, and the line says so
    const half = mkdtempSync(join(tmpdir(), 'ticketlab-campaign-'));
    record(half, 'seed0', [3], rates([0.5]));
    expect(plan(readCompactedSpeedups(half)).hours).toBeCloseTo(third * (1 + 1 / 3 + 1), 10);
    expect(line(readCompactedSpeedups(half))).toMatch(
      /1 of 2 compacted models at the inference speed-up .*, the others at the dense model's speed/,
    );
  });

  it("plans a transfer part's experiments on each dataset, and their tickets' transfers to the other, each queued when its source ends", () => {
    const part = findPart('morcos2019-transfer');
    const budget = { iterations: 2000, levels: 3 };
    const [mnist, fashion] = [datasetSize('mnist'), datasetSize('fashion-mnist')];
    // as on a cluster, a worker for every experiment: each transfer still waits for its source
    const workers = { cores: 8, concurrency: 8, threads: 1 };
    const plan = planPart(part, {
      budget,
      seeds: 1,
      datasets: [mnist, fashion],
      measured,
      workers,
    });
    // the part transfers a third, two thirds and all of the levels: 1, 2 and 3 of 3
    const stages = (source: string, target: string, index: number) => [
      { label: `${source}-imp`, dataset: source, after: undefined },
      ...[1, 2, 3].map((level) => ({
        label: `${source}-imp-level${level}-to-${target}`,
        dataset: target,
        after: index,
      })),
    ];
    expect(
      plan.experiments.map(({ label, dataset, after }) => ({ label, dataset, after })),
    ).toEqual([...stages('mnist', 'fashion-mnist', 0), ...stages('fashion-mnist', 'mnist', 4)]);
    // a source: the dense network and 3 IMP tickets; a transfer: the transferred ticket and
    // the random ticket beside it, each the whole 2,000 iterations on the target
    const spec = resolveSpec(part.experiments(0, 'mnist', budget)[0]!.spec);
    const val = Math.round(fashion.train * spec.validationFraction);
    const evaluations = evaluationPoints(0, 2000, spec.training.evalEvery);
    const source = plan.experiments[0]!;
    const transfer = plan.experiments[1]!;
    expect(source.runs).toBe(4);
    expect([transfer.runs, transfer.iterations, transfer.evaluations]).toEqual([
      2,
      2 * 2000,
      2 * evaluations,
    ]);
    expect(transfer.evaluatedExamples).toBe(2 * evaluations * (val + fashion.test));
    // both sources side by side, then the six transfers side by side
    expect(plan.wallHours).toBeCloseTo(source.hours! + transfer.hours!, 10);
    // one dataset has nothing to transfer to
    expect(() =>
      planPart(part, { budget, seeds: 1, datasets: [mnist], measured, workers }),
    ).toThrow('morcos2019-transfer transfers tickets between datasets: name two or more');
  });
});

const present = Object.keys(DATASET_SIZES).filter((f) => existsSync(join(SHARED, f)));
describe.skipIf(present.length === 0)('the dataset sizes a plan assumes', () => {
  it.each(present)("are %s's as its files hold them", async (folder) => {
    const decoded = await importDatasetFolder(join(SHARED, folder));
    expect(datasetSize(folder)).toEqual({
      folder,
      train: decoded.train.count,
      test: decoded.test.count,
      inputShape: decoded.inputShape,
      classes: decoded.classNames.length,
    });
  });
});

describe('bench:campaign --plan', () => {
  it('prints the plan and its estimate, and trains nothing', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'ticketlab-campaign-')), 'data');
    const run = spawnSync(
      process.execPath,
      [
        ...['--import', 'tsx', 'bench/campaign.ts', '--plan', '--part', 'fc2019-lenet'],
        ...['--seeds', '2', '--iterations', '250', '--levels', '2', '--concurrency', '2'],
        ...['--dataset', 'mnist-10k', '--data-dir', dataDir],
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const spec = resolveSpec(
      findPart('fc2019-lenet').experiments(0, 'mnist-10k', { iterations: 250, levels: 2 })[0]!.spec,
    );
    const runs = 2 * (1 + 2 * 3);
    expect(run.stdout).toContain(
      `2 experiments, ${runs} trainings, ${(runs * 250).toLocaleString('en-US')} iterations, ${(runs * 250 * spec.training.batchSize).toLocaleString('en-US')} training samples`,
    );
    expect(run.stdout).toMatch(
      /speed: lenet-300-100: [\d,]+ samples\/s at \d threads?(, [\d,]+ at \d threads?)*, measured \(engine-/,
    );
    expect(run.stdout).toMatch(
      /estimate: [\d.]+ h of jobs, [\d.]+ h from start to end with 2 at a time/,
    );
    expect(existsSync(dataDir)).toBe(false);

    // on a Slurm target: every job at once, each on the target's cores; a bad target refused
    const targets = mkdtempSync(join(tmpdir(), 'ticketlab-targets-'));
    const plan = (target: object) => {
      const file = join(targets, `${Object.keys(target).join('-')}.json`);
      writeFileSync(file, JSON.stringify(target));
      return spawnSync(
        process.execPath,
        [
          ...['--import', 'tsx', 'bench/campaign.ts', '--plan', '--part', 'fc2019-lenet'],
          ...['--seeds', '5', '--iterations', '250', '--levels', '2', '--target', file],
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
      );
    };
    const slurm = plan({ kind: 'slurm', cpusPerTask: 4 });
    expect(slurm.status, slurm.stderr).toBe(0);
    expect(slurm.stdout).toMatch(/from start to end with 5 at a time on 4 of 20 cores each/);
    const refused = plan({ kind: 'slurm', cpusPerTask: 0, x: 1 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^--target .*: /);

    // some of a part's experiments at some compressions; a label it has not, refused
    const some = (only: string) =>
      spawnSync(
        process.execPath,
        [
          ...['--import', 'tsx', 'bench/campaign.ts', '--plan', '--part', 'tanaka2020-conv4'],
          ...['--iterations', '500', '--compressions', '0.5', '--only', only],
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
      );
    const chosen = some('grasp,snip');
    expect(chosen.status, chosen.stderr).toBe(0);
    expect(chosen.stdout).toContain(
      'plan of tanaka2020-conv4 at reduced budget (500 iterations, compression 10^0.5), only grasp, snip, 3 seeds',
    );
    expect(chosen.stdout).toContain('6 experiments, 9 trainings, 4,500 iterations');
    expect(chosen.stdout).toContain(
      'grasp (conv-4), each seed: 1 training (its dense network copied from an earlier one), 500 iterations',
    );
    const unknown = some('grasp,imp');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('tanaka2020-conv4 has no experiment "imp"');
    // a mistyped option (--labels for --only) is refused, not ignored for the whole part
    const mistyped = spawnSync(
      process.execPath,
      [
        ...['--import', 'tsx', 'bench/campaign.ts', '--plan', '--part', 'tanaka2020-conv4'],
        ...['--labels', 'grasp', '--seed', '2'],
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(mistyped.status).toBe(2);
    expect(mistyped.stderr).toMatch(/^bench:campaign: unknown options --labels, --seed\./);
    expect(mistyped.stdout).toBe('');

    // every part when none is named
    const all = spawnSync(process.execPath, ['--import', 'tsx', 'bench/campaign.ts', '--plan'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(all.status, all.stderr).toBe(0);
    for (const part of PARTS)
      expect(all.stdout).toContain(`plan of ${part.name} at the paper's budget`);
  });
});
