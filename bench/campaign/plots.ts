/**
 * What the campaign's plots show, from its raw results: each part's plots as file names,
 * captions and series. `npm run bench:plots` draws them (bench/plots.tsx) and the report links
 * them from each part's block in BENCHMARKS.md (bench/report.ts), so the two name the same
 * files. Against remaining weights on a reversed log axis as in the compare view: test
 * accuracy at early stop, mean over seeds with the min–max band.
 */
import type { ChartSeries } from '../../renderer/src/charts/Chart.tsx';
import { summarise } from '../../renderer/src/lib/compare.ts';
import type { CampaignPart } from './parts.ts';
import {
  analysedTicket,
  budgetName,
  byAnalysedTicket,
  CONTROL_NAMES,
  denseAccuracyPerSeed,
  transferComparisons,
  type CampaignRecord,
  type InstabilityRecord,
  type TicketRecord,
  type TransferComparison,
} from './record.ts';

export interface CampaignPlot {
  /** the file's name in docs/plots */
  file: string;
  caption: string;
  series: ChartSeries[];
  /** what the axes show: accuracy against remaining weights where not given */
  axes?: PlotAxes;
}

/** A plot's axes (the y values are fractions, shown as percentages). */
export interface PlotAxes {
  xLabel: string;
  yLabel: string;
  xLog: boolean;
  xReverse: boolean;
}

export const ACCURACY_AXES: PlotAxes = {
  xLabel: 'remaining weights (log scale)',
  yLabel: 'test accuracy at early stop',
  xLog: true,
  xReverse: true,
};

const INSTABILITY_AXES: PlotAxes = {
  xLabel: 'α on the line (1 − α)·copy A + α·copy B',
  yLabel: 'test error',
  xLog: false,
  xReverse: false,
};

/** A point of a series at `x`: the accuracies' mean and range. */
function pointAt(x: number, accuracies: number[]): ChartSeries['points'] {
  if (accuracies.length === 0) return [];
  const s = summarise(accuracies);
  return [{ x, y: s.mean, lo: s.min, hi: s.max, n: s.n }];
}

/** A point of a series: the tickets' mean remaining weights, and their accuracies' mean and range. */
function point(tickets: TicketRecord[]): ChartSeries['points'] {
  const acc = tickets.map((t) => t.testAccuracy).filter((a): a is number => a !== null);
  const x = tickets.reduce((sum, t) => sum + t.remainingWeights, 0) / tickets.length;
  return pointAt(x, acc);
}

/** A line's name for an IMP part's ticket or one of its controls. */
const ticketLine = (method: string) => CONTROL_NAMES[method] ?? 'IMP ticket';

/**
 * Where a ticket's point lies along a series: its level, or for pruning at initialisation
 * the log10 compression its level prunes to, since a part run at several compressions records
 * each as level 1 of its own experiments. The dense network is 0 either way (10^0).
 */
function position(r: CampaignRecord, t: TicketRecord): number {
  if (t.level === 0 || r.spec.method !== 'pai') return t.level;
  return (r.spec.pai as { compressions: number[] }).compressions[t.level - 1]!;
}

/**
 * One series: test accuracy at early stop of `method`'s tickets (every pruned ticket's where
 * no method is named), by level (by compression for pruning at initialisation), from the
 * dense point where it has a ticket at level 1 (controls trained at a few levels only are
 * points of their own, not a line from the dense network). The dense point counts each seed
 * once: a seed's experiments copy one dense network, as the report's tables count it.
 */
function series(label: string, records: CampaignRecord[], method?: string): ChartSeries {
  const tickets = records.flatMap((r) => r.tickets.map((t) => ({ t, at: position(r, t) })));
  const pruned = (t: TicketRecord) => t.method !== 'dense' && (!method || t.method === method);
  const positions = [...new Set(tickets.map((x) => x.at))].sort((a, b) => a - b);
  const fromDense = tickets.some(({ t }) => t.level === 1 && pruned(t));
  const points = positions.flatMap((at) =>
    at === 0
      ? pointAt(1, fromDense ? denseAccuracyPerSeed(records) : [])
      : point(tickets.filter((x) => x.at === at && pruned(x.t)).map((x) => x.t)),
  );
  return { label, points };
}

/**
 * A part's plots: an IMP part's ticket and both controls per model
 * (`<part>-<label>.svg`); a transfer part's transferred, random and target's own tickets per
 * source → target (`<part>-<source>-to-<target>.svg`); any other part's labels as one line
 * each (`<part>.svg`). None for a part without records.
 */
export function campaignPlots(part: CampaignPart, records: CampaignRecord[]): CampaignPlot[] {
  if (records.length === 0) return [];
  // each plot counts the seeds of what it draws: a part's models can have different seeds
  const caption = (what: string, plotted: CampaignRecord[]) => {
    const seeds = new Set(plotted.map((r) => r.seed)).size;
    return `${what}: mean over ${seeds} seed${seeds === 1 ? '' : 's'}, band min–max`;
  };
  if (part.table === 'transfer') {
    const comparisons = transferComparisons(
      records.filter((r) => !r.transfer),
      records.filter((r) => r.transfer),
    );
    const pairs = new Map(comparisons.map((c) => [`${c.source} ${c.target}`, c]));
    return [...pairs.values()].map(({ source, target }) => {
      const mine = comparisons.filter((c) => c.source === source && c.target === target);
      const line = (label: string, tickets: (c: TransferComparison) => TicketRecord[]) => ({
        label,
        points: mine.flatMap((c) => point(tickets(c))),
      });
      return {
        file: `${part.name}-${source}-to-${target}.svg`,
        caption: caption(`${part.title} — ${source} → ${target}`, records),
        series: [
          line('transferred ticket', (c) => c.transferred),
          line('random ticket', (c) => c.random),
          line(`${target}'s own ticket`, (c) => c.own),
        ],
      };
    });
  }
  const labels = [...new Set(records.map((r) => r.label))];
  const of = (label: string) => records.filter((r) => r.label === label);
  // a plot whose records hold several budgets draws a line per budget, named by it: one mean
  // over budgets would mix networks trained for different lengths
  const budgetsOf = (plotted: CampaignRecord[]) => [...new Set(plotted.map(budgetName))];
  const lines = (budgets: string[], name: string, recorded: CampaignRecord[], method?: string) =>
    budgets.length === 1
      ? [series(name, recorded, method)]
      : budgets.map((b) =>
          series(
            `${name}, ${b}`,
            recorded.filter((r) => budgetName(r) === b),
            method,
          ),
        );
  if (part.table === 'imp')
    return labels.flatMap((label) => {
      const recorded = of(label);
      const budgets = budgetsOf(recorded);
      return [
        {
          file: `${part.name}-${label}.svg`,
          caption: caption(`${part.title} — ${label}`, recorded),
          // the controls a part trains
          series: ['imp', 'random-reinit', 'random-prune']
            .flatMap((m) => lines(budgets, ticketLine(m), recorded, m))
            .filter((s) => s.points.length > 0),
        },
        ...instabilityPlots(part, label, recorded),
      ];
    });
  const budgets = budgetsOf(records);
  return [
    {
      file: `${part.name}.svg`,
      caption: caption(part.title, records),
      series: labels
        // a label's pruned tickets, whatever their method (early-bird's are slimming's)
        .flatMap((label) => lines(budgets, label, of(label)))
        .filter((s) => s.points.length > 0),
    },
  ];
}

/** One line of an instability plot: the test error along the line, mean over the analyses' seeds, band min–max. */
function interpolationLine(label: string, analyses: InstabilityRecord[]): ChartSeries {
  const curves = analyses.map((a) => a.curve);
  return {
    label,
    points: curves[0]!.map(({ alpha }, i) => {
      const s = summarise(curves.map((c) => c[i]!.testError));
      return { x: alpha, y: s.mean, lo: s.min, hi: s.max, n: s.n };
    }),
  };
}

/**
 * The plots of an IMP part's instability analyses: one per analysed ticket
 * (`<part>-<label>-instability-level<L>[-<control>].svg`), test error along the line between
 * the two copies, one line per rewind point k; and where a level's controls were analysed,
 * the ticket and its controls at k = 0 (`…-level<L>-k0.svg`), the paper's comparison.
 */
function instabilityPlots(
  part: CampaignPart,
  label: string,
  records: CampaignRecord[],
): CampaignPlot[] {
  const analyses = records.flatMap((r) => r.instability ?? []);
  const seeds = new Set(records.filter((r) => r.instability).map((r) => r.seed)).size;
  const band = `mean over ${seeds} seed${seeds === 1 ? '' : 's'}, band min–max`;
  const tickets = [...new Map(analyses.map((a) => [analysedTicket(a), a])).values()].sort(
    byAnalysedTicket,
  );
  const of = (t: Pick<InstabilityRecord, 'level' | 'method'>, k?: number) =>
    analyses.filter(
      (a) =>
        a.level === t.level &&
        a.method === t.method &&
        (k === undefined || a.rewindIteration === k),
    );
  const remaining = (t: InstabilityRecord) =>
    `${(t.remainingWeights * 100).toPrecision(2)}% of the weights`;
  const perTicket = tickets.map((t): CampaignPlot => {
    const ks = [...new Set(of(t).map((a) => a.rewindIteration))].sort((a, b) => a - b);
    const what =
      t.level === 0
        ? 'the dense network'
        : t.method === 'imp'
          ? `the level-${t.level} IMP ticket (${remaining(t)})`
          : `the ${CONTROL_NAMES[t.method]} of the level-${t.level} ticket (${remaining(t)})`;
    return {
      file: `${part.name}-${label}-instability-level${t.level}${t.level === 0 || t.method === 'imp' ? '' : `-${t.method}`}.svg`,
      caption: `${part.title} — ${label}, ${what}: test error between two copies trained from θ_k${ks.length === 1 ? ` (k = ${ks[0]!.toLocaleString('en-US')})` : ''}, ${band}`,
      axes: INSTABILITY_AXES,
      series: ks.map((k) =>
        interpolationLine(`k = ${k.toLocaleString('en-US')} iterations`, of(t, k)),
      ),
    };
  });
  const withControls = tickets.filter(
    (t) =>
      t.method === 'imp' && tickets.some((c) => c.level === t.level && CONTROL_NAMES[c.method]),
  );
  const atInit = withControls.map((t): CampaignPlot => ({
    file: `${part.name}-${label}-instability-level${t.level}-k0.svg`,
    caption: `${part.title} — ${label}, the level-${t.level} IMP ticket (${remaining(t)}) and its random controls at k = 0: test error between two copies trained from θ0, ${band}`,
    axes: INSTABILITY_AXES,
    series: tickets
      .filter((c) => c.level === t.level && of(c, 0).length > 0)
      .map((c) => interpolationLine(ticketLine(c.method), of(c, 0))),
  }));
  return [...perTicket, ...atInit];
}
