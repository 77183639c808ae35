import { esc, num, percent } from './svg.ts';

export interface AccuracyPoint {
  ticketId: string;
  level: number;
  method: string;
  remainingWeights: number;
  testAccuracy: number;
}

export interface AccuracySeries {
  /** e.g. the experiment's id and the method */
  key: string;
  label: string;
  /** an experiment's own levels (dense point first), or a control drawn dashed beside them */
  kind: 'levels' | 'control';
  /** the experiment it belongs to: its levels and controls share a colour */
  group: number;
  /** a control's stroke-dasharray, telling its controls apart */
  dash?: string;
  points: AccuracyPoint[];
}

/** Eight colours told apart in both themes (Okabe & Ito's palette, without black). */
const PALETTE = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#b8a300',
  '#7f7f7f',
];
export const seriesColour = (group: number) => PALETTE[group % PALETTE.length]!;

const W = 760;
const H = 380;
const M = { left: 64, right: 20, top: 16, bottom: 52 };

/**
 * Ticks of a log axis over [lo, hi] (fractions): 1-2-5 per decade, or every integer multiple
 * where that gives fewer than three, or else the ends and their geometric middle, so an axis
 * over a narrow range (100% to 64%) still reads.
 */
export function logTicks(lo: number, hi: number): number[] {
  const inside = (mantissas: number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)); e++)
      for (const m of mantissas) {
        const v = m * 10 ** e;
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(Number(v.toPrecision(6)));
      }
    return out;
  };
  for (const mantissas of [
    [1, 2, 5],
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  ]) {
    const ticks = inside(mantissas);
    if (ticks.length >= 3) return ticks;
  }
  return [lo, Math.sqrt(lo * hi), hi];
}

/** Evenly spaced ticks over [lo, hi] at a round step, at least three. */
function linearTicks(lo: number, hi: number): number[] {
  const span = hi - lo;
  for (const step of [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]) {
    if (span / step > 8) continue;
    const out: number[] = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step)
      out.push(Number(v.toFixed(4)));
    if (out.length >= 3) return out;
  }
  return [lo, (lo + hi) / 2, hi];
}

const tickLabel = (fraction: number) => {
  const p = fraction * 100;
  return `${p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1).replace(/\.0$/, '') : p.toPrecision(2)}%`;
};

/**
 * Test accuracy against remaining weights, as in the lottery-ticket papers: a log x axis from
 * the dense network (100%) on the left to the sparsest ticket on the right, one line per
 * series, one point per ticket with a <title> that names it. Plain SVG text, no script.
 */
export function accuracySvg(series: AccuracySeries[]): string {
  const points = series.flatMap((s) => s.points);
  if (!points.length) return '<p class="muted">No trained tickets yet.</p>';
  const xs = points.map((p) => p.remainingWeights);
  const ys = points.map((p) => p.testAccuracy);
  let xHi = Math.max(...xs);
  let xLo = Math.min(...xs);
  if (xLo / xHi > 0.95) [xLo, xHi] = [xHi / 2, Math.min(1, xHi * 1.05)];
  const yPad = Math.max(0.005, (Math.max(...ys) - Math.min(...ys)) * 0.1);
  const yLo = Math.max(0, Math.min(...ys) - yPad);
  const yHi = Math.min(1, Math.max(...ys) + yPad);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  // log scale, 100% on the left: the x axis reads as pruning proceeds
  const x = (f: number) =>
    M.left + (plotW * (Math.log(xHi) - Math.log(f))) / (Math.log(xHi) - Math.log(xLo));
  const y = (a: number) => M.top + (plotH * (yHi - a)) / (yHi - yLo || 1);

  const xTicks = logTicks(xLo, xHi)
    .map(
      (t) =>
        `<g class="tick" transform="translate(${num(x(t))},${M.top + plotH})"><line y2="5"/><line class="grid" y2="${-plotH}"/><text y="18">${tickLabel(t)}</text></g>`,
    )
    .join('');
  // steps under a percentage point need a decimal
  const digits = yHi - yLo < 0.08 ? 1 : 0;
  const yTicks = linearTicks(yLo, yHi)
    .map(
      (t) =>
        `<g class="tick" transform="translate(${M.left},${num(y(t))})"><line x2="-5"/><line class="grid" x2="${plotW}"/><text x="-8" dy="0.32em" text-anchor="end">${percent(t, digits)}</text></g>`,
    )
    .join('');

  const lines = series
    .map((s) => {
      const sorted = [...s.points].sort((a, b) => b.remainingWeights - a.remainingWeights);
      const colour = seriesColour(s.group);
      const path = sorted
        .map((p, i) => `${i ? 'L' : 'M'}${num(x(p.remainingWeights))},${num(y(p.testAccuracy))}`)
        .join('');
      const dots = sorted
        .map(
          (p) =>
            `<circle class="point ${s.kind}" data-series="${esc(s.key)}" data-ticket="${esc(p.ticketId)}" data-level="${p.level}" cx="${num(x(p.remainingWeights))}" cy="${num(y(p.testAccuracy))}" r="${s.kind === 'levels' ? 4 : 3}" fill="${colour}"><title>${esc(`${s.label}: level ${p.level}, ${p.method}, ${percent(p.remainingWeights)} of weights, test accuracy ${percent(p.testAccuracy, 2)}`)}</title></circle>`,
        )
        .join('');
      return `<g class="series ${s.kind}" data-series="${esc(s.key)}"><path d="${path}" fill="none" stroke="${colour}" stroke-width="${s.kind === 'levels' ? 2 : 1.5}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${dots}</g>`;
    })
    .join('');

  return (
    `<svg class="accuracy" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Test accuracy against remaining weights">` +
    `<g class="axis x">${xTicks}<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}"/></g>` +
    `<g class="axis y">${yTicks}<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}"/></g>` +
    `<text class="axis-title" x="${M.left + plotW / 2}" y="${H - 8}" text-anchor="middle">remaining weights (log scale)</text>` +
    `<text class="axis-title" transform="translate(14,${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">test accuracy at early stop</text>` +
    lines +
    '</svg>'
  );
}
