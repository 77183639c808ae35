/**
 * Speed of the workbench UI with large records, in Debian's Chromium against a real
 * `ticketlab serve` (issues 4 and 21):
 *
 *   npm run bench:ui [-- --experiments 10000] [--record]
 *
 * A. The lineage of one experiment with 2,000 tickets: time from navigation to the tree
 *    drawn, then frame times while panning (60 mouse moves) and zooming (20 wheel steps).
 * B. The compare plot of 50 experiments (20 tickets each): time to the plot and its table.
 * C. A data folder of `--experiments` experiments (10,000 by default), each with a dense and
 *    an IMP ticket: first paint, the experiments list loaded (every row reachable), frame
 *    times while scrolling it to its last row, a search filter, and the compare picker open.
 *
 * The records are synthetic (written straight into the store through its own functions in
 * one transaction, finished with made-up accuracies, every name saying "synthetic") because
 * what is measured is loading and drawing, not training. Writes bench/results/ui.md; with
 * `--record`, the raw numbers to bench/records/ui-<date>.json (BENCHMARKS.md's `ui` blocks).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { ensureBuiltinDataset } from '../src/services/datasets.ts';
import { Store } from '../src/store/store.ts';
import { launchChromium } from '../test/chromium.ts';
import { recordPath, theseVersions, thisCommand, thisMachine } from './records.ts';
import type { UiRecord } from './report.ts';

const { values: args } = parseArgs({
  options: {
    experiments: { type: 'string', default: '10000' },
    record: { type: 'boolean', default: false },
  },
});
const manyCount = Number(args.experiments);
if (!Number.isInteger(manyCount) || manyCount < 1)
  throw new Error(`--experiments takes a whole number of experiments, not "${args.experiments}"`);

const ROOT = resolve(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'ticketlab-ui-bench-'));
const store = Store.open(dataDir);
const dataset = ensureBuiltinDataset(store);
const blob = store.putTensors(
  new Map([['synthetic', { dtype: 'F32', shape: [1], data: new Float32Array(1) }]]),
);

/**
 * An experiment whose IMP chain has `levels` levels, each with `controls` control children,
 * finished with made-up accuracies. The caller holds the transaction.
 */
function synthetic(name: string, levels: number, controls: string[], seed: number): string {
  const e = store.insertExperiment({
    name,
    specJson: JSON.stringify({ model: 'lenet-300-100', seed }),
    specHash: `synthetic-${name}`,
    replicate: seed,
    method: 'imp',
    datasetId: dataset.id,
    model: 'lenet-300-100',
  });
  let parent: string | null = null;
  for (let level = 0; level < levels; level++) {
    for (const method of level === 0 ? ['dense'] : ['imp', ...controls]) {
      const remaining = 0.8 ** level;
      const t = store.insertTicket({
        experimentId: e.id,
        parentId: parent,
        method,
        level,
        datasetId: dataset.id,
        architecture: 'lenet-300-100',
        remainingFraction: remaining,
        remainingParams: Math.round(266200 * remaining),
        totalParams: 266610,
        flops: Math.round(532400 * remaining),
        layerRemaining: [],
        maskBlob: blob,
        initBlob: blob,
        rewindBlob: null,
        trainedBlob: blob,
        sourceTicketId: null,
      });
      const run = store.startRun({
        ticketId: t.id,
        seed,
        startIteration: 0,
        hyperparams: {},
        backend: 'synthetic',
      });
      const acc =
        0.97 -
        0.002 * level -
        (method === 'imp' || method === 'dense' ? 0 : 0.01) +
        0.003 * Math.sin(seed + level);
      store.finishRun(run.id, {
        status: 'done',
        iterations: 1000,
        earlyStopIteration: 500 + level,
        bestValLoss: 0.1,
        valAccuracy: acc,
        testAccuracy: acc,
        finalTestAccuracy: acc,
        wallTimeMs: 1000,
        error: null,
      });
      if (method === 'imp' || method === 'dense') parent = t.id;
    }
  }
  store.setExperimentStatus(e.id, 'done');
  return e.id;
}

// A: 400 levels × (imp + 4 controls) = 1,996 tickets + dense = 1,997 ≈ 2,000.
const big = store.transaction(() =>
  synthetic(
    'big lineage (synthetic)',
    400,
    ['random-reinit', 'random-prune', 'snip', 'synflow'],
    0,
  ),
);
// B: 50 experiments, 10 specs × 5 replicates, 10 levels with one control each.
const many: string[] = store.transaction(() => {
  const ids: string[] = [];
  for (let spec = 0; spec < 10; spec++)
    for (let r = 0; r < 5; r++)
      ids.push(synthetic(`spec${spec} (synthetic)`, 10, ['random-reinit'], r));
  return ids;
});
// C: the experiments of a long-used data folder, each a dense and an IMP ticket; one in ten
// carries each "rewind-k" word, so a search for one keeps a tenth.
const seedStart = performance.now();
store.transaction(() => {
  for (let i = 0; i < manyCount; i++)
    synthetic(`synthetic ${i} lenet IMP rewind-${i % 10} seed ${Math.floor(i / 10)}`, 2, [], i % 5);
});
const seedMs = performance.now() - seedStart;
const tickets = store.listTickets(big).length;
const totalExperiments = store.countExperiments();
const totalTickets = (store.db.prepare('SELECT count(*) AS n FROM tickets').get() as { n: number })
  .n;
store.close();

const server = spawn(
  process.execPath,
  [join(ROOT, 'bin', 'ticketlab.mjs'), 'serve', '--data-dir', dataDir],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
process.on('exit', () => {
  server.kill('SIGTERM'); // also when the benchmark fails
  rmSync(dataDir, { recursive: true, force: true });
});
const url = await new Promise<string>((ready) => {
  let out = '';
  server.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /Open: (\S+)/.exec(out);
    if (m) ready(m[1]!);
  });
});
const browser = await launchChromium();
const browserVersion = browser.version();
const viewport = { width: 1440, height: 900 };
let page = await browser.newPage({ viewport });
await page.goto(url);
await page.waitForSelector('nav');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const ms = (xs: number[]) =>
  `${median(xs).toFixed(0)} ms (median of ${xs.length}: ${xs.map((x) => x.toFixed(0)).join(', ')} ms)`;
const framesText = (xs: number[]) =>
  `median frame ${median(xs).toFixed(1)} ms, p95 ${p95(xs).toFixed(1)} ms over ${xs.length} frames`;

/**
 * Frame intervals (ms) recorded by requestAnimationFrame while `act` runs. The page scripts
 * are strings: tsx would wrap functions in a helper the page does not have.
 */
async function frames(on: Page, act: () => Promise<void>): Promise<number[]> {
  await on.evaluate(`(() => {
    window.frames_ = [];
    window.stop_ = false;
    let last = performance.now();
    const tick = (t) => {
      window.frames_.push(t - last);
      last = t;
      if (!window.stop_) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  await act();
  return (await on.evaluate(
    '(() => { window.stop_ = true; return window.frames_.slice(1); })()',
  )) as number[];
}

/**
 * Waits, checking once a frame, until the page expression `condition` holds. Playwright's
 * waitForFunction evaluates a string with eval, which the app's Content Security Policy
 * refuses, and a function would be wrapped by tsx in a helper the page does not have.
 */
async function until(on: Page, condition: string, timeoutMs = 120_000): Promise<void> {
  await on.evaluate(`new Promise((done, fail) => {
    const start = performance.now();
    const check = () => {
      if (${condition}) done(true);
      else if (performance.now() - start > ${timeoutMs}) fail(new Error(${JSON.stringify(`timed out: ${condition}`)}));
      else requestAnimationFrame(check);
    };
    check();
  })`);
}

const lines: string[] = [];
const runs = 3;

// ── C: the experiments list at scale ──
const countShown = (n: number) =>
  `[...document.querySelectorAll('.toolbar .muted')].some((e) => e.textContent === '${n} experiments') && document.querySelector('[aria-label="Experiments"] .viewport [role="row"]') !== null`;
const firstPaint: number[] = [];
const listLoad: number[] = [];
for (let i = 0; i < runs; i++) {
  // a fresh tab each time: nothing cached but what the browser keeps on disk
  await page.close();
  page = await browser.newPage({ viewport });
  await page.goto(`${url}#/experiments`);
  await until(page, countShown(totalExperiments));
  const [paint, loaded] = (await page.evaluate(
    `[performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN, performance.now()]`,
  )) as [number, number];
  firstPaint.push(paint);
  listLoad.push(loaded);
}
// scrolled to the end in 40 steps, one a frame: the last row is drawn where it belongs
const lastRowDrawn = `[...document.querySelectorAll('[aria-label="Experiments"] .viewport [role="row"]')].some((r) => r.style.top === '${(totalExperiments - 1) * 36}px')`;
const scroll = await frames(page, async () => {
  await page.evaluate(`new Promise((done) => {
    const v = document.querySelector('[aria-label="Experiments"] .viewport');
    let step = 0;
    const next = () => {
      step++;
      v.scrollTop = (v.scrollHeight - v.clientHeight) * step / 40;
      if (step < 40) requestAnimationFrame(next); else requestAnimationFrame(() => done());
    };
    requestAnimationFrame(next);
  })`);
  await until(page, lastRowDrawn);
});
const oldest = 'synthetic 0 lenet IMP rewind-0 seed 0';
const search: number[] = [];
const matching = Math.floor(manyCount / 10) + (manyCount % 10 > 7 ? 1 : 0);
for (let i = 0; i < runs; i++) {
  const box = page.getByLabel('Search experiments');
  await box.fill('');
  await until(page, countShown(totalExperiments));
  const t0 = Date.now();
  await box.fill('rewind-7');
  await until(page, countShown(matching));
  search.push(Date.now() - t0);
}
const picker: number[] = [];
for (let i = 0; i < runs; i++) {
  await page.evaluate(() => (location.hash = '#/settings'));
  await page.waitForSelector('h1');
  const t0 = Date.now();
  await page.evaluate(() => (location.hash = '#/compare'));
  await until(
    page,
    `document.querySelectorAll('[aria-label="Experiments to compare"] .chip').length > 0`,
  );
  picker.push(Date.now() - t0);
}
const pickerSearch: number[] = [];
for (let i = 0; i < runs; i++) {
  const box = page.getByLabel('Find experiments');
  await box.fill('');
  const t0 = Date.now();
  await box.fill(oldest);
  await until(
    page,
    `[...document.querySelectorAll('[aria-label="Experiments to compare"] .chip')].some((c) => c.textContent.trim() === ${JSON.stringify(oldest)})`,
  );
  pickerSearch.push(Date.now() - t0);
}
lines.push(
  `C. ${totalExperiments.toLocaleString('en-US')} experiments, ${totalTickets.toLocaleString('en-US')} tickets, all synthetic (${manyCount.toLocaleString('en-US')} synthetic ones with a dense and an IMP ticket each, seeded in ${(seedMs / 1000).toFixed(1)} s in one transaction): first contentful paint ${ms(firstPaint)}; experiments list loaded, every row reachable, ${ms(listLoad)} from navigation; scrolling to the last row in 40 steps (drawn): ${framesText(scroll)}; search "rewind-7" (${matching.toLocaleString('en-US')} left) ${ms(search)}; compare picker open ${ms(picker)}; picker search to one experiment ${ms(pickerSearch)}.`,
);

// ── A: a lineage of 2,000 tickets ──
const firstRender: number[] = [];
for (let i = 0; i < runs; i++) {
  await page.evaluate(() => (location.hash = '#/settings'));
  await page.waitForSelector('h1');
  const t0 = Date.now();
  await page.evaluate((id) => (location.hash = `#/experiment/${id}`), big);
  await page.waitForSelector(`svg[data-nodes="${tickets}"]`, { timeout: 60_000 });
  firstRender.push(Date.now() - t0);
}
const box = (await page.locator('.lineage svg').boundingBox())!;
const pan = await frames(page, async () => {
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 0; i < 60; i++)
    await page.mouse.move(box.x + box.width / 2 - i * 8, box.y + box.height / 2 + (i % 10));
  await page.mouse.up();
});
const zoomFrames = await frames(page, async () => {
  await page.keyboard.down('Control');
  for (let i = 0; i < 20; i++) await page.mouse.wheel(0, i < 10 ? -120 : 120);
  await page.keyboard.up('Control');
});
lines.push(
  `A. Lineage of ${tickets} tickets: first render ${ms(firstRender)}, navigation to tree drawn, data fetched over HTTP; panning: ${framesText(pan)}; zooming (Ctrl+wheel): ${framesText(zoomFrames)}.`,
);

// ── B: compare of 50 experiments ──
const compare: number[] = [];
for (let i = 0; i < runs; i++) {
  await page.evaluate(() => (location.hash = '#/settings'));
  await page.waitForSelector('h1');
  const t0 = Date.now();
  await page.evaluate((ids) => (location.hash = `#/compare/${ids.join(',')}`), many);
  await page.waitForFunction(
    () =>
      // 10 specs × (IMP and its control, each starting at the dense point) × 10 levels
      document.querySelectorAll('[aria-label="Compare table"] tbody tr').length === 10 * 2 * 10,
    undefined,
    { timeout: 60_000 },
  );
  compare.push(Date.now() - t0);
}
const reducer = await frames(page, async () => {
  for (const r of ['last', 'best', 'min', 'max', 'at early stop'])
    await page.getByLabel('Reducer').selectOption(r);
});
lines.push(
  `B. Compare of ${many.length} experiments (10 specs × 5 replicates, 1,000 tickets): plot and table ${ms(compare)}; switching the reducer 5 times: ${framesText(reducer)}.`,
);
await browser.close();
server.kill('SIGTERM');

const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'ui.md'), lines.join('\n\n') + '\n');
process.stdout.write(lines.join('\n\n') + '\n');
if (args.record) {
  const date = new Date().toISOString();
  const file = recordPath('ui', date);
  const record: UiRecord = {
    date,
    command: thisCommand('bench:ui'),
    machine: thisMachine(),
    versions: theseVersions(),
    browser: `Chromium ${browserVersion}`,
    viewport,
    synthetic: true,
    experiments: totalExperiments,
    tickets: totalTickets,
    seedMs,
    firstPaintMs: firstPaint,
    listLoadMs: listLoad,
    scrollFrameMs: scroll,
    searchMs: search,
    searchMatches: matching,
    pickerOpenMs: picker,
    pickerSearchMs: pickerSearch,
    lineage: { tickets, firstRenderMs: firstRender, panFrameMs: pan, zoomFrameMs: zoomFrames },
    compare: { experiments: many.length, renderMs: compare, reducerFrameMs: reducer },
  };
  writeFileSync(file, JSON.stringify(record, null, 1) + '\n');
  process.stdout.write(`recorded ${file}\n`);
}
