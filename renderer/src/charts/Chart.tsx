import { scaleLinear, scaleLog } from 'd3-scale';
import { line, area } from 'd3-shape';
import { forwardRef } from 'react';

export interface ChartSeries {
  label: string;
  points: { x: number; y: number; lo?: number; hi?: number; n?: number }[];
}

const W = 640;
const H = 320;
const M = { top: 12, right: 16, bottom: 40, left: 56 };

/**
 * A line chart with optional bands (min/max or ± std), drawn with d3 scales and shapes
 * as plain SVG; colours come from CSS variables so both themes apply.
 */
export const Chart = forwardRef<
  SVGSVGElement,
  {
    series: ChartSeries[];
    xLabel: string;
    yLabel: string;
    xLog?: boolean;
    xReverse?: boolean;
    format?: (y: number) => string;
  }
>(function Chart({ series, xLabel, yLabel, xLog, xReverse, format = (y) => String(y) }, ref) {
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x).filter((x) => !xLog || x > 0);
  const ys = all.flatMap((p) => [p.lo ?? p.y, p.hi ?? p.y]);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [1, 2];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y1 - y0 < 1e-9) {
    // a flat series: give it room instead of a degenerate axis
    const pad = Math.max(Math.abs(y0) * 0.05, 1e-3);
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const xRange: [number, number] = xReverse ? [W - M.right, M.left] : [M.left, W - M.right];
  const x = (xLog ? scaleLog() : scaleLinear())
    .domain([x0, x1 === x0 ? x0 * 1.01 + 1e-9 : x1])
    .range(xRange);
  const y = scaleLinear()
    .domain([y0, y1])
    .nice()
    .range([H - M.bottom, M.top]);
  // Log axes get a tick per 1–9 of each decade; label only 1, 2, 5 (only 1 over wide spans).
  const xTicks = x.ticks(6);
  const decades = Math.log10(Math.max(x1, 1e-12) / Math.max(x0, 1e-12));
  const labelled = (t: number) => {
    const lead = Math.round(t / 10 ** Math.floor(Math.log10(t) + 1e-9));
    return decades > 1.5 ? lead === 1 : [1, 2, 5].includes(lead);
  };
  // the legend sits right of the plot, never over a line
  const legendWidth = series.length > 1 ? 150 : 0;
  const path = line<{ x: number; y: number }>()
    .x((p) => x(p.x))
    .y((p) => y(p.y));
  const band = area<{ x: number; lo?: number; hi?: number; y: number }>()
    .x((p) => x(p.x))
    .y0((p) => y(p.lo ?? p.y))
    .y1((p) => y(p.hi ?? p.y));
  return (
    <svg
      ref={ref}
      viewBox={`0 0 ${W + legendWidth} ${H}`}
      className="chart"
      role="img"
      aria-label={`${yLabel} vs ${xLabel}`}
    >
      <g className="axis">
        {xTicks.map((t) => (
          <g key={`x${t}`} transform={`translate(${x(t)},${H - M.bottom})`}>
            <line y2={5} />
            <text y={18} textAnchor="middle">
              {!xLog ? String(t) : labelled(t) ? `${+(t * 100).toPrecision(2)}%` : ''}
            </text>
          </g>
        ))}
        {y.ticks(6).map((t) => (
          <g key={`y${t}`} transform={`translate(${M.left},${y(t)})`}>
            <line x2={W - M.left - M.right} className="grid" />
            <text x={-6} dy="0.32em" textAnchor="end">
              {format(t)}
            </text>
          </g>
        ))}
        <text x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle">
          {xLabel}
        </text>
        <text
          transform={`translate(14,${(M.top + H - M.bottom) / 2}) rotate(-90)`}
          textAnchor="middle"
        >
          {yLabel}
        </text>
      </g>
      {series.map((s, i) => {
        const pts = [...s.points].filter((p) => !xLog || p.x > 0).sort((a, b) => a.x - b.x);
        return (
          <g key={s.label} className={`series s${i % 8}`} data-series={s.label}>
            {pts.some((p) => p.lo !== undefined) && <path className="band" d={band(pts) ?? ''} />}
            <path className="line" d={path(pts) ?? ''} />
            {pts.map((p) => (
              <circle key={p.x} cx={x(p.x)} cy={y(p.y)} r={3}>
                <title>{`${s.label}: ${format(p.y)}${p.n !== undefined ? ` (N=${p.n})` : ''}`}</title>
              </circle>
            ))}
          </g>
        );
      })}
      <g className="legend" transform={`translate(${W + 4},${M.top})`}>
        {series.map((s, i) => (
          <g key={s.label} className={`legend-item s${i % 8}`} transform={`translate(0,${i * 14})`}>
            <rect width={10} height={3} y={-2} className="swatch" />
            <text x={14} dy="0.32em">
              {s.label.length > 24 ? `${s.label.slice(0, 23)}…` : s.label}
            </text>
          </g>
        ))}
      </g>
    </svg>
  );
});
