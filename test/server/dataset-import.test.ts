import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeIdxDataset } from '../helpers.ts';
import { serve } from './serve.ts';

/** Half an MNIST: 30,000 + 5,000 images of 28×28 (27 MB raw), about a second to import. */
function writeLargeIdxFolder(dir: string): string {
  const set = (count: number) => ({
    images: Buffer.alloc(count * 784, Buffer.from(Array.from({ length: 251 }, (_, i) => i))),
    labels: Buffer.alloc(count, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
    count,
  });
  return writeIdxDataset(dir, { train: set(30_000), t10k: set(5_000) }, [28, 28]);
}

describe('browser mode: dataset imports leave the server answering', () => {
  it('answers other requests while a large import is in flight, and refuses a FIFO at once', async () => {
    const folder = writeLargeIdxFolder(join(tempDir(), 'large'));
    const s = await serve(tempDir());
    try {
      // Imports used to run synchronously on the event loop: every request waited for them.
      let done = false;
      const importing = s.call<{ trainCount: number }>('datasets.import', { path: folder });
      void importing.finally(() => (done = true));
      let answeredMeanwhile = 0;
      while (!done) {
        const info = await s.call('system.info');
        expect(info.status).toBe(200);
        if (!done) answeredMeanwhile++;
      }
      const imported = await importing;
      expect(imported.status).toBe(200);
      expect(imported.body.result.trainCount).toBe(30_000);
      expect(answeredMeanwhile).toBeGreaterThanOrEqual(3);

      // A FIFO named like a labels file used to hang the import, and with it the server.
      rmSync(join(folder, 't10k-labels-idx1-ubyte'));
      execFileSync('mkfifo', [join(folder, 't10k-labels-idx1-ubyte')]);
      const refused = await s.call('datasets.import', { path: folder });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'INVALID_DATASET' });
      expect(refused.body.error!.message).toMatch(
        /^t10k-labels-idx1-ubyte: is a FIFO \(named pipe\), not a regular file/,
      );
      expect((await s.call<unknown[]>('datasets.list')).body.result).toHaveLength(2);
    } finally {
      s.child.kill('SIGTERM');
      await s.stopped;
    }
  });
});
