/**
 * Speed of the workbench UI with large records, in Debian's Chromium against a real
 * `ticketlab serve` (issue 4):
 *
 *   npm run bench:ui
 *
 * A. The lineage of one experiment with 2,000 tickets: time from navigation to the tree
 *    drawn, then frame times while panning (60 mouse moves) and zooming (20 wheel steps).
 * B. The compare plot of 50 experiments (20 tickets each): time to the plot and its table.
 *
 * The records are synthetic (written straight into a temporary store, labelled so) because
 * what is measured is drawing, not training. Writes bench/results/ui.md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureBuiltinDataset } from '../src/services/datasets.ts';
import { Store } from '../src/store/store.ts';
import { launchChromium } from '../test/chromium.ts';

const ROOT = resolve(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'ticketlab-ui-bench-'));
const store = Store.open(dataDir);
const dataset = ensureBuiltinDataset(store);
const blob = store.putTensors(
  new Map([['synthetic', { dtype: 'F32', shape: [1], data: new Float32Array(1) }]]),
);

/** An experiment whose IMP chain has `levels` levels, each with `controls` control children. */
function synthetic(name: string, levels: number, controls: string[], seed: number): string {
  const e = store.insertExperiment({
    name,
    specJson: JSON.stringify({ model: 'lenet-300-100', seed }),
    specHash: `synthetic-${name.split(' ')[0]}`,
    replicate: seed,
    method: 'imp',
    datasetId: dataset.id,
    model: 'lenet-300-100',
  });
  let parent: string | null = null;
  store.transaction(() => {
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
  });
  return e.id;
}

// A: 400 levels × (imp + 4 controls) = 1,996 tickets + dense = 1,997 ≈ 2,000.
const big = synthetic(
  'big lineage (synthetic)',
  400,
  ['random-reinit', 'random-prune', 'snip', 'synflow'],
  0,
);
// B: 50 experiments, 10 specs × 5 replicates, 10 levels with one control each.
const many: string[] = [];
for (let spec = 0; spec < 10; spec++)
  for (let r = 0; r < 5; r++)
    many.push(synthetic(`spec${spec} (synthetic)`, 10, ['random-reinit'], r));
const tickets = store.listTickets(big).length;
store.close();

const server = spawn(
  process.execPath,
  [join(ROOT, 'bin', 'ticketlab.mjs'), 'serve', '--data-dir', dataDir],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
process.on('exit', () => server.kill('SIGTERM')); // also when the benchmark fails
const url = await new Promise<string>((ready) => {
  let out = '';
  server.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /Open: (\S+)/.exec(out);
    if (m) ready(m[1]!);
  });
});
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(url);
await page.waitForSelector('nav');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

/**
 * Frame intervals (ms) recorded by requestAnimationFrame while `act` runs. The page scripts
 * are strings: tsx would wrap functions in a helper the page does not have.
 */
async function frames(act: () => Promise<void>): Promise<number[]> {
  await page.evaluate(`(() => {
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
  return (await page.evaluate(
    '(() => { window.stop_ = true; return window.frames_.slice(1); })()',
  )) as number[];
}

const lines: string[] = [];
const runs = 3;
const firstRender: number[] = [];
for (let i = 0; i < runs; i++) {
  await page.evaluate(() => (location.hash = '#/experiments'));
  await page.waitForSelector('[aria-label="Experiments"]');
  const t0 = Date.now();
  await page.evaluate((id) => (location.hash = `#/experiment/${id}`), big);
  await page.waitForSelector(`svg[data-nodes="${tickets}"]`, { timeout: 60_000 });
  firstRender.push(Date.now() - t0);
}
const box = (await page.locator('.lineage svg').boundingBox())!;
const pan = await frames(async () => {
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 0; i < 60; i++)
    await page.mouse.move(box.x + box.width / 2 - i * 8, box.y + box.height / 2 + (i % 10));
  await page.mouse.up();
});
const zoomFrames = await frames(async () => {
  for (let i = 0; i < 20; i++) await page.mouse.wheel(0, i < 10 ? -120 : 120);
});
lines.push(
  `A. Lineage of ${tickets} tickets: first render ${median(firstRender)} ms (median of ${runs}: ${firstRender.join(', ')} ms, navigation to tree drawn, data fetched over HTTP); panning: median frame ${median(pan).toFixed(1)} ms, p95 ${p95(pan).toFixed(1)} ms over ${pan.length} frames; zooming: median ${median(zoomFrames).toFixed(1)} ms, p95 ${p95(zoomFrames).toFixed(1)} ms over ${zoomFrames.length} frames.`,
);

const compare: number[] = [];
for (let i = 0; i < runs; i++) {
  await page.evaluate(() => (location.hash = '#/experiments'));
  await page.waitForSelector('[aria-label="Experiments"]');
  const t0 = Date.now();
  await page.evaluate((ids) => (location.hash = `#/compare/${ids.join(',')}`), many);
  await page.waitForFunction(
    () =>
      document.querySelectorAll('[aria-label="Compare table"] tbody tr').length ===
      10 * 10 * 2 - 10,
    undefined,
    { timeout: 60_000 },
  );
  compare.push(Date.now() - t0);
}
const reducer = await frames(async () => {
  for (const r of ['last', 'best', 'min', 'max', 'at early stop'])
    await page.getByLabel('Reducer').selectOption(r);
});
lines.push(
  `B. Compare of ${many.length} experiments (10 specs × 5 replicates, 1,000 tickets): plot and table ${median(compare)} ms (median of ${runs}: ${compare.join(', ')} ms); switching the reducer 5 times: median frame ${median(reducer).toFixed(1)} ms, p95 ${p95(reducer).toFixed(1)} ms.`,
);
await browser.close();
server.kill('SIGTERM');
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'ui.md'), lines.join('\n\n') + '\n');
process.stdout.write(lines.join('\n\n') + '\n');
