import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { spawnSync } from 'node:child_process';
import { BIN, canMountTmpfs, cli, mountTmpfs, tempDir, unmount, writeSpec } from '../helpers.ts';
import { expectCompleteExperiment, SMALL_SPEC } from './fixtures.ts';

/**
 * Runs `ticketlab run` in its own process group and kills the group (host and worker) with
 * SIGKILL at a point of the run: `delayMs` after start, or `delayMs` after it prints the
 * row of the first level it finishes (while levels remain, the next is then training,
 * however fast the machine).
 */
function runAndKill(
  spec: string,
  data: string,
  point: { afterRow: boolean; delayMs: number },
): Promise<'killed' | 'finished'> {
  const host = spawn(process.execPath, [BIN, 'run', spec, '--data-dir', data], {
    env: { ...process.env, TICKETLAB_BACKEND: 'wasm' },
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = () =>
    (timer = setTimeout(() => {
      try {
        process.kill(-host.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, point.delayMs));
  if (!point.afterRow) kill();
  else {
    const row = /^\s+\d+\s+(dense|imp)\b/m;
    let out = '';
    host.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (timer === undefined && row.test(out)) kill();
    });
  }
  return new Promise((done) =>
    host.on('exit', (_code, signal) => {
      clearTimeout(timer);
      done(signal === 'SIGKILL' ? 'killed' : 'finished');
    }),
  );
}

/** Seven tickets, so that every kill of the first three leaves levels to train. */
const LONG_SPEC = {
  ...SMALL_SPEC,
  training: { duration: '200it', evalEvery: 50 },
  pruning: { levels: 6 },
};

describe('job lifecycle under faults injected at random points', () => {
  it('kill -9 of the host and its worker at seeded random moments loses nothing and duplicates nothing', async () => {
    const data = tempDir();
    const spec = writeSpec(data, LONG_SPEC);
    const rng = new Rng(20261201);
    // Three kills land in training for certain (just after a level is stored, so each run
    // gets one level further); three more in start-up, training, evaluation, checkpoint
    // writes or level hand-overs, wherever the seed and the machine's speed put them. What
    // must hold afterwards does not depend on where.
    const outcomes: string[] = [];
    for (let round = 0; round < 6; round++)
      outcomes.push(
        await runAndKill(
          spec,
          data,
          round < 3
            ? { afterRow: true, delayMs: rng.int(300) }
            : { afterRow: false, delayMs: 300 + rng.int(4000) },
        ),
      );
    const last = cli(['run', spec], data);
    expect(last.code, last.stderr).toBe(0);
    console.info(`faults: kill -9 rounds ${JSON.stringify(outcomes)}, then a clean run`);
    expect(outcomes.slice(0, 3)).toEqual(['killed', 'killed', 'killed']);
    const db = new Database(join(data, 'ticketlab.db'), { readonly: true });
    const { id } = db.prepare('SELECT id FROM experiments').get() as { id: string };
    db.close();
    expectCompleteExperiment(data, id, {
      runs: ['0/dense', ...[1, 2, 3, 4, 5, 6].map((l) => `${l}/imp`)],
      iterations: 200,
      evalEvery: 50,
    });
  }, 400_000);

  it('a corrupted blob is refused with its path and the fix, and nothing else changes', async () => {
    const data = tempDir();
    const spec = writeSpec(data, { ...SMALL_SPEC, training: { duration: '60it', evalEvery: 30 } });
    expect(cli(['run', spec], data).code).toBe(0);
    const db = new Database(join(data, 'ticketlab.db'), { readonly: true });
    const ticket = db
      .prepare("SELECT id, trained_blob FROM tickets WHERE method = 'imp' AND level = 1")
      .get() as { id: string; trained_blob: string };
    db.close();
    const blob = join(data, 'blobs', ticket.trained_blob.slice(0, 2), ticket.trained_blob.slice(2));
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(blob, bytes);
    const out = join(data, 'ticket.safetensors');
    const exported = cli(['export', ticket.id, '--format', 'safetensors', '--out', out], data);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/\[BLOB_CORRUPT\] Blob .+ is corrupted: .*Restore it/);
    expect(cli(['ls'], data).code).toBe(0);
    const after = new Database(join(data, 'ticketlab.db'), { readonly: true });
    expect(after.pragma('integrity_check', { simple: true })).toBe('ok');
    after.close();
  }, 120_000);

  it.runIf(canMountTmpfs())(
    'a read-only data folder is refused with a clear message and nothing in it changes',
    () => {
      const data = tempDir();
      expect(mountTmpfs(data, '64m')).toBe(true);
      try {
        const spec = writeSpec(data, {
          ...SMALL_SPEC,
          training: { duration: '30it', evalEvery: 30 },
          pruning: { levels: 1 },
        });
        expect(cli(['run', spec], data).code).toBe(0);
        const before = cli(['ls', '--json'], data).stdout;
        expect(spawnSync('mount', ['-o', 'remount,ro', data]).status).toBe(0);
        for (const args of [['ls'], ['run', spec], ['jobs']]) {
          const r = cli(args, data);
          expect(r.code, args.join(' ')).toBe(1);
          expect(r.stderr).toMatch(
            /^ticketlab: \[DATA_FOLDER_UNWRITABLE\] .+: TicketLab cannot write its data folder .*Nothing was changed\.$/m,
          );
        }
        expect(spawnSync('mount', ['-o', 'remount,rw', data]).status).toBe(0);
        expect(cli(['ls', '--json'], data).stdout).toBe(before);
      } finally {
        unmount(data);
      }
    },
    120_000,
  );
});
