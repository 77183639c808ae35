import { accessSync, constants, existsSync } from 'node:fs';
import { availableParallelism, platform } from 'node:os';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { electronBinary } from '../core/electron-binary.mjs';
import { COMPILER_INSTALL, NATIVE_MISSING_COST } from '../core/native-advice.mjs';
import { initBackend } from '../engine/backend.ts';
import {
  kernelThreads,
  nativeBlas,
  nativeBlasStale,
  nativeBlasStatus,
} from '../engine/native-blas.ts';
import { freeMegabytes } from '../store/disk.ts';

/** One line of `ticketlab doctor`: what was found, and where something is missing, how to add it. */
export interface Finding {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** Where a browser test and bench:ui look for Chromium (test/chromium.ts). */
const CHROMIUM = '/usr/bin/chromium';

/** The command that adds a missing piece on the platform a user is on. */
function forPlatform(commands: typeof COMPILER_INSTALL): string {
  const os = platform();
  return os === 'darwin' ? commands.darwin : os === 'win32' ? commands.win32 : commands.linux;
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** The nearest folder that exists at or above `path` (a data folder is made on first use). */
function existingAncestor(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * What this machine gives TicketLab: the compute backend and why faster ones were skipped,
 * the native kernels and their libraries, threads, the optional Electron binary and
 * Chromium, GPU packages, and the data folder with its free space. Reads only; opens no
 * database.
 */
export async function diagnose(dataDir: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const backend = await initBackend();
  findings.push({
    name: 'Compute backend',
    ok: true,
    detail: `${backend.name}: ${backend.device}`,
  });
  const blas = nativeBlas();
  const rebuild = `npm run build:native (${NATIVE_MISSING_COST})`;
  findings.push({
    name: 'Native kernels',
    ok: blas !== null,
    detail: nativeBlasStatus(),
    ...(blas
      ? {}
      : {
          // a stale build has its compiler already: rebuilding is the whole fix
          fix: nativeBlasStale() ? rebuild : `${forPlatform(COMPILER_INSTALL)}, then ${rebuild}`,
        }),
  });
  if (blas && platform() === 'linux') {
    const oneDnn = blas.oneDnn();
    findings.push({
      name: 'oneDNN (convolutions)',
      ok: oneDnn !== null,
      detail: oneDnn ?? 'not found: convolutions run as im2col + matrix products',
      ...(oneDnn ? {} : { fix: 'sudo apt-get install -y libdnnl-dev && npm run build:native' }),
    });
  }
  findings.push({
    name: 'Threads',
    ok: true,
    detail: `${kernelThreads()} for the native kernels (${availableParallelism()} cores; TICKETLAB_THREADS sets it)`,
  });
  const onGpu = backend.name === 'tensorflow-gpu' || backend.name === 'webgpu';
  const skippedWhy = (name: string) =>
    backend.skipped.find((s) => s.startsWith(`${name}:`))?.slice(name.length + 2) ??
    'not tried: a faster backend started';
  findings.push({
    name: 'GPU',
    ok: onGpu,
    detail: onGpu
      ? backend.device
      : [
          `WebGPU: ${installed('webgpu') ? skippedWhy('webgpu') : 'the optional package webgpu is not installed'}`,
          `CUDA: ${installed('@tensorflow/tfjs-node-gpu') ? skippedWhy('tensorflow-gpu') : '@tensorflow/tfjs-node-gpu (CUDA 11.2 / cuDNN 8.1, NVIDIA up to Ampere) is not installed'}`,
        ].join('; '),
  });
  const electron = electronBinary();
  findings.push({
    name: 'Electron binary',
    ok: electron !== null,
    detail: electron ?? 'not downloaded: `npm start` opens browser mode instead of the desktop app',
    ...(electron || !installed('electron') ? {} : { fix: 'node node_modules/electron/install.js' }),
  });
  const chromium = existsSync(CHROMIUM);
  findings.push({
    name: 'Chromium (browser tests)',
    ok: chromium,
    detail: chromium ? CHROMIUM : `${CHROMIUM} not found: the browser tests cannot run`,
    ...(chromium ? {} : { fix: 'sudo apt-get install -y chromium' }),
  });
  const folder = existingAncestor(dataDir);
  let writable = true;
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    writable = false;
  }
  const freeMb = freeMegabytes(folder) ?? 0;
  findings.push({
    name: 'Data folder',
    ok: writable && freeMb >= 1024,
    detail: `${dataDir}${existsSync(dataDir) ? '' : ' (made on first use)'}; ${freeMb.toLocaleString('en')} MB free${writable ? '' : '; not writable'}`,
    ...(writable && freeMb >= 1024
      ? {}
      : {
          fix: writable
            ? 'free disk space (a long experiment stores hundreds of MB)'
            : `make ${folder} writable, or pass --data-dir`,
        }),
  });
  return findings;
}
