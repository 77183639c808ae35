import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/api/contract.ts';
import { Lab } from '../../src/services/lab.ts';
import { resolveAppFile } from '../../electron/app-protocol.ts';
import { channelOf, registerContract, type IpcEventLike } from '../../electron/ipc.ts';
import { menuTemplate } from '../../electron/menu.ts';
import { beforeQuitHandler } from '../../electron/quit.ts';
import { claimSingleInstance } from '../../electron/single-instance.ts';
import {
  APP_ORIGIN,
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isSafeExternalUrl,
  secureWebPreferences,
} from '../../electron/security.ts';
import { DEFAULT_WINDOW, loadWindowState, saveWindowState } from '../../electron/window-state.ts';
import { electronBinary } from '../../src/core/electron-binary.mjs';
import { ROOT, tempDir } from '../helpers.ts';

/**
 * The desktop shell's logic, tested without the Electron binary (it cannot be downloaded
 * here): the IPC contract against a real Lab, the security policy, the app:// file mapping,
 * window state, menus, the bundles that Electron would load and the packaging configuration.
 */
describe('IPC: the contract and nothing else', () => {
  const fromApp: IpcEventLike = { senderFrame: { url: `${APP_ORIGIN}/index.html#/experiments` } };

  it('registers one handler per contract method, validated by its schema, from the app frame only', async () => {
    const handlers = new Map<string, (e: IpcEventLike, payload: unknown) => unknown>();
    const lab = Lab.open({ dataDir: tempDir() });
    try {
      const methods = registerContract({ handle: (c, f) => void handlers.set(c, f) }, lab);
      expect(methods.sort()).toEqual(Object.keys(METHODS).sort());
      expect([...handlers.keys()].sort()).toEqual(methods.map(channelOf).sort());

      const list = handlers.get(channelOf('datasets.list'))!;
      const ok = (await list(fromApp, {})) as { ok: true; result: { id: string }[] };
      expect(ok.ok).toBe(true);
      expect(ok.result.map((d) => d.id)).toContain('builtin:mnist');

      for (const url of [
        'https://evil.example/',
        'app://ticketlab.evil.example/',
        'file:///etc/passwd',
      ]) {
        expect(await list({ senderFrame: { url } }, {})).toMatchObject({
          ok: false,
          error: { code: 'FORBIDDEN' },
        });
      }
      expect(await list({ senderFrame: null }, {})).toMatchObject({ ok: false });

      const bad = await handlers.get(channelOf('experiments.get'))!(fromApp, { id: 5 });
      expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
      const missing = await handlers.get(channelOf('experiments.get'))!(fromApp, { id: 'exp_x' });
      expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    } finally {
      await lab.close();
    }
  });
});

describe('security policy', () => {
  it('keeps the renderer isolated and sandboxed without Node', () => {
    expect(secureWebPreferences('/p.cjs')).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      allowRunningInsecureContent: false,
    });
    expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'self'/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
  });

  it('allows navigation inside the app only, comparing parsed origins', () => {
    expect(isAllowedNavigation('app://ticketlab/index.html#/new')).toBe(true);
    for (const url of [
      'https://ticketlab/',
      'app://ticketlab.evil.com/',
      'app://evil/ticketlab',
      'file:///index.html',
      'not a url',
    ])
      expect(isAllowedNavigation(url), url).toBe(false);
  });

  it('opens only http(s) links externally', () => {
    expect(isSafeExternalUrl('https://arxiv.org/abs/1803.03635')).toBe(true);
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'https://u:p@x.org/',
    ])
      expect(isSafeExternalUrl(url), url).toBe(false);
  });
});

describe('app:// files', () => {
  it('maps to files inside the renderer build and nowhere else', () => {
    const root = '/opt/app/renderer/dist';
    expect(resolveAppFile('app://ticketlab/', root)).toEqual({
      path: '/opt/app/renderer/dist/index.html',
      type: 'text/html; charset=utf-8',
    });
    expect(resolveAppFile('app://ticketlab/app.js', root)?.path).toBe(
      '/opt/app/renderer/dist/app.js',
    );
    // the URL parser resolves dot segments first: this one stays inside the build
    expect(resolveAppFile('app://ticketlab/../../../etc/passwd.js', root)?.path).toBe(
      '/opt/app/renderer/dist/etc/passwd.js',
    );
    // encoded slashes survive URL parsing and decode to a traversal: refused
    expect(resolveAppFile('app://ticketlab/..%2f..%2fsecret.js', root)).toBeNull();
    expect(resolveAppFile('app://other/app.js', root)).toBeNull();
    expect(resolveAppFile('app://ticketlab/binary.exe', root)).toBeNull();
  });
});

describe('window state', () => {
  it('is remembered, and a damaged file falls back to the default', () => {
    const file = join(tempDir(), 'w', 'window-state.json');
    expect(loadWindowState(file)).toEqual(DEFAULT_WINDOW);
    saveWindowState(file, { x: 10, y: 20, width: 900, height: 700, maximized: true });
    expect(loadWindowState(file)).toEqual({
      x: 10,
      y: 20,
      width: 900,
      height: 700,
      maximized: true,
    });
    writeFileSync(file, '{"width": 90');
    expect(loadWindowState(file)).toEqual(DEFAULT_WINDOW);
  });
});

describe('menus', () => {
  it('has File (new experiment, import, export, data folder), Edit, View and Help', () => {
    const calls: string[] = [];
    const menu = menuTemplate(
      {
        go: (r) => calls.push(`go ${r}`),
        importDataset: () => calls.push('import'),
        exportResults: () => calls.push('export'),
        openDataFolder: () => calls.push('folder'),
        about: () => calls.push('about'),
      },
      false,
    );
    expect(menu.map((m) => m.label ?? m.role)).toEqual(['File', 'editMenu', 'View', 'help']);
    const file = menu[0]!.submenu as { label?: string; click?: () => void }[];
    for (const item of file) item.click?.();
    expect(calls).toEqual(['go new', 'import', 'export', 'folder']);
  });
});

describe('bundles', () => {
  it('builds the main process, the worker and a preload that requires only electron', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-electron.mjs')], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const preload = readFileSync(join(ROOT, 'electron', 'dist', 'preload.cjs'), 'utf8');
    expect([...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(['electron']);
    expect(preload).toContain('exposeInMainWorld("ticketlab"');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(readFileSync(join(ROOT, pkg.main), 'utf8')).toContain('registerSchemesAsPrivileged');
  });
});

describe('packaging', () => {
  it("keeps electron-builder.yml valid by electron-builder's own schema", async () => {
    // Its validator and YAML reader, as `npm run dist` loads them (a misspelt key fails).
    const builder = createRequire(createRequire(import.meta.url).resolve('app-builder-lib'));
    const { validateConfiguration } = builder('./util/config/config.js');
    const { DebugLogger } = builder('builder-util');
    const config = builder('js-yaml').load(
      readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8'),
    );
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(
      validateConfiguration({ ...config, deb: { recomends: [] } }, new DebugLogger(false)),
    ).rejects.toThrow(/configuration\.deb/);
  });
});

describe('quitting', () => {
  const setup = (running: number, answer: boolean) => {
    const calls: string[] = [];
    let release: () => void = () => {};
    const handler = beforeQuitHandler({
      runningJobs: () => running,
      confirmQuit: (n) => (calls.push(`ask ${n}`), answer),
      pauseAndClose: () => new Promise<void>((done) => (calls.push('pause'), (release = done))),
      quit: () => void calls.push('quit'),
    });
    const event = () => {
      let prevented = false;
      handler({ preventDefault: () => (prevented = true) });
      return prevented;
    };
    return { calls, event, release: () => release() };
  };

  it('asks while jobs train, pauses them with a checkpoint, then quits', async () => {
    const q = setup(2, true);
    expect(q.event()).toBe(true); // held back while pausing
    expect(q.calls).toEqual(['ask 2', 'pause']);
    expect(q.event()).toBe(true); // a second Cmd-Q while pausing does not pause twice
    q.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(q.calls).toEqual(['ask 2', 'pause', 'quit']);
    expect(q.event()).toBe(false); // the final quit goes through
  });

  it('keeps running when the user says so, and does not ask when nothing trains', async () => {
    const keep = setup(1, false);
    expect(keep.event()).toBe(true);
    expect(keep.calls).toEqual(['ask 1']);
    const idle = setup(0, false);
    idle.event();
    expect(idle.calls).toEqual(['pause']);
  });
});

describe('the packaged native kernels', () => {
  const addon = join(ROOT, 'native', 'build', 'Release', 'ticketlab_blas.node');
  it.runIf(process.platform === 'linux' && existsSync(addon))(
    'ship in the app and need nothing beyond the C runtime, so the download trains at full speed',
    () => {
      const yml = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8');
      expect(yml).toMatch(
        /^files:\n(?: {2}- .+\n)*? {2}- native\/build\/Release\/ticketlab_blas\.node$/m,
      );
      expect(yml).toMatch(/^asarUnpack:\n(?: {2}- .+\n)*? {2}- native\/build\/Release\/\*\*$/m);
      const needed = spawnSync('readelf', ['-d', addon], { encoding: 'utf8' })
        .stdout.split('\n')
        .flatMap((l) => /\(NEEDED\).*\[(.+)\]/.exec(l)?.[1] ?? []);
      expect(needed.length).toBeGreaterThan(0);
      // oneDNN, where used, is opened at run time (dlopen) and is never a link dependency
      for (const lib of needed)
        expect(lib).toMatch(/^(libc|libm|libdl|libpthread|ld-linux[-\w]*)\.so/);
    },
  );
});

describe('docs/SECURITY.md says what the app does', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'SECURITY.md'), 'utf8');

  it('names the installed Electron major', () => {
    const installed = JSON.parse(
      readFileSync(join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8'),
    ) as { version: string };
    const stated = /Use a current version of Electron[^\n]*Electron (\d+) \(/.exec(doc)?.[1];
    expect(stated).toBe(installed.version.split('.')[0]);
  });

  it('lists every fuse of electron-builder.yml with its setting', () => {
    const yml = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8');
    const block = /^electronFuses:\n((?: {2}\w+: \w+\n)+)/m.exec(yml)![1]!;
    const fuses = [...block.matchAll(/^ {2}(\w+): (\w+)$/gm)].map((m) => [m[1]!, m[2]!]);
    expect(fuses.length).toBeGreaterThan(5);
    for (const [fuse, value] of fuses) {
      const row = new RegExp(`^\\| \`${fuse}\` +\\| (on|off) +\\|`, 'm').exec(doc);
      expect(row, fuse).not.toBeNull();
      expect(row![1], fuse).toBe(value === 'true' ? 'on' : 'off');
    }
  });
});

describe('one desktop instance', () => {
  it('a second instance exits before it could open the database; the first carries on', () => {
    const calls: string[] = [];
    const app = (locked: boolean) => ({
      requestSingleInstanceLock: () => locked,
      exit: (code?: number) => void calls.push(`exit ${code}`),
    });
    expect(claimSingleInstance(app(true))).toBe(true);
    expect(calls).toEqual([]);
    expect(claimSingleInstance(app(false))).toBe(false);
    expect(calls).toEqual(['exit 0']);
  });
});

describe('npm start', () => {
  it.runIf(electronBinary() === null)(
    'without the Electron binary says so in one line and starts browser mode',
    async () => {
      const data = tempDir();
      const child = spawn(
        process.execPath,
        [join(ROOT, 'scripts', 'start.mjs'), '--data-dir', data],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      await new Promise<void>((done) =>
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (/Open: http:\/\/127\.0\.0\.1:\d+/.test(out)) done();
        }),
      );
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      const lines = out.trim().split('\n');
      expect(lines[0]).toMatch(
        /^The Electron binary is not installed \(get it with .*install\.js`\); starting browser mode instead\.$/,
      );
      expect(out).toContain(`TicketLab is serving ${data}`);
    },
    60_000,
  );
});

describe('the desktop app end to end (Playwright Electron)', () => {
  const binary = electronBinary();
  if (!binary)
    console.info('Skipping the Electron smoke test: the Electron binary is not installed here.');
  it.runIf(binary !== null)(
    'opens, creates an experiment and shows its lineage',
    async () => {
      const { _electron } = await import('playwright-core');
      spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-renderer.mjs')]);
      spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-electron.mjs')]);
      const app = await _electron.launch({
        executablePath: binary!,
        args: [ROOT],
        env: { ...process.env, TICKETLAB_BACKEND: 'wasm' },
      });
      try {
        const page = await app.firstWindow();
        await page.getByRole('link', { name: 'New experiment' }).click();
        await page.getByLabel('Training length').fill('20it');
        await page.getByLabel('Pruning levels').fill('1');
        await page.getByRole('button', { name: 'Create and start' }).click();
        await page.waitForSelector('svg[aria-label="Lineage tree"]', { timeout: 120_000 });
        expect(
          await page.evaluate(() => typeof (window as { ticketlab?: unknown }).ticketlab),
        ).toBe('object');
      } finally {
        await app.close();
      }
    },
    180_000,
  );
});
