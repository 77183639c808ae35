/**
 * The campaign's plots, drawn from its raw results (bench/records/campaign) with the app's own
 * chart component (renderer/src/charts/Chart.tsx) and stylesheet, as standalone SVG files:
 *
 *   npm run bench:campaign -- --part … && npm run bench:plots
 *
 * Writes docs/plots/<part>-<label>.svg (IMP parts: the ticket and both controls per model),
 * docs/plots/<part>-<source>-to-<target>.svg (transfer parts: the transferred, random and
 * target's own tickets) and docs/plots/<part>.svg (score parts: one line per score), against remaining weights on
 * a reversed log axis as in the compare view: mean over seeds with the min–max band.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderToStaticMarkup } from 'react-dom/server';
import { Chart, type ChartSeries } from '../renderer/src/charts/Chart.tsx';
import { summarise } from '../renderer/src/lib/compare.ts';
import { PARTS } from './campaign/parts.ts';
import type { CampaignRecord, TicketRecord } from './campaign/record.ts';
import { readCampaign, transferComparisons, type TransferComparison } from './report.ts';
import { RECORDS } from './records.ts';

const root = join(import.meta.dirname, '..');
const css = readFileSync(join(root, 'renderer', 'src', 'app.css'), 'utf8');
const out = join(root, 'docs', 'plots');
mkdirSync(out, { recursive: true });

/** A point of a series: the tickets' mean remaining weights, and their accuracies' mean and range. */
function point(tickets: TicketRecord[]): ChartSeries['points'] {
  const acc = tickets.map((t) => t.testAccuracy).filter((a): a is number => a !== null);
  if (acc.length === 0) return [];
  const s = summarise(acc);
  const x = tickets.reduce((sum, t) => sum + t.remainingWeights, 0) / tickets.length;
  return [{ x, y: s.mean, lo: s.min, hi: s.max, n: s.n }];
}

/** One series: test accuracy at early stop of `method`'s tickets, by level, from the dense point. */
function series(label: string, records: CampaignRecord[], method: string): ChartSeries {
  const tickets = records.flatMap((r) => r.tickets);
  const levels = [...new Set(tickets.map((t) => t.level))].sort((a, b) => a - b);
  const points = levels.flatMap((level) =>
    point(
      tickets.filter((t) => t.level === level && t.method === (level === 0 ? 'dense' : method)),
    ),
  );
  return { label, points };
}

/**
 * A transfer part's plots, one per source → target: the transferred tickets, the random
 * tickets beside them and the target's own IMP tickets at the same levels.
 */
function transferPlots(part: (typeof PARTS)[number], records: CampaignRecord[], seeds: number) {
  const comparisons = transferComparisons(
    records.filter((r) => !r.transfer),
    records.filter((r) => r.transfer),
  );
  for (const { source, target } of new Map(
    comparisons.map((c) => [`${c.source} ${c.target}`, c]),
  ).values()) {
    const mine = comparisons.filter((c) => c.source === source && c.target === target);
    const line = (label: string, tickets: (c: TransferComparison) => TicketRecord[]) => ({
      label,
      points: mine.flatMap((c) => point(tickets(c))),
    });
    write(
      `${part.name}-${source}-to-${target}.svg`,
      `${part.title} — ${source} → ${target}: mean over ${seeds} seeds, band min–max`,
      [
        line('transferred ticket', (c) => c.transferred),
        line('random ticket', (c) => c.random),
        line(`${target}'s own ticket`, (c) => c.own),
      ],
    );
  }
}

function write(name: string, caption: string, lines: ChartSeries[]) {
  const markup = renderToStaticMarkup(
    <Chart
      series={lines}
      xLabel="remaining weights (log scale)"
      yLabel="test accuracy at early stop"
      xLog
      xReverse
      format={(y) => `${(y * 100).toFixed(1)}%`}
      caption={caption}
    />,
  );
  // the chart's <svg> alone: the page wraps it in a sizing box that a standalone file has not
  const svg = markup
    .slice(markup.indexOf('<svg'), markup.lastIndexOf('</svg>') + '</svg>'.length)
    .replace(/^<svg/, `<svg xmlns="http://www.w3.org/2000/svg" style="background:#fff"`);
  writeFileSync(join(out, name), svg.replace(/(<svg[^>]*>)/, `$1<style>${css}</style>`));
  process.stdout.write(`docs/plots/${name}\n`);
}

for (const part of PARTS) {
  const records = readCampaign(RECORDS, part.name);
  if (records.length === 0) continue;
  const seeds = new Set(records.map((r) => r.seed)).size;
  const caption = (what: string) => `${what}: mean over ${seeds} seeds, band min–max`;
  if (part.table === 'transfer') transferPlots(part, records, seeds);
  else if (part.table === 'imp') {
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
