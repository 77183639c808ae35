import type { Client } from '../../../src/api/client.ts';
import type { MethodInput, MethodOutput } from '../../../src/api/contract.ts';

type ListInput = MethodInput<'experiments.list'>;
type List = MethodOutput<'experiments.list'>;

/** The API's largest page (`experiments.list`'s limit). */
const PAGE = 1000;

/**
 * Every experiment that matches, page after page: the lists sort and search on the client,
 * so a page cut at the API's limit hid everything past the first thousand.
 */
export async function listAllExperiments(
  client: Client,
  filter: Omit<ListInput, 'limit' | 'offset'> = {},
): Promise<List> {
  const first = await client.call('experiments.list', { ...filter, limit: PAGE, offset: 0 });
  // the other pages at once: one after another, a large folder waited on each in turn
  const offsets: number[] = [];
  for (let offset = PAGE; offset < first.total; offset += PAGE) offsets.push(offset);
  const pages = await Promise.all(
    offsets.map((offset) => client.call('experiments.list', { ...filter, limit: PAGE, offset })),
  );
  // an experiment created meanwhile shifts the pages: each is listed once
  const seen = new Set<string>();
  const items = [first, ...pages]
    .flatMap((p) => p.items)
    .filter((e) => !seen.has(e.id) && seen.add(e.id));
  return { items, total: first.total };
}
