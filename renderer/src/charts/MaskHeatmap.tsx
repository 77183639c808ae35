import { forwardRef, useId, useMemo } from 'react';
import { heatmapPixels, rgb, viridis, type HeatmapImage } from '../lib/masks.ts';

const LEFT = 18;
const TOP = 34;
const LEGEND_W = 180;

/** The heat-map's cells as a PNG data URL, one pixel per cell (scaled up without smoothing). */
function pngOf(image: HeatmapImage): string {
  const canvas = document.createElement('canvas');
  canvas.width = image.cols;
  canvas.height = image.rows;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(heatmapPixels(image), image.cols, image.rows), 0, 0);
  return canvas.toDataURL('image/png');
}

/**
 * A heat-map of mask counts drawn as one embedded image (a conv layer has up to 65,536
 * cells: too many SVG elements), with its title, axis names and a colour legend whose ends
 * are labelled; saved SVG and PNG files keep all of it.
 */
export const MaskHeatmap = forwardRef<
  SVGSVGElement,
  {
    image: HeatmapImage;
    /** drawn size of the cells' area in pixels */
    width: number;
    height: number;
    title: string;
    subtitle: string;
    xLabel: string;
    yLabel?: string;
    /** what the legend's two ends stand for, e.g. "0%" and "100% kept" */
    legend: [string, string];
    label: string;
  }
>(function MaskHeatmap(
  { image, width, height, title, subtitle, xLabel, yLabel, legend, label },
  ref,
) {
  const href = useMemo(() => pngOf(image), [image]);
  const gradient = useId();
  // legend: low end's label, the colour bar, high end's label (11 px text: ~6.6 px a character)
  const lowW = Math.ceil(legend[0].length * 7) + 10;
  const highW = Math.ceil(legend[1].length * 7) + 10;
  const W = Math.max(LEFT + width + 8, lowW + LEGEND_W + highW, title.length * 7.2, 360);
  const legendY = TOP + height + 30;
  const H = legendY + 30;
  return (
    <svg
      ref={ref}
      className="chart mask-heatmap"
      viewBox={`0 0 ${W} ${H}`}
      width={W}
      height={H}
      role="img"
      aria-label={label}
    >
      <text className="caption" x={0} y={13}>
        {title}
      </text>
      <text className="subtitle" x={0} y={27}>
        {subtitle}
      </text>
      <image
        href={href}
        x={LEFT}
        y={TOP}
        width={width}
        height={height}
        preserveAspectRatio="none"
        style={{ imageRendering: 'pixelated' }}
      />
      <rect
        x={LEFT}
        y={TOP}
        width={width}
        height={height}
        fill="none"
        stroke="var(--muted)"
        strokeWidth={0.5}
      />
      <g className="axis">
        <text x={LEFT + width / 2} y={TOP + height + 14} textAnchor="middle">
          {xLabel}
        </text>
        {yLabel && (
          <text
            x={LEFT - 8}
            y={TOP + height / 2}
            textAnchor="middle"
            transform={`rotate(-90 ${LEFT - 8} ${TOP + height / 2})`}
          >
            {yLabel}
          </text>
        )}
      </g>
      <defs>
        <linearGradient id={gradient}>
          {Array.from({ length: 9 }, (_, i) => (
            <stop key={i} offset={`${(i / 8) * 100}%`} stopColor={rgb(viridis(i / 8))} />
          ))}
        </linearGradient>
      </defs>
      <g className="axis legend">
        <text x={lowW - 4} y={legendY + 9} textAnchor="end">
          {legend[0]}
        </text>
        <rect x={lowW} y={legendY} width={LEGEND_W} height={10} fill={`url(#${gradient})`} />
        <text x={lowW + LEGEND_W + 4} y={legendY + 9}>
          {legend[1]}
        </text>
      </g>
    </svg>
  );
});
