import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { ROOT, writeIdxDataset } from '../helpers.ts';
import type { Served } from '../server/serve.ts';
import { startServedBrowser, until, type ServedBrowser } from './served-browser.ts';

/**
 * Every page with real data (a quickstart-sized experiment trained here, a transfer to an
 * imported dataset, a sweep): names where people read names, exports through the app's own
 * dialogs, and each page at 1440×900 in both themes checked for what a person would see
 * wrong (sideways scrolling, cut-off text, unreadable contrast, console errors).
 * Screenshots go to test-results/screens (gitignored).
 */
const SHOTS = join(ROOT, 'test-results', 'screens');
let app: ServedBrowser;
let server: Served;
let page: Page;
const consoleErrors: string[] = [];
const browserDialogs: string[] = [];
let experiment: { id: string; name: string };
let transferExperimentId: string;
let ticketId: string;
let sweepId: string;
let data: string;

type Call = <T>(method: string, input?: unknown) => Promise<T>;
let call: Call;

const finished = (e: { status: string }) => {
  expect(e.status).not.toBe('failed');
  return e.status === 'done';
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = await startServedBrowser('screens');
  server = app.server;
  call = async (method, input = {}) => {
    const r = await server.call<never>(method, input);
    if (r.status !== 200) throw new Error(`${method}: ${JSON.stringify(r.body)}`);
    return r.body.result;
  };
  data = mkdtempSync(join(tmpdir(), 'ticketlab-e2e-screens-data-'));
  // an imported dataset (its id is ds_…): 50 training and 40 test digits
  const mnist = loadBuiltinMnist();
  const cut = (s: typeof mnist.train, n: number) => ({
    images: s.images.subarray(0, n * 784),
    labels: s.labels.subarray(0, n),
    count: n,
  });
  const folder = writeIdxDataset(
    join(data, 'digits'),
    { train: cut(mnist.train, 50), t10k: cut(mnist.test, 40) },
    [28, 28],
  );
  const digits = await call<{ id: string }>('datasets.import', {
    path: folder,
    name: 'forty digits',
  });
  // the quickstart, at a tiny budget
  const quickstart = JSON.parse(readFileSync(join(ROOT, 'examples', 'quickstart.json'), 'utf8'));
  const created = await call<{ experiment: { id: string; name: string } }>('experiments.create', {
    spec: {
      ...quickstart,
      training: { duration: '20it', evalEvery: 10 },
      pruning: { levels: 1 },
    },
    start: true,
  });
  experiment = created.experiment;
  const done = await until<{ status: string; tickets: { id: string; method: string }[] }>(
    server,
    'experiments.get',
    { id: experiment.id },
    finished,
  );
  ticketId = done.tickets.find((t) => t.method === 'imp')!.id;
  const transfer = await call<{ experiments: { id: string }[] }>('transfer.create', {
    ticketId,
    targets: [digits.id],
    duration: '10it',
  });
  transferExperimentId = transfer.experiments[0]!.id;
  await until(server, 'experiments.get', { id: transferExperimentId }, finished);
  // a sweep over both datasets (not started: its page is what is looked at)
  const sweep = await call<{ sweep: { id: string } }>('sweeps.create', {
    spec: {
      name: 'both datasets',
      base: { model: 'lenet-300-100', training: { duration: '20it' }, pruning: { levels: 1 } },
      axes: { dataset: ['builtin:mnist', digits.id] },
    },
    start: false,
  });
  sweepId = sweep.sweep.id;

  page = await app.browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  page.on('dialog', (d) => {
    browserDialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${server.url.origin}/?token=${server.token}#/experiments`);
}, 120_000);

afterAll(() => app?.close());

/** The app's own ids: a prefix and 12 hex digits (src/store/store.ts newId). */
const RAW_ID = /\b(?:ds|exp|tkt|job|run|swp|xpt|ins)_[0-9a-f]{12}\b/g;

async function open(route: string, ready: string) {
  await page.evaluate((r) => (location.hash = r), `#/${route}`);
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
  // what loads after the first paint (lists, charts) has settled
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(300);
}

/** Every page, with what shows that it has its data. */
const PAGES = () => [
  { name: 'experiments', route: 'experiments', ready: '[role="table"] [role="row"] a' },
  { name: 'new', route: 'new', ready: '[aria-label="Spec JSON"]' },
  {
    name: 'experiment',
    route: `experiment/${experiment.id}`,
    ready: 'svg[aria-label="Lineage tree"]',
  },
  {
    name: 'transfer-experiment',
    route: `experiment/${transferExperimentId}`,
    ready: 'svg[aria-label="Lineage tree"]',
  },
  { name: 'ticket', route: `ticket/${ticketId}`, ready: 'table[aria-label="Metrics"]' },
  { name: 'compare', route: `compare/${experiment.id}`, ready: 'svg.chart' },
  { name: 'transfer', route: `transfer/${ticketId}`, ready: 'table[aria-label="Transfers"]' },
  { name: 'monitor', route: 'monitor', ready: 'table[aria-label="Jobs"] tbody tr' },
  { name: 'sweeps', route: 'sweeps', ready: 'table[aria-label="Sweeps"] tbody tr' },
  { name: 'sweep', route: `sweep/${sweepId}`, ready: 'table[aria-label="Sweep experiments"]' },
  { name: 'datasets', route: 'datasets', ready: 'table[aria-label="Datasets"] tbody tr' },
  { name: 'settings', route: 'settings', ready: 'h1' },
];

/**
 * What a person would see wrong on the page as drawn, from computed styles: the page
 * scrolling sideways, text cut off by its box (unless it ends in an ellipsis on purpose or
 * sits in a box that scrolls), and text whose contrast against the background it is drawn
 * on is below WCAG AA (4.5:1; 3:1 for large text). A string: the page has no tsx helpers.
 */
const AUDIT = `(() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1)
    problems.push('page scrolls sideways: ' + doc.scrollWidth + ' > ' + doc.clientWidth);
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const luminance = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  /** the colour behind an element: its own and its ancestors' backgrounds, stacked */
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a >= 1) break;
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const describe = (el) => {
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 50);
    const cls = typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '';
    return el.tagName.toLowerCase() + cls + ' "' + text + '"';
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('option, script, style, title, [aria-hidden="true"]')) continue;
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest(':disabled, [aria-disabled="true"]')) continue; // WCAG: inactive controls exempt
    const inSvg = el instanceof SVGElement;
    const fg = parse(inSvg ? style.fill : style.color);
    if (fg) {
      const bg = background(inSvg ? el.closest('svg').parentElement : el);
      const o = opacity(el) * fg.a;
      const shown = over({ ...fg, a: o }, bg);
      const size = parseFloat(style.fontSize);
      const bold = Number(style.fontWeight) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      const r = ratio(shown, bg);
      if (r < (large ? 3 : 4.5))
        problems.push('contrast ' + r.toFixed(2) + ':1 ' + describe(el));
    }
    if (inSvg || ['INPUT', 'TEXTAREA', 'SELECT', 'OPTION'].includes(el.tagName)) continue;
    const display = style.display;
    if (display === 'inline' || display === 'contents') continue;
    const scrolls = ['auto', 'scroll'].includes(style.overflowX);
    if (el.scrollWidth > el.clientWidth + 1 && style.textOverflow !== 'ellipsis' && !scrolls)
      problems.push('text cut off (' + el.scrollWidth + ' > ' + el.clientWidth + ') ' + describe(el));
  }
  return problems;
})()`;

describe('the workbench as people read it', () => {
  it('names datasets, jobs, tickets and experiments wherever a person reads them, ids kept in tooltips', async () => {
    const digits = 'forty digits';
    for (const p of PAGES()) {
      await open(p.route, p.ready);
      const text = await page.evaluate(() => document.body.innerText);
      expect(text.match(RAW_ID) ?? [], `${p.name} shows raw ids`).toEqual([]);
    }
    // the monitor: each job by what it does and its experiment's name
    await open('monitor', 'table[aria-label="Jobs"] tbody tr');
    const jobs = page.getByRole('table', { name: 'Jobs' });
    expect(await jobs.textContent()).toContain(`Training${experiment.name}`);
    expect(await jobs.locator('tbody td:first-child').first().getAttribute('title')).toMatch(
      /^job job_[0-9a-f]{12}$/,
    );
    // the list: the dataset's name, its id in the tooltip
    await open('experiments', '[role="table"] [role="row"] a');
    const cell = page
      .getByRole('table', { name: 'Experiments' })
      .getByText(digits, { exact: true })
      .first();
    expect(await cell.getAttribute('title')).toMatch(/^ds_[0-9a-f]{12}$/);
    // the experiment page and the transfer edge of the source's lineage
    await open(`experiment/${transferExperimentId}`, 'svg[aria-label="Lineage tree"]');
    expect(await page.locator('main > section > p').first().textContent()).toContain(digits);
    await open(`experiment/${experiment.id}`, 'svg[aria-label="Lineage tree"] g.transfer');
    expect(await page.locator('g.transfer').first().textContent()).toContain(`↗ ${digits}`);
    // the transfer page names its source ticket: experiment, level, weights
    await open(`transfer/${ticketId}`, '[aria-label="Source ticket"]');
    expect(await page.getByRole('group', { name: 'Source ticket' }).textContent()).toMatch(
      new RegExp(
        `${experiment.name.replace(/[()]/g, '.')} · imp level \\d · \\d+\\.\\d% of weights`,
      ),
    );
    // the sweep's dataset axis
    await open(`sweep/${sweepId}`, 'table[aria-label="Sweep experiments"]');
    expect(await page.getByRole('table', { name: 'Sweep experiments' }).textContent()).toContain(
      digits,
    );
  }, 60_000);

  it('exports through its own dialog: labelled, focus kept inside, Escape closes, an existing file replaced on request', async () => {
    await open(`ticket/${ticketId}`, 'table[aria-label="Metrics"]');
    const button = page.getByRole('button', { name: 'Export model…' });
    await button.click();
    const dialog = page.getByRole('dialog', { name: 'Export model' });
    await dialog.waitFor();
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    // Tab and Shift+Tab stay inside
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab');
      expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await button.evaluate((b) => b === document.activeElement)).toBe(true);

    const exportOnce = async () => {
      await button.click();
      await dialog.getByLabel('Format').selectOption('safetensors');
      const path = await dialog.getByLabel('Save to').inputValue();
      await dialog.getByRole('button', { name: 'Export' }).click();
      return path;
    };
    const path = await exportOnce();
    expect(path).toMatch(/exports\/.*-imp-level-\d\.safetensors$/);
    const saved = page.getByRole('list', { name: 'Saved files' });
    await expect.poll(() => saved.textContent()).toContain(path);
    const first = statSync(path).mtimeMs;
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();

    // again to the same path: the app asks, in its own words, and replaces on request
    expect(await exportOnce()).toBe(path);
    const ask = page.getByRole('dialog', { name: 'Export model: replace?' });
    await ask.waitFor();
    const question = (await ask.textContent())!;
    expect(question).toContain(path);
    expect(question).not.toMatch(/--force|ticketlab /);
    await ask.getByRole('button', { name: 'Choose another name' }).click();
    await expect.poll(() => dialog.getByLabel('Save to').inputValue()).toBe(path);
    await dialog.getByRole('button', { name: 'Export' }).click();
    await ask.getByRole('button', { name: 'Replace' }).click();
    await expect.poll(() => saved.textContent()).toContain(path);
    expect(statSync(path).mtimeMs).toBeGreaterThan(first);
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();

    // results as JSON from the experiment page, through the same dialog
    await open(`experiment/${experiment.id}`, 'svg[aria-label="Lineage tree"]');
    await page.getByRole('button', { name: 'Export results…' }).click();
    const results = page.getByRole('dialog', { name: 'Export results' });
    await results.getByLabel('Format').selectOption('json');
    await results.getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => saved.locator('code').allTextContents()).toHaveLength(1);
    const json = JSON.parse(readFileSync((await saved.locator('code').textContent())!, 'utf8'));
    expect(json.experiment?.id ?? json.id).toBe(experiment.id);
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();

    // a refusal that carries a CLI hint reads as the app says things
    await open('experiment/exp_000000000000', 'p.error');
    const refusal = (await page.locator('p.error').textContent())!;
    expect(refusal).toMatch(/No experiment exp_000000000000/);
    expect(refusal).not.toMatch(/ticketlab|--/);
    expect(browserDialogs).toEqual([]);
  }, 60_000);

  for (const theme of ['light', 'dark'] as const)
    it(`draws every page legibly at 1440×900 in the ${theme} theme`, async () => {
      await page.emulateMedia({ colorScheme: theme });
      await page.evaluate((t) => localStorage.setItem('ticketlab.theme', t), theme);
      await page.reload();
      await page.waitForLoadState('networkidle');
      // from here on (the refusals asked for above are behind)
      consoleErrors.length = 0;
      const problems: string[] = [];
      for (const p of PAGES()) {
        await open(p.route, p.ready);
        expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
        await page.screenshot({ path: join(SHOTS, `${theme}-${p.name}.png`), fullPage: true });
        for (const problem of (await page.evaluate(AUDIT)) as string[])
          problems.push(`${p.name}: ${problem}`);
      }
      expect(problems).toEqual([]);
      expect(consoleErrors).toEqual([]);
    }, 60_000);
});
