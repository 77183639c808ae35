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
