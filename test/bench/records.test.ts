import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RESULT_PATHS, theseVersions } from '../../bench/records.ts';

describe('theseVersions', () => {
  const roots: string[] = [];
  afterEach(() => roots.splice(0).forEach((root) => rmSync(root, { recursive: true })));

  /** A committed tree with code and one file under each result path. */
  function repository(): string {
    const root = mkdtempSync(join(tmpdir(), 'ticketlab-versions-'));
    roots.push(root);
    const git = (...args: string[]) => {
      const run = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        cwd: root,
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(run.stderr);
    };
    writeFileSync(join(root, 'package.json'), '{"version":"9.9.9"}');
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.ts'), 'export const a = 1;\n');
    for (const path of resultFiles()) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), 'first\n');
    }
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'first');
    return root;
  }
  const resultFiles = () =>
    RESULT_PATHS.map((path) => (path.endsWith('.md') ? path : join(path, 'result.json')));

  it('calls a tree with changed results but unchanged code clean, and changed code dirty', () => {
    const root = repository();
    expect(theseVersions(root)).toMatchObject({ ticketlab: '9.9.9', dirty: false });
    for (const path of resultFiles()) writeFileSync(join(root, path), 'second\n');
    expect(theseVersions(root).dirty).toBe(false);
    writeFileSync(join(root, 'src', 'a.ts'), 'export const a = 2;\n');
    expect(theseVersions(root).dirty).toBe(true);
    expect(theseVersions(root).commit).toMatch(/^[0-9a-f]{40}$/);
  });
});
