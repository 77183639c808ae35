import type { MethodOutput } from '../../../src/api/contract.ts';

export type TicketView = MethodOutput<'experiments.lineage'>['tickets'][number];
export type TransferEdge = MethodOutput<'experiments.lineage'>['transfers'][number];

export interface TreeNode {
  id: string;
  ticket: TicketView | null;
  children: TreeNode[];
}

/**
 * The lineage as one tree: tickets under their parents, and roots (the dense ticket, or
 * transferred tickets with no parent here) under a virtual root so D3 lays out one tree.
 * Collapsed node ids keep their subtree out.
 */
export function lineageTree(
  tickets: TicketView[],
  collapsed: ReadonlySet<string> = new Set(),
): TreeNode {
  const nodes = new Map<string, TreeNode>(
    tickets.map((t) => [t.id, { id: t.id, ticket: t, children: [] }]),
  );
  const root: TreeNode = { id: '__root__', ticket: null, children: [] };
  for (const node of nodes.values()) {
    const parentId = node.ticket!.parentId;
    const parent = parentId ? nodes.get(parentId) : undefined;
    (parent ?? root).children.push(node);
  }
  const order = (a: TreeNode, b: TreeNode) =>
    a.ticket!.level - b.ticket!.level || a.ticket!.method.localeCompare(b.ticket!.method);
  const prune = (n: TreeNode): TreeNode => ({
    ...n,
    children: collapsed.has(n.id) ? [] : n.children.sort(order).map(prune),
  });
  return prune(root);
}

/** Descendants hidden under each collapsed node, for the "+N" badge. */
export function hiddenCount(tickets: TicketView[], id: string): number {
  const children = new Map<string, string[]>();
  for (const t of tickets)
    if (t.parentId) children.set(t.parentId, [...(children.get(t.parentId) ?? []), t.id]);
  let n = 0;
  const stack = [...(children.get(id) ?? [])];
  while (stack.length) {
    const next = stack.pop()!;
    n++;
    stack.push(...(children.get(next) ?? []));
  }
  return n;
}

/** Node radius: area proportional to remaining weights, never invisible. */
export function nodeRadius(remainingWeights: number, max = 14, min = 3): number {
  return Math.max(min, max * Math.sqrt(remainingWeights));
}

/**
 * The colour scale of the tree over the accuracies it shows: the lowest trained ticket at
 * one end, the highest at the other. Over 0–100% every ticket of a run (all within a few
 * points of each other) got the same colour. `share` is where an accuracy sits, 0…1.
 */
export function accuracyScale(tickets: Pick<TicketView, 'testAccuracy'>[]): {
  min: number;
  max: number;
  share: (acc: number) => number;
} | null {
  const accs = tickets.map((t) => t.testAccuracy).filter((a): a is number => a !== null);
  if (!accs.length) return null;
  const min = Math.min(...accs);
  const max = Math.max(...accs);
  return {
    min,
    max,
    share: (acc) => (max - min < 1e-12 ? 1 : Math.max(0, Math.min(1, (acc - min) / (max - min)))),
  };
}

/**
 * The zoom that shows `bounds` (in layout units) whole and centred in a view of
 * `width` × `height` pixels, with `pad` pixels around, never enlarged past `maxScale`.
 */
export function fitTransform(
  bounds: { x0: number; x1: number; y0: number; y1: number },
  width: number,
  height: number,
  pad = 24,
  maxScale = 1.2,
): { k: number; x: number; y: number } {
  const w = Math.max(1, bounds.x1 - bounds.x0);
  const h = Math.max(1, bounds.y1 - bounds.y0);
  const k = Math.max(0.1, Math.min(maxScale, (width - 2 * pad) / w, (height - 2 * pad) / h));
  return {
    k,
    x: width / 2 - (k * (bounds.x0 + bounds.x1)) / 2,
    y: height / 2 - (k * (bounds.y0 + bounds.y1)) / 2,
  };
}
