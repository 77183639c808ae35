// `npm run dist`: package the desktop app, then put the native modules back for Node.
// electron-builder rebuilds better-sqlite3 in node_modules for Electron's ABI; the CLI and
// the tests run on plain Node, so it is rebuilt for Node afterwards, whatever happened.
import { spawnSync } from 'node:child_process';

const run = (cmd, args) =>
  spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
const steps = [
  ['node', ['scripts/build-renderer.mjs']],
  ['node', ['scripts/build-electron.mjs']],
  ['npx', ['electron-builder', '--config', 'electron-builder.yml', ...process.argv.slice(2)]],
];
let status = 0;
for (const [cmd, args] of steps) {
  status = run(cmd, args).status ?? 1;
  if (status !== 0) break;
}
const restored = run('npm', ['rebuild', 'better-sqlite3']).status;
if (restored !== 0)
  console.error('Could not rebuild better-sqlite3 for Node: run `npm rebuild better-sqlite3`.');
process.exit(status || restored || 0);
