import { useMemo, useRef, useState } from 'react';
import { MaskHeatmap } from '../charts/MaskHeatmap.tsx';
import { useLoad } from '../hooks.ts';
import { download, pct } from '../lib/format.ts';
import {
  layerImage,
  layersCsv,
  overlapCsv,
  pixelMapCsv,
  pixelMapImage,
  ticketName,
  type LayerMasks,
  type MaskTicket,
  type TicketMasks,
} from '../lib/masks.ts';
import { savePng, saveSvg } from '../lib/svg-export.ts';

/** Save buttons for one figure: its SVG, its PNG, and the numbers behind it. */
function SaveButtons({
  svg,
  name,
  csv,
}: {
  svg: React.RefObject<SVGSVGElement | null>;
  name: string;
  csv: () => string;
}) {
  return (
    <div className="toolbar">
      <button onClick={() => saveSvg(svg.current!, name)}>Save SVG</button>
      <button onClick={() => savePng(svg.current!, name)}>Save PNG</button>
      <button onClick={() => download(`${name}.csv`, csv(), 'text/csv')}>Save CSV</button>
    </div>
  );
}

/** Kept weights per input pixel of a first layer dense over the image. */
function PixelMap({ masks }: { masks: TicketMasks }) {
  const map = masks.inputMap!;
  const image = useMemo(() => pixelMapImage(map), [map]);
  const svg = useRef<SVGSVGElement>(null);
  const scale = Math.max(4, Math.floor(280 / Math.max(map.height, map.width)));
  const of = `of ${map.perPixel}`;
  return (
    <figure>
      <MaskHeatmap
        ref={svg}
        image={image}
        width={map.width * scale}
        height={map.height * scale}
        title={`${map.layer}: kept weights per input pixel`}
        subtitle={`${map.height}×${map.width}${map.channels > 1 ? `, ${map.channels} channels summed` : ''}; each pixel feeds ${map.perPixel} weights`}
        xLabel="input pixels"
        legend={[`${image.lo} ${of}`, `${image.hi} ${of}`]}
        label={`${map.layer}: kept weights per input pixel, ${map.height}×${map.width}`}
      />
      <SaveButtons svg={svg} name={`${masks.ticket.id}-pixel-map`} csv={() => pixelMapCsv(masks)} />
    </figure>
  );
}

/** One layer's kept fraction per filter × input channel (conv) or per output unit (dense). */
function LayerHeatmap({ ticketId, layer }: { ticketId: string; layer: LayerMasks }) {
  const image = useMemo(() => layerImage(layer), [layer]);
  const svg = useRef<SVGSVGElement>(null);
  const strip = image.rows === 1;
  const cell = strip
    ? Math.max(1, Math.min(20, Math.floor(560 / image.cols)))
    : Math.max(1, Math.min(12, Math.floor(280 / Math.max(image.rows, image.cols))));
  const per =
    layer.kind === 'dense'
      ? 'per output unit'
      : strip
        ? 'per filter (too many filter × channel cells to draw)'
        : 'per filter (rows) × input channel (columns)';
  return (
    <figure>
      <MaskHeatmap
        ref={svg}
        image={image}
        width={image.cols * cell}
        height={strip ? 18 : image.rows * cell}
        title={`${layer.layer} · ${layer.shape.join('×')} · kept ${layer.kept.toLocaleString('en')} / ${layer.total.toLocaleString('en')} (${pct(layer.kept / layer.total)})`}
        subtitle={`kept fraction ${per}, each of ${layer.cellTotal} weights`}
        xLabel={strip ? (layer.kind === 'dense' ? 'output unit' : 'filter') : 'input channel'}
        yLabel={strip ? undefined : 'filter'}
        legend={['0%', '100% kept']}
        label={`${layer.layer} mask heat-map`}
      />
      <SaveButtons
        svg={svg}
        name={`${ticketId}-${layer.layer.replace(/[^\w.-]/g, '_')}-mask`}
        csv={() => layersCsv(ticketId, [layer])}
      />
    </figure>
  );
}

const count = (n: number) => n.toLocaleString('en');

/** Kept in both, only here, only there and Jaccard, per layer and for the whole network. */
function OverlapTable({ masks }: { masks: TicketMasks }) {
  const o = masks.overlap!;
  return (
    <>
      <table aria-label="Mask overlap">
        <thead>
          <tr>
            <th>layer</th>
            <th>weights</th>
            <th>kept in both</th>
            <th>only here</th>
            <th>only there</th>
            <th>Jaccard</th>
          </tr>
        </thead>
        <tbody>
          {[...o.layers, o.whole].map((l) => (
            <tr key={l.layer}>
              <td>{l.layer}</td>
              <td>{count(l.total)}</td>
              <td>{count(l.both)}</td>
              <td>{count(l.onlyHere)}</td>
              <td>{count(l.onlyThere)}</td>
              <td>{l.jaccard === null ? '–' : l.jaccard.toFixed(3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="toolbar">
        <button
          onClick={() =>
            download(
              `${masks.ticket.id}-vs-${o.against.id}-overlap.csv`,
              overlapCsv(masks),
              'text/csv',
            )
          }
        >
          Save CSV
        </button>
      </div>
    </>
  );
}

/** Picks the ticket to overlap with: any ticket of the same architecture, found by name. */
function AgainstPicker({
  ticketId,
  value,
  current,
  onChange,
}: {
  ticketId: string;
  value: string;
  /** the ticket overlapped now, kept in the list when the search leaves it out */
  current: MaskTicket | null;
  onChange: (id: string) => void;
}) {
  const [search, setSearch] = useState('');
  const found = useLoad(
    (c) => c.call('tickets.comparable', { ticketId, search, limit: 200 }),
    [ticketId, search],
  );
  const listed = found.data?.items ?? [];
  const items = current && !listed.some((t) => t.id === current.id) ? [current, ...listed] : listed;
  return (
    <div className="toolbar">
      <input
        type="search"
        className="search"
        placeholder="Find tickets in any experiment"
        aria-label="Find tickets to overlap"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <label>
        Overlap with{' '}
        <select value={value} onChange={(e) => onChange(e.target.value)} aria-label="Overlap with">
          <option value="">choose a ticket…</option>
          {items.map((t) => (
            <option key={t.id} value={t.id}>
              {ticketName(t)} · {t.datasetName}
            </option>
          ))}
        </select>
      </label>
      {found.data && (
        <span className="muted">
          {found.data.total > listed.length
            ? `${listed.length} of ${found.data.total.toLocaleString('en')} shown: search to narrow`
            : `${found.data.total.toLocaleString('en')} tickets of this architecture`}
        </span>
      )}
    </div>
  );
}

/**
 * The ticket's mask, measured from the stored masks: the first layer's kept weights per input
 * pixel, a heat-map per layer, and the overlap with another ticket's mask (its parent unless
 * another is picked, from any experiment).
 */
export function MaskSection({ ticketId, parentId }: { ticketId: string; parentId: string | null }) {
  const [picked, setPicked] = useState('');
  const against = picked || parentId || '';
  const masks = useLoad(
    (c) => c.call('tickets.masks', { ticketId, againstId: against || undefined }),
    [ticketId, against],
  );
  const m = masks.data;
  return (
    <section aria-label="Mask">
      <h2>Mask</h2>
      {masks.error && <p className="error">{masks.error}</p>}
      {!m ? (
        !masks.error && <p className="muted">Loading…</p>
      ) : (
        <>
          <div className="mask-figures">
            {m.inputMap && <PixelMap masks={m} />}
            {m.layers.map((l) => (
              <LayerHeatmap key={l.layer} ticketId={ticketId} layer={l} />
            ))}
          </div>
          <h2>Mask overlap</h2>
          <AgainstPicker
            ticketId={ticketId}
            value={against}
            current={m.overlap?.against ?? null}
            onChange={setPicked}
          />
          {m.overlap ? (
            <>
              <p>
                Against{' '}
                <a href={`#/ticket/${m.overlap.against.id}`}>{ticketName(m.overlap.against)}</a> (
                {m.overlap.against.datasetName})
                {against === parentId && !picked ? ', its parent' : ''}: kept here and there, per
                layer.
              </p>
              <OverlapTable masks={m} />
            </>
          ) : (
            <p className="muted">Pick a ticket to overlap this one's mask with.</p>
          )}
        </>
      )}
    </section>
  );
}
