/**
 * Builds the optional native kernels (native/, node-gyp). Never fails the install: without a
 * compiler it says so in one line and the engine uses its WebAssembly kernels. Run by
 * `npm ci` (prepare) and `npm run build:native`.
 *
 * Products run on the addon's own sgemm (native/sgemm.c), so that a machine with only a
 * compiler gets the native training step too. On x86-64 Linux that is the default even where
 * a BLAS is installed: measured there, ours trains LeNet-300-100 and Conv-4 as fast as
 * OpenBLAS 0.3.21 (BENCHMARKS.md), whereas libblas.so.3 may as well be the reference BLAS
 * (Debian's libblas3, several times slower), and an addon that links nothing loads on any
 * machine it is carried to (the packaged app). Elsewhere the system BLAS is used
 * where one links (Accelerate on macOS; libblas.so.3, e.g. OpenBLAS, on arm64 Linux), our
 * own sgemm otherwise. TICKETLAB_BLAS=1 links the system BLAS where it links, TICKETLAB_BLAS=0
 * never (tests and benchmarks compare them); TICKETLAB_ONEDNN=0 builds without oneDNN.
 *
 *   node scripts/build-native.mjs [--into <dir>]
 *
 * --into builds a copy of native/ in <dir> (the addon: <dir>/build/Release/ticketlab_blas.node,
 * which TICKETLAB_ADDON=<that path> loads instead of native/'s): bench:engine builds the
 * machine states it compares that way.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILER_INSTALL, NATIVE_MISSING_COST } from '../src/core/native-advice.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const into = process.argv.indexOf('--into');
let source = join(root, 'native');
if (into >= 0) {
  const dir = resolve(process.argv[into + 1] ?? '');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(source))
    if (/\.(c|h|gyp)$/.test(f)) cpSync(join(source, f), join(dir, f));
  source = dir;
}
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
    `TicketLab: native kernels not built (node-gyp not found): ${NATIVE_MISSING_COST}; \`npm run build:native\` builds them where npm's node-gyp is found.`,
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

/**
 * Whether a CBLAS links as the addon links it (-l:libblas.so.3); macOS always has Accelerate.
 */
function hasBlas() {
  if (process.platform === 'darwin') return true;
  const probe = spawnSync(
    process.env.CC ?? 'cc',
    ['-x', 'c', '-', '-o', '/dev/null', '-l:libblas.so.3'],
    {
      input:
        'void cblas_sgemm(int, int, int, int, int, int, float, const float *, int,\n' +
        '                 const float *, int, float, float *, int);\n' +
        'int main(void) { cblas_sgemm(101, 111, 111, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1); }\n',
      encoding: 'utf8',
    },
  );
  return probe.status === 0;
}

// Headers installed beside this node (distribution packages) spare node-gyp a download.
const prefix = join(dirname(process.execPath), '..');
const nodedir =
  process.env.npm_config_nodedir ??
  (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const args = [candidates[0], 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const onednn = process.env.TICKETLAB_ONEDNN === '0' ? false : hasOneDnn2();
const ownByDefault = process.platform === 'linux' && process.arch === 'x64';
const wantBlas =
  process.env.TICKETLAB_BLAS === '1' || (process.env.TICKETLAB_BLAS !== '0' && !ownByDefault);
const blas = wantBlas && hasBlas();
const built = spawnSync(process.execPath, args, {
  cwd: source,
  encoding: 'utf8',
  env: { ...process.env, TICKETLAB_ONEDNN: onednn ? '1' : '0', TICKETLAB_BLAS: blas ? '1' : '0' },
});
if (built.status === 0) {
  const why = !wantBlas
    ? process.env.TICKETLAB_BLAS === '0'
      ? 'TICKETLAB_BLAS=0'
      : 'TICKETLAB_BLAS=1 links the system BLAS instead'
    : 'no libblas.so.3 found';
  const products = blas ? 'products on the system BLAS' : `products on its own sgemm (${why})`;
  const convolutions = onednn
    ? 'products and convolutions on oneDNN where libdnnl.so.2 loads'
    : process.env.TICKETLAB_ONEDNN === '0'
      ? 'without oneDNN (TICKETLAB_ONEDNN=0)'
      : 'oneDNN 2 not found (apt-get install libdnnl-dev makes products and convolutions faster)';
  console.log(
    `TicketLab: native kernels built (${join(source, 'build', 'Release', 'ticketlab_blas.node')}); ${products}; ${convolutions}.`,
  );
} else {
  const why = `${built.stderr}${built.stdout}`
    .split('\n')
    .find((l) => /error|not found|cannot find/i.test(l));
  console.log(
    `TicketLab: native kernels not built (${why?.trim() ?? `node-gyp exited ${built.status}`}): ${NATIVE_MISSING_COST}. Add a C compiler, then \`npm run build:native\`: Debian/Ubuntu \`${COMPILER_INSTALL.linux}\`; macOS \`${COMPILER_INSTALL.darwin}\`; Windows ${COMPILER_INSTALL.win32}.`,
  );
}
