import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTicketLabError } from '../../src/core/errors.ts';
import { writeFilesAtomically } from '../../src/core/files.ts';
import { cli, tempDir, writeSpec } from '../helpers.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

/** Every entry under `dir`, recursively, with file contents: temps and backups show up too. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    out[path.slice(dir.length + 1)] = e.isFile() ? readFileSync(path, 'base64') : '<dir>';
  }
  return out;
}

function expectWriteFailed(f: () => void, path: RegExp) {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(isTicketLabError(error, 'WRITE_FAILED')).toBe(true);
  expect((error as Error).message).toMatch(path);
  expect((error as Error).message).toMatch(/nothing was changed/);
}

describe('writeFilesAtomically', () => {
  it('replaces every file or none: a rename failing midway puts the first file back and leaves no temps', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'model.bin'), 'previous model');
    // The second target is a folder (with a file in it): renaming onto it fails, even for root.
    mkdirSync(join(dir, 'model.json'));
    writeFileSync(join(dir, 'model.json', 'inside'), 'untouched');
    const before = snapshot(dir);
    expectWriteFailed(
      () =>
        writeFilesAtomically(
          [
            { path: join(dir, 'model.bin'), bytes: bytes('new model') },
            { path: join(dir, 'model.json'), bytes: bytes('{}') },
          ],
          true,
        ),
      /model\.json/,
    );
    expect(snapshot(dir)).toEqual(before);
    expect(readFileSync(join(dir, 'model.bin'), 'utf8')).toBe('previous model');
  });

  it('a file that did not exist before is removed again, and folders it made are removed', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'blocker'), 'a file where a folder is needed');
    const before = snapshot(dir);
    // ENOTDIR for the second file: a path component is a file.
    expectWriteFailed(
      () =>
        writeFilesAtomically(
          [
            { path: join(dir, 'new', 'deeper', 'a.csv'), bytes: bytes('a') },
            { path: join(dir, 'blocker', 'b.csv'), bytes: bytes('b') },
          ],
          false,
        ),
      /blocker/,
    );
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(join(dir, 'new'))).toBe(false);

    // The same with the failure at the second rename: the first file was new, so it goes.
    mkdirSync(join(dir, 'out', 'b.csv'), { recursive: true });
    const before2 = snapshot(dir);
    expectWriteFailed(
      () =>
        writeFilesAtomically(
          [
            { path: join(dir, 'out', 'a.csv'), bytes: bytes('a') },
            { path: join(dir, 'out', 'b.csv'), bytes: bytes('b') },
          ],
          true,
        ),
      /b\.csv/,
    );
    expect(snapshot(dir)).toEqual(before2);
  });

  it('writes and replaces (with force) leaving only the targets', () => {
    const dir = tempDir();
    const files = [
      { path: join(dir, 'x', 'a.txt'), bytes: bytes('one') },
      { path: join(dir, 'x', 'b.txt'), bytes: bytes('two') },
    ];
    writeFilesAtomically(files, false);
    expect(() => writeFilesAtomically(files, false)).toThrowError(/Not overwriting .*a\.txt/);
    writeFilesAtomically(
      files.map((f) => ({ ...f, bytes: bytes(`new ${f.path.slice(-5)}`) })),
      true,
    );
    expect(snapshot(dir)).toEqual({
      x: '<dir>',
      'x/a.txt': Buffer.from('new a.txt').toString('base64'),
      'x/b.txt': Buffer.from('new b.txt').toString('base64'),
    });
  });
});

describe('ticketlab export is all or nothing', () => {
  it('safetensors + architecture, TF.js and CSV sets that fail midway leave the previous files and no temps', () => {
    const data = tempDir();
    const spec = {
      model: 'lenet-300-100',
      training: { duration: '10it', evalEvery: 10 },
      pruning: { levels: 0 },
    };
    expect(cli(['run', writeSpec(data, spec)], data).code).toBe(0);
    const [experiment] = JSON.parse(cli(['ls', '--json'], data).stdout);
    const [ticket] = JSON.parse(cli(['show', experiment.id, '--json'], data).stdout).tickets;

    const cases: { format: string; id: string; out: string; first: string; second: string }[] = [
      {
        format: 'safetensors',
        id: ticket.id,
        out: join(data, 'st', 't.safetensors'),
        first: 't.safetensors',
        second: 't.architecture.json',
      },
      {
        format: 'tfjs',
        id: ticket.id,
        out: join(data, 'tfjs'),
        first: 'model.json',
        second: 'weights.bin',
      },
      {
        format: 'csv',
        id: experiment.id,
        out: join(data, 'csv'),
        first: 'tickets.csv',
        second: 'runs.csv',
      },
    ];
    for (const c of cases) {
      const args = ['export', c.id, '--format', c.format, '--out', c.out, '--force'];
      expect(cli(args, data).code).toBe(0);
      const folder = c.format === 'safetensors' ? join(data, 'st') : c.out;
      writeFileSync(join(folder, c.first), `previous ${c.first}`);
      rmSync(join(folder, c.second));
      mkdirSync(join(folder, c.second));
      writeFileSync(join(folder, c.second, 'keep'), 'mine');
      const before = snapshot(folder);

      const failed = cli(args, data);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/\[WRITE_FAILED\] Could not write .*nothing was changed/);
      expect(failed.stderr).toContain(c.second);
      expect(snapshot(folder)).toEqual(before);
      expect(readFileSync(join(folder, c.first), 'utf8')).toBe(`previous ${c.first}`);
    }
  });
});
