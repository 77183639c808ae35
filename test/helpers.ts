import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];
afterEach(() => {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
});

/** A fresh temp folder, removed after the test. */
export function tempDir(prefix = 'ticketlab-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** ../shared/datasets beside the checkout, where CI puts real datasets. */
export const SHARED_DATASETS = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
export const hasShared = (name: string) => existsSync(join(SHARED_DATASETS, name));
