/**
 * What a machine without the native kernels loses and how to add them, in one place for
 * the install (scripts/build-native.mjs) and `ticketlab doctor`. The cost is measured
 * (BENCHMARKS.md, 2026-12-01): the quickstart took 4 min 49 s on WebAssembly and 51 s on the
 * native kernels with nothing but a compiler, on the same two cores.
 */
export const NATIVE_MISSING_COST =
  'training runs on WebAssembly, about 5x slower (quickstart 4 min 49 s against 51 s)';

/** The command that brings a C compiler, per platform; then `npm run build:native`. */
export const COMPILER_INSTALL = {
  linux: 'sudo apt-get install -y build-essential python3',
  darwin: 'xcode-select --install',
  win32: 'the Visual Studio Build Tools with "Desktop development with C++"',
};
