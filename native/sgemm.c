/*
 * Single-precision matrix products of our own, for machines without a BLAS: a fresh Debian
 * has a compiler but no libblas.so.3, and without these the addon was not built at all and
 * training fell back to WebAssembly (the quickstart took 4 min 49 s instead of about 30 s).
 *
 * The algorithm is Goto's (K. Goto and R. van de Geijn, "Anatomy of high-performance matrix
 * multiplication", ACM TOMS 34(3), 2008) in the loop structure of BLIS (F. Van Zee and
 * R. van de Geijn, "BLIS: A framework for rapidly instantiating BLAS functionality", ACM TOMS
 * 41(3), 2015): op(B) is packed a KC×NC block at a time into panels NR columns wide (kept in
 * L2/L3), op(A) an MC×KC block at a time into panels MR rows tall (kept in L2), and a
 * micro-kernel multiplies one A panel by one B panel into an MR×NR tile of C held in
 * registers, streaming the panels from L1 and touching C once per KC. Packing is also where
 * transposes and leading dimensions are dealt with: the micro-kernel only sees one layout.
 *
 * The micro-kernel is 6×16 (BLIS's choice for AVX2): twelve 8-float accumulators, two B
 * vectors and an A broadcast fill 15 of the 16 ymm registers, and each loaded B vector feeds
 * six FMAs. It is written with GCC's vector extensions rather than intrinsics, so the same
 * source compiles for arm64 and macOS (clang); on x86-64 Linux the whole product is compiled
 * twice, for x86-64-v3 (AVX2, FMA) and baseline x86-64, and the CPU's is chosen when the addon
 * loads, as the element-wise loops are (VECTOR_CLONES, kernels.h).
 *
 * The addon splits large products over its threads (blas.c: by batch or by columns of C) and
 * the convolutions by images, each part calling this single-threaded, as it does the BLAS.
 */
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

#define MR 6
#define NR 16
/* KC×NR floats of B (16 KB) stay in L1 beside the A panel; MC×KC of A (168 KB) in L2. */
#define KC 256
#define MC 168
/* KC×NC of B (4 MB) in L3; no product here is wider than a few thousand columns. */
#define NC 4080

typedef float v8 __attribute__((vector_size(32), aligned(32)));
/* the same, for loads and stores at any float's address (C's rows) */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

#define INLINE static inline __attribute__((always_inline))

/*
 * Packs the rows [0, rows) (rows < MR: the edge of C) of op(A)[·, 0, kc) into a panel of MR
 * rows, element (i, p) at packed[p·MR + i], rows past `rows` zero. Every full panel of MR rows
 * is read where it lies instead (micro_kernel's rs and cs): packing costs one pass over A per
 * KC block, which is a third of the time of Conv-4's products, where C is only 64 or 128
 * columns wide and each element of A serves 64 or 128 multiply-adds (measured: im2col's
 * 7281×576 by 576×64, 35% of the time in packing A). BLIS's unpacked ("sup") kernels for
 * skinny products do the same.
 */
INLINE void pack_a_edge(int64_t rows, int64_t kc, const float *a, int64_t rs, int64_t cs,
                        float *packed) {
  for (int64_t p = 0; p < kc; p++) {
    for (int64_t i = 0; i < rows; i++) packed[p * MR + i] = a[i * rs + p * cs];
    for (int64_t i = rows; i < MR; i++) packed[p * MR + i] = 0;
  }
}

/*
 * Packs op(B)[0, kc) × [0, nc) into panels of NR columns: element (p, j) of panel s at
 * packed[s·NR·kc + p·NR + j], columns past nc zero. op(B)(p, j) is b[p·ldb + j], or
 * b[j·ldb + p] when transposed (then each of B's rows is read in order and scattered with a
 * stride of NR: the panel, 16 KB, stays in L1 while it is written).
 */
INLINE void pack_b(bool trans, int64_t kc, int64_t nc, const float *b, int64_t ldb,
                   float *packed) {
  for (int64_t s = 0; s < nc; s += NR, packed += NR * kc) {
    const int64_t cols = nc - s < NR ? nc - s : NR;
    if (trans) {
      for (int64_t j = 0; j < cols; j++) {
        const float *row = b + (s + j) * ldb;
        for (int64_t p = 0; p < kc; p++) packed[p * NR + j] = row[p];
      }
      for (int64_t j = cols; j < NR; j++)
        for (int64_t p = 0; p < kc; p++) packed[p * NR + j] = 0;
    } else if (cols == NR) {
      for (int64_t p = 0; p < kc; p++) {
        const float *from = b + p * ldb + s;
        *(v8 *)(packed + p * NR) = *(const v8u *)from;
        *(v8 *)(packed + p * NR + 8) = *(const v8u *)(from + 8);
      }
    } else {
      for (int64_t p = 0; p < kc; p++) {
        for (int64_t j = 0; j < cols; j++) packed[p * NR + j] = b[p * ldb + s + j];
        for (int64_t j = cols; j < NR; j++) packed[p * NR + j] = 0;
      }
    }
  }
}

/*
 * The micro-kernel: C[rows×cols tile] = alpha·(A panel · B panel) + beta·C, over kc, element
 * (i, p) of the A panel at a[i·rs + p·cs] (inlined with constant strides where they are known,
 * so that the loads need no multiplications). beta 0 writes C without reading it (as BLAS
 * does: NaN or garbage there does not leak through). Edge tiles (rows < MR or cols < NR) go
 * through a tile on the stack.
 */
INLINE void micro_kernel(int64_t kc, const float *restrict a, int64_t rs, int64_t cs,
                         const float *restrict b, float *c, int64_t ldc, float alpha, float beta,
                         int64_t rows, int64_t cols) {
  v8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
  v8 c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
  const float *restrict a0 = a, *restrict a1 = a + rs, *restrict a2 = a + 2 * rs,
                        *restrict a3 = a + 3 * rs, *restrict a4 = a + 4 * rs,
                        *restrict a5 = a + 5 * rs;
  for (int64_t p = 0; p < kc; p++, b += NR) {
    const v8 b0 = *(const v8 *)b, b1 = *(const v8 *)(b + 8);
    /* scalar × vector broadcasts; with FMA each pair below is one vfmadd231ps */
    const int64_t at = p * cs;
    c00 += a0[at] * b0, c01 += a0[at] * b1;
    c10 += a1[at] * b0, c11 += a1[at] * b1;
    c20 += a2[at] * b0, c21 += a2[at] * b1;
    c30 += a3[at] * b0, c31 += a3[at] * b1;
    c40 += a4[at] * b0, c41 += a4[at] * b1;
    c50 += a5[at] * b0, c51 += a5[at] * b1;
  }
  const v8 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                         {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == MR && cols == NR) {
    for (int i = 0; i < MR; i++) {
      v8u *row = (v8u *)(c + i * ldc);
      if (beta == 0) {
        row[0] = alpha * acc[i][0];
        row[1] = alpha * acc[i][1];
      } else {
        row[0] = alpha * acc[i][0] + beta * row[0];
        row[1] = alpha * acc[i][1] + beta * row[1];
      }
    }
    return;
  }
  float tile[MR * NR] __attribute__((aligned(32)));
  for (int i = 0; i < MR; i++) {
    *(v8 *)(tile + i * NR) = acc[i][0];
    *(v8 *)(tile + i * NR + 8) = acc[i][1];
  }
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++)
      c[i * ldc + j] = alpha * tile[i * NR + j] + (beta == 0 ? 0 : beta * c[i * ldc + j]);
}

/* Packing buffers, one pair per thread (the pool's helpers live as long as the process), grown
   to the largest blocks seen: allocating them per call cost page faults on every product. */
static __thread float *packed_a, *packed_b;
static __thread int64_t packed_a_size, packed_b_size;

static float *buffer(float **buf, int64_t *size, int64_t floats) {
  if (*size < floats) {
    free(*buf);
    *buf = aligned_alloc(64, (size_t)((floats * 4 + 63) / 64 * 64));
    *size = *buf ? floats : 0;
  }
  return *buf;
}

/* One tile row of the block: the micro-kernel along the packed B panels, A where it lies or
   (the edge) packed; strides constant where they are known. */
INLINE void tile_row(bool trans_a, int64_t rows, int64_t kc, int64_t nc, const float *a,
                     int64_t lda, const float *pb, float *c, int64_t ldc, float alpha,
                     float beta, float *edge) {
  if (rows < MR) {
    pack_a_edge(rows, kc, a, trans_a ? 1 : lda, trans_a ? lda : 1, edge);
    for (int64_t jr = 0; jr < nc; jr += NR)
      micro_kernel(kc, edge, 1, MR, pb + jr * kc, c + jr, ldc, alpha, beta, rows,
                   nc - jr < NR ? nc - jr : NR);
  } else if (trans_a) {
    for (int64_t jr = 0; jr < nc; jr += NR)
      micro_kernel(kc, a, 1, lda, pb + jr * kc, c + jr, ldc, alpha, beta, MR,
                   nc - jr < NR ? nc - jr : NR);
  } else {
    for (int64_t jr = 0; jr < nc; jr += NR)
      micro_kernel(kc, a, lda, 1, pb + jr * kc, c + jr, ldc, alpha, beta, MR,
                   nc - jr < NR ? nc - jr : NR);
  }
}

/* The loops around the micro-kernel (Goto 2008; BLIS 2015, figure 2), for one clone. */
VECTOR_CLONES static void blocked(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                                  float alpha, const float *a, int64_t lda, const float *b,
                                  int64_t ldb, float beta, float *c, int64_t ldc, float *edge,
                                  float *pb) {
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = n - jc < NC ? n - jc : NC;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = k - pc < KC ? k - pc : KC;
      /* the first KC block applies beta; the later ones add to it */
      const float beta_here = pc == 0 ? beta : 1.0f;
      pack_b(trans_b, kc, nc, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, pb);
      /* MC rows of A at a time (in L2) along the panels of B (in L3, each in L1 in turn) */
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = m - ic < MC ? m - ic : MC;
        for (int64_t ir = ic; ir < ic + mc; ir += MR)
          tile_row(trans_a, ic + mc - ir < MR ? ic + mc - ir : MR, kc, nc,
                   trans_a ? a + pc * lda + ir : a + ir * lda + pc, lda, pb, c + ir * ldc + jc,
                   ldc, alpha, beta_here, edge);
      }
    }
  }
}

void sgemm_own(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const int64_t kc = k < KC ? k : KC, nc = n < NC ? n : NC;
  float *pa = k > 0 ? buffer(&packed_a, &packed_a_size, MR * kc) : NULL;
  float *pb = k > 0 ? buffer(&packed_b, &packed_b_size, (nc + NR - 1) / NR * NR * kc) : NULL;
  if (pa && pb && alpha != 0) {
    blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pa, pb);
    return;
  }
  /* no product to add (k or alpha 0), or no memory for the packed blocks: a plain loop */
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      float sum = 0;
      for (int64_t p = 0; p < k && alpha != 0; p++)
        sum += (trans_a ? a[p * lda + i] : a[i * lda + p]) *
               (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j]);
    }
}

/* The micro-kernel's instruction set on this CPU, for the engine's description. */
const char *sgemm_own_isa(void) {
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v3") ? "AVX2, FMA" : "x86-64 baseline";
#elif defined(__aarch64__)
  return "NEON";
#else
  return "portable C";
#endif
}
