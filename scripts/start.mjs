// `npm start`: build and open the desktop app. Where the Electron binary is not installed
// (ELECTRON_SKIP_BINARY_DOWNLOAD, no internet), say so in one line and start browser mode.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinary } from '../src/core/electron-binary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (script) =>
  spawnSync(process.execPath, [join(root, 'scripts', script)], { stdio: 'inherit' }).status;
if (run('build-renderer.mjs') !== 0) process.exit(1);

const electron = electronBinary();
const child = electron
  ? (run('build-electron.mjs') === 0 || process.exit(1),
    spawn(electron, [root], { stdio: 'inherit' }))
  : (console.log(
      'The Electron binary is not installed (get it with `node node_modules/electron/install.js`); starting browser mode instead.',
    ),
    spawn(
      process.execPath,
      [join(root, 'bin', 'ticketlab.mjs'), 'serve', ...process.argv.slice(2)],
      {
        stdio: 'inherit',
      },
    ));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
