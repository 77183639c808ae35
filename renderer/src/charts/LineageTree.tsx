import { hierarchy, tree } from 'd3-hierarchy';
import { useMemo, useState } from 'react';
import { pct } from '../lib/format.ts';
import {
  accuracyScale,
  hiddenCount,
  lineageTree,
  nodeRadius,
  type TicketView,
  type TransferEdge,
  type TreeNode,
} from '../lib/lineage.ts';
import {
  AccuracyLegend,
  accuracyFill,
  boundsOf,
  edgePath,
  useTreeZoom,
  ZoomControls,
} from './tree-view.tsx';

const DX = 34;
const DY = 140;
/** Room right of a node for its label ("random-reinit 100.0% (+12)"), counted in the fit. */
const LABEL_W = 150;

export function LineageTree(props: {
  tickets: TicketView[];
  transfers: TransferEdge[];
  onOpen: (ticketId: string) => void;
}) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [hover, setHover] = useState<TicketView | null>(null);
  const layout = useMemo(() => {
    const root = hierarchy<TreeNode>(lineageTree(props.tickets, collapsed));
    return tree<TreeNode>()
      .nodeSize([DX, DY])(root)
      .descendants()
      .filter((d) => d.data.ticket);
  }, [props.tickets, collapsed]);
  const scale = useMemo(() => accuracyScale(props.tickets), [props.tickets]);
  // a transfer label sits under the lowest node
  const bounds = useMemo(
    () => boundsOf(layout, { left: 14, right: LABEL_W, top: 14, bottom: 30 }),
    [layout],
  );
  // fitted on load, and again as levels arrive until the user takes over
  const { svg, transform, fit, zoomBy } = useTreeZoom(bounds, {
    minScale: 0.1,
    keepUserView: true,
  });

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
      <ZoomControls label="Lineage view" fit={fit} zoomBy={zoomBy} />
      <svg ref={svg} role="group" aria-label="Lineage tree" data-nodes={layout.length}>
        <g className="viewport" transform={transform.toString()}>
          {layout.map((d) =>
            d.parent?.data.ticket ? (
              <path key={`e-${d.data.id}`} className="edge" d={edgePath(d.parent, d)} />
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
                <circle
                  r={nodeRadius(t.remainingWeights)}
                  fill={accuracyFill(scale, t.testAccuracy)}
                />
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
                transform={`translate(${from.y + 16},${from.x + 20})`}
              >
                <a href={`#/experiment/${edge.experimentId}`}>
                  <text>
                    ↗ {edge.datasetName} test {pct(edge.testAccuracy)}
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
      <AccuracyLegend scale={scale} noneTrained="no ticket trained yet" />
      <p className="muted">
        Size: remaining weights; colour: test accuracy, from the lowest to the highest shown. Click
        or Enter opens a ticket; right-click, Shift+click or Shift+Enter collapses a branch;
        Ctrl+scroll (⌘+scroll) zooms, drag pans.
      </p>
    </div>
  );
}
