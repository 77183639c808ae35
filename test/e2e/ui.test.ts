import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { nativeBlas } from '../../src/engine/native-blas.ts';
import { ROOT, tinyDigits, writeIdxDataset } from '../helpers.ts';
import { serve, type Served } from '../server/serve.ts';

/**
 * The workbench end to end: Debian's Chromium against a real `ticketlab serve` on a
 * temporary data folder. Screenshots of the main screens go to test-results/screenshots.
 */
const SHOTS = join(ROOT, 'test-results', 'screenshots');
let browser: Browser;
let server: Served;
let page: Page;
let data: string;
const remote: string[] = [];
const browserDialogs: string[] = [];

const shot = (name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-renderer.mjs')], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`renderer build failed: ${built.stderr}`);
  mkdirSync(SHOTS, { recursive: true });
  // Not tempDir(): that is emptied after each test, and the server lives for the file.
  data = mkdtempSync(join(tmpdir(), 'ticketlab-e2e-'));
  server = await serve(data);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Nothing remote: every request goes to the local server (or stays in the page).
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== server.url.origin)
      remote.push(r.url());
  });
  // the app asks in dialogs of its own: a browser dialog is a bug
  page.on('dialog', (d) => {
    browserDialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(server.url.toString());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.stopped;
  rmSync(data, { recursive: true, force: true });
});

/**
 * A TCP-level stand-in for the server: forwards HTTP to it, and can go away (every
 * connection cut, the port closed) and come back on the same port.
 */
async function startProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const start = async () => {
    server = createServer((req, res) => {
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((ready) => server!.listen(port, '127.0.0.1', ready));
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    if (!server) return;
    const closing = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    await new Promise((done) => closing.close(done));
  };
  await start();
  return { port, start, stop };
}

/** The files of the ticket page's last model export, as it names them (the first matching). */
async function lastExport(file: RegExp): Promise<string> {
  const note = page.getByLabel('Last export');
  await expect.poll(() => note.textContent()).toMatch(/sha256/);
  const path = /^Exported (.+?) \(\d+ bytes/.exec((await note.textContent())!)![1]!;
  expect(path).toMatch(file);
  expect(path.startsWith(join(data, 'exports'))).toBe(true);
  return path;
}

const setSpec = async (spec: unknown) => {
  await page.getByLabel('Spec JSON').fill(JSON.stringify(spec, null, 2));
};

describe('workbench UI in Chromium', () => {
  it('creates an experiment from a template, shows it run, grow its lineage and finish', async () => {
    await expect.poll(() => page.getByText('No experiments yet.').isVisible()).toBe(true);
    await shot('experiments-empty');
    await page.getByRole('link', { name: 'New experiment' }).click();
    await page.getByRole('listitem').filter({ hasText: 'LeNet-300-100 IMP on MNIST' }).click();
    // invalid as typed: the schema's message names the field
    await page.getByLabel('Training length').fill('2000 iterations');
    await expect
      .poll(() => page.getByLabel('Spec errors').textContent())
      .toMatch(/spec\.training\.duration/);
    expect(await page.getByRole('button', { name: 'Create and start' }).isDisabled()).toBe(true);
    await page.getByLabel('Training length').fill('40it');
    await page.getByLabel('Pruning levels').fill('2');
    await expect
      .poll(() => page.getByLabel('Cost').textContent())
      .toBe('5 trainings, 200 iterations in all');
    await shot('new-experiment');
    await page.getByRole('button', { name: 'Create and start' }).click();
    await page.waitForURL(/#\/experiment\/exp_/);
    // the lineage grows as levels finish: dense, 2 IMP levels and their re-init controls
    await expect
      .poll(() => page.locator('svg[aria-label="Lineage tree"]').getAttribute('data-nodes'), {
        timeout: 90_000,
      })
      .toBe('5');
    await expect
      .poll(() => page.locator('.status').first().textContent(), { timeout: 30_000 })
      .toBe('done');
    await shot('experiment-lineage');
    // the accuracy column follows the chosen reducer
    await page.getByLabel('Accuracy reducer').selectOption('max');
    const rows = await page
      .getByRole('table', { name: 'Tickets' })
      .locator('tbody tr')
      .allTextContents();
    expect(rows).toHaveLength(5);
    expect(rows[0]).toMatch(/^0dense100\.0%\d+\.\d\d%/);

    // open a ticket from the tree: its layers, curves and a diff against its parent
    await page.locator('g.node').filter({ hasText: 'imp 64' }).first().click();
    await page.waitForURL(/#\/ticket\/tkt_/);
    await expect
      .poll(() => page.getByLabel('Remaining weights per layer').textContent())
      .toMatch(/fc1\.kernel.*64\.0% of 235,200/);
    await expect
      .poll(() => page.getByRole('table', { name: 'Diff' }).textContent())
      .toMatch(/fc1\.kernel: units removed\d+ of 300/);
    // the loss curves: train, val, test; beside them the accuracy of the splits evaluated
    await expect
      .poll(() => page.locator('svg[aria-label="loss vs iteration"] g.series').count())
      .toBe(3);
    await expect
      .poll(() => page.locator('svg[aria-label="accuracy vs iteration"] g.series').count())
      .toBeGreaterThanOrEqual(2);
    expect(await page.getByRole('img', { name: 'Learning rate over training' }).count()).toBe(1);
    expect(await page.getByRole('table', { name: 'Metrics' }).textContent()).toMatch(
      /test accuracy at early stop\d+\.\d\d%.*best val accuracy \(of \d+ evaluations\)/,
    );
    // the threads its training took, where the native kernels ran it
    expect(await page.getByRole('table', { name: 'Metrics' }).textContent()).toMatch(
      nativeBlas() ? /kernel threads\d/ : /kernel threadsnot recorded$/,
    );
    await shot('ticket');
  }, 150_000);

  it('pauses, resumes and cancels a running job from the monitor, which shows why a job failed', async () => {
    await page.goto(`${server.url.origin}/?token=${server.token}#/new`);
    await setSpec({
      model: 'lenet-300-100',
      training: { duration: '20000it', evalEvery: 1000 },
      pruning: { levels: 1 },
    });
    await page.getByRole('button', { name: 'Create and start' }).click();
    await page.waitForURL(/#\/experiment\/exp_/);
    const experimentUrl = page.url();
    await page.getByRole('link', { name: 'Monitor' }).click();
    const row = page.getByRole('table', { name: 'Jobs' }).locator('tbody tr').first();
    await expect
      .poll(() => row.locator('.status').textContent(), { timeout: 30_000 })
      .toBe('running');
    // the curves of the running job update live
    await expect
      .poll(() => page.locator('.live svg.chart g.series circle').count(), { timeout: 30_000 })
      .toBeGreaterThan(2);
    await row.getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => row.locator('.status').textContent(), { timeout: 30_000 })
      .toBe('paused');
    await shot('monitor-paused');
    await row.getByRole('button', { name: 'Resume' }).click();
    await expect
      .poll(() => row.locator('.status').textContent(), { timeout: 30_000 })
      .toMatch(/queued|running/);
    await row.getByRole('button', { name: 'Cancel' }).click();
    await page
      .getByRole('dialog', { name: 'Cancel this job?' })
      .getByRole('button', { name: 'Cancel the job' })
      .click();
    await expect
      .poll(() => row.locator('.status').textContent(), { timeout: 30_000 })
      .toBe('cancelled');
    // stopping is not failing: the experiment page says what happened, not in red
    await page.goto(experimentUrl);
    await expect
      .poll(() => page.getByLabel('Status note').textContent())
      .toMatch(/^Stopped by the user/);
    expect(await page.locator('p.error').count()).toBe(0);

    // a spec that cannot run (rewind past the end of training) is refused at creation: the
    // form stays, with the reason, and nothing is stored
    const before = (await server.call<{ total: number }>('experiments.list', {})).body.result.total;
    await page.getByRole('link', { name: 'New experiment' }).click();
    await setSpec({
      model: 'lenet-300-100',
      training: { duration: '20it' },
      pruning: { levels: 1, rewind: '50it' },
    });
    await page.getByRole('button', { name: 'Create and start' }).click();
    await expect
      .poll(() => page.locator('p.error').first().textContent(), { timeout: 30_000 })
      .toMatch(/spec\.pruning\.rewind: "50it" is iteration 50, not before the end of training/);
    expect(page.url()).toMatch(/#\/new/);
    expect((await server.call<{ total: number }>('experiments.list', {})).body.result.total).toBe(
      before,
    );
  }, 120_000);

  it('compares replicates: one line with its band, N in the table, the reducer chosen, early stops', async () => {
    type Summary = { id: string; method: string; status: string; levels: number };
    const list = await server.call<{ items: Summary[] }>('experiments.list', {});
    const first = list.body.result.items.find((e) => e.status === 'done')!;
    const detail = await server.call<{ spec: unknown }>('experiments.get', { id: first.id });
    const replica = await server.call<{ experiment: Summary; job: { id: string } }>(
      'experiments.create',
      { spec: detail.body.result.spec, newReplicate: true, start: true },
    );
    const second = replica.body.result.experiment.id;
    await expect
      .poll(
        async () =>
          (await server.call<Summary>('experiments.get', { id: second })).body.result.status,
        { timeout: 90_000 },
      )
      .toBe('done');
    await page.goto(`${server.url.origin}/?token=${server.token}#/compare/${first.id},${second}`);
    // imp and random-reinit: one series each, replicates pooled, each starting at the dense point
    await expect.poll(() => page.locator('svg.chart').first().locator('g.series').count()).toBe(2);
    await expect
      .poll(() => page.getByRole('table', { name: 'Compare table' }).textContent())
      .toMatch(/· imp264\.1%2\d/);
    await page.getByLabel('Reducer').selectOption('last');
    await expect
      .poll(() => page.locator('svg.chart').first().getAttribute('aria-label'))
      .toMatch(/\(last\)/);
    expect(await page.locator('svg.chart').nth(1).getAttribute('aria-label')).toMatch(/early-stop/);
    await shot('compare');
  }, 120_000);

  it('draws the compare chart for reading and saving: dense starts each line, full legend names, labelled log ticks, clear titles, a dense reference, full width, reducer and band in the files', async () => {
    const chart = page.locator('svg.chart').first();
    // one line per experiment and method, the dense point its first point; none for dense alone
    const series = await chart.locator('g.series').evaluateAll((gs) =>
      gs.map((g) => ({
        label: g.getAttribute('data-series')!,
        points: g.querySelectorAll('circle').length,
      })),
    );
    expect(series.map((s) => s.label).some((l) => l.endsWith('· dense'))).toBe(false);
    for (const s of series) expect(s.points).toBe(3); // dense, level 1, level 2
    // every legend name in full, wrapped inside the picture
    const legend = await chart.locator('g.legend-item').evaluateAll((items) =>
      items.map((g) => {
        const svg = (g as SVGGElement).ownerSVGElement!.getBoundingClientRect();
        const box = g.getBoundingClientRect();
        return {
          label: g.getAttribute('data-label')!,
          text: Array.from(g.querySelectorAll('tspan'), (t) => t.textContent).join(' '),
          inside: box.right <= svg.right + 0.5 && box.bottom <= svg.bottom + 0.5,
        };
      }),
    );
    expect(legend.map((l) => l.label).sort()).toEqual(series.map((s) => s.label).sort());
    for (const l of legend) {
      expect(l.text).toBe(l.label);
      expect(l.inside).toBe(true);
    }
    expect(legend.some((l) => l.label.length > 24)).toBe(true);
    // the log axis names at least three values
    const xLabels = (await chart.locator('g.x-tick text').allTextContents()).filter(Boolean);
    expect(xLabels.length).toBeGreaterThanOrEqual(3);
    // axis titles do not touch the tick labels
    const overlaps = await chart.evaluate((svg) => {
      const hit = (a: DOMRect, b: DOMRect) =>
        a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      const boxes = (sel: string) =>
        Array.from(svg.querySelectorAll(sel), (e) => e.getBoundingClientRect());
      const x = svg.querySelector('.x-title')!.getBoundingClientRect();
      const y = svg.querySelector('.y-title')!.getBoundingClientRect();
      return [
        ...boxes('.x-tick text').filter((b) => hit(b, x)),
        ...boxes('.y-tick text').filter((b) => hit(b, y)),
      ].length;
    });
    expect(overlaps).toBe(0);
    // the dense accuracy as a dashed, labelled reference line
    const reference = chart.locator('g.reference').first();
    expect(await reference.locator('line').getAttribute('stroke-dasharray')).toBeTruthy();
    expect(await reference.locator('text').textContent()).toMatch(/^dense .+: \d+\.\d\d%$/);
    // the chart spans the page's content width
    const widths = await page.evaluate(() => ({
      chart: document.querySelector('svg.chart')!.getBoundingClientRect().width,
      section: document.querySelector('main section')!.getBoundingClientRect().width,
    }));
    expect(widths.chart).toBeGreaterThanOrEqual(widths.section - 1);
    // the saved files say which reducer and band they show
    const saved = async (button: string) => {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: button }).click(),
      ]);
      return readFileSync((await download.path())!, 'utf8');
    };
    expect(await chart.locator('text.caption').textContent()).toMatch(/\(last\).*band: min–max/);
    const svgFile = await saved('Save SVG');
    expect(svgFile).toMatch(
      /class="caption"[^>]*><tspan[^>]*>Test accuracy \(last\) vs remaining weights · band: min–max/,
    );
    await page.getByLabel('Band', { exact: true }).selectOption('std');
    const csv = (await saved('Save CSV')).split('\n');
    expect(csv[0]).toMatch(/,reducer,band,band_lo,band_hi$/);
    expect(csv[1]).toMatch(/,"last","± std",[\d.]+,[\d.]+$/);
    expect(csv.some((l) => /,dense,0,1,/.test(l))).toBe(true);
    await shot('compare-chart');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('compare-chart-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('fits the lineage tree to its view, zooms by buttons or Ctrl+wheel only, colours by the accuracies shown and opens tickets from the keyboard', async () => {
    type Summary = { id: string; method: string; status: string };
    const list = await server.call<{ items: Summary[] }>('experiments.list', {});
    const done = list.body.result.items.find((e) => e.status === 'done' && e.method === 'imp')!;
    await page.goto(`${server.url.origin}/?token=${server.token}#/experiment/${done.id}`);
    const tree = page.locator('svg[aria-label="Lineage tree"]');
    await expect.poll(() => tree.getAttribute('data-nodes')).toBe('5');
    const viewport = tree.locator('g.viewport');
    // fitted: the drawing is inside the view and centred in it
    const placement = () =>
      tree.evaluate((svg) => {
        const view = svg.getBoundingClientRect();
        const drawn = svg.querySelector('g.viewport')!.getBoundingClientRect();
        return {
          inside:
            drawn.left >= view.left &&
            drawn.right <= view.right &&
            drawn.top >= view.top &&
            drawn.bottom <= view.bottom,
          offCentre: Math.abs((drawn.left + drawn.right) / 2 - (view.left + view.right) / 2),
        };
      });
    await expect.poll(async () => (await placement()).inside).toBe(true);
    expect((await placement()).offCentre).toBeLessThan(80);
    const fitted = await viewport.getAttribute('transform');
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await expect.poll(() => viewport.getAttribute('transform')).not.toBe(fitted);
    await page.getByRole('button', { name: 'Fit', exact: true }).click();
    await expect.poll(() => viewport.getAttribute('transform')).toBe(fitted);
    await page.getByRole('button', { name: 'Zoom out' }).click();
    await expect.poll(() => viewport.getAttribute('transform')).not.toBe(fitted);
    await page.getByRole('button', { name: 'Fit', exact: true }).click();
    await expect.poll(() => viewport.getAttribute('transform')).toBe(fitted);

    // a plain wheel scrolls the page (not taken by the tree); Ctrl+wheel zooms
    // (captured on the way down and read after: d3 stops the events it takes)
    await page.evaluate(() => {
      const seen: WheelEvent[] = [];
      (window as unknown as { wheels: WheelEvent[] }).wheels = seen;
      window.addEventListener('wheel', (e) => seen.push(e), { capture: true });
    });
    const box = (await tree.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 120);
    const wheels = () =>
      page.evaluate(() =>
        (window as unknown as { wheels: WheelEvent[] }).wheels.map((e) => e.defaultPrevented),
      );
    await expect.poll(async () => (await wheels()).length).toBe(1);
    expect((await wheels())[0]).toBe(false);
    expect(await viewport.getAttribute('transform')).toBe(fitted);
    const box2 = (await tree.boundingBox())!;
    await page.mouse.move(box2.x + box2.width / 2, box2.y + box2.height / 2);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -120);
    await page.keyboard.up('Control');
    await expect.poll(async () => (await wheels()).length).toBe(2);
    expect((await wheels())[1]).toBe(true);
    await expect.poll(() => viewport.getAttribute('transform')).not.toBe(fitted);
    await page.getByRole('button', { name: 'Fit', exact: true }).click();

    // colours span the accuracies shown: the best ticket at one end, the worst at the other
    const nodes = await tree.locator('g.node').evaluateAll((gs) =>
      gs.map((g) => ({
        accuracy: Number(g.getAttribute('data-accuracy')),
        fill: g.querySelector('circle')!.getAttribute('fill')!,
      })),
    );
    const best = nodes.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    const worst = nodes.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
    expect(best.accuracy).toBeGreaterThan(worst.accuracy);
    expect(best.fill).toMatch(/var\(--acc-high\) 100%/);
    expect(worst.fill).toMatch(/var\(--acc-high\) 0%/);
    const pct2 = (x: number) => `${(x * 100).toFixed(2)}%`;
    expect(await page.getByLabel('Accuracy colours').textContent()).toMatch(
      new RegExp(`${pct2(worst.accuracy)}.*${pct2(best.accuracy)}`),
    );
    await shot('lineage-fit');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('lineage-fit-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // keyboard: the nodes follow the view's controls in tab order, named, and Enter opens one
    await page.getByRole('button', { name: 'Zoom out' }).focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({
      ticket: document.activeElement?.getAttribute('data-ticket'),
      label: document.activeElement?.getAttribute('aria-label'),
    }));
    expect(focused.ticket).toMatch(/^tkt_/);
    expect(focused.label).toMatch(
      /^level 0, dense, 100\.0% of weights remaining, test accuracy \d+\.\d\d%$/,
    );
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`#/ticket/${focused.ticket}$`));
  });

  it('imports a dataset file and shows its sample grid; a malformed one shows its reason', async () => {
    const mnist = loadBuiltinMnist();
    const cut = (s: typeof mnist.train, n: number) => ({
      images: s.images.subarray(0, n * 784),
      labels: s.labels.subarray(0, n),
      count: n,
    });
    const good = writeIdxDataset(
      join(data, 'digits'),
      { train: cut(mnist.train, 50), t10k: cut(mnist.test, 40) },
      [28, 28],
    );
    await page.getByRole('link', { name: 'Datasets' }).click();
    await page.getByLabel('Dataset folder').fill(good);
    await page.getByLabel('Dataset name').fill('forty digits');
    await page.getByRole('button', { name: 'Import' }).click();
    await expect.poll(() => page.getByLabel('Samples').locator('canvas').count()).toBe(40);
    expect(await page.getByLabel('Class counts').textContent()).toMatch(/Examples per class/);
    await shot('datasets');

    const bad = join(data, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'train-images-idx3-ubyte'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 1]));
    writeFileSync(join(bad, 'train-labels-idx1-ubyte'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 3]));
    writeFileSync(join(bad, 't10k-images-idx3-ubyte'), Buffer.from([0, 0, 8, 3]));
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), Buffer.from([0, 0, 8, 1]));
    await page.getByLabel('Dataset folder').fill(bad);
    await page.getByLabel('Dataset name').fill('');
    await page.getByRole('button', { name: 'Import' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/train-images-idx3-ubyte/);
    await shot('datasets-error');
  }, 60_000);

  it('transfers a ticket to another dataset from its page, shows the heatmap, and exports models and results', async () => {
    type Summary = { id: string; status: string; method: string };
    const list = await server.call<{ items: Summary[] }>('experiments.list', {});
    const source = list.body.result.items.find((e) => e.status === 'done' && e.method === 'imp')!;
    const detail = await server.call<{ tickets: { id: string; method: string; level: number }[] }>(
      'experiments.get',
      { id: source.id },
    );
    const ticket = detail.body.result.tickets.find((t) => t.method === 'imp' && t.level === 2)!;
    await page.goto(`${server.url.origin}/?token=${server.token}#/ticket/${ticket.id}`);

    // Loss and accuracy over training, the early-stop iteration marked on both
    const { earlyStopIteration } = (
      await server.call<{ ticket: { earlyStopIteration: number } }>('tickets.get', {
        id: ticket.id,
      })
    ).body.result.ticket;
    const loss = page.locator('svg[aria-label="loss vs iteration"]');
    const accuracy = page.locator('svg[aria-label="accuracy vs iteration"]');
    await expect.poll(() => accuracy.locator('g.series').count()).toBeGreaterThan(0);
    for (const chart of [loss, accuracy])
      expect(await chart.locator('g.marker').getAttribute('data-x')).toBe(
        String(earlyStopIteration),
      );
    // on a log scale, the loss ticks sit at distances proportional to their logarithms
    await page.getByLabel('Loss on a log scale').check();
    const ticks = async () =>
      loss.locator('g.y-tick').evaluateAll((gs) =>
        gs.map((g) => ({
          value: Number(g.textContent),
          y: Number(/,([-\d.]+)\)/.exec(g.getAttribute('transform')!)![1]),
        })),
      );
    await expect.poll(async () => (await ticks()).length).toBeGreaterThan(2);
    const [first, ...rest] = await ticks();
    const perDecade = rest.map((t) => (t.y - first!.y) / Math.log10(t.value / first!.value));
    for (const d of perDecade) expect(d).toBeCloseTo(perDecade[0]!, 0);

    // Export the model with the dialog's defaults: a file under the data folder's exports.
    await page.getByRole('button', { name: 'Export model…' }).click();
    await page
      .getByRole('dialog', { name: 'Export model' })
      .getByRole('button', { name: 'Export' })
      .click();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    expect(existsSync(await lastExport(/\.onnx$/))).toBe(true);

    await page.getByRole('button', { name: 'Transfer to other datasets…' }).click();
    await page.waitForURL(/#\/transfer\/tkt_/);
    expect(
      await page
        .getByRole('group', { name: 'Source ticket' })
        .getByRole('link')
        .getAttribute('href'),
    ).toBe(`#/ticket/${ticket.id}`);
    await page.getByLabel('Target datasets').getByText('forty digits').click();
    await page.getByLabel('Transfer training length').fill('20it');
    await page.getByRole('button', { name: 'Transfer and train' }).click();
    await page.waitForURL(/#\/experiment\/exp_/);
    await expect
      .poll(() => page.locator('.status').first().textContent(), { timeout: 60_000 })
      .toBe('done');
    await expect
      .poll(() => page.locator('svg[aria-label="Lineage tree"]').getAttribute('data-nodes'))
      .toBe('2'); // the transferred ticket and its random ticket

    // Results of the transfer experiment as CSV, again with the defaults.
    await page.getByRole('button', { name: 'Export results…' }).click();
    await page
      .getByRole('dialog', { name: 'Export results' })
      .getByRole('button', { name: 'Export' })
      .click();
    const saved = page.getByRole('list', { name: 'Saved files' });
    await expect.poll(() => saved.textContent()).toMatch(/tickets\.csv/);
    const files = await saved.locator('code').allTextContents();
    expect(files.length).toBe(3); // tickets, runs, metrics
    for (const f of files) expect(existsSync(f)).toBe(true);
    expect(files[0]!.startsWith(join(data, 'exports'))).toBe(true);
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();

    await page.getByRole('navigation').getByRole('link', { name: 'Transfer' }).click();
    await expect
      .poll(() => page.getByRole('table', { name: 'Transfer heatmap' }).textContent())
      .toMatch(/MNIST \(built-in.*[+−]\d+\.\d\d \(N=1\)/);
    // the colour scale runs over the values shown (one cell: its own size), N in the cell;
    // one transfer has no spread, so it is neither a tie nor given one
    const cell = page.getByRole('table', { name: 'Transfer heatmap' }).locator('td[data-n]');
    expect(await cell.getAttribute('data-n')).toBe('1');
    const value = (await cell.locator('.value').textContent())!.replace(/^[+−]/, '');
    expect(await page.getByLabel('Heatmap colours').textContent()).toMatch(
      new RegExp(`−${value.replace('.', '\\.')}.*\\+${value.replace('.', '\\.')}.*tie`),
    );
    expect(await cell.getAttribute('class')).not.toBe('tie');
    await shot('transfer');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('transfer-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  }, 120_000);

  it('runs network slimming from its template: the ticket shows its compacted layers, measured speed and Early-Bird matrix; compare plots accuracy vs speed-up', async () => {
    // ResNet-20 (the template's model, with batch norm) on 40 digits shrunk to 8×8
    const tiny = await server.call<{ id: string }>('datasets.import', {
      path: tinyDigits(mkdtempSync(join(tmpdir(), 'ticketlab-e2e-tiny-')), 40),
    });
    await page.goto(`${server.url.origin}/?token=${server.token}#/new`);
    await page
      .getByRole('listitem')
      .filter({ hasText: 'Network slimming with Early-Bird tickets' })
      .click();
    const template = JSON.parse(await page.getByLabel('Spec JSON').inputValue());
    expect(template.structured.method).toBe('slimming');
    // the template on the small imported set: one iteration per epoch
    await setSpec({
      ...template,
      dataset: tiny.body.result.id,
      training: { duration: '4ep', evalEvery: 2 },
      structured: {
        ...template.structured,
        fineTune: '1it',
        earlyBird: { window: 3, threshold: 0.3 },
        latencyRuns: 1,
      },
    });
    await page.getByRole('button', { name: 'Create and start' }).click();
    await page.waitForURL(/#\/experiment\/exp_/);
    const experimentId = /#\/experiment\/([^/]+)/.exec(page.url())![1]!;
    await expect
      .poll(() => page.locator('.status').first().textContent(), { timeout: 120_000 })
      .toBe('done');
    await page.locator('g.node').filter({ hasText: 'slimming' }).first().click();
    await page.waitForURL(/#\/ticket\/tkt_/);
    await expect
      .poll(() => page.getByRole('table', { name: 'Measured inference' }).textContent())
      .toMatch(/^batch.*1\d+\.\d{3} ms\d+\.\d{3} ms\d+\.\d\d×.*64.*file size/);
    expect(await page.getByRole('table', { name: 'Compacted layers' }).textContent()).toMatch(
      /convconv2d\d+16 \(\d+ removed\)/,
    );
    expect(await page.locator('svg.distance-matrix').first().getAttribute('aria-label')).toMatch(
      /Mask distances between \d+ epochs/,
    );
    expect(await page.getByRole('table', { name: 'Diff' }).textContent()).toMatch(
      /measured speed-up over the dense model \(batch 1 \/ 64\)\d+\.\d\d× \/ \d+\.\d\d×/,
    );
    await shot('ticket-structured');
    // its export is the compacted model (the CLI test runs such a file in onnxruntime)
    await page.getByRole('button', { name: 'Export model…' }).click();
    await page
      .getByRole('dialog', { name: 'Export model' })
      .getByRole('button', { name: 'Export' })
      .click();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    expect(existsSync(await lastExport(/\.onnx$/))).toBe(true);

    await page.goto(`${server.url.origin}/?token=${server.token}#/compare/${experimentId}`);
    await expect
      .poll(() => page.getByRole('table', { name: 'Accuracy vs speed-up' }).textContent())
      .toMatch(/· slimming01\.00×100\.0%.*· slimming1\d+\.\d\d×/);
    // the backend the speed-ups were measured on is named beside them
    expect(await page.getByText(/measured at batch 64 on wasm/).count()).toBe(1);
    await shot('compare-speed');
  }, 180_000);

  it('asked everything in its own dialogs: no prompt, alert or confirm of the browser', () => {
    expect(browserDialogs).toEqual([]);
  });

  it('loaded nothing remote, under the Content Security Policy of index.html', async () => {
    expect(remote).toEqual([]);
    const csp = await page
      .locator('meta[http-equiv="Content-Security-Policy"]')
      .getAttribute('content');
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/connect-src 'self'/);
  });

  it('keeps the token out of the address bar, and still reaches the API after a reload', async () => {
    expect(page.url()).not.toContain('token');
    await page.reload();
    expect(page.url()).not.toContain('token');
    await page.getByRole('link', { name: 'Experiments' }).click();
    await expect.poll(() => page.locator('main').textContent()).toMatch(/\d+ experiments/);
  });

  it('keeps the form and the JSON in step, and never lets a field overwrite broken JSON', async () => {
    await page.getByRole('link', { name: 'New experiment' }).click();
    await page
      .getByRole('listitem')
      .filter({ hasText: 'Network slimming with Early-Bird tickets' })
      .click();
    expect(await page.getByLabel('Method').inputValue()).toBe('structured');
    await setSpec({ pruning: { levels: 1 } });
    expect(await page.getByLabel('Model').inputValue()).toBe('');
    // a cleared training length shows the length it stands for
    await setSpec({ model: 'lenet-300-100', pruning: { levels: 1 } });
    expect(await page.getByLabel('Training length').getAttribute('placeholder')).toBe(
      'default: 50000it',
    );
    const broken = '{"model": "lenet-300-100", "training": {"duration": "40it"';
    await page.getByLabel('Spec JSON').fill(broken);
    expect(await page.getByLabel('Name').isDisabled()).toBe(true);
    await expect.poll(() => page.getByLabel('Fields locked').isVisible()).toBe(true);
    expect(await page.getByLabel('Spec JSON').inputValue()).toBe(broken);
  });

  it('follows deep links on the page it is on, names every page in the tab, and says when a route is unknown', async () => {
    await page.goto(`${server.url.origin}/#/compare`);
    await expect.poll(() => page.title()).toBe('Compare — TicketLab');
    const [first] = (
      await server.call<{ items: { id: string; name: string }[] }>('experiments.list', {})
    ).body.result.items;
    // a page about one experiment names it, not its id
    await page.evaluate((id) => (location.hash = `#/experiment/${id}`), first!.id);
    await expect.poll(() => page.title()).toBe(`Experiment ${first!.name} — TicketLab`);
    await page.evaluate((id) => (location.hash = `#/compare/${id}`), first!.id);
    await expect.poll(() => page.title()).toBe(`Compare ${first!.id} — TicketLab`);
    await expect
      .poll(() => page.locator('svg.chart').first().locator('g.series').count())
      .toBeGreaterThan(0);
    // the picker is searched by name; chosen experiments stay shown
    const chips = page.getByLabel('Experiments to compare').locator('label.chip');
    // the picker lists every experiment once its list has loaded, which takes its time
    await expect.poll(() => chips.count()).toBeGreaterThan(1);
    await page.getByLabel('Find experiments').fill('no such experiment name');
    await expect.poll(() => chips.count()).toBe(1);
    await page.evaluate(() => (location.hash = '#/nowhere/at-all'));
    await expect.poll(() => page.locator('main h1').textContent()).toBe('Not found');
    expect(await page.title()).toBe('Not found at-all — TicketLab');
  });

  it('follows the theme setting and shows the backend in settings', async () => {
    await page.getByLabel('Theme').selectOption('dark');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByRole('link', { name: 'Settings' }).click();
    await expect.poll(() => page.locator('.facts').textContent()).toMatch(/Compute backendwasm/);
    await shot('settings-dark');
  });

  it('reflows down to 800 px wide: no page scrolls sideways', async () => {
    type Summary = { id: string; method: string; status: string };
    const items = (await server.call<{ items: Summary[] }>('experiments.list', {})).body.result
      .items;
    const done = items.find((e) => e.status === 'done' && e.method === 'imp')!;
    const detail = await server.call<{ tickets: { id: string }[] }>('experiments.get', {
      id: done.id,
    });
    const routes: [string, string][] = [
      ['experiments', '.table .tr'],
      ['new', '[aria-label="Spec JSON"]'],
      ['monitor', 'table[aria-label="Jobs"]'],
      [`compare/${items.map((e) => e.id).join(',')}`, 'svg.chart g.series'],
      ['transfer', 'table.heatmap'],
      ['datasets', 'main h1'],
      ['settings', '.facts'],
      [`experiment/${done.id}`, 'svg[aria-label="Lineage tree"] g.node'],
      [`ticket/${detail.body.result.tickets[1]!.id}`, '[aria-label="Remaining weights per layer"]'],
    ];
    // the theme test set dark; follow the system again so both themes are shot
    await page.getByLabel('Theme').selectOption('system');
    await page.setViewportSize({ width: 800, height: 900 });
    try {
      const wide: string[] = [];
      for (const [route, loaded] of routes) {
        await page.evaluate((r) => (location.hash = `#/${r}`), route);
        await page.locator(loaded).first().waitFor();
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        // name what sticks out, so a failure says where to look
        const culprits = await page.evaluate(() =>
          Array.from(document.querySelectorAll('main *'))
            .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
            .filter(
              (el) =>
                !Array.from(el.children).some(
                  (c) => c.getBoundingClientRect().right > innerWidth + 0.5,
                ),
            )
            .slice(0, 3)
            .map(
              (el) =>
                `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''}[${el.getAttribute('aria-label') ?? ''}]`,
            ),
        );
        if (overflow > 0)
          wide.push(`${route.split('/')[0]}: ${overflow}px (${culprits.join(', ')})`);
        // nothing cut off at a row's end either: the last action button shows whole
        const clipped = await page.evaluate(() =>
          Array.from(document.querySelectorAll('.table .tr .actions')).some(
            (a) =>
              a.lastElementChild!.getBoundingClientRect().right >
              a.closest('.tr')!.getBoundingClientRect().right + 0.5,
          ),
        );
        if (clipped) wide.push(`${route.split('/')[0]}: row actions cut off`);
        if (route.startsWith('compare') || route.startsWith('experiment/')) {
          const name = `narrow-${route.split('/')[0]}`;
          await shot(name);
          await page.emulateMedia({ colorScheme: 'dark' });
          await shot(`${name}-dark`);
          await page.emulateMedia({ colorScheme: 'light' });
        }
      }
      expect(wide).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it('lists the keyboard shortcuts when ? is pressed, except while typing', async () => {
    await page.evaluate(() => (location.hash = '#/experiments'));
    await page.locator('main h1').waitFor();
    await page.locator('main h1').click();
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await expect.poll(() => help.isVisible()).toBe(true);
    const text = await help.textContent();
    for (const key of 'ENMCTDS') expect(text).toContain(`Alt+${key}`);
    expect(text).toMatch(/Alt\+EExperiments.*Alt\+SSettings/);
    await shot('shortcuts');
    await page.keyboard.press('Escape');
    await expect.poll(() => help.count()).toBe(0);
    // a ? typed into a field stays text
    await page.getByRole('link', { name: 'New experiment' }).click();
    await page.getByLabel('Notes').or(page.getByLabel('Name')).first().fill('');
    await page.getByLabel('Name').first().pressSequentially('what?');
    expect(await help.count()).toBe(0);
  });

  it('shows a reconnect banner while the server is away, and takes it down when it is back', async () => {
    // The page talks to the server through a proxy that the test takes away and brings back
    // on the same port: the event stream drops and calls get no answer, as when the server
    // stops.
    const proxy = await startProxy(server.url);
    const other = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await other.goto(`http://127.0.0.1:${proxy.port}/?token=${server.token}#/experiments`);
      await expect.poll(() => other.locator('main').textContent()).toMatch(/\d+ experiments/);
      const banner = other.getByRole('alert');
      expect(await banner.count()).toBe(0);
      await proxy.stop();
      await expect.poll(() => banner.textContent()).toMatch(/not answering\. Reconnecting/);
      await other.screenshot({ path: join(SHOTS, 'reconnecting.png') });
      await proxy.start();
      await expect.poll(() => banner.count()).toBe(0);
      // and the page works again
      await other.getByRole('link', { name: 'Settings' }).click();
      await expect.poll(() => other.locator('.facts').textContent()).toMatch(/Compute backend/);
    } finally {
      await other.close();
      await proxy.stop();
    }
  });
});
