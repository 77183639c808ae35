import { scaleBand } from 'd3-scale';

const SIZE = 280;
const MARGIN = 28;

/**
 * The Early-Bird mask-distance matrix (You et al. 2020, Figure 2): cell (i, j) is the
 * normalised Hamming distance between the channel masks of epochs i and j; darker is
 * further apart. The epoch whose mask drew the ticket is outlined.
 */
export function DistanceMatrix({
  distances,
  detectedEpoch,
  threshold,
}: {
  distances: number[][];
  detectedEpoch: number | null;
  threshold?: number;
}) {
  const n = distances.length;
  const epochs = Array.from({ length: n }, (_, i) => i + 1);
  const band = scaleBand<number>()
    .domain(epochs)
    .range([MARGIN, SIZE - 4]);
  const max = Math.max(1e-9, ...distances.flat());
  const every = Math.max(1, Math.ceil(n / 10));
  return (
    <svg
      className="chart distance-matrix"
      viewBox={`0 0 ${SIZE} ${SIZE}`}
      role="img"
      aria-label={`Mask distances between ${n} epochs${detectedEpoch ? `, Early-Bird ticket at epoch ${detectedEpoch}` : ''}`}
    >
      {distances.map((row, i) =>
        row.map((d, j) => (
          <rect
            key={`${i}/${j}`}
            x={band(j + 1)}
            y={band(i + 1)}
            width={band.bandwidth()}
            height={band.bandwidth()}
            fill="var(--series-0)"
            fillOpacity={0.08 + 0.92 * (d / max)}
          >
            <title>{`epochs ${i + 1} and ${j + 1}: distance ${d.toFixed(3)}${threshold !== undefined && d <= threshold ? ' (within the threshold)' : ''}`}</title>
          </rect>
        )),
      )}
      {detectedEpoch !== null && detectedEpoch <= n && (
        <rect
          className="detected"
          x={MARGIN}
          y={band(detectedEpoch)}
          width={SIZE - 4 - MARGIN}
          height={band.bandwidth()}
          fill="none"
          stroke="var(--fg)"
          strokeWidth={1.5}
        />
      )}
      {epochs
        .filter((e) => (e - 1) % every === 0)
        .map((e) => (
          <g key={e} className="tick">
            <text x={band(e)! + band.bandwidth() / 2} y={MARGIN - 6} textAnchor="middle">
              {e}
            </text>
            <text x={MARGIN - 4} y={band(e)! + band.bandwidth() / 2 + 4} textAnchor="end">
              {e}
            </text>
          </g>
        ))}
    </svg>
  );
}
