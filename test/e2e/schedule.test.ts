import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Served } from '../server/serve.ts';
import { startServedBrowser, type ServedBrowser } from './served-browser.ts';

/**
 * The learning-rate plot in Chromium against a real `ticketlab serve`: the new-experiment
 * form draws the spec's schedule as it is written, and a ticket's page the schedule its run
 * trained with.
 */
let browser: Browser;
let server: Served;
let page: Page;
let app: ServedBrowser;

beforeAll(async () => {
  app = await startServedBrowser('schedule');
  ({ browser, server } = app);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(server.url.toString());
}, 60_000);

afterAll(() => app?.close());

/** The plotted line's points, in SVG pixels (d3's path: M x,y L x,y …). */
async function plotted(): Promise<{ x: number; y: number }[]> {
  const plot = page.getByRole('img', { name: 'Learning rate over training' });
  await plot.waitFor();
  const d = (await plot.locator('path.line').getAttribute('d')) ?? '';
  return [...d.matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
  }));
}

/**
 * Where the line drops within one iteration (x), and the rates' ratio across the drop
 * (the plot spans 120 iterations, its first and last points the first and last iteration).
 */
function drops(points: { x: number; y: number }[], baseline: number) {
  const out: { x: number; ratio: number }[] = [];
  const iteration = (points.at(-1)!.x - points[0]!.x) / 120;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    // a step, y growing downwards
    if (b.x - a.x <= iteration * 1.01 && b.y - a.y > 5)
      out.push({ x: b.x, ratio: (baseline - b.y) / (baseline - a.y) });
  }
  return out;
}

const recipe = {
  model: 'lenet-300-100',
  dataset: 'builtin:mnist',
  training: {
    optimizer: 'sgd',
    learningRate: 0.1,
    duration: '120it',
    evalEvery: 60,
    schedule: 'multistep',
    milestones: ['50%'],
  },
  pruning: { levels: 0 },
};

describe('the learning-rate plot', () => {
  it('follows the schedule as the form changes it, and shows a ticket’s on its page', async () => {
    await page.getByRole('link', { name: 'New experiment' }).click();
    await page.getByLabel('Spec JSON').fill(JSON.stringify(recipe, null, 2));
    const plot = page.getByRole('img', { name: 'Learning rate over training' });
    const xs = async () => {
      const points = await plotted();
      return { points, left: points[0]!.x, right: points.at(-1)!.x, baseline: 0 };
    };
    // ×0.1 halfway: one drop to a tenth, in the middle of the x axis
    let p = await xs();
    const baseline = Number(
      await plot
        .locator('.y-tick')
        .first()
        .getAttribute('transform')
        .then((t) => /,([-\d.]+)\)/.exec(t!)![1]),
    );
    let found = drops(p.points, baseline);
    expect(found).toHaveLength(1);
    expect(found[0]!.x).toBeCloseTo((p.left + p.right) / 2, 0);
    expect(found[0]!.ratio).toBeCloseTo(0.1, 2);
    // the form with its recipe fields and the plot still fits 800 px without scrolling sideways
    await page.setViewportSize({ width: 800, height: 900 });
    expect(
      await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      ),
    ).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 900 });
    // the form's fields edit the schedule: a second milestone at 75% adds a second drop
    await page.getByLabel('Milestones').fill('50%, 75%');
    await expect.poll(async () => drops(await plotted(), baseline).length).toBe(2);
    found = drops(await plotted(), baseline);
    expect(found[1]!.x).toBeCloseTo(p.left + 0.75 * (p.right - p.left), 0);
    // cosine: no drops, from the top to the axis at the end
    await page.getByLabel('Milestones').fill('');
    await page.getByLabel('Schedule').selectOption('cosine');
    await expect.poll(async () => drops(await plotted(), baseline).length).toBe(0);
    p = await xs();
    expect(p.points.at(-1)!.y).toBeCloseTo(baseline, 0);
    expect(p.points[0]!.y).toBeLessThan(baseline - 50);

    // a trained ticket's page shows the schedule its run used
    await page.getByLabel('Spec JSON').fill(JSON.stringify(recipe, null, 2));
    await page.getByRole('button', { name: 'Create and start' }).click();
    await page.waitForURL(/#\/experiment\//);
    const experimentId = /#\/experiment\/([^/?]+)/.exec(page.url())![1]!;
    let ticketId = '';
    await expect
      .poll(
        async () => {
          const r = await server.call<{ tickets: { id: string; trained: boolean }[] }>(
            'experiments.get',
            { id: experimentId },
          );
          ticketId = r.body.result.tickets.find((t) => t.trained)?.id ?? '';
          return ticketId;
        },
        { timeout: 120_000, interval: 500 },
      )
      .not.toBe('');
    await page.goto(new URL(`#/ticket/${ticketId}`, server.url).toString());
    await page.getByRole('heading', { name: 'Learning rate' }).waitFor();
    found = drops(await plotted(), baseline);
    expect(found).toHaveLength(1);
    expect(found[0]!.ratio).toBeCloseTo(0.1, 2);
  }, 180_000);
});
