import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { electronBinary } from '../../src/core/electron-binary.mjs';
import { ADDON_INTERFACE } from '../../src/engine/native-blas.ts';
import { noGpuDevice } from '../../src/engine/webgpu.ts';
import { WEBGPU_BEHIND_NATIVE } from '../../src/engine/backend.ts';
import { nativeBlas } from '../../src/engine/native-blas.ts';
import { cli, ROOT, tempDir } from '../helpers.ts';

interface Finding {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

describe('ticketlab doctor', () => {
  it('reports what this machine has, with the command that adds what is missing', () => {
    const data = join(tempDir(), 'not-yet');
    const r = cli(['doctor', '--json'], data);
    expect(r.code).toBe(0);
    const findings = JSON.parse(r.stdout) as Finding[];
    const by = new Map(findings.map((f) => [f.name, f]));
    expect(by.get('Compute backend')!.detail).toMatch(/^wasm: CPU \(WebAssembly/);
    const addon = existsSync(join(ROOT, 'native', 'build', 'Release', 'ticketlab_blas.node'));
    expect(by.get('Native kernels')!.ok).toBe(addon);
    if (!addon) expect(by.get('Native kernels')!.fix).toMatch(/npm run build:native/);
    expect(by.get('Electron binary')!.ok).toBe(electronBinary() !== null);
    expect(by.get('Chromium (browser tests)')!.ok).toBe(existsSync('/usr/bin/chromium'));
    expect(by.get('Threads')!.detail).toMatch(/^\d+ for the native kernels/);
    // The data folder is not made by looking at it; its disk's free space is measured.
    expect(by.get('Data folder')!.detail).toMatch(/\(made on first use\); [\d,]+ MB free/);
    expect(existsSync(data)).toBe(false);
    // Every missing piece says how to add it.
    for (const f of findings) if (!f.ok && f.name !== 'GPU') expect(f.fix).toBeTruthy();
  }, 60_000);

  // Where a GPU device node exists (a workstation), Dawn is rightly loaded and asked.
  it.skipIf(noGpuDevice() === null)(
    'does not load Dawn for the automatic choice on a machine without a GPU device',
    () => {
      const r = cli(['doctor', '--json'], join(tempDir(), 'data'), { TICKETLAB_BACKEND: '' });
      expect(r.code).toBe(0);
      const gpu = (JSON.parse(r.stdout) as Finding[]).find((f) => f.name === 'GPU')!;
      expect(gpu.ok).toBe(false);
      expect(gpu.detail).toMatch(
        /^WebGPU: this machine has no GPU device \(no \/dev\/dri\/renderD\*, \/dev\/nvidiactl or \/dev\/dxg\), so Dawn was not loaded/,
      );
      // Dawn's adapter warnings would be on stderr had it been loaded and asked
      expect(r.stderr).not.toMatch(/maxDynamic/);
    },
    60_000,
  );

  // On a workstation with a GPU and the addon built: the native kernels stay the choice.
  it.skipIf(noGpuDevice() !== null || nativeBlas() === null)(
    'keeps the native CPU kernels before WebGPU on a machine with a GPU, and says why',
    () => {
      const r = cli(['doctor', '--json'], join(tempDir(), 'data'), { TICKETLAB_BACKEND: '' });
      const gpu = (JSON.parse(r.stdout) as Finding[]).find((f) => f.name === 'GPU')!;
      expect(gpu.detail).toContain(`WebGPU: ${WEBGPU_BEHIND_NATIVE}`);
    },
    60_000,
  );

  it('refuses an addon built from other sources (before a pull) and says to rebuild it', () => {
    const dir = tempDir();
    // a build from before the addon said its interface version: its exports lack one
    const old = join(dir, 'old-addon.cjs');
    writeFileSync(old, 'module.exports = { setThreads() {} };\n');
    const r = cli(['doctor', '--json'], join(dir, 'data'), { TICKETLAB_ADDON: old });
    expect(r.code).toBe(0);
    const native = (JSON.parse(r.stdout) as Finding[]).find((f) => f.name === 'Native kernels')!;
    expect(native.ok).toBe(false);
    expect(native.detail).toBe(
      `WebAssembly; native BLAS built from other sources (interface 1, this code calls ${ADDON_INTERFACE}); \`npm run build:native\` rebuilds it`,
    );
    expect(native.fix).toMatch(/^npm run build:native \(/);
    // the version this code calls is the one the addon's sources build
    const header = readFileSync(join(ROOT, 'native', 'addon.h'), 'utf8');
    expect(Number(/#define TICKETLAB_ADDON_INTERFACE (\d+)/.exec(header)![1])).toBe(
      ADDON_INTERFACE,
    );
  }, 60_000);

  it('prints one line per finding for people', () => {
    const data = tempDir();
    mkdirSync(join(data, 'x'));
    const r = cli(['doctor'], data);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {2}Compute backend +wasm/m);
    expect(r.stdout).toMatch(new RegExp(`Data folder +${data}; [\\d,]+ MB free`));
  }, 60_000);
});

describe('the install without a C compiler', () => {
  it('says in one line what is lost, measured, and the command that adds it on each platform', () => {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts', 'build-native.mjs'), '--into', join(tempDir(), 'addon')],
      { encoding: 'utf8', env: { ...process.env, CC: '/bin/false', CXX: '/bin/false' } },
    );
    expect(r.status).toBe(0); // never fails the install
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^TicketLab: native kernels not built \(.+\): training runs on WebAssembly, about \d+x slower \(quickstart .+\)\. Add a C compiler, then `npm run build:native`: Debian\/Ubuntu `sudo apt-get install -y build-essential python3`; macOS `xcode-select --install`; Windows .+C\+\+"\.$/,
    );
  }, 120_000);
});
