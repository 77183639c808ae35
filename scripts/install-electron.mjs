/**
 * Downloads the Electron binary for `npm start` and `npm run dist` where it can be had.
 * Electron's own install script aborts the whole `npm ci` when the download fails (offline,
 * behind a proxy, air-gapped labs), so package.json denies it and `prepare` runs it here,
 * bounded in time, and never fails the install: without the binary the CLI and browser mode
 * work as before and `npm start` says in one line how to get it.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { electronBinary } from '../src/core/electron-binary.mjs';

let installer;
try {
  installer = join(
    dirname(createRequire(import.meta.url).resolve('electron/package.json')),
    'install.js',
  );
} catch {
  process.exit(0); // a production install without devDependencies: nothing to do
}

if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
  console.log('TicketLab: Electron binary not downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD is set).');
} else if (!electronBinary()) {
  const run = spawnSync(process.execPath, [installer], { encoding: 'utf8', timeout: 180_000 });
  if (run.status === 0 && electronBinary()) {
    console.log('TicketLab: Electron binary installed; `npm start` opens the desktop app.');
  } else {
    const why =
      run.error?.code === 'ETIMEDOUT'
        ? 'the download did not finish in 3 minutes'
        : (`${run.stderr}${run.stdout}`
            .split('\n')
            .find((l) => /error/i.test(l))
            ?.trim() ?? `its installer exited ${run.status}`);
    console.log(
      `TicketLab: Electron binary not installed (${why}); the CLI and browser mode work without it, and \`node ${installer}\` fetches it later for the desktop app.`,
    );
  }
}
