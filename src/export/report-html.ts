import type { z } from 'zod';
import type { ExperimentDetail } from '../api/contract.ts';
import { accuracySvg, seriesColour, type AccuracySeries } from './svg-accuracy.ts';
import { lineageSvg } from './svg-lineage.ts';
import { esc, percent } from './svg.ts';

/** What one experiment's part of a report shows. */
export interface ReportExperiment {
  experiment: z.output<typeof ExperimentDetail>;
  datasetName: string;
  /** iterations each ticket's run trained, by ticket id (absent while it trains) */
  iterations: Map<string, number>;
}

export interface ReportInput {
  experiments: ReportExperiment[];
  /** when the report was made (ISO 8601) */
  generatedAt: string;
  /** the machine and versions that made it, in the order shown */
  machine: [string, string][];
}

/** The controls, each dashed its own way beside the line of its experiment's levels. */
const CONTROL_DASH: Record<string, string> = { 'random-reinit': '6 4', 'random-prune': '2 3' };
const isControl = (method: string) => Object.hasOwn(CONTROL_DASH, method);

/**
 * An experiment's levels and controls as chart series: its own tickets from the dense point
 * on (one point per level), and each control from the dense point through its levels.
 */
export function reportSeries(experiments: ReportExperiment[]): AccuracySeries[] {
  return experiments.flatMap(({ experiment: e }, group) => {
    const trained = e.tickets.filter((t) => t.testAccuracy !== null);
    const point = (t: (typeof trained)[number]) => ({
      ticketId: t.id,
      level: t.level,
      method: t.method,
      remainingWeights: t.remainingWeights,
      testAccuracy: t.testAccuracy!,
    });
    const dense = trained.filter((t) => t.method === 'dense').map(point);
    const own = trained.filter((t) => !isControl(t.method)).map(point);
    const controls = [...new Set(trained.map((t) => t.method).filter(isControl))];
    return [
      ...(own.length
        ? [{ key: `${e.id}/levels`, label: e.name, kind: 'levels' as const, group, points: own }]
        : []),
      ...controls.map((method) => ({
        key: `${e.id}/${method}`,
        label: `${e.name} · ${method}`,
        kind: 'control' as const,
        group,
        dash: CONTROL_DASH[method],
        points: [...dense, ...trained.filter((t) => t.method === method).map(point)],
      })),
    ];
  });
}

const duration = (ms: number | null) => {
  if (ms === null) return '–';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
};
const count = (n: number | null | undefined) =>
  n === null || n === undefined ? '–' : n.toLocaleString('en-US');
const dl = (rows: [string, string][]) =>
  `<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;

function levelsTable(r: ReportExperiment): string {
  const head = [
    'Level',
    'Method',
    'Remaining weights',
    'Parameters',
    'Test accuracy at early stop',
    'Final test accuracy',
    'Early-stop iteration',
    'Iterations trained',
    'Wall time',
    'Backend',
  ];
  const rows = r.experiment.tickets.map(
    (t) =>
      `<tr data-ticket="${esc(t.id)}"><td>${t.level}</td><td>${esc(t.method)}</td>` +
      `<td>${percent(t.remainingWeights)}</td><td>${count(t.remainingParams)} / ${count(t.totalParams)}</td>` +
      `<td${t.earlyStopNote ? ` title="${esc(t.earlyStopNote)}"` : ''}>${percent(t.testAccuracy, 2)}${t.earlyStopNote ? ' *' : ''}</td>` +
      `<td>${percent(t.finalTestAccuracy, 2)}</td><td>${count(t.earlyStopIteration)}</td>` +
      `<td>${count(r.iterations.get(t.id))}</td><td>${duration(t.wallTimeMs)}${t.reusedFromRunId ? ' †' : ''}</td><td>${esc(t.backend ?? '–')}</td></tr>`,
  );
  const notes = [
    ...r.experiment.tickets
      .filter((t) => t.earlyStopNote)
      .map(
        (t) =>
          `<p class="muted">* level ${t.level}, ${esc(t.method)}: ${esc(t.earlyStopNote!)}.</p>`,
      ),
    ...r.experiment.tickets
      .filter((t) => t.reusedFromRunId)
      .map(
        (t) =>
          `<p class="muted">† level ${t.level}, ${esc(t.method)}: reused from run ${esc(t.reusedFromRunId!)} of another experiment, an identical training; its wall time is that training's, spent once.</p>`,
      ),
  ];
  return (
    `<table class="levels" data-experiment="${esc(r.experiment.id)}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>${notes.join('')}`
  );
}

function experimentSection(r: ReportExperiment, index: number): string {
  const e = r.experiment;
  return (
    `<section class="experiment" id="experiment-${esc(e.id)}">` +
    `<h2><span class="swatch" style="background:${seriesColour(index)}"></span>${esc(e.name)}</h2>` +
    dl([
      ['Experiment', e.id],
      ['Status', e.status + (e.error ? `: ${e.error}` : '')],
      ['Method', e.method],
      ['Model', e.model],
      ['Dataset', `${r.datasetName} (${e.dataset})`],
      ['Spec hash', e.specHash],
      ['Replicate', String(e.replicate)],
      ['Created', e.createdAt],
      ['Updated', e.updatedAt],
      ...(e.tags.length ? [['Tags', e.tags.join(', ')] as [string, string]] : []),
    ]) +
    (e.notes ? `<p class="notes">${esc(e.notes)}</p>` : '') +
    `<h3>Levels</h3>${levelsTable(r)}` +
    `<h3>Lineage</h3><div class="figure">${lineageSvg(e.tickets, `lineage-${index}`)}</div>` +
    `<h3>Spec</h3><pre class="spec">${esc(JSON.stringify(e.spec, null, 2))}</pre>` +
    '</section>'
  );
}

const STYLE = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d2129; --muted: #5c6470; --line: #d5d9e0;
  --panel: #f4f6f9; --edge: #9aa3ae; --grid: #e6e9ee; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15181d; --fg: #e4e7ec; --muted: #9aa3ae; --line: #343a44; --panel: #1e2228;
    --edge: #5c6470; --grid: #262b33; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.muted, header p { color: var(--muted); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
th { font-weight: 600; background: var(--panel); }
pre.spec { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 12px;
  overflow: auto; font: 12px/1.45 ui-monospace, "SF Mono", Menlo, Consolas, monospace; }
.figure { overflow-x: auto; }
svg { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg text { fill: var(--fg); } svg .legend text, svg .tick text { fill: var(--muted); }
svg .edge { fill: none; stroke: var(--edge); stroke-width: 1.5; }
svg .node circle { stroke: var(--bg); stroke-width: 1; }
svg .axis line, svg .tick line { stroke: var(--muted); } svg .tick line.grid { stroke: var(--grid); }
svg .point { stroke: var(--bg); stroke-width: 1; }
.legend-list { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 20px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
svg.key { margin-right: 6px; vertical-align: 0; }
@media print { body { max-width: none; } .figure { overflow: visible; } }
`;

/**
 * One self-contained HTML document: everything inline (CSS, SVG), nothing fetched — its
 * Content-Security-Policy forbids every request — so it opens in any browser, offline,
 * without TicketLab. Light or dark follows the reader's system.
 */
export function reportHtml(input: ReportInput): string {
  const { experiments } = input;
  const title =
    experiments.length === 1
      ? `${experiments[0]!.experiment.name} — TicketLab report`
      : `${experiments.length} experiments — TicketLab report`;
  const series = reportSeries(experiments);
  const legend = series
    .map(
      (s) =>
        `<li><svg class="key" width="28" height="10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5" stroke="${seriesColour(s.group)}" stroke-width="${s.kind === 'levels' ? 3 : 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/></svg>${esc(s.label)}</li>`,
    )
    .join('');
  const summary =
    experiments.length > 1
      ? `<h2>Experiments</h2><table class="summary"><thead><tr><th>Name</th><th>Method</th><th>Model</th><th>Dataset</th><th>Status</th><th>Levels</th><th>Fewest weights</th><th>Its test accuracy</th></tr></thead><tbody>` +
        experiments
          .map(
            ({ experiment: e, datasetName }) =>
              `<tr><td><a href="#experiment-${esc(e.id)}">${esc(e.name)}</a></td><td>${esc(e.method)}</td><td>${esc(e.model)}</td><td>${esc(datasetName)}</td><td>${esc(e.status)}</td><td>${e.levels}</td><td>${percent(e.minRemainingWeights)}</td><td>${percent(e.accuracyAtMinRemaining, 2)}</td></tr>`,
          )
          .join('') +
        '</tbody></table>'
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="TicketLab">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p>Generated ${esc(input.generatedAt)}</p></header>
${summary}
<section class="chart"><h2>Test accuracy against remaining weights</h2>
<div class="figure">${accuracySvg(series)}</div>
<ul class="legend-list">${legend}</ul>
<p class="muted">Each experiment's line runs from its dense network (100%) through its pruned levels; its controls are dashed (random re-initialisation) and dotted (random pruning). Accuracy is measured on the test set at the early-stop iteration (lowest validation loss).</p>
</section>
${experiments.map(experimentSection).join('\n')}
<footer><h2>Machine and versions that wrote this report</h2>${dl(input.machine)}</footer>
</body>
</html>
`;
}
