import { hierarchy, tree } from 'd3-hierarchy';
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { pct } from '../lib/format.ts';
import {
  accuracyScale,
  fitTransform,
  hiddenCount,
  lineageTree,
  nodeRadius,
  type TicketView,
  type TransferEdge,
  type TreeNode,
} from '../lib/lineage.ts';

const DX = 34;
const DY = 140;
/** Room right of a node for its label ("random-reinit 100.0% (+12)"), counted in the fit. */
const LABEL_W = 150;

/** A wheel zooms only with Ctrl/⌘ (and a trackpad pinch, which Chromium sends as Ctrl+wheel). */
type FilterEvent = Event & { ctrlKey: boolean; metaKey: boolean; button: number };
export const zoomFilter = (e: FilterEvent) =>
  e.type === 'wheel' ? e.ctrlKey || e.metaKey : !e.ctrlKey && !e.button;
/** d3's wheel step, capped: with Ctrl held it is ten times larger, 4× per mouse notch. */
export const wheelDelta = (e: WheelEvent) =>
  Math.max(
    -0.3,
    Math.min(
      0.3,
      -e.deltaY * (e.deltaMode === 1 ? 0.05 : e.deltaMode ? 1 : 0.002) * (e.ctrlKey ? 10 : 1),
    ),
  );

export function LineageTree(props: {
  tickets: TicketView[];
  transfers: TransferEdge[];
  onOpen: (ticketId: string) => void;
}) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [hover, setHover] = useState<TicketView | null>(null);
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const svg = useRef<SVGSVGElement>(null);
  const behaviour = useRef<ZoomBehavior<SVGSVGElement, unknown> | null>(null);
  // once the user zooms or pans, a growing tree no longer refits under their hand
  const moved = useRef(false);

  const layout = useMemo(() => {
    const root = hierarchy<TreeNode>(lineageTree(props.tickets, collapsed));
    tree<TreeNode>().nodeSize([DX, DY])(root);
    return root.descendants().filter((d) => d.data.ticket);
  }, [props.tickets, collapsed]);
  const scale = useMemo(() => accuracyScale(props.tickets), [props.tickets]);
  const colour = (acc: number | null) =>
    acc === null || !scale
      ? 'var(--untrained)'
      : `color-mix(in oklab, var(--acc-high) ${Math.round(scale.share(acc) * 100)}%, var(--acc-low))`;

  const fit = useCallback(() => {
    const el = svg.current;
    const z = behaviour.current;
    if (!el || !z || !layout.length) return;
    const ys = layout.map((d) => d.x!);
    const xs = layout.map((d) => d.y!);
    const r = 14;
    const t = fitTransform(
      {
        x0: Math.min(...xs) - r,
        x1: Math.max(...xs) + LABEL_W,
        y0: Math.min(...ys) - r,
        y1: Math.max(...ys) + r + 16, // a transfer label under the lowest node
      },
      el.clientWidth,
      el.clientHeight,
    );
    select(el).call(z.transform, zoomIdentity.translate(t.x, t.y).scale(t.k));
  }, [layout]);

  useEffect(() => {
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.1, 4])
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
  }, []);

  // fitted on load, and again as levels arrive until the user takes over
  useEffect(() => {
    if (!moved.current) fit();
  }, [fit]);

  const zoomBy = (k: number) => {
    moved.current = true;
    select(svg.current!).call(behaviour.current!.scaleBy, k);
  };

  const position = new Map(layout.map((d) => [d.data.id, d]));
  const toggle = (id: string) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="lineage">
      <div className="lineage-controls" role="toolbar" aria-label="Lineage view">
        <button onClick={fit} title="Show the whole tree">
          Fit
        </button>
        <button onClick={() => zoomBy(1.25)} aria-label="Zoom in" title="Zoom in (Ctrl+scroll)">
          +
        </button>
        <button onClick={() => zoomBy(0.8)} aria-label="Zoom out" title="Zoom out (Ctrl+scroll)">
          −
        </button>
      </div>
      <svg ref={svg} role="group" aria-label="Lineage tree" data-nodes={layout.length}>
        <g className="viewport" transform={transform.toString()}>
          {layout.map((d) =>
            d.parent?.data.ticket ? (
              <path
                key={`e-${d.data.id}`}
                className="edge"
                d={`M${d.parent.y},${d.parent.x}C${(d.parent.y! + d.y!) / 2},${d.parent.x} ${(d.parent.y! + d.y!) / 2},${d.x} ${d.y},${d.x}`}
              />
            ) : null,
          )}
          {layout.map((d) => {
            const t = d.data.ticket!;
            const hidden = collapsed.has(t.id) ? hiddenCount(props.tickets, t.id) : 0;
            return (
              <g
                key={t.id}
                className="node"
                data-ticket={t.id}
                data-accuracy={t.testAccuracy ?? ''}
                transform={`translate(${d.y},${d.x})`}
                tabIndex={0}
                role="link"
                aria-label={`level ${t.level}, ${t.method}, ${pct(t.remainingWeights)} of weights remaining, test accuracy ${t.testAccuracy === null ? 'not trained yet' : pct(t.testAccuracy, 2)}${hidden > 0 ? `, ${hidden} hidden below` : ''}`}
                onMouseEnter={() => setHover(t)}
                onMouseLeave={() => setHover(null)}
                onFocus={() => setHover(t)}
                onBlur={() => setHover(null)}
                onClick={(e) => (e.shiftKey || e.altKey ? toggle(t.id) : props.onOpen(t.id))}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey) props.onOpen(t.id);
                  else if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    toggle(t.id);
                  }
                }}
                onContextMenu={(e) => {
                  e.preventDefault();
                  toggle(t.id);
                }}
              >
                <circle r={nodeRadius(t.remainingWeights)} fill={colour(t.testAccuracy)} />
                <text x={16} dy="0.32em">
                  {t.method} {pct(t.remainingWeights)}
                  {hidden > 0 ? ` (+${hidden})` : ''}
                </text>
              </g>
            );
          })}
          {props.transfers.map((edge) => {
            const from = position.get(edge.sourceTicketId);
            if (!from) return null;
            return (
              <g
                key={`t-${edge.ticketId}`}
                className="transfer"
                transform={`translate(${from.y! + 16},${from.x! + 20})`}
              >
                <a href={`#/experiment/${edge.experimentId}`}>
                  <text>
                    ↗ {edge.datasetName} {pct(edge.testAccuracy)}
                  </text>
                </a>
              </g>
            );
          })}
        </g>
      </svg>
      {hover && (
        <div className="tooltip" role="status">
          level {hover.level} · {hover.method} · {pct(hover.remainingWeights)} weights · test{' '}
          {pct(hover.testAccuracy, 2)}
        </div>
      )}
      <div className="colour-legend" aria-label="Accuracy colours">
        {scale ? (
          <>
            <span>test accuracy</span>
            <span className="low">{pct(scale.min, 2)}</span>
            <span className="ramp" aria-hidden="true" />
            <span className="high">{pct(scale.max, 2)}</span>
          </>
        ) : (
          <span>no ticket trained yet</span>
        )}
        <span className="swatch untrained" aria-hidden="true" /> <span>untrained</span>
      </div>
      <p className="muted">
        Size: remaining weights; colour: test accuracy, from the lowest to the highest shown. Click
        or Enter opens a ticket; right-click, Shift+click or Shift+Enter collapses a branch;
        Ctrl+scroll (⌘+scroll) zooms, drag pans.
      </p>
    </div>
  );
}
