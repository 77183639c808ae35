import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeBlas } from '../../src/engine/native-blas.ts';

/**
 * Signals that arrive while the native kernels run (Slurm's SIGTERM to a preempted cluster
 * worker, Ctrl-C, a profiler's SIGPROF) are handled without harm. oneDNN 2's JIT GEMM kernels
 * point the stack pointer at a heap buffer while they run (oneDNN issue #4845), so a signal
 * handled on their thread wrote its frame into the heap: glibc then aborted on a corrupted
 * chunk, or the process crashed later. A child runs LeNet-300-100's first product for 3 s
 * while this process sends it signals as fast as it can, then allocates and frees freely
 * (where a corrupted heap fails), and reports.
 */
const NATIVE_BLAS = fileURLToPath(new URL('../../src/engine/native-blas.ts', import.meta.url));
const CHILD = `
const { nativeBlas } = await import(${JSON.stringify(NATIVE_BLAS)});
const blas = nativeBlas();
let signals = 0;
process.on('SIGUSR2', () => signals++);
const [m, k, n] = [60, 784, 300];
const memory = new ArrayBuffer((m * k + k * n + m * n) * 4);
new Float32Array(memory).fill(0.01);
console.log('ready');
let products = 0;
for (const until = Date.now() + 3000; Date.now() < until; products++) {
  blas.sgemm(memory, false, false, 1, m, n, k, 0, m * k * 4, (m * k + k * n) * 4, 0, 0);
  // the signals' handler runs between products, as a worker's does between steps
  if (products % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
}
const product = new Float32Array(memory, (m * k + k * n) * 4, m * n);
let bytes = 0;
for (let i = 0; i < 100000; i++) bytes += Buffer.alloc(64 + ((i * 97) % 8192), 1).length;
console.log(JSON.stringify({ products, signals, bytes, first: product[0], oneDnn: blas.oneDnn() }));
// Listening until told: a signal that came after Node stopped listening would end it.
process.stdin.on('data', () => {}).on('end', () => process.exit(0));
`;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  report: { products: number; signals: number; bytes: number; first: number } | null;
}

function runUnderSignals(threads: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      env: { ...process.env, TICKETLAB_THREADS: String(threads) },
    });
    let output = '';
    let report: Outcome['report'] = null;
    let hammer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d) => (output += d));
    child.stdout.on('data', (d) => {
      output += d;
      if (!hammer && output.includes('ready\n'))
        hammer = setInterval(() => {
          for (let i = 0; i < 10; i++) child.kill('SIGUSR2');
        }, 1);
      const last = /^\{.*\}$/m.exec(output);
      if (last) {
        clearInterval(hammer);
        report = JSON.parse(last[0]) as Outcome['report'];
        child.stdin.end();
      }
    });
    child.on('exit', (code, signal) => {
      clearInterval(hammer);
      resolve({ code, signal, output, report });
    });
  });
}

describe.skipIf(!nativeBlas())('native kernels under signals', () => {
  it.each([1, 2])(
    'keep the heap whole while signals arrive during products (%i threads)',
    async (threads) => {
      const outcome = await runUnderSignals(threads);
      expect(outcome, outcome.output).toMatchObject({ code: 0, signal: null });
      const report = outcome.report!;
      // Signals did arrive during the products, and the products stayed right.
      expect(report.signals).toBeGreaterThan(100);
      expect(report.products).toBeGreaterThan(100);
      expect(report.first).toBeCloseTo(784 * 0.01 * 0.01, 5);
      expect(report.bytes).toBeGreaterThan(0);
    },
    60_000,
  );
});
