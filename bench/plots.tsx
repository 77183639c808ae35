/**
 * The campaign's plots, drawn from its raw results (bench/records/campaign) with the app's own
 * chart component (renderer/src/charts/Chart.tsx) and stylesheet, as standalone SVG files:
 *
 *   npm run bench:campaign -- --part … && npm run bench:plots
 *
 * Writes docs/plots/<part>-<label>.svg (IMP parts: the ticket and both controls per model)
 * and docs/plots/<part>.svg (score parts: one line per score), against remaining weights on
 * a reversed log axis as in the compare view: mean over seeds with the min–max band.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderToStaticMarkup } from 'react-dom/server';
import { Chart, type ChartSeries } from '../renderer/src/charts/Chart.tsx';
import { summarise } from '../renderer/src/lib/compare.ts';
import { PARTS } from './campaign/parts.ts';
import type { CampaignRecord } from './campaign/record.ts';
import { readCampaign } from './report.ts';
import { RECORDS } from './records.ts';

const root = join(import.meta.dirname, '..');
const css = readFileSync(join(root, 'renderer', 'src', 'app.css'), 'utf8');
const out = join(root, 'docs', 'plots');
mkdirSync(out, { recursive: true });

/** One series: test accuracy at early stop of `method`'s tickets, by level, from the dense point. */
function series(label: string, records: CampaignRecord[], method: string): ChartSeries {
  const tickets = records.flatMap((r) => r.tickets);
  const levels = [...new Set(tickets.map((t) => t.level))].sort((a, b) => a - b);
  const points = levels.flatMap((level) => {
    const at = tickets.filter(
      (t) => t.level === level && t.method === (level === 0 ? 'dense' : method),
    );
    const acc = at.map((t) => t.testAccuracy).filter((a): a is number => a !== null);
    if (acc.length === 0) return [];
    const s = summarise(acc);
    return [{ x: at[0]!.remainingWeights, y: s.mean, lo: s.min, hi: s.max, n: s.n }];
  });
  return { label, points };
}

function write(name: string, caption: string, lines: ChartSeries[]) {
  const svg = renderToStaticMarkup(
    <Chart
      series={lines}
      xLabel="remaining weights (log scale)"
      yLabel="test accuracy at early stop"
      xLog
      xReverse
      format={(y) => `${(y * 100).toFixed(1)}%`}
      caption={caption}
    />,
  ).replace(/^<svg/, `<svg xmlns="http://www.w3.org/2000/svg" style="background:#fff"`);
  writeFileSync(join(out, name), svg.replace(/(<svg[^>]*>)/, `$1<style>${css}</style>`));
  process.stdout.write(`docs/plots/${name}\n`);
}

for (const part of PARTS) {
  const records = readCampaign(RECORDS, part.name);
  if (records.length === 0) continue;
  const seeds = new Set(records.map((r) => r.seed)).size;
  const caption = (what: string) => `${what}: mean over ${seeds} seeds, band min–max`;
  if (part.table === 'imp') {
    for (const label of new Set(records.map((r) => r.label))) {
      const mine = records.filter((r) => r.label === label);
      write(
        `${part.name}-${label}.svg`,
        caption(`${part.title} — ${label}`),
        ['imp', 'random-reinit', 'random-prune'].map((m) => series(m, mine, m)),
      );
    }
  } else {
    const labels = [...new Set(records.map((r) => r.label))];
    write(
      `${part.name}.svg`,
      caption(part.title),
      labels.map((l) =>
        series(
          l,
          records.filter((r) => r.label === l),
          l,
        ),
      ),
    );
  }
}
