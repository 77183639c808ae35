import type { MethodOutput } from '../../../src/api/contract.ts';

export type TicketMasks = MethodOutput<'tickets.masks'>;
export type LayerMasks = TicketMasks['layers'][number];
export type MaskTicket = TicketMasks['ticket'];

/**
 * Viridis (matplotlib's perceptually uniform map) at nine stops: light on dark and dark on
 * light both read, and it stays ordered in greyscale prints.
 */
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
] as const;

/** The colour of t in [0, 1] (clamped) as [r, g, b]. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

export const rgb = ([r, g, b]: [number, number, number]) => `rgb(${r},${g},${b})`;

/** A grid of counts to draw: `values` row-major over rows × cols, coloured over [lo, hi]. */
export interface HeatmapImage {
  rows: number;
  cols: number;
  values: number[];
  lo: number;
  hi: number;
}

/** RGBA pixels of a heat-map, one per cell. */
export function heatmapPixels(h: HeatmapImage): Uint8ClampedArray<ArrayBuffer> {
  const px = new Uint8ClampedArray(h.rows * h.cols * 4);
  const span = h.hi - h.lo || 1;
  h.values.forEach((v, i) => {
    const [r, g, b] = viridis((v - h.lo) / span);
    px.set([r, g, b, 255], i * 4);
  });
  return px;
}

/**
 * The first layer's pixel map, coloured from its lowest to its highest count so the
 * structure shows even where counts differ by a few percent; the legend names both ends.
 */
export function pixelMapImage(map: NonNullable<TicketMasks['inputMap']>): HeatmapImage {
  return {
    rows: map.height,
    cols: map.width,
    values: map.kept,
    lo: Math.min(...map.kept),
    hi: Math.max(...map.kept),
  };
}

/**
 * A layer's heat-map on a fixed 0–100% scale (kept fraction per cell), so layers compare.
 * Conv: filters down, input channels across; dense (and conv drawn per filter): one strip of
 * output units across.
 */
export function layerImage(l: LayerMasks): HeatmapImage {
  const strip = l.cols === 1;
  return {
    rows: strip ? 1 : l.rows,
    cols: strip ? l.rows : l.cols,
    values: l.cells.map((c) => c / l.cellTotal),
    lo: 0,
    hi: 1,
  };
}

/** A name people read: experiment · method level N · % weights. */
export const ticketName = (
  t: Pick<MaskTicket, 'experimentName' | 'method' | 'level' | 'remainingWeights'>,
) =>
  `${t.experimentName} · ${t.method} level ${t.level} · ${(t.remainingWeights * 100).toFixed(1)}% weights`;

const csvCell = (v: string | number | null) =>
  typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v ?? '');
const csv = (header: string[], rows: (string | number | null)[][]) =>
  [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';

/** The pixel map's numbers: one row per pixel. */
export function pixelMapCsv(m: TicketMasks): string {
  const map = m.inputMap!;
  return csv(
    ['ticket', 'layer', 'y', 'x', 'kept', 'of'],
    map.kept.map((k, p) => [
      m.ticket.id,
      map.layer,
      Math.floor(p / map.width),
      p % map.width,
      k,
      map.perPixel,
    ]),
  );
}

/** Layers' heat-map cells: one row per (unit or filter, input channel). */
export function layersCsv(ticketId: string, layers: LayerMasks[]): string {
  return csv(
    ['ticket', 'layer', 'unit', 'input_channel', 'kept', 'of'],
    layers.flatMap((l) =>
      l.cells.map((k, i) => [
        ticketId,
        l.layer,
        Math.floor(i / l.cols),
        l.cols === 1 ? null : i % l.cols,
        k,
        l.cellTotal,
      ]),
    ),
  );
}

/** The overlap table: per layer and for the whole network. */
export function overlapCsv(m: TicketMasks): string {
  const o = m.overlap!;
  return csv(
    ['ticket', 'against', 'layer', 'total', 'both', 'only_here', 'only_there', 'jaccard'],
    [...o.layers, o.whole].map((l) => [
      m.ticket.id,
      o.against.id,
      l.layer,
      l.total,
      l.both,
      l.onlyHere,
      l.onlyThere,
      l.jaccard,
    ]),
  );
}
