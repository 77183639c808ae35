import { stratify, tree } from 'd3-hierarchy';
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { MethodOutput } from '../../../src/api/contract.ts';
import { pct } from '../lib/format.ts';
import { accuracyScale, fitTransform, nodeRadius } from '../lib/lineage.ts';
import { wheelDelta, zoomFilter } from './LineageTree.tsx';

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
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const svg = useRef<SVGSVGElement>(null);
  const behaviour = useRef<ZoomBehavior<SVGSVGElement, unknown> | null>(null);

  const layout = useMemo(() => {
    if (!props.nodes.length) return [];
    const root = stratify<GenealogyNode>()
      .id((n) => n.id)
      .parentId((n) => n.parentId)(props.nodes);
    tree<GenealogyNode>().nodeSize([DX, DY])(root);
    return root.descendants();
  }, [props.nodes]);
  const scale = useMemo(
    () => accuracyScale(props.nodes.filter((n) => n.match && n.kind === 'ticket')),
    [props.nodes],
  );
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
    const t = fitTransform(
      {
        x0: Math.min(...xs) - 14,
        x1: Math.max(...xs) + LABEL_W,
        y0: Math.min(...ys) - 14,
        y1: Math.max(...ys) + 14,
      },
      el.clientWidth,
      el.clientHeight,
    );
    select(el).call(z.transform, zoomIdentity.translate(t.x, t.y).scale(t.k));
  }, [layout]);

  useEffect(() => {
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.05, 4])
      .filter(zoomFilter as (e: Event) => boolean)
      .wheelDelta(wheelDelta)
      .on('zoom', (e: { transform: ZoomTransform }) => setTransform(e.transform));
    behaviour.current = z;
    const s = select(svg.current!);
    s.call(z);
    return () => void s.on('.zoom', null);
  }, []);

  // fitted on load and whenever the filters change the tree
  useEffect(() => fit(), [fit]);

  const zoomBy = (k: number) => select(svg.current!).call(behaviour.current!.scaleBy, k);

  return (
    <div className="lineage genealogy">
      <div className="lineage-controls" role="toolbar" aria-label="Genealogy view">
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
      <svg ref={svg} role="group" aria-label="Genealogy tree" data-nodes={layout.length}>
        <g className="viewport" transform={transform.toString()}>
          {layout.map((d) =>
            d.parent ? (
              <path
                key={`e-${d.data.id}`}
                className={`edge${d.data.method === 'transfer' ? ' transfer-edge' : ''}`}
                d={`M${d.parent.y},${d.parent.x}C${(d.parent.y! + d.y!) / 2},${d.parent.x} ${(d.parent.y! + d.y!) / 2},${d.x} ${d.y},${d.x}`}
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
                  <circle r={nodeRadius(n.remainingWeights)} fill={colour(n.testAccuracy)} />
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
      <div className="colour-legend" aria-label="Accuracy colours">
        {scale ? (
          <>
            <span>test accuracy</span>
            <span className="low">{pct(scale.min, 2)}</span>
            <span className="ramp" aria-hidden="true" />
            <span className="high">{pct(scale.max, 2)}</span>
          </>
        ) : (
          <span>no ticket in the filters is trained yet</span>
        )}
        <span className="swatch untrained" aria-hidden="true" /> <span>untrained</span>
      </div>
    </div>
  );
}
