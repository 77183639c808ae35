/**
 * The plots the app shows, drawn from the benchmark results with the app's own chart
 * component (renderer/src/charts/Chart.tsx) and stylesheet, as standalone SVG files:
 *
 *   npm run bench:paper && npm run bench:plots
 *
 * Reads bench/results/paper.json (the parts present); writes docs/plots/*.svg (linked from
 * BENCHMARKS.md).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderToStaticMarkup } from 'react-dom/server';
import { Chart, type ChartSeries } from '../renderer/src/charts/Chart.tsx';
import { summarise } from '../renderer/src/lib/compare.ts';
import type { Part, Results, Row } from './paper-results.ts';

const root = join(import.meta.dirname, '..');
const paper = JSON.parse(
  readFileSync(join(root, 'bench', 'results', 'paper.json'), 'utf8'),
) as Results;
const css = readFileSync(join(root, 'renderer', 'src', 'app.css'), 'utf8');
const out = join(root, 'docs', 'plots');
mkdirSync(out, { recursive: true });

/** One series per method: mean over seeds with the min–max band, as the compare view draws it. */
function series(rows: Row[], methods: string[], value: (r: Row) => number[]): ChartSeries[] {
  return methods.map((method) => ({
    label: method,
    points: rows
      .filter((r) => r.method === method || (r.method === 'dense' && methods[0] === method))
      .map((r) => {
        const s = summarise(value(r));
        return { x: r.remaining, y: s.mean, lo: s.min, hi: s.max, n: s.n };
      }),
  }));
}

function write(name: string, chart: React.ReactElement) {
  const svg = renderToStaticMarkup(chart).replace(
    /^<svg/,
    `<svg xmlns="http://www.w3.org/2000/svg" style="background:#fff"`,
  );
  writeFileSync(join(out, name), svg.replace(/(<svg[^>]*>)/, `$1<style>${css}</style>`));
  process.stdout.write(`docs/plots/${name}\n`);
}

const pct = (y: number) => `${(y * 100).toFixed(1)}%`;
/** Every plot is against remaining weights on a reversed log axis, as in the compare view. */
const plot = (name: string, lines: ChartSeries[], yLabel: string, format?: (y: number) => string) =>
  write(
    name,
    <Chart
      series={lines}
      xLabel="remaining weights (log scale)"
      yLabel={yLabel}
      xLog
      xReverse
      format={format}
    />,
  );

const controls = ['imp', 'random-reinit', 'random-prune'];
if (paper.imp?.rows) {
  plot(
    'imp-accuracy.svg',
    series(paper.imp.rows, controls, (r) => r.acc),
    'test accuracy at early stop',
    pct,
  );
  plot(
    'imp-early-stop.svg',
    series(paper.imp.rows, controls, (r) => r.earlyStop),
    'early-stop iteration',
  );
}
const scores = (part: Part) =>
  Object.entries(part.scores ?? {}).map(([score, rows]) => series(rows, [score], (r) => r.acc)[0]!);
if (paper.pai) plot('pai-accuracy.svg', scores(paper.pai), 'test accuracy at early stop', pct);
if (paper.conv4)
  plot('conv4-pai-accuracy.svg', scores(paper.conv4), 'test accuracy at early stop', pct);
