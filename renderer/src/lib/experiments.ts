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
  const items = [...first.items];
  while (items.length < first.total) {
    const next = await client.call('experiments.list', {
      ...filter,
      limit: PAGE,
      offset: items.length,
    });
    if (next.items.length === 0) break; // deleted meanwhile
    items.push(...next.items);
  }
  return { items, total: first.total };
}
