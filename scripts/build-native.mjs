/**
 * Builds the optional native kernels (native/, node-gyp, the system BLAS). Never fails the
 * install: without a compiler or a BLAS it says so in one line and the engine uses its
 * WebAssembly kernels. Run by `npm ci` (prepare) and `npm run build:native`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const candidates = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath &&
    join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  ),
].filter((p) => p && existsSync(p));

if (candidates.length === 0) {
  console.log(
    'TicketLab: native BLAS kernels not built (node-gyp not found); training uses WebAssembly.',
  );
  process.exit(0);
}
/**
 * Whether oneDNN 2's headers are here (Debian/Ubuntu's libdnnl-dev; version 3's C API
 * differs): then the addon is built to run products and convolutions on libdnnl.so.2, which
 * it opens at run time where present.
 */
function hasOneDnn2() {
  const probe = spawnSync(process.env.CC ?? 'cc', ['-fsyntax-only', '-x', 'c', '-'], {
    input:
      '#include <oneapi/dnnl/dnnl.h>\n#if DNNL_VERSION_MAJOR != 2\n#error oneDNN 2 needed\n#endif\n',
    encoding: 'utf8',
  });
  return probe.status === 0;
}

// Headers installed beside this node (distribution packages) spare node-gyp a download.
const prefix = join(dirname(process.execPath), '..');
const nodedir =
  process.env.npm_config_nodedir ??
  (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const args = [candidates[0], 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const onednn = process.env.TICKETLAB_ONEDNN === '0' ? false : hasOneDnn2();
const built = spawnSync(process.execPath, args, {
  cwd: join(root, 'native'),
  encoding: 'utf8',
  env: { ...process.env, TICKETLAB_ONEDNN: onednn ? '1' : '0' },
});
if (built.status === 0) {
  console.log(
    `TicketLab: native BLAS kernels built (native/build/Release/ticketlab_blas.node); ${onednn ? 'products and convolutions on oneDNN where libdnnl.so.2 loads' : 'oneDNN 2 not found (apt-get install libdnnl-dev makes products and convolutions faster)'}.`,
  );
} else {
  const why = `${built.stderr}${built.stdout}`
    .split('\n')
    .find((l) => /error|not found|cannot find/i.test(l));
  console.log(
    `TicketLab: native BLAS kernels not built (${why?.trim() ?? `node-gyp exited ${built.status}`}); training uses WebAssembly.`,
  );
}
