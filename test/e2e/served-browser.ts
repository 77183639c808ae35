import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import { launchChromium } from '../chromium.ts';
import { ROOT } from '../helpers.ts';
import { serve, type Served } from '../server/serve.ts';

/** Chromium and a real `ticketlab serve` on a data folder of its own, for a browser test. */
export interface ServedBrowser {
  browser: Browser;
  server: Served;
  /** closes the browser, stops the server and removes its data folder */
  close(): Promise<void>;
}

/** Builds the renderer as shipped, then starts the server and the browser. */
export async function startServedBrowser(name: string): Promise<ServedBrowser> {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-renderer.mjs')], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`renderer build failed: ${built.stderr}`);
  const data = mkdtempSync(join(tmpdir(), `ticketlab-e2e-${name}-`));
  const server = await serve(data);
  const browser = await launchChromium();
  return {
    browser,
    server,
    close: async () => {
      await browser.close();
      server.child.kill('SIGTERM');
      await server.stopped;
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Calls the served API until `done` holds for its result; every answer must be ok. */
export async function until<T>(
  server: Served,
  method: string,
  input: unknown,
  done: (r: T) => boolean,
): Promise<T> {
  for (;;) {
    const r = await server.call<T>(method, input);
    expect(r.body.ok, r.body.error?.message).toBe(true);
    if (done(r.body.result)) return r.body.result;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
