import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { spawnSync } from 'node:child_process';
import { BIN, canMountTmpfs, cli, mountTmpfs, tempDir, unmount, writeSpec } from '../helpers.ts';
import { expectCompleteExperiment, SMALL_SPEC } from './fixtures.ts';

/** Runs `ticketlab run` in its own process group and kills the group (host and worker)
 * with SIGKILL after `delayMs`, or lets it finish first. */
function runAndKill(spec: string, data: string, delayMs: number): Promise<'killed' | 'finished'> {
  const host = spawn(process.execPath, [BIN, 'run', spec, '--data-dir', data], {
    env: { ...process.env, TICKETLAB_BACKEND: 'wasm' },
    detached: true,
    stdio: 'ignore',
  });
  return new Promise((done) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-host.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, delayMs);
    host.on('exit', (_code, signal) => {
      clearTimeout(timer);
      done(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

describe('job lifecycle under faults injected at random points', () => {
  it('kill -9 of the host and its worker at seeded random moments loses nothing and duplicates nothing', async () => {
    const data = tempDir();
    const spec = writeSpec(data, SMALL_SPEC);
    const rng = new Rng(20261201);
    const outcomes: string[] = [];
    // Start-up alone takes a few seconds: the kills land in start-up, training, evaluation,
    // checkpoint writes and level hand-overs, wherever the seed puts them.
    for (let round = 0; round < 6; round++)
      outcomes.push(await runAndKill(spec, data, 1500 + rng.int(6000)));
    const last = cli(['run', spec], data);
    expect(last.code, last.stderr).toBe(0);
    console.info(`faults: kill -9 rounds ${JSON.stringify(outcomes)}, then a clean run`);
    expect(outcomes.filter((o) => o === 'killed').length).toBeGreaterThan(2);
    const db = new Database(join(data, 'ticketlab.db'), { readonly: true });
    const { id } = db.prepare('SELECT id FROM experiments').get() as { id: string };
    db.close();
    expectCompleteExperiment(data, id, {
      runs: ['0/dense', '1/imp', '2/imp'],
      iterations: 300,
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
