import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARTS } from '../../bench/campaign/parts.ts';
import type { CampaignRecord, TicketRecord } from '../../bench/campaign/record.ts';
import { resolveSpec } from '../../src/api/spec.ts';
import {
  BENCHMARKS,
  compare,
  readCampaign,
  renderBenchmarks,
  type UiRecord,
} from '../../bench/report.ts';
import { thisMachine, theseVersions } from '../../bench/records.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MNIST = join(ROOT, '..', 'shared', 'datasets', 'mnist-10k');

describe('BENCHMARKS.md', () => {
  it('has every generated table as the records in bench/records give it', async () => {
    const committed = readFileSync(BENCHMARKS, 'utf8');
    expect(committed).toMatch(/<!-- report: /);
    expect(await renderBenchmarks(committed)).toBe(committed);
  });

  it("cites every campaign part, and every part's experiments are valid specs", () => {
    const committed = readFileSync(BENCHMARKS, 'utf8');
    for (const part of PARTS) {
      expect(committed).toContain(`<!-- report: campaign ${part.name} -->`);
      for (const { spec } of part.experiments(0, 'ds_000000000000', {}))
        expect(() => resolveSpec(spec)).not.toThrow();
    }
  });

  it('tabulates a bench:ui record, saying its records are synthetic; a changed record changes the table', async () => {
    const records = mkdtempSync(join(tmpdir(), 'ticketlab-records-'));
    // 16, 17, 18 and 19 ms ten times each: the median falls between 17 and 18
    const frames = Array.from({ length: 40 }, (_, i) => 16 + (i % 4));
    const record: UiRecord = {
      date: '2026-12-02T04:00:00.000Z',
      command: 'npm run bench:ui -- --experiments 500',
      machine: thisMachine(),
      versions: theseVersions(),
      browser: 'Chromium 140',
      viewport: { width: 1440, height: 900 },
      synthetic: true,
      experiments: 551,
      tickets: 3997,
      seedMs: 2500,
      firstPaintMs: [300, 280, 320],
      listLoadMs: [900, 850, 1000],
      scrollFrameMs: frames,
      searchMs: [200, 210, 190],
      searchMatches: 50,
      pickerOpenMs: [700, 650, 720],
      pickerSearchMs: [60, 70, 65],
      lineage: {
        tickets: 1997,
        firstRenderMs: [800, 820, 790],
        panFrameMs: frames,
        zoomFrameMs: frames,
      },
      compare: { experiments: 50, renderMs: [400, 420, 410], reducerFrameMs: frames },
    };
    const file = join(records, 'ui-test.json');
    writeFileSync(file, JSON.stringify(record));
    const section = '# x\n\n<!-- report: ui ui-test -->\n<!-- /report -->\n';
    const rendered = await renderBenchmarks(section, records);
    expect(rendered).toContain('Synthetic records: 551 experiments and 3,997 tickets');
    expect(rendered).toMatch(/\| first contentful paint +\| 300 ms \(280 ms–320 ms\), n=3 +\|/);
    expect(rendered).toMatch(
      /experiments list loaded \(551 rows reachable\).*\| 900 ms \(850 ms–1000 ms\)/,
    );
    expect(rendered).toMatch(/scrolling the list.*\| median 17\.5 ms, p95 19\.0 ms \(40 frames\)/);
    writeFileSync(file, JSON.stringify({ ...record, firstPaintMs: [500, 510, 490] }));
    expect(await renderBenchmarks(section, records)).toMatch(/first contentful paint +\| 500 ms/);
  });

  it('calls a difference inside the seed spread a tie, and decides nothing on one seed', () => {
    expect(compare([0.97, 0.98], [0.95, 0.96])).toBe('better');
    expect(compare([0.95, 0.96], [0.97, 0.98])).toBe('worse');
    expect(compare([0.95, 0.975], [0.97, 0.98])).toBe('tie');
    expect(compare([0.99], [0.5])).toBe('–');
  });
});

describe('a structured table', () => {
  // records as bench:campaign writes them, for two seeds of both you2020-earlybird labels
  const records = mkdtempSync(join(tmpdir(), 'ticketlab-records-'));
  const folder = join(records, 'campaign', 'you2020-earlybird');
  mkdirSync(folder, { recursive: true });
  const ticket = (level: number, acc: number, units: number[], detected: number | null) =>
    ({
      level,
      method: level === 0 ? 'dense' : 'slimming',
      remainingWeights: 1,
      testAccuracy: acc,
      finalTestAccuracy: acc,
      earlyStopIteration: 10,
      wallTimeMs: 60_000,
      backend: 'wasm',
      structure: {
        remainingParams: level === 0 ? 1000 : 250,
        totalParams: 1000,
        speedup: level === 0 ? null : 2,
        units,
        earlyBird:
          level === 0
            ? []
            : [
                {
                  ratio: 0.5,
                  detectedEpoch: detected,
                  prunedEpoch: 8,
                  distancesToLast: [0.4, 0.3, 0.2, 0.1, 0.05, 0, 0, 0],
                },
              ],
      },
    }) satisfies TicketRecord;
  const write = (label: string, seed: number, tickets: TicketRecord[]) => {
    const [experiment] = PARTS.find((p) => p.name === 'you2020-earlybird')!
      .experiments(seed, 'ds_000000000000', { iterations: 40 })
      .filter((e) => e.label === label);
    const spec = resolveSpec({
      ...experiment!.spec,
      structured: { ...(experiment!.spec.structured as object), rates: [0.5] },
    });
    const record = {
      part: 'you2020-earlybird',
      label,
      seed,
      specHash: `h${seed}`,
      spec: spec as unknown as Record<string, unknown>,
      dataset: { id: 'ds_000000000000', folder: 'cifar10-jpeg', train: 10000, test: 2000 },
      tickets,
      machine: { cpu: 'cpu', cores: 2 },
      versions: { commit: 'a'.repeat(40), dirty: false },
      date: '2026-12-02T05:00:00.000Z',
      command: 'npm run bench:campaign -- --part you2020-earlybird',
    } as unknown as CampaignRecord;
    writeFileSync(join(folder, `${label}-seed${seed}.json`), JSON.stringify(record));
  };
  write('early-bird', 0, [ticket(0, 0.9, [], null), ticket(1, 0.8, [32, 64, 10], 5)]);
  write('early-bird', 1, [ticket(0, 0.91, [], null), ticket(1, 0.82, [30, 64, 10], 3)]);
  write('full-training', 0, [ticket(0, 0.9, [], null), ticket(1, 0.85, [32, 60, 10], 5)]);
  write('full-training', 1, [ticket(0, 0.91, [], null), ticket(1, 0.86, [32, 62, 10], null)]);

  it('gives the architecture, compression, speed-up, Early-Bird epoch and mask distance, against the reference label', async () => {
    const section = '# x\n\n<!-- report: campaign you2020-earlybird -->\n<!-- /report -->\n';
    const rendered = await renderBenchmarks(section, records);
    const row = (label: string) =>
      rendered
        .split('\n')
        .find((l) => new RegExp(`^\\| ${label} +\\| 1 `).test(l))!
        .split('|')
        .map((c) => c.trim());
    // method | level | removed | units | compression | accuracy | vs | speed-up | EB epoch | pruned at | distance
    expect(row('early-bird').slice(1, -1)).toEqual([
      'early-bird',
      '1',
      '50.00% of the channels',
      '[30–32]-64-10',
      '4.00×',
      '81.00 (80.00–82.00)',
      'worse',
      '2.00×',
      '4.0 (3–5)',
      '8',
      '0.125 (0.050–0.200)',
    ]);
    // a seed whose rule never fired is counted, and has no distance
    expect(row('full-training').slice(1, -1)).toEqual([
      'full-training',
      '1',
      '50.00% of the channels',
      '32-[60–62]-10',
      '4.00×',
      '85.50 (85.00–86.00)',
      '',
      '2.00×',
      '5, none in 1',
      '8',
      '0.050',
    ]);
    expect(rendered).toContain('40it of retraining per compacted model');
  });
});

describe.skipIf(!existsSync(MNIST))('bench:campaign', () => {
  const records = mkdtempSync(join(tmpdir(), 'ticketlab-records-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'ticketlab-campaign-'));
  const campaign = (...extra: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/campaign.ts',
        ...['--part', 'fc2019-lenet', '--seeds', '2', '--iterations', '40', '--levels', '1'],
        ...['--concurrency', '1', '--dataset', 'mnist-10k'],
        ...['--records', records, '--data-dir', dataDir, ...extra],
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 300_000 },
    );

  it('records each finished experiment once, continues what a time limit paused, and tabulates the records', async () => {
    // no time at all: whatever has not finished is paused in the data folder
    const first = campaign('--hours', '0');
    expect(first.status, first.stderr).toBe(0);
    const second = campaign();
    expect(second.status, second.stderr).toBe(0);
    const files = readdirSync(join(records, 'campaign', 'fc2019-lenet'));
    expect(files).toHaveLength(2);
    const third = campaign();
    expect(third.stdout.match(/recorded already/g)).toHaveLength(2);
    expect(readdirSync(join(records, 'campaign', 'fc2019-lenet'))).toEqual(files);

    const recorded = readCampaign(records, 'fc2019-lenet');
    expect(recorded.map((r) => r.seed).sort()).toEqual([0, 1]);
    for (const r of recorded) {
      expect(r.spec).toMatchObject({ seed: r.seed, training: { duration: '40it' } });
      expect(r.dataset).toMatchObject({ folder: 'mnist-10k', train: 8000 });
      expect(r.versions.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(r.command).toContain('--part fc2019-lenet');
      const methods = r.tickets.map((t) => `${t.level}/${t.method}`).sort();
      expect(methods).toEqual(['0/dense', '1/imp', '1/random-prune', '1/random-reinit']);
      for (const t of r.tickets) expect(t.testAccuracy).toBeGreaterThan(0.1);
    }

    const section = '# x\n\n<!-- report: campaign fc2019-lenet -->\n<!-- /report -->\n';
    const rendered = await renderBenchmarks(section, records);
    const imp = recorded.map((r) => r.tickets.find((t) => t.method === 'imp')!.testAccuracy!);
    const cell = `${((imp[0]! + imp[1]!) * 50).toFixed(2)} (${(Math.min(...imp) * 100).toFixed(2)}–${(Math.max(...imp) * 100).toFixed(2)})`;
    expect(rendered).toContain(cell);
    expect(rendered).toMatch(/2 seeds \(0, 1\)/);
    expect(rendered).toMatch(
      /\| 1 +\| [\d.]+% +\|.*\| (better|worse|tie) +\| (better|worse|tie) +\|/,
    );

    // a changed record changes the table
    const file = join(records, 'campaign', 'fc2019-lenet', files[0]!);
    const record = JSON.parse(readFileSync(file, 'utf8')) as CampaignRecord;
    record.tickets.find((t) => t.method === 'imp')!.testAccuracy = 0.5;
    writeFileSync(file, JSON.stringify(record));
    expect(await renderBenchmarks(section, records)).not.toContain(cell);
  });

  it("records a structured ticket's architecture, size and measured speed-up", () => {
    const run = campaign('--part', 'louizos2018-l0', '--seeds', '1', '--iterations', '10');
    expect(run.status, run.stderr).toBe(0);
    const [recorded] = readCampaign(records, 'louizos2018-l0');
    const gated = recorded!.tickets.find((t) => t.method === 'l0')!;
    // the input pixels kept (Louizos et al. gate them too), then LeNet-300-100's dense layers,
    // each with at most its units left
    expect(gated.structure!.units).toHaveLength(4);
    gated.structure!.units.forEach((u, i) =>
      expect(u).toBeLessThanOrEqual([784, 300, 100, 10][i]!),
    );
    expect(gated.structure!.totalParams).toBe(266_610);
    expect(gated.structure!.remainingParams).toBeLessThanOrEqual(266_610);
    expect(gated.structure!.speedup).toBeGreaterThan(0);
  });
});
