import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARTS } from '../../bench/campaign/parts.ts';
import type { CampaignRecord } from '../../bench/campaign/record.ts';
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
});
