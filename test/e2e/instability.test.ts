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

  it("sets the data folder's Slurm target on the Settings page, and sends an analysis there from the ticket page", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(new URL('#/settings', server.url).toString());
    await page.getByText('Now: this machine.').waitFor();
    await page.getByLabel('Compute target').selectOption('slurm');
    await page.getByLabel('Partition').fill('debug');
    await page.getByLabel('Memory per job').fill('1000M');
    // a bad field is refused by the contract, naming it, and nothing is stored
    await page.getByLabel('Time limit').fill('two hours');
    await page.getByRole('button', { name: 'Save compute target' }).click();
    await page.getByText(/timeLimit.*expected a time limit/).waitFor();
    const unchanged = await server.call<{ computeTarget: unknown }>('settings.get', {});
    expect(unchanged.body.result.computeTarget).toEqual({ kind: 'local' });
    await page.getByLabel('Time limit').fill('00:30:00');
    await page.getByRole('button', { name: 'Save compute target' }).click();
    await page.getByText('Now: Slurm (debug).').waitFor();
    const saved = await server.call<{ computeTarget: unknown }>('settings.get', {});
    expect(saved.body.result.computeTarget).toMatchObject({
      kind: 'slurm',
      partition: 'debug',
      memory: '1000M',
      timeLimit: '00:30:00',
      cpusPerTask: 1,
      gpus: 0,
    });

    const experiments = await server.call<{ items: { id: string }[] }>('experiments.list', {});
    const lineage = await server.call<{ tickets: { id: string; method: string }[] }>(
      'experiments.lineage',
      { id: experiments.body.result.items[0]!.id },
    );
    const ticketId = lineage.body.result.tickets.find((t) => t.method === 'imp')!.id;
    await page.goto(new URL(`#/ticket/${ticketId}`, server.url).toString());
    await page.getByLabel('Runs on').selectOption('cluster');
    await page.getByLabel('Rewind points').fill('20it');
    await page.getByRole('button', { name: 'Analyse instability' }).click();
    // the job went to the cluster (whether this machine's sbatch reaches one or not)
    const rows = page.getByRole('table', { name: 'Error barriers' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    await expect.poll(() => rows.last().locator('td').nth(4).textContent()).toMatch(/^Slurm/);
    const jobs = await server.call<{ kind: string; cluster: { kind: string } | null }[]>(
      'jobs.list',
      {},
    );
    const analysis = jobs.body.result.filter((j) => j.kind === 'instability').at(-1)!;
    expect(analysis.cluster).toMatchObject({ kind: 'slurm' });
    // the earlier analyses ran here
    expect(await rows.first().locator('td').nth(4).textContent()).toBe('this machine');
    await page.close();
  });
});
