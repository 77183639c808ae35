import { hierarchy, tree } from 'd3-hierarchy';
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomTransform } from 'd3-zoom';
import { useEffect, useMemo, useRef, useState } from 'react';
import { pct } from '../lib/format.ts';
import {
  hiddenCount,
  lineageTree,
  nodeRadius,
  type TicketView,
  type TransferEdge,
  type TreeNode,
} from '../lib/lineage.ts';

/** Test accuracy → a mix of the theme's two accuracy colours (CSS variables). */
function accuracyColour(acc: number | null): string {
  if (acc === null) return 'var(--untrained)';
  const t = Math.max(0, Math.min(1, (acc - 0.1) / 0.9));
  return `color-mix(in srgb, var(--acc-high) ${Math.round(t * 100)}%, var(--acc-low))`;
}

const DX = 34;
const DY = 140;
/** The root starts at the left edge, halfway down the 420-pixel view. */
const START = zoomIdentity.translate(40, 210);

export function LineageTree(props: {
  tickets: TicketView[];
  transfers: TransferEdge[];
  onOpen: (ticketId: string) => void;
}) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [hover, setHover] = useState<TicketView | null>(null);
  const [transform, setTransform] = useState<ZoomTransform>(START);
  const svg = useRef<SVGSVGElement>(null);

  const layout = useMemo(() => {
    const root = hierarchy<TreeNode>(lineageTree(props.tickets, collapsed));
    tree<TreeNode>().nodeSize([DX, DY])(root);
    return root.descendants().filter((d) => d.data.ticket);
  }, [props.tickets, collapsed]);

  useEffect(() => {
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.1, 4])
      .on('zoom', (e: { transform: ZoomTransform }) => setTransform(e.transform));
    const s = select(svg.current!);
    s.call(z).call(z.transform, START);
    return () => void s.on('.zoom', null);
  }, []);

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
      <svg ref={svg} role="img" aria-label="Lineage tree" data-nodes={layout.length}>
        <g transform={transform.toString()}>
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
                transform={`translate(${d.y},${d.x})`}
                onMouseEnter={() => setHover(t)}
                onMouseLeave={() => setHover(null)}
                onClick={(e) => (e.shiftKey || e.altKey ? toggle(t.id) : props.onOpen(t.id))}
                onContextMenu={(e) => {
                  e.preventDefault();
                  toggle(t.id);
                }}
              >
                <circle r={nodeRadius(t.remainingWeights)} fill={accuracyColour(t.testAccuracy)} />
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
                transform={`translate(${from.y! + 60},${from.x! + 14})`}
              >
                <a href={`#/experiment/${edge.experimentId}`}>
                  <text>
                    ↗ {edge.dataset} {pct(edge.testAccuracy)}
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
      <p className="muted">
        Size: remaining weights; colour: test accuracy. Click opens a ticket, right-click (or
        Shift+click) collapses a branch; scroll to zoom, drag to pan.
      </p>
    </div>
  );
}
