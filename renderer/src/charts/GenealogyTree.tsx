import { stratify, tree } from 'd3-hierarchy';
import { useMemo, useState } from 'react';
import type { MethodOutput } from '../../../src/api/contract.ts';
import { pct } from '../lib/format.ts';
import { accuracyScale, nodeRadius } from '../lib/lineage.ts';
import {
  AccuracyLegend,
  accuracyFill,
  boundsOf,
  edgePath,
  useTreeZoom,
  ZoomControls,
} from './tree-view.tsx';

export type GenealogyNode = MethodOutput<'experiments.genealogy'>['nodes'][number];

const DX = 30;
const DY = 190;
/** Room right of a node for its label, counted in the fit. */
const LABEL_W = 210;

/** What a node says next to it: a dense network names its branch, a transfer its dataset. */
export function nodeLabel(n: GenealogyNode): string {
  if (n.kind === 'theta0') return 'θ0';
  if (n.method === 'dense') return `${n.branch} · dense`;
  if (n.method === 'transfer') return `→ ${n.datasetName} ${pct(n.remainingWeights)}`;
  return `${n.method} ${pct(n.remainingWeights)}`;
}

function describe(n: GenealogyNode): string {
  if (n.kind === 'theta0') return `θ0 on ${n.datasetName}`;
  const acc = n.testAccuracy === null ? 'not trained yet' : pct(n.testAccuracy, 2);
  return `${n.branch}, level ${n.level}, ${n.method} on ${n.datasetName}, ${pct(n.remainingWeights)} of weights remaining, test accuracy ${acc}${n.match ? '' : ' (outside the filters, shown to connect)'}`;
}

/**
 * A θ0's genealogy drawn as one tree (d3-hierarchy), fitted on load, Fit and zoom buttons,
 * Ctrl/⌘+wheel zoom and pan as in the lineage tree. Tickets outside the filters that
 * connect a match to θ0 are drawn faded; every ticket is a link to its page (Tab, Enter).
 */
export function GenealogyTree(props: {
  nodes: GenealogyNode[];
  onOpen: (ticketId: string) => void;
}) {
  const [hover, setHover] = useState<GenealogyNode | null>(null);
  const layout = useMemo(() => {
    if (!props.nodes.length) return [];
    const root = stratify<GenealogyNode>()
      .id((n) => n.id)
      .parentId((n) => n.parentId)(props.nodes);
    return tree<GenealogyNode>().nodeSize([DX, DY])(root).descendants();
  }, [props.nodes]);
  const scale = useMemo(
    () => accuracyScale(props.nodes.filter((n) => n.match && n.kind === 'ticket')),
    [props.nodes],
  );
  const bounds = useMemo(
    () => boundsOf(layout, { left: 14, right: LABEL_W, top: 14, bottom: 14 }),
    [layout],
  );
  // fitted on load and whenever the filters change the tree
  const { svg, transform, fit, zoomBy } = useTreeZoom(bounds, {
    minScale: 0.05,
    keepUserView: false,
  });

  return (
    <div className="lineage genealogy">
      <ZoomControls label="Genealogy view" fit={fit} zoomBy={zoomBy} />
      <svg ref={svg} role="group" aria-label="Genealogy tree" data-nodes={layout.length}>
        <g className="viewport" transform={transform.toString()}>
          {layout.map((d) =>
            d.parent ? (
              <path
                key={`e-${d.data.id}`}
                className={`edge${d.data.method === 'transfer' ? ' transfer-edge' : ''}`}
                d={edgePath(d.parent, d)}
              />
            ) : null,
          )}
          {layout.map((d) => {
            const n = d.data;
            const open = () => n.kind === 'ticket' && props.onOpen(n.id);
            return (
              <g
                key={n.id}
                className={`node${n.match ? '' : ' context'}${n.kind === 'theta0' ? ' theta0' : ''}`}
                data-ticket={n.kind === 'ticket' ? n.id : undefined}
                data-method={n.method}
                data-match={n.match}
                transform={`translate(${d.y},${d.x})`}
                tabIndex={n.kind === 'ticket' ? 0 : undefined}
                role={n.kind === 'ticket' ? 'link' : 'img'}
                aria-label={describe(n)}
                onMouseEnter={() => setHover(n)}
                onMouseLeave={() => setHover(null)}
                onFocus={() => setHover(n)}
                onBlur={() => setHover(null)}
                onClick={open}
                onKeyDown={(e) => e.key === 'Enter' && open()}
              >
                {n.kind === 'theta0' ? (
                  <rect x={-9} y={-9} width={18} height={18} rx={3} />
                ) : (
                  <circle
                    r={nodeRadius(n.remainingWeights)}
                    fill={accuracyFill(scale, n.testAccuracy)}
                  />
                )}
                <text x={16} dy="0.32em">
                  {nodeLabel(n)}
                </text>
              </g>
            );
          })}
        </g>
      </svg>
      {hover && (
        <div className="tooltip" role="status">
          {describe(hover)}
        </div>
      )}
      <AccuracyLegend scale={scale} noneTrained="no ticket in the filters is trained yet" />
    </div>
  );
}
