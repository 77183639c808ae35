import { describe, expect, it } from 'vitest';
import {
  checkControls,
  METHOD_SPECS,
  methodsPerLevel,
  plannedRuns,
  runShares,
  runsInJob,
} from '../../src/api/methods.ts';
import { specHash } from '../../src/api/spec-hash.ts';
import { canonicalSpec, resolveSpec } from '../../src/api/spec.ts';
import { METHOD_NAMES } from '../../src/core/vocabulary.ts';
import { METHOD_RUNNERS } from '../../src/jobs/methods/registry.ts';

/**
 * One spec per experiment method, with the hash, run count and per-level runs it had
 * before the method registry existed (computed then, at commit e7c8ccc): identities and
 * job shapes survive the move from if/else to the registry.
 */
const PINNED = [
  {
    spec: {
      model: 'lenet-300-100',
      method: 'imp',
      pruning: { levels: 3, rewind: '100it' },
      controls: { randomReinit: true },
    },
    hash: 'eec9f848f443bde6ba76904e0e1732fb526a8d15b187f6df05238ad6d77c0e29',
    runs: 7,
    level1: ['imp', 'random-reinit'],
  },
  {
    spec: { model: 'conv-2', method: 'oneshot', oneshot: { compressions: [0.5, 1] } },
    hash: '7bbdcb0a1f2a1712a2d1aeb14f1e73f0c43d0f972409eafb4d2f1b1c1b4d994c',
    runs: 3,
    level1: ['oneshot'],
  },
  {
    spec: {
      model: 'lenet-300-100',
      method: 'pai',
      pai: { score: 'snip', compressions: [1, 2] },
      controls: { randomPrune: true },
    },
    hash: '39fd9718cbc0e74c5b2fcd6462f28a795b9147f78cd9645047572d26c2b0ba65',
    runs: 5,
    level1: ['snip', 'random-prune'],
  },
  {
    spec: { model: 'lenet-300-100', method: 'transfer', transfer: { source: 'tkt_source' } },
    hash: '6fc46deb6016e6bf14fc78735c1ffa4697ff30763195b0f34eedcbabe1d8e8df',
    runs: 1,
    level1: ['transfer'],
  },
  {
    spec: {
      model: 'vgg-11',
      method: 'structured',
      structured: { method: 'pca', energies: [0.9, 0.8] },
    },
    hash: '4753fdc5846c1aa2640a6de21dd25eaea57e4b323ac72c175d040af70e2e1829',
    runs: 3,
    level1: ['pca'],
  },
] as const;

describe('the method registry', () => {
  it('pins one spec per method: hash, runs and the runs of a pruned level', () => {
    expect(PINNED.map((p) => p.spec.method).sort()).toEqual([...METHOD_NAMES].sort());
    for (const p of PINNED) {
      const spec = resolveSpec(p.spec);
      expect(specHash(spec), canonicalSpec(spec)).toBe(p.hash);
      expect(runsInJob(spec)).toBe(p.runs);
      expect(methodsPerLevel(spec, 1)).toEqual(p.level1);
      expect(methodsPerLevel(spec, 0)).toEqual(p.spec.method === 'transfer' ? [] : ['dense']);
    }
  });

  it('plans each run of a job with the iterations its runner trains', () => {
    // 4 epochs of 50 iterations
    const spans = (spec: object) =>
      plannedRuns(resolveSpec({ ...spec, training: { duration: '4ep' } }), 50).map(
        (r) => `${r.level}/${r.method} ${r.start}-${r.end}`,
      );
    for (const p of PINNED) expect(spans(p.spec)).toHaveLength(p.runs);
    // IMP rewound to 100it: the ticket from 100, the fresh re-initialisation from 0
    expect(spans(PINNED[0].spec).slice(0, 3)).toEqual([
      '0/dense 0-200',
      '1/imp 100-200',
      '1/random-reinit 0-200',
    ]);
    // a structured level retrains its compacted model for structured.fineTune
    const pca = PINNED[4].spec;
    expect(spans({ ...pca, structured: { ...pca.structured, fineTune: '30it' } })).toEqual([
      '0/dense 0-200',
      '1/pca 0-30',
      '2/pca 0-30',
    ]);
  });

  it("gives each run its planned iterations' share of the job, in the runners' order", () => {
    const shares = (spec: object) =>
      runShares(resolveSpec({ ...spec, training: { duration: '4ep' } }), 50);
    for (const p of PINNED) {
      const all = shares(p.spec);
      expect(all.map((r) => `${r.level}/${r.method}`)).toEqual(
        plannedRuns(resolveSpec({ ...p.spec, training: { duration: '4ep' } }), 50).map(
          (r) => `${r.level}/${r.method}`,
        ),
      );
      // back to back from 0 to 1
      all.forEach((r, i) =>
        expect(r.before).toBeCloseTo(i === 0 ? 0 : all[i - 1]!.before + all[i - 1]!.share, 12),
      );
      expect(all.at(-1)!.before + all.at(-1)!.share).toBeCloseTo(1, 12);
    }
    // IMP rewound to 100it with random re-initialisation: the dense 200, then each level's
    // ticket from 100 and its re-initialisation from 0
    const imp = shares(PINNED[0].spec).slice(0, 4);
    const total = shares(PINNED[0].spec).reduce((n, r) => n + (r.end - r.start), 0);
    expect(imp.map((r) => r.share * total)).toEqual(
      [200, 100, 200, 100].map((n) => expect.closeTo(n, 9)),
    );
    // a transfer trains one run: the whole job
    expect(shares(PINNED.find((p) => p.spec.method === 'transfer')!.spec)).toMatchObject([
      { before: 0, share: 1 },
    ]);
    // a structured search of 200 iterations beside retrainings of 30 each
    const pca = PINNED[4].spec;
    const structured = shares({ ...pca, structured: { ...pca.structured, fineTune: '30it' } });
    expect(structured.map((r) => r.share)).toEqual(
      [200, 30, 30].map((n) => expect.closeTo(n / 260, 12)),
    );
  });

  it('trains the controls only at the levels a spec names, and refuses levels it does not prune', () => {
    const base = {
      model: 'lenet-300-100',
      pruning: { levels: 3 },
      controls: { randomReinit: true, randomPrune: true },
    };
    const some = resolveSpec({ ...base, controls: { ...base.controls, levels: [2, 3] } });
    expect([0, 1, 2, 3].map((level) => methodsPerLevel(some, level))).toEqual([
      ['dense'],
      ['imp'],
      ['imp', 'random-reinit', 'random-prune'],
      ['imp', 'random-reinit', 'random-prune'],
    ]);
    expect(runsInJob(some)).toBe(8);
    expect(runsInJob(resolveSpec(base))).toBe(10);
    // a spec without the field keeps its identity; one with it is another experiment
    expect(canonicalSpec(resolveSpec(base))).not.toMatch(/levels":\[/);
    expect(specHash(some)).not.toBe(specHash(resolveSpec(base)));
    expect(() =>
      checkControls(resolveSpec({ ...base, controls: { ...base.controls, levels: [3, 4, 5] } })),
    ).toThrow(/spec\.controls\.levels: 4, 5 are past the last pruned level \(3\)/);
    // the levels of pruning at initialisation are its compressions
    const pai = resolveSpec({
      model: 'lenet-300-100',
      method: 'pai',
      pai: { compressions: [1, 2] },
      controls: { randomPrune: true, levels: [2] },
    });
    expect([1, 2].map((level) => methodsPerLevel(pai, level))).toEqual([
      ['synflow'],
      ['synflow', 'random-prune'],
    ]);
  });

  it('has a spec entry and a runner for every method name', () => {
    expect(Object.keys(METHOD_SPECS).sort()).toEqual([...METHOD_NAMES].sort());
    expect(Object.keys(METHOD_RUNNERS).sort()).toEqual([...METHOD_NAMES].sort());
  });

  it('names experiments by their method', () => {
    const spec = resolveSpec({ model: 'lenet-300-100', method: 'pai', pai: { score: 'grasp' } });
    expect(METHOD_SPECS[spec.method].label(spec)).toBe('grasp');
  });
});
