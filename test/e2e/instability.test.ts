import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Served } from '../server/serve.ts';
import { startServedBrowser, until, type ServedBrowser } from './served-browser.ts';

/**
 * The ticket page shows a ticket's instability analyses: the error along the line between
 * the two copies, one line per rewind point, and the barrier per point. Chromium against a
 * real `ticketlab serve` that trains a tiny experiment and its analysis.
 */
let browser: Browser;
let server: Served;
let app: ServedBrowser;

beforeAll(async () => {
  app = await startServedBrowser('instability');
  ({ browser, server } = app);
}, 60_000);

afterAll(() => app?.close());

describe('instability on the ticket page', () => {
  it('draws one interpolation curve per rewind point and lists their barriers', async () => {
    const created = await server.call<{ experiment: { id: string } }>('experiments.create', {
      spec: {
        model: 'lenet-300-100',
        training: { duration: '120it', evalEvery: 120 },
        pruning: { levels: 1 },
        controls: { randomReinit: true },
      },
      start: true,
    });
    const experimentId = created.body.result.experiment.id;
    await until<{ status: string }>(server, 'experiments.get', { id: experimentId }, (e) => {
      expect(e.status).not.toBe('failed');
      return e.status === 'done';
    });
    const lineage = await server.call<{ tickets: { id: string; method: string }[] }>(
      'experiments.lineage',
      { id: experimentId },
    );
    const ticketId = lineage.body.result.tickets.find((t) => t.method === 'imp')!.id;
    const started = await server.call('tickets.instability', {
      ticketId,
      rewinds: ['0it', '10it'],
      points: 7,
    });
    expect(started.body.ok, started.body.error?.message).toBe(true);
    const analyses = await until<{ rewind: string; barrier: number | null }[]>(
      server,
      'tickets.instabilityResults',
      { ticketId },
      (rows) => rows.length === 2 && rows.every((r) => r.barrier !== null),
    );

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(new URL(`#/ticket/${ticketId}`, server.url).toString());
    const chart = page.getByRole('img', { name: /test error vs α/ });
    await chart.waitFor();
    const series = chart.locator('g.series');
    await expect.poll(() => series.count()).toBe(2);
    expect(await series.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-series')))).toEqual([
      'k = 0it (7 points)',
      'k = 10it (7 points)',
    ]);
    // each line is drawn through its points
    for (const d of await chart
      .locator('g.series path.line')
      .evaluateAll((ps) => ps.map((p) => p.getAttribute('d') ?? '')))
      expect(d.split(/[ML]/).filter(Boolean)).toHaveLength(7);
    const rows = page.getByRole('table', { name: 'Error barriers' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const shown = await rows.evaluateAll((trs) =>
      trs.map((tr) => tr.lastElementChild!.textContent),
    );
    expect(shown).toEqual(analyses.map((a) => `${(a.barrier! * 100).toFixed(2)}%`));

    // a random re-initialisation is offered k = 0 only, and a later k is refused, saying why
    const reinit = lineage.body.result.tickets.find((t) => t.method === 'random-reinit')!.id;
    await page.goto(new URL(`#/ticket/${reinit}`, server.url).toString());
    const rewinds = page.getByLabel('Rewind points');
    await expect.poll(() => rewinds.inputValue()).toBe('0it');
    await page.getByText(/analysed at 0it only/).waitFor();
    await rewinds.fill('0it,10it');
    await page.getByRole('button', { name: 'Analyse instability' }).click();
    await page.getByText(/is a random re-initialisation: .* Analyse it at 0it\./).waitFor();
    await page.close();
  });
});
