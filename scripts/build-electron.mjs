// Bundles the desktop shell into electron/dist: the main process and the compute worker
// as ES modules, the sandboxed preload as one CommonJS file. Our TypeScript is bundled;
// packages stay in node_modules (native ones are rebuilt for Electron by electron-builder).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'electron', 'dist');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  sourcemap: true,
};

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, 'electron', 'main.ts')],
    outfile: join(out, 'main.mjs'),
    format: 'esm',
    packages: 'external',
  }),
  build({
    ...common,
    entryPoints: [join(root, 'src', 'jobs', 'worker-main.ts')],
    outfile: join(out, 'worker.mjs'),
    format: 'esm',
    packages: 'external',
  }),
  // Sandboxed preloads may require only 'electron': everything else is inlined.
  build({
    ...common,
    entryPoints: [join(root, 'electron', 'preload.ts')],
    outfile: join(out, 'preload.cjs'),
    format: 'cjs',
    external: ['electron'],
  }),
]);
