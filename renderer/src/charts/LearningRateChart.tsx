import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import type { LearningRateSchedule } from '../../../src/api/spec.ts';
import { learningRatePoints } from '../lib/schedule.ts';

const W = 360;
const H = 150;
// room on the right for the last tick label, centred on the axis end
const M = { left: 56, right: 24, top: 10, bottom: 32 };

/**
 * A small plot of the learning rate over training (iterations), drawn with d3 as plain SVG
 * in the charts' classes so both themes apply. Milestone drops are vertical steps.
 */
export function LearningRateChart({ schedule }: { schedule: LearningRateSchedule }) {
  const points = learningRatePoints(schedule);
  const top = Math.max(...points.map((p) => p.rate), 1e-12);
  const x = scaleLinear()
    .domain([0, Math.max(schedule.total, 1)])
    .range([M.left, W - M.right]);
  const y = scaleLinear()
    .domain([0, top])
    .nice()
    .range([H - M.bottom, M.top]);
  const path = line<{ iteration: number; rate: number }>()
    .x((p) => x(p.iteration))
    .y((p) => y(p.rate));
  return (
    <svg
      className="chart lr-chart"
      width={W}
      height={H}
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label="Learning rate over training"
      data-total={schedule.total}
    >
      <g className="axis">
        {y.ticks(3).map((t) => (
          <g key={`y${t}`} className="y-tick" transform={`translate(${M.left},${y(t)})`}>
            <line x2={W - M.left - M.right} className="grid" />
            <text x={-6} dy="0.32em" textAnchor="end">
              {Number(t.toPrecision(3))}
            </text>
          </g>
        ))}
        {x.ticks(4).map((t) => (
          <text key={`x${t}`} className="x-tick" x={x(t)} y={H - M.bottom + 14} textAnchor="middle">
            {t}
          </text>
        ))}
        <text className="x-title" x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle">
          iteration
        </text>
      </g>
      <g className="series s0">
        <path className="line" d={path(points) ?? ''} />
      </g>
    </svg>
  );
}
