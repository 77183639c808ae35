import { describe, expect, it } from 'vitest';
import { ApiError, createClient, httpTransport, type Client } from '../../src/api/client.ts';
import { Lab } from '../../src/services/lab.ts';
import { startServer } from '../../src/server/http.ts';
import { tempDir } from '../helpers.ts';

/** The same client code against each transport: they add nothing of their own. */
async function exercise(client: Client) {
  const { experiment, created } = await client.call('experiments.create', {
    spec: { model: 'lenet-5', seed: 3 },
  });
  expect(created).toBe(true);
  expect(
    (await client.call('experiments.create', { spec: { model: 'lenet-5', seed: 3 } })).created,
  ).toBe(false);
  const list = await client.call('experiments.list', { limit: 10 });
  expect(list.items.map((e) => e.id)).toEqual([experiment.id]);
  const error = await client
    .call('experiments.get', { id: 'exp_missing' })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({
    code: 'NOT_FOUND',
    message: expect.stringMatching(/No experiment exp_missing/),
  });
  const invalid = await client.call('experiments.list', { limit: -1 }).catch((e: unknown) => e);
  expect(invalid).toMatchObject({
    code: 'INVALID_INPUT',
    message: expect.stringMatching(/input\.limit/),
  });
}

describe('one client, every transport', () => {
  it('works in process', async () => {
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      await exercise(createClient(lab.transport()));
      const seen: string[] = [];
      const unsubscribe = createClient(lab.transport()).subscribe((e) => seen.push(e.type));
      lab.events.emit({ type: 'log', jobId: null, level: 'info', message: 'hello' });
      unsubscribe();
      expect(seen).toEqual(['log']);
    } finally {
      await lab.close();
    }
  });

  it('works over HTTP', async () => {
    const server = await startServer(() => Lab.open({ dataDir: tempDir() }));
    const lab = server.lab;
    try {
      await exercise(createClient(httpTransport(`http://127.0.0.1:${server.port}`, server.token)));
      const refused = await createClient(httpTransport(`http://127.0.0.1:${server.port}`, 'wrong'))
        .call('jobs.list', {})
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'UNAUTHORIZED' });
    } finally {
      await server.close();
      await lab.close();
    }
  });
});
