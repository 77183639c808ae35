import { afterAll, describe, expect, it } from 'vitest';
import { kernelThreads, nativeBlas } from '../../src/engine/native-blas.ts';

/**
 * The addon's own sgemm (native/sgemm.c: packed B panels, a 6×16 register tile, A read in
 * place) against a plain triple loop in double precision, through the addon's `gemm` entry,
 * which takes leading dimensions, alpha and beta as cblas_sgemm does. Shapes cover the tile
 * edges (sizes that are not multiples of 6 or 16), more than one block of k (256), of rows
 * (168) and of columns (4080), both transposes, padded rows, and products large enough to be
 * split over three threads. Where the addon was built with a BLAS, the same cases run on it
 * too.
 */
const blas = nativeBlas();

interface Case {
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  alpha?: number;
  beta?: number;
  /** extra floats at the end of every stored row of A, B and C */
  pad?: number;
  threads?: number;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [5, 15, 3],
  [6, 16, 7],
  [7, 17, 255],
  [13, 33, 257],
  [60, 300, 784], // LeNet-300-100's first layer, batch 60
  [169, 20, 40], // one row past a block of 168
  [3, 4097, 5], // past a block of 4080 columns
];
const CASES: Case[] = [
  ...SHAPES.flatMap(([m, n, k]) =>
    [false, true].flatMap((ta) => [false, true].map((tb): Case => ({ m, n, k, ta, tb }))),
  ),
  { m: 11, n: 19, k: 300, ta: false, tb: false, alpha: 0.5, beta: 1, pad: 3 },
  { m: 11, n: 19, k: 300, ta: true, tb: true, alpha: -2, beta: 0.25, pad: 5 },
  { m: 31, n: 45, k: 17, ta: true, tb: false, beta: 1, pad: 1 },
  // split over threads by columns of C: 4M multiply-adds or more
  { m: 200, n: 130, k: 170, ta: false, tb: false, threads: 3 },
  { m: 97, n: 301, k: 150, ta: true, tb: true, threads: 3, beta: 1 },
  { m: 60, n: 784, k: 300, ta: false, tb: true, threads: 3 }, // LeNet's input gradient
  { m: 784, n: 300, k: 60, ta: true, tb: false, threads: 2 }, // LeNet's weight gradient
];

/** A deterministic pseudo-random fill in [-1, 1). */
function fill(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** The product in double precision, from the stored layouts. */
function reference(
  c: Required<Case>,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  c0: Float32Array,
  ldc: number,
): Float64Array {
  const out = new Float64Array(c.m * c.n);
  for (let i = 0; i < c.m; i++)
    for (let j = 0; j < c.n; j++) {
      let sum = 0;
      for (let p = 0; p < c.k; p++)
        sum += a[c.ta ? p * lda + i : i * lda + p]! * b[c.tb ? j * ldb + p : p * ldb + j]!;
      out[i * c.n + j] = c.alpha * sum + (c.beta === 0 ? 0 : c.beta * c0[i * ldc + j]!);
    }
  return out;
}

const KERNELS: ('own' | 'BLAS')[] = !blas ? [] : blas.useOwnGemm(false) ? ['own'] : ['own', 'BLAS'];

afterAll(() => {
  if (!blas) return;
  blas.useOwnGemm(false);
  blas.setThreads(kernelThreads());
});

describe.skipIf(!blas)('the native sgemm against a plain triple loop', () => {
  for (const kernel of KERNELS)
    for (const given of CASES) {
      const c: Required<Case> = { alpha: 1, beta: 0, pad: 0, threads: 1, ...given };
      const name = `${kernel}: op(A) ${c.m}×${c.k}${c.ta ? ' (Aᵀ)' : ''} · op(B) ${c.k}×${c.n}${c.tb ? ' (Bᵀ)' : ''}, alpha ${c.alpha}, beta ${c.beta}, row padding ${c.pad}, ${c.threads} thread(s)`;
      it(name, () => {
        expect(blas!.useOwnGemm(kernel === 'own')).toBe(kernel === 'own');
        blas!.setThreads(c.threads);
        // stored shapes: op(A) is m×k, kept k×m when transposed; likewise B
        const lda = (c.ta ? c.m : c.k) + c.pad;
        const ldb = (c.tb ? c.k : c.n) + c.pad;
        const ldc = c.n + c.pad;
        const aFloats = (c.ta ? c.k : c.m) * lda;
        const bFloats = (c.tb ? c.n : c.k) * ldb;
        const cFloats = c.m * ldc;
        // odd offsets: the kernels must not count on aligned operands
        const aAt = 1;
        const bAt = aAt + aFloats + 3;
        const cAt = bAt + bFloats + 5;
        const memory = new Float32Array(cAt + cFloats + 7);
        const a = fill(aFloats, 1 + c.m);
        const b = fill(bFloats, 2 + c.n);
        const c0 = fill(cFloats, 3 + c.k);
        // beta 0 must not read C: what was there (NaN here) must not leak into the result
        if (c.beta === 0) c0.fill(NaN);
        memory.set(a, aAt);
        memory.set(b, bAt);
        memory.set(c0, cAt);
        blas!.gemm(
          memory.buffer,
          c.ta,
          c.tb,
          c.alpha,
          c.beta,
          c.m,
          c.n,
          c.k,
          4 * aAt,
          lda,
          4 * bAt,
          ldb,
          4 * cAt,
          ldc,
        );
        const want = reference(c, a, lda, b, ldb, c0, ldc);
        let worst = 0;
        for (let i = 0; i < c.m; i++)
          for (let j = 0; j < c.n; j++) {
            const got = memory[cAt + i * ldc + j]!;
            const w = want[i * c.n + j]!;
            // float32 accumulation over k terms of size ≤ 1: error grows like k·eps
            worst = Math.max(worst, Math.abs(got - w) / (1 + Math.sqrt(c.k)));
          }
        expect(worst).toBeLessThan(1e-5);
        // the padding between C's rows and the floats around the operands are untouched
        for (let i = 0; i < c.m; i++)
          for (let j = c.n; j < ldc; j++)
            expect(Object.is(memory[cAt + i * ldc + j], c0[i * ldc + j])).toBe(true);
        expect(memory[0]).toBe(0);
        expect(memory[memory.length - 1]).toBe(0);
      });
    }

  it('refuses operands outside the memory and leading dimensions shorter than a row', () => {
    const memory = new Float32Array(64);
    expect(() =>
      blas!.gemm(memory.buffer, false, false, 1, 0, 4, 4, 4, 0, 4, 64, 4, 200, 4),
    ).toThrow(/outside the memory/);
    expect(() =>
      blas!.gemm(memory.buffer, false, false, 1, 0, 4, 4, 4, 0, 3, 64, 4, 128, 4),
    ).toThrow(/outside the memory/);
    expect(() =>
      blas!.gemm(memory.buffer, false, false, 1, 0, 2, 2, 2, 0, 2, 16, 2, 32, 2),
    ).not.toThrow();
  });

  it('names what it computes on', () => {
    blas!.useOwnGemm(true);
    expect(blas!.gemmKernels()).toMatch(/^TicketLab's own sgemm \(.+\)$/);
  });
});
