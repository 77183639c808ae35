import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { launchChromium } from '../chromium.ts';
import { Lab } from '../../src/services/lab.ts';
import { logTicks } from '../../src/export/svg-accuracy.ts';
import { cli, tempDir } from '../helpers.ts';

const pct = (x: number | null, digits: number) =>
  x === null ? '–' : `${(x * 100).toFixed(digits)}%`;

describe('the offline report', () => {
  it('is one HTML file that opens from file:// with no request, its table the stored levels and one chart point per level', async () => {
    const data = tempDir();
    const spec = {
      model: 'lenet-300-100',
      training: { duration: '20it', evalEvery: 10 },
      pruning: { levels: 2 },
      controls: { randomReinit: true },
    };
    const oneshot = { ...spec, method: 'oneshot', oneshot: { compressions: [0.5] }, controls: {} };
    const lab = Lab.open({ dataDir: data, runAll: true });
    const train = async (s: unknown) => {
      const { experiment, job } = await lab.invoke('experiments.create', { spec: s, start: true });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      return experiment.id;
    };
    const imp = await train(spec);
    const oneshotId = await train(oneshot);
    const stored = await lab.invoke('experiments.get', { id: imp });
    const storedOneshot = await lab.invoke('experiments.get', { id: oneshotId });
    await lab.close();

    // the CLI: writes the file, refuses to overwrite it without --force
    const file = join(data, 'report.html');
    const made = cli(['report', imp, '--out', file], data);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain(file);
    const again = cli(['report', imp, '--out', file], data);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(
      /Not overwriting .*report\.html: choose another path or pass --force/,
    );
    const both = join(data, 'both.html');
    expect(cli(['report', imp, oneshotId, '--out', both], data).code).toBe(0);
    expect(cli(['report', 'exp_nope', '--out', join(data, 'x.html')], data).stderr).toMatch(
      /No experiment exp_nope/,
    );
    expect(existsSync(join(data, 'x.html'))).toBe(false);

    const html = readFileSync(file, 'utf8');
    // nothing that could be fetched: no URL, no script, no external reference
    expect(html).not.toMatch(/https?:|\/\/[a-z]|<script|<link|<img|@import|url\((?!#)/i);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const complaints: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') complaints.push(m.text());
      });
      await page.route('**/*', (route) =>
        route.request().url().startsWith('file:') ? route.continue() : route.abort(),
      );
      const url = pathToFileURL(file).href;
      await page.goto(url);
      expect(requests).toEqual([url]);
      expect(complaints).toEqual([]); // a request the page's CSP refused would be logged here

      // the levels table: one row per stored ticket, in order, with its numbers
      const rows = await page.$$eval(`table.levels[data-experiment="${imp}"] tbody tr`, (trs) =>
        trs.map((tr) => ({
          id: tr.getAttribute('data-ticket'),
          cells: Array.from(tr.querySelectorAll('td'), (td) => td.textContent),
        })),
      );
      expect(rows.map((r) => r.id)).toEqual(stored.tickets.map((t) => t.id));
      expect(rows.map((r) => r.cells.slice(0, 3))).toEqual(
        stored.tickets.map((t) => [String(t.level), t.method, pct(t.remainingWeights, 1)]),
      );
      expect(rows.map((r) => r.cells[4]!.replace(' *', ''))).toEqual(
        stored.tickets.map((t) => pct(t.testAccuracy, 2)),
      );
      expect(rows.map((r) => r.cells[6])).toEqual(
        stored.tickets.map((t) => String(t.earlyStopIteration)),
      );
      expect(rows.every((r) => r.cells[7] === '20' && /s$/.test(r.cells[8]!))).toBe(true);

      // the chart: one point per level on the experiment's line, its control dashed beside it
      const levels = await page.$$eval(
        `svg.accuracy circle.point.levels[data-series="${imp}/levels"]`,
        (cs) =>
          cs.map((c) => [Number(c.getAttribute('data-level')), c.getAttribute('data-ticket')]),
      );
      const own = stored.tickets.filter((t) => t.method === 'dense' || t.method === 'imp');
      expect(levels.sort()).toEqual(own.map((t) => [t.level, t.id]).sort());
      expect(new Set(levels.map(([l]) => l))).toEqual(new Set([0, 1, 2]));
      expect(await page.locator('svg.accuracy circle.point.control').count()).toBe(3);
      // the lineage: one node per ticket
      expect(await page.locator('svg.lineage .node').count()).toBe(stored.tickets.length);
      // the spec, as stored
      expect(JSON.parse((await page.locator('pre.spec').textContent())!)).toEqual(stored.spec);
      expect(await page.locator('footer').textContent()).toMatch(/TicketLab.*Node.*SQLite/s);

      // light and dark follow the reader's system
      const background = async (scheme: 'light' | 'dark') => {
        await page.emulateMedia({ colorScheme: scheme });
        return page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      };
      expect(await background('light')).toBe('rgb(255, 255, 255)');
      expect(await background('dark')).not.toBe('rgb(255, 255, 255)');

      // a selection: both experiments, each with its table, one line each in one chart
      await page.goto(pathToFileURL(both).href);
      expect(await page.locator('table.levels').count()).toBe(2);
      expect(await page.locator('table.summary tbody tr').count()).toBe(2);
      expect(
        await page.locator(`svg.accuracy circle.point[data-series="${oneshotId}/levels"]`).count(),
      ).toBe(storedOneshot.tickets.length);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('labels at least three ticks on a log axis, however narrow its range', () => {
    expect(logTicks(0.01, 1)).toEqual([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
    expect(logTicks(0.6, 1)).toEqual([0.6, 0.7, 0.8, 0.9, 1]);
    const narrow = logTicks(0.64, 0.8);
    expect(narrow).toHaveLength(3);
    expect(narrow[0]).toBe(0.64);
  });
});
