import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.ts';
import type { Served } from '../server/serve.ts';
import { startServedBrowser, until, type ServedBrowser } from './served-browser.ts';

/**
 * The ticket page's mask views in Chromium against a real `ticketlab serve` that trains a
 * tiny IMP run: the first layer's pixel map at the input's shape, a heat-map per layer, and
 * the overlap with the parent and with a ticket picked from the list.
 */
let browser: Browser;
let server: Served;
let app: ServedBrowser;

beforeAll(async () => {
  app = await startServedBrowser('masks');
  ({ browser, server } = app);
}, 60_000);

afterAll(() => app?.close());

type Ticket = { id: string; level: number; method: string };

describe('mask views on the ticket page', () => {
  it('draws the pixel map and the layer heat-maps, and overlaps the mask with its parent and a picked ticket', async () => {
    const created = await server.call<{ experiment: { id: string } }>('experiments.create', {
      spec: {
        name: 'mask views',
        model: 'lenet-300-100',
        training: { duration: '60it', evalEvery: 60 },
        pruning: { levels: 2 },
      },
      start: true,
    });
    const experimentId = created.body.result.experiment.id;
    const done = await until<{ status: string; tickets: Ticket[] }>(
      server,
      'experiments.get',
      { id: experimentId },
      (e) => {
        expect(e.status).not.toBe('failed');
        return e.status === 'done';
      },
    );
    const level = (n: number) => done.tickets.find((t) => t.level === n)!;

    const page = await browser.newPage({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    await page.goto(new URL(`#/ticket/${level(2).id}`, server.url).toString());
    const map = page.getByRole('img', { name: 'fc1.kernel: kept weights per input pixel, 28×28' });
    await map.waitFor();
    // the map is an image of the input's shape, one pixel per input pixel
    const size = await map.locator('image').evaluate(
      (img) =>
        new Promise<[number, number]>((resolve) => {
          const probe = new Image();
          probe.onload = () => resolve([probe.naturalWidth, probe.naturalHeight]);
          probe.src = img.getAttribute('href')!;
        }),
    );
    expect(size).toEqual([28, 28]);
    for (const layer of ['fc1.kernel', 'fc2.kernel', 'fc3.kernel'])
      await expect
        .poll(() => page.getByRole('img', { name: `${layer} mask heat-map` }).count())
        .toBe(1);
    await expect
      .poll(() => page.getByRole('img', { name: 'fc2.kernel mask heat-map' }).textContent())
      .toMatch(/fc2\.kernel · 300×100 · kept [\d,]+ \/ 30,000/);

    // against its parent by default: a child keeps a subset of its parent's weights
    const rows = page.getByRole('table', { name: 'Mask overlap' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    const cells = () =>
      rows.evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    const parentOverlap = await cells();
    expect(parentOverlap.map((r) => r[0])).toEqual([
      'fc1.kernel',
      'fc2.kernel',
      'fc3.kernel',
      'all prunable layers',
    ]);
    for (const r of parentOverlap) {
      expect(r[3]).toBe('0'); // only here
      expect(Number(r[5])).toBeGreaterThan(0);
      expect(Number(r[5])).toBeLessThan(1);
    }
    const section = page.getByRole('region', { name: 'Mask' });
    await expect
      .poll(() => section.textContent())
      .toMatch(/mask views · imp level 1 · .*its parent/);

    // pick the dense network, named by experiment, level and weights
    const picker = page.getByLabel('Overlap with');
    const option = picker.locator('option', {
      hasText: 'mask views · dense level 0 · 100.0% weights',
    });
    await picker.selectOption(await option.getAttribute('value'));
    await expect.poll(() => section.textContent()).toMatch(/Against mask views · dense level 0/);
    // the dense network keeps every weight: the union is the layer, Jaccard = kept / total
    const number = (text: string | null | undefined) => Number(text!.replace(/,/g, ''));
    await expect
      .poll(async () => {
        const whole = (await cells())[3]!;
        return number(whole[2]) + number(whole[4]) - number(whole[1]);
      })
      .toBe(0);
    const whole = (await cells())[3]!;
    expect(whole[3]).toBe('0');
    expect(Number(whole[5])).toBeCloseTo(number(whole[2]) / number(whole[1]), 3);

    // the pixel map's numbers save as CSV: one row per pixel
    const saved = page.waitForEvent('download');
    await map.locator('xpath=..').getByRole('button', { name: 'Save CSV' }).click();
    const csv = readFileSync((await (await saved).path())!, 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe('ticket,layer,y,x,kept,of');
    expect(csv).toHaveLength(785);

    // the SVG keeps the map (an embedded PNG), its title and its legend's ends
    const svgSaved = page.waitForEvent('download');
    await map.locator('xpath=..').getByRole('button', { name: 'Save SVG' }).click();
    const svg = readFileSync((await (await svgSaved).path())!, 'utf8');
    expect(svg).toMatch(/^<svg[^>]* xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('href="data:image/png;base64,');
    expect(svg).toContain('fc1.kernel: kept weights per input pixel');
    expect(svg).toMatch(/\d+ of 300<\/text>/);

    const shots = join(ROOT, 'test-results', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await section.screenshot({ path: join(shots, 'ticket-masks.png') });
    await page.close();
  });
});
