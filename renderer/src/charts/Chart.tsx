import { scaleLinear, scaleLog } from 'd3-scale';
import { line, area } from 'd3-shape';
import { forwardRef, useLayoutEffect, useRef, useState } from 'react';
import { logAxisTicks, wrapText } from '../lib/axis.ts';

export interface ChartSeries {
  label: string;
  points: { x: number; y: number; lo?: number; hi?: number; n?: number }[];
}

/** A horizontal reference (the dense network's accuracy), drawn dashed and labelled. */
export interface ChartReference {
  label: string;
  y: number;
}

/** A vertical marker at an x value (the early-stop iteration), drawn dashed and labelled. */
export interface ChartMarker {
  label: string;
  x: number;
}

/** A point's hover text: its value, its band where it has one, and N (one has no spread). */
function pointTitle(
  label: string,
  p: ChartSeries['points'][number],
  format: (y: number) => string,
) {
  const band = p.lo !== undefined && p.hi !== undefined ? `${format(p.lo)}–${format(p.hi)}` : null;
  const n = p.n === undefined ? null : p.n === 1 ? 'N=1, no spread' : `N=${p.n}`;
  const details = [band, n].filter((d) => d !== null).join(', ');
  return `${label}: ${format(p.y)}${details ? ` (${details})` : ''}`;
}

/** Height of the plot area; the legend and the caption add to it. */
const PLOT_H = 300;
/** Average advance of an 11-pixel system-ui character, to size margins and wrap legends. */
const CHAR_W = 6.6;
const LINE_H = 14;

/**
 * A line chart with optional bands (min/max or ± std), drawn with d3 scales and shapes
 * as plain SVG; colours come from CSS variables so both themes apply. It is drawn at the
 * pixel width of its box (one SVG unit per pixel), so text keeps its size and the plot uses
 * the page's width; the legend sits below the plot and wraps names instead of cutting them.
 */
export const Chart = forwardRef<
  SVGSVGElement,
  {
    series: ChartSeries[];
    xLabel: string;
    yLabel: string;
    xLog?: boolean;
    xReverse?: boolean;
    /** a logarithmic y axis (positive values only: others are left out) */
    yLog?: boolean;
    format?: (y: number) => string;
    /** a title line, kept in saved SVG and PNG files (what is plotted, reducer, band) */
    caption?: string;
    references?: ChartReference[];
    markers?: ChartMarker[];
  }
>(function Chart(
  {
    series,
    xLabel,
    yLabel,
    xLog,
    xReverse,
    yLog,
    format = (y) => String(y),
    caption,
    references = [],
    markers = [],
  },
  ref,
) {
  const box = useRef<HTMLDivElement>(null);
  const [W, setW] = useState(640);
  useLayoutEffect(() => {
    const el = box.current!;
    const measure = () => setW(Math.max(320, Math.floor(el.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  /** a point a log axis can place */
  const placeable = (p: { x: number; y: number }) => (!xLog || p.x > 0) && (!yLog || p.y > 0);
  const all = series.flatMap((s) => s.points).filter(placeable);
  const xs = all.map((p) => p.x);
  const ys = [
    ...all.flatMap((p) => [p.lo ?? p.y, p.hi ?? p.y]),
    ...references.map((r) => r.y),
  ].filter((v) => !yLog || v > 0);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [1, 2];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y1 - y0 < 1e-9) {
    // a flat series: give it room instead of a degenerate axis
    const pad = Math.max(Math.abs(y0) * 0.05, 1e-3);
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  // the caption wraps like the legend: a narrow window keeps all of it
  const captionLines = caption ? wrapText(caption, (W - 24) / 7.2) : [];
  const top = captionLines.length ? 20 + captionLines.length * 16 : 10;
  const y = (yLog ? scaleLog() : scaleLinear())
    .domain([y0, y1])
    .nice()
    .range([top + PLOT_H, top]);
  const yTicks = yLog ? logYTicks(y.ticks(6)) : y.ticks(6);
  // the y title sits left of the widest tick label, never on it
  const widest = Math.max(...yTicks.map((t) => format(t).length), 1);
  const M = { left: Math.ceil(34 + widest * CHAR_W), right: 24 };
  const xDomain: [number, number] = [x0, x1 === x0 ? x0 * 1.01 + 1e-9 : x1];
  const xRange: [number, number] = xReverse ? [W - M.right, M.left] : [M.left, W - M.right];
  const x = (xLog ? scaleLog() : scaleLinear()).domain(xDomain).range(xRange);
  const xTicks = xLog
    ? logAxisTicks(x.ticks(6), scaleLinear().domain(xDomain).ticks(5))
    : x.ticks(6).map((t) => ({ value: t, label: true }));
  const plotBottom = top + PLOT_H;

  // Legend below the plot, in as many columns as fit; every name in full, wrapped.
  // Columns as wide as the longest name needs, as many as fit; longer names wrap.
  const room = W - M.left - M.right;
  const longest = Math.max(...series.map((s) => s.label.length), 1);
  const columns = Math.max(1, Math.floor(room / Math.min(room, longest * CHAR_W + 40)));
  const columnWidth = room / columns;
  const legend =
    series.length > 1 ? series.map((s) => wrapText(s.label, (columnWidth - 24) / CHAR_W)) : [];
  const legendRows: { y: number; height: number }[] = [];
  for (let i = 0; i < legend.length; i += columns) {
    const height = Math.max(...legend.slice(i, i + columns).map((l) => l.length)) * LINE_H + 4;
    const prev = legendRows.at(-1);
    legendRows.push({ y: prev ? prev.y + prev.height : 0, height });
  }
  const legendTop = plotBottom + 54;
  const legendHeight = legendRows.reduce((a, r) => a + r.height, 0);
  const H = legend.length ? legendTop + legendHeight : plotBottom + 46;

  const path = line<{ x: number; y: number }>()
    .x((p) => x(p.x))
    .y((p) => y(p.y));
  const band = area<{ x: number; lo?: number; hi?: number; y: number }>()
    .x((p) => x(p.x))
    .y0((p) => y(p.lo ?? p.y))
    .y1((p) => y(p.hi ?? p.y));
  const tickText = (t: number) => (xLog ? `${+(t * 100).toPrecision(3)}%` : String(t));
  return (
    <div className="chart-box" ref={box}>
      <svg
        ref={ref}
        viewBox={`0 0 ${W} ${H}`}
        width={W}
        height={H}
        className="chart"
        role="img"
        aria-label={`${yLabel} vs ${xLabel}${caption ? ` — ${caption}` : ''}`}
      >
        {caption && (
          <text className="caption" x={12} y={16}>
            {captionLines.map((l, i) => (
              <tspan key={i} x={12} dy={i === 0 ? 0 : 16}>
                {l}
              </tspan>
            ))}
          </text>
        )}
        <g className="axis">
          {xTicks.map((t) => (
            <g
              key={`x${t.value}`}
              className="x-tick"
              transform={`translate(${x(t.value)},${plotBottom})`}
            >
              <line y2={5} />
              {t.label && (
                <text y={18} textAnchor="middle">
                  {tickText(t.value)}
                </text>
              )}
            </g>
          ))}
          {yTicks.map((t) => (
            <g key={`y${t}`} className="y-tick" transform={`translate(${M.left},${y(t)})`}>
              <line x2={W - M.left - M.right} className="grid" />
              <text x={-6} dy="0.32em" textAnchor="end">
                {format(t)}
              </text>
            </g>
          ))}
          <text
            className="x-title"
            x={(M.left + W - M.right) / 2}
            y={plotBottom + 38}
            textAnchor="middle"
          >
            {xLabel}
          </text>
          <text
            className="y-title"
            transform={`translate(14,${top + PLOT_H / 2}) rotate(-90)`}
            textAnchor="middle"
          >
            {yLabel}
          </text>
        </g>
        {references.map((r, i) => (
          <g key={`ref${i}`} className="reference" data-y={r.y}>
            <line x1={M.left} x2={W - M.right} y1={y(r.y)} y2={y(r.y)} strokeDasharray="6 4" />
            <text x={W - M.right - 4} y={y(r.y) - 4 - i * LINE_H} textAnchor="end">
              {r.label}
            </text>
          </g>
        ))}
        {markers.map((m) => {
          // the label on the side with room: left of a marker near the plot's right end
          const left = x(m.x) > W - M.right - m.label.length * CHAR_W - 8;
          return (
            <g key={`m${m.x}`} className="marker" data-x={m.x}>
              <line x1={x(m.x)} x2={x(m.x)} y1={top} y2={plotBottom} strokeDasharray="4 4" />
              <text
                x={left ? x(m.x) - 4 : x(m.x) + 4}
                y={top + 12}
                textAnchor={left ? 'end' : 'start'}
              >
                {m.label}
              </text>
            </g>
          );
        })}
        {series.map((s, i) => {
          const pts = s.points.filter(placeable).sort((a, b) => a.x - b.x);
          return (
            <g key={s.label} className={`series s${i % 8}`} data-series={s.label}>
              {pts.some((p) => p.lo !== undefined) && <path className="band" d={band(pts) ?? ''} />}
              <path className="line" d={path(pts) ?? ''} />
              {pts.map((p) => (
                <circle key={p.x} cx={x(p.x)} cy={y(p.y)} r={3}>
                  <title>{pointTitle(s.label, p, format)}</title>
                </circle>
              ))}
            </g>
          );
        })}
        <g className="legend" transform={`translate(${M.left},${legendTop})`}>
          {legend.map((lines, i) => (
            <g
              key={series[i]!.label}
              className={`legend-item s${i % 8}`}
              data-label={series[i]!.label}
              transform={`translate(${(i % columns) * columnWidth},${legendRows[Math.floor(i / columns)]!.y})`}
            >
              <rect width={12} height={3} y={-2} className="swatch" />
              <text x={18}>
                {lines.map((l, j) => (
                  <tspan key={j} x={18} dy={j === 0 ? '0.32em' : LINE_H}>
                    {l}
                  </tspan>
                ))}
              </text>
            </g>
          ))}
        </g>
      </svg>
    </div>
  );
});

/** A log axis's ticks, thinned to 1, 2 and 5 of each decade when there are too many to read. */
function logYTicks(ticks: number[]): number[] {
  if (ticks.length <= 8) return ticks;
  return ticks.filter((t) =>
    [1, 2, 5].includes(Math.round(t / 10 ** Math.floor(Math.log10(t) + 1e-9))),
  );
}
