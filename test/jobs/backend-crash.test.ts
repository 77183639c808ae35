import { describe, expect, it } from 'vitest';
import type { StartJob, WorkerMessage } from '../../src/jobs/protocol.ts';
import { endsWorker, finishJob } from '../../src/jobs/setting.ts';

/** A WebAssembly module whose one function traps, as tfjs's wasm backend does when its heap is full. */
function trap(): never {
  const bytes = Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // one type: () → ()
    ...[0x03, 0x02, 0x01, 0x00], // one function of that type
    ...[0x07, 0x08, 0x01, 0x04, 0x74, 0x72, 0x61, 0x70, 0x00, 0x00], // exported as "trap"
    ...[0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b], // its body: unreachable
  ]);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  (instance.exports.trap as () => void)();
  throw new Error('the module did not trap');
}

async function finished(work: () => Promise<void>): Promise<WorkerMessage> {
  const posted: WorkerMessage[] = [];
  await finishJob({ jobId: 'job_1' } as StartJob, (m) => posted.push(m), work);
  expect(posted).toHaveLength(1);
  return posted[0]!;
}

describe('a job whose WebAssembly backend traps', () => {
  it('fails as BACKEND_CRASHED, saying what to change, and ends the worker after its report', async () => {
    const crashed = await finished(async () => trap());
    expect(crashed).toMatchObject({
      type: 'finished',
      outcome: 'failed',
      error: { code: 'BACKEND_CRASHED' },
    });
    expect(crashed.type === 'finished' && crashed.error?.message).toMatch(
      /WebAssembly backend stopped \(unreachable\).*4 GiB.*training\.batchSize/,
    );
    expect(endsWorker(crashed)).toBe(true);
    // any other failure, and a job that ends well, leave the worker for the next job
    const failed = await finished(async () => {
      throw new Error('no such layer');
    });
    expect(failed).toMatchObject({ outcome: 'failed', error: { code: 'INTERNAL' } });
    expect(endsWorker(failed)).toBe(false);
    expect(endsWorker(await finished(async () => {}))).toBe(false);
  });
});
