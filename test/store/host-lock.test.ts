import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostLock } from '../../src/store/host-lock.ts';
import { ROOT, tempDir } from '../helpers.ts';

/** A process that takes the lock in `dataDir`, prints its name, then idles until killed. */
function holdInChild(dataDir: string) {
  const script = `
    const { HostLock } = await import(${JSON.stringify(join(ROOT, 'src/store/host-lock.ts'))});
    process.stdout.write(HostLock.acquire(process.argv[1]).name + '\\n');
    setInterval(() => {}, 1 << 30);`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, dataDir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const name = new Promise<string>((done) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) done(out.trim());
    });
  });
  return { child, name, exited };
}

describe('host lock', () => {
  it('is held exactly while its process lives: stopped still holds it, killed frees it', async () => {
    const dataDir = tempDir();
    const holder = holdInChild(dataDir);
    try {
      const name = await holder.name;
      expect(HostLock.isHeld(dataDir, name)).toBe(true);
      // A stopped process (or one whose event loop is blocked) is alive: it keeps its jobs.
      holder.child.kill('SIGSTOP');
      expect(HostLock.isHeld(dataDir, name)).toBe(true);
      holder.child.kill('SIGKILL');
      await holder.exited;
      expect(HostLock.isHeld(dataDir, name)).toBe(false);
      // the dead process's file is cleared away by the probe that found it free
      expect(existsSync(join(dataDir, 'locks', name))).toBe(false);
    } finally {
      holder.child.kill('SIGKILL');
    }
  });

  it('is seen by other connections of the same process, and freed by release', () => {
    const dataDir = tempDir();
    const lock = HostLock.acquire(dataDir);
    expect(HostLock.isHeld(dataDir, lock.name)).toBe(true);
    lock.release();
    expect(HostLock.isHeld(dataDir, lock.name)).toBe(false);
    expect(HostLock.isHeld(dataDir, '../ticketlab.db')).toBe(false); // names come from rows
  });
});
