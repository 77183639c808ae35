/**
 * What the lineage and genealogy trees share: zoom and pan (Ctrl/⌘+wheel zooms, the page
 * scrolls otherwise), fitting the tree to the view, the Fit/+/− toolbar, the edges, and the
 * accuracy colours with their legend.
 */
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { useCallback, useEffect, useRef, useState } from 'react';
import { pct } from '../lib/format.ts';
import { accuracyScale, fitTransform } from '../lib/lineage.ts';

/** A wheel zooms only with Ctrl/⌘ (and a trackpad pinch, which Chromium sends as Ctrl+wheel). */
type FilterEvent = Event & { ctrlKey: boolean; metaKey: boolean; button: number };
const zoomFilter = (e: FilterEvent) =>
  e.type === 'wheel' ? e.ctrlKey || e.metaKey : !e.ctrlKey && !e.button;
/** d3's wheel step, capped: with Ctrl held it is ten times larger, 4× per mouse notch. */
const wheelDelta = (e: WheelEvent) =>
  Math.max(
    -0.3,
    Math.min(
      0.3,
      -e.deltaY * (e.deltaMode === 1 ? 0.05 : e.deltaMode ? 1 : 0.002) * (e.ctrlKey ? 10 : 1),
    ),
  );

/** The layout's extent in its own units: nodes at (y, x) as d3's horizontal tree puts them. */
export interface TreeBounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export function boundsOf(
  layout: readonly { x: number; y: number }[],
  margin: { left: number; right: number; top: number; bottom: number },
): TreeBounds | null {
  if (!layout.length) return null;
  const ys = layout.map((d) => d.x);
  const xs = layout.map((d) => d.y);
  return {
    x0: Math.min(...xs) - margin.left,
    x1: Math.max(...xs) + margin.right,
    y0: Math.min(...ys) - margin.top,
    y1: Math.max(...ys) + margin.bottom,
  };
}

/**
 * Zoom and pan on an SVG, fitted to `bounds` on load and whenever they change, until the user
 * zooms or pans when `keepUserView` (a growing tree then no longer refits under their hand).
 */
export function useTreeZoom(
  bounds: TreeBounds | null,
  { minScale, keepUserView }: { minScale: number; keepUserView: boolean },
) {
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const svg = useRef<SVGSVGElement>(null);
  const behaviour = useRef<ZoomBehavior<SVGSVGElement, unknown> | null>(null);
  const moved = useRef(false);

  const fit = useCallback(() => {
    const el = svg.current;
    const z = behaviour.current;
    if (!el || !z || !bounds) return;
    const t = fitTransform(bounds, el.clientWidth, el.clientHeight);
    select(el).call(z.transform, zoomIdentity.translate(t.x, t.y).scale(t.k));
  }, [bounds]);

  useEffect(() => {
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([minScale, 4])
      .filter(zoomFilter as (e: Event) => boolean)
      .wheelDelta(wheelDelta)
      .on('zoom', (e: { transform: ZoomTransform; sourceEvent: Event | null }) => {
        if (e.sourceEvent) moved.current = true;
        setTransform(e.transform);
      });
    behaviour.current = z;
    const s = select(svg.current!);
    s.call(z);
    return () => void s.on('.zoom', null);
  }, [minScale]);

  useEffect(() => {
    if (!keepUserView || !moved.current) fit();
  }, [fit, keepUserView]);

  const zoomBy = (k: number) => {
    moved.current = true;
    select(svg.current!).call(behaviour.current!.scaleBy, k);
  };
  return { svg, transform, fit, zoomBy };
}

export function ZoomControls(props: {
  label: string;
  fit: () => void;
  zoomBy: (k: number) => void;
}) {
  return (
    <div className="lineage-controls" role="toolbar" aria-label={props.label}>
      <button onClick={props.fit} title="Show the whole tree">
        Fit
      </button>
      <button onClick={() => props.zoomBy(1.25)} aria-label="Zoom in" title="Zoom in (Ctrl+scroll)">
        +
      </button>
      <button
        onClick={() => props.zoomBy(0.8)}
        aria-label="Zoom out"
        title="Zoom out (Ctrl+scroll)"
      >
        −
      </button>
    </div>
  );
}

/** The edge from a parent to a child as a horizontal S-curve (d3's tree: x down, y across). */
export function edgePath(
  parent: { x: number; y: number },
  child: { x: number; y: number },
): string {
  const midY = (parent.y + child.y) / 2;
  return `M${parent.y},${parent.x}C${midY},${parent.x} ${midY},${child.x} ${child.y},${child.x}`;
}

type Scale = ReturnType<typeof accuracyScale>;

/** A node's fill: its place between the lowest and highest accuracy shown, grey untrained. */
export function accuracyFill(scale: Scale, accuracy: number | null): string {
  return accuracy === null || !scale
    ? 'var(--untrained)'
    : `color-mix(in oklab, var(--acc-high) ${Math.round(scale.share(accuracy) * 100)}%, var(--acc-low))`;
}

export function AccuracyLegend(props: { scale: Scale; noneTrained: string }) {
  const { scale } = props;
  return (
    <div className="colour-legend" aria-label="Accuracy colours">
      {scale ? (
        <>
          <span>test accuracy</span>
          <span className="low">{pct(scale.min, 2)}</span>
          <span className="ramp" aria-hidden="true" />
          <span className="high">{pct(scale.max, 2)}</span>
        </>
      ) : (
        <span>{props.noneTrained}</span>
      )}
      <span className="swatch untrained" aria-hidden="true" /> <span>untrained</span>
    </div>
  );
}
