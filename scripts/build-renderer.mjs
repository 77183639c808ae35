// Builds the renderer (React + D3) into renderer/dist: one ES module bundle, its CSS and
// index.html. Runs on `npm ci` (prepare) and before the browser tests; ~1 s.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'main.tsx')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  outfile: join(dist, 'app.js'),
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
copyFileSync(join(root, 'src', 'app.css'), join(dist, 'app.css'));
copyFileSync(join(root, 'index.html'), join(dist, 'index.html'));
