import { accuracyColour, accuracyRange, esc, num, percent, rampColour, UNTRAINED } from './svg.ts';

/** What the lineage drawing needs of a ticket. */
export interface LineageNode {
  id: string;
  parentId: string | null;
  level: number;
  method: string;
  remainingWeights: number;
  testAccuracy: number | null;
}

const ROW = 30;
const COLUMN = 170;
const PAD = 20;
const LABEL_W = 150;
const LEGEND_H = 40;

/** Node radius: area proportional to remaining weights, never invisible. */
const radius = (remaining: number) => Math.max(3, 12 * Math.sqrt(remaining));

/**
 * An experiment's ticket tree as an SVG element: each ticket right of its parent, leaves
 * one row apart and a parent centred on its children; size is remaining weights, colour
 * is test accuracy from the lowest shown to the highest, with the legend under it. Every
 * node carries a <title>, so a browser shows its numbers on hover without a script.
 */
export function lineageSvg(tickets: LineageNode[], idPrefix = 'lineage'): string {
  if (!tickets.length) return '<p class="muted">No tickets yet.</p>';
  const ids = new Set(tickets.map((t) => t.id));
  const children = new Map<string | null, LineageNode[]>();
  for (const t of tickets) {
    const parent = t.parentId && ids.has(t.parentId) ? t.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), t]);
  }
  for (const list of children.values())
    list.sort((a, b) => a.level - b.level || a.method.localeCompare(b.method));

  const at = new Map<string, { x: number; y: number }>();
  let row = 0;
  let depthMax = 0;
  const place = (t: LineageNode, depth: number): number => {
    depthMax = Math.max(depthMax, depth);
    const kids = children.get(t.id) ?? [];
    const ys = kids.map((k) => place(k, depth + 1));
    const y = ys.length ? (ys[0]! + ys[ys.length - 1]!) / 2 : row++ * ROW;
    at.set(t.id, { x: depth * COLUMN, y });
    return y;
  };
  for (const root of children.get(null) ?? []) place(root, 0);

  const width = PAD * 2 + depthMax * COLUMN + LABEL_W;
  const treeH = PAD * 2 + Math.max(0, row - 1) * ROW;
  const range = accuracyRange(tickets.map((t) => t.testAccuracy));
  const shift = (p: { x: number; y: number }) => ({ x: p.x + PAD, y: p.y + PAD });

  const edges = tickets
    .filter((t) => t.parentId && at.has(t.parentId))
    .map((t) => {
      const a = shift(at.get(t.parentId!)!);
      const b = shift(at.get(t.id)!);
      const mid = (a.x + b.x) / 2;
      return `<path class="edge" d="M${num(a.x)},${num(a.y)}C${num(mid)},${num(a.y)} ${num(mid)},${num(b.y)} ${num(b.x)},${num(b.y)}"/>`;
    });
  const nodes = tickets.map((t) => {
    const p = shift(at.get(t.id)!);
    const title = `level ${t.level} · ${t.method} · ${percent(t.remainingWeights)} of weights · test accuracy ${t.testAccuracy === null ? 'not trained' : percent(t.testAccuracy, 2)}`;
    return (
      `<g class="node" data-ticket="${esc(t.id)}" transform="translate(${num(p.x)},${num(p.y)})">` +
      `<title>${esc(title)}</title>` +
      `<circle r="${num(radius(t.remainingWeights))}" fill="${accuracyColour(t.testAccuracy, range)}"/>` +
      `<text x="16" dy="0.32em">${esc(t.method)} ${percent(t.remainingWeights)}</text></g>`
    );
  });

  const gradient = `${idPrefix}-ramp`;
  const ly = treeH + 8;
  const legend = range
    ? `<defs><linearGradient id="${esc(gradient)}"><stop offset="0" stop-color="${rampColour(0)}"/><stop offset="1" stop-color="${rampColour(1)}"/></linearGradient></defs>` +
      `<g class="legend" transform="translate(${PAD},${ly})"><text y="12">test accuracy</text>` +
      `<text x="100" y="12">${percent(range.min, 2)}</text>` +
      `<rect x="150" y="2" width="120" height="12" rx="2" fill="url(#${esc(gradient)})"/>` +
      `<text x="278" y="12">${percent(range.max, 2)}</text>` +
      `<circle cx="348" cy="8" r="5" fill="${UNTRAINED}"/><text x="358" y="12">untrained</text></g>`
    : `<g class="legend" transform="translate(${PAD},${ly})"><text y="12">no ticket trained yet</text></g>`;

  const height = treeH + LEGEND_H;
  return (
    `<svg class="lineage" viewBox="0 0 ${num(Math.max(width, 420))} ${num(height)}" width="${num(Math.max(width, 420))}" height="${num(height)}" role="img" aria-label="Lineage tree: size is remaining weights, colour is test accuracy">` +
    edges.join('') +
    nodes.join('') +
    legend +
    '</svg>'
  );
}
