import type { Browser } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodOutput } from '../../src/api/contract.ts';
import { machineDescription } from '../../src/core/cpu.ts';
import type { Served } from '../server/serve.ts';
import { startServedBrowser, type ServedBrowser } from './served-browser.ts';

/**
 * The genealogy page and the report downloads: Chromium against a real `ticketlab serve`
 * that trains an IMP experiment and a SNIP one from the same θ0.
 */
let browser: Browser;
let server: Served;
let app: ServedBrowser;

beforeAll(async () => {
  app = await startServedBrowser('genealogy');
  ({ browser, server } = app);
}, 60_000);

afterAll(() => app?.close());

async function train(spec: unknown): Promise<string> {
  const created = await server.call<{ experiment: { id: string } }>('experiments.create', {
    spec,
    start: true,
  });
  expect(created.body.ok, created.body.error?.message).toBe(true);
  const id = created.body.result.experiment.id;
  for (;;) {
    const e = await server.call<{ status: string }>('experiments.get', { id });
    expect(e.body.result.status).not.toBe('failed');
    if (e.body.result.status === 'done') return id;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const base = { model: 'lenet-300-100', training: { duration: '20it', evalEvery: 10 } };

describe('the genealogy page', () => {
  it('draws the θ0 tree, filters it, follows a node to its ticket, and downloads reports', async () => {
    const imp = await train({ ...base, pruning: { levels: 2 } });
    const snip = await train({ ...base, method: 'pai', pai: { score: 'snip', compressions: [1] } });
    const all = (
      await server.call<MethodOutput<'experiments.genealogy'>>('experiments.genealogy', { id: imp })
    ).body.result;
    expect(all.experiments.map((e) => e.id)).toEqual([imp, snip]);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(new URL(`#/experiment/${imp}`, server.url).toString());
    await page.getByRole('button', { name: 'Genealogy' }).click();
    const tree = page.getByRole('group', { name: 'Genealogy tree' });
    await expect.poll(() => tree.getAttribute('data-nodes')).toBe(String(all.nodes.length));
    expect(await page.title()).toMatch(/^Genealogy/);
    // fitted on load: every node inside the view
    const view = (await tree.boundingBox())!;
    for (const box of await tree
      .locator('g.node')
      .evaluateAll((gs) => gs.map((g) => g.getBoundingClientRect().toJSON() as DOMRect))) {
      expect(box.left).toBeGreaterThanOrEqual(view.x - 1);
      expect(box.right).toBeLessThanOrEqual(view.x + view.width + 1);
    }
    await expect.poll(() => page.locator('.colour-legend .low').textContent()).toMatch(/%$/);

    // remaining weights up to 50%: SNIP's 10% ticket matches, the dense network connects it
    await page.getByLabel('Most remaining weights (%)').fill('50');
    const matched = tree.locator('g.node[data-match="true"][data-ticket]');
    await expect
      .poll(() => matched.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-method'))))
      .toEqual(['snip']);
    expect(await tree.locator('g.node.context').count()).toBe(1);
    await page.getByLabel('Most remaining weights (%)').fill('');
    await expect.poll(() => tree.getAttribute('data-nodes')).toBe(String(all.nodes.length));

    // by method: without snip and dense, the IMP tickets match and the dense ones connect
    await page.getByRole('group', { name: 'Methods' }).getByLabel('snip').uncheck();
    await page.getByRole('group', { name: 'Methods' }).getByLabel('dense').uncheck();
    await expect
      .poll(() => matched.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-method'))))
      .toEqual(['imp', 'imp']);
    expect(await tree.locator('g.node[data-method="snip"]').count()).toBe(0);

    // a node is a link: Tab reaches it, Enter opens its ticket page
    const level2 = all.nodes.find((n) => n.method === 'imp' && n.level === 2)!;
    await tree.locator(`g.node[data-ticket="${level2.id}"]`).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`#/ticket/${level2.id}$`));
    await page.getByRole('heading', { level: 1 }).waitFor();

    // the experiment's report, and the selection's from compare, as downloaded files
    await page.goto(new URL(`#/experiment/${imp}`, server.url).toString());
    const [one] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download report' }).click(),
    ]);
    expect(one.suggestedFilename()).toBe(`ticketlab-report-${imp}.html`);
    const html = readFileSync((await one.path())!, 'utf8');
    expect(html).toContain(`<table class="levels" data-experiment="${imp}">`);
    // the machine as every record names one: cores × CPU
    expect(html).toContain(machineDescription());
    await page.goto(new URL(`#/compare/${imp},${snip}`, server.url).toString());
    const [both] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download report' }).click(),
    ]);
    const selection = readFileSync((await both.path())!, 'utf8');
    expect(selection.match(/<table class="levels"/g)).toHaveLength(2);
    await page.close();
  }, 120_000);
});
