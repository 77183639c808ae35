import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Served } from '../server/serve.ts';
import { startServedBrowser, type ServedBrowser } from './served-browser.ts';

/**
 * Sweeps in Chromium against a real `ticketlab serve`: the list shows each sweep's axes and
 * progress as it trains, its page groups the experiments by their point on the axes, and
 * compare opens with all of them.
 */
let browser: Browser;
let server: Served;
let page: Page;
let app: ServedBrowser;

beforeAll(async () => {
  app = await startServedBrowser('sweeps');
  ({ browser, server } = app);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 60_000);

afterAll(() => app?.close());

describe('sweeps in the UI', () => {
  it('lists a sweep with its progress, groups its experiments by seed, and compares them', async () => {
    const created = await server.call<{ sweep: { id: string } }>('sweeps.create', {
      spec: {
        name: 'two seeds',
        base: {
          model: 'lenet-300-100',
          training: { duration: '20it', evalEvery: 10 },
          pruning: { levels: 1 },
        },
        axes: { seed: [0, 1] },
      },
    });
    expect(created.status).toBe(200);
    const sweepId = created.body.result.sweep.id;

    await page.goto(`${server.url.origin}/?token=${server.token}#/sweeps`);
    const row = page.getByRole('row', { name: /two seeds/ });
    await expect.poll(() => row.textContent()).toMatch(/seed × 2/);
    // it trains while the page is open: the progress follows to the end
    await expect
      .poll(() => row.getByRole('progressbar').getAttribute('value'), { timeout: 120_000 })
      .toBe('1');
    expect(await row.textContent()).toMatch(/2 done/);
    expect(await page.title()).toMatch(/^Sweeps/);

    await row.getByRole('link', { name: 'two seeds' }).click();
    await page.waitForURL(new RegExp(`#/sweep/${sweepId}$`));
    const table = page.getByRole('table', { name: 'Sweep experiments' });
    await expect.poll(() => table.getByRole('row').count()).toBe(3); // a header and one per seed
    const seeds = await table.locator('tbody tr td:first-child').allTextContents();
    expect(seeds).toEqual(['0', '1']);
    const experiments = await table
      .locator('tbody a')
      .evaluateAll((as) =>
        as.map((a) => (a as HTMLAnchorElement).hash.replace('#/experiment/', '')),
      );
    expect(experiments).toHaveLength(2);

    await page.getByRole('link', { name: 'Compare its experiments' }).click();
    await page.waitForURL(new RegExp(`#/compare/${experiments.join(',')}$`));
  }, 180_000);
});
