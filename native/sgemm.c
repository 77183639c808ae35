/*
 * Single-precision matrix products of our own: a fresh Debian has a compiler but no
 * libblas.so.3, and without these the addon was not built at all and training fell back to
 * WebAssembly (the quickstart took 4 min 49 s instead of about 30 s). On x86-64 Linux they
 * are the default even where a BLAS is installed (scripts/build-native.mjs says why).
 *
 * The algorithm is Goto's (K. Goto and R. van de Geijn, "Anatomy of high-performance matrix
 * multiplication", ACM TOMS 34(3), 2008) in the loop structure of BLIS (F. Van Zee and
 * R. van de Geijn, "BLIS: A framework for rapidly instantiating BLAS functionality", ACM TOMS
 * 41(3), 2015): op(B) is packed a KC×NC block at a time into panels NR columns wide (kept in
 * L2/L3), op(A) an MC×KC block at a time into panels MR rows tall (kept in L2), and a
 * micro-kernel multiplies one A panel by one B panel into an MR×NR tile of C held in
 * registers, streaming the panels from L1 and touching C once per KC. Packing B is also where
 * its transpose and leading dimension are dealt with; A is read where it lies (pack_a_edge
 * says why), with its strides as constants where they are known.
 *
 * The micro-kernel is 6×16 with AVX2 (BLIS's choice there): twelve 8-float accumulators, two
 * B vectors and an A broadcast fill 15 of the 16 ymm registers, and each loaded B vector feeds
 * six FMAs. It is written with GCC's vector extensions rather than intrinsics, so the same
 * source compiles for arm64 and macOS (clang). sgemm-kernel.h holds the blocked product for
 * one vector width; it is compiled for AVX2 with FMA on x86-64 (GCC) and for 4-float vectors
 * everywhere (SSE2, NEON: a 6×8 tile), and the CPU's is chosen at run time. GCC's function
 * clones, which the element-wise loops use (VECTOR_CLONES), do not fit here: the baseline
 * clone kept the 8-float vectors in memory (no register holds them without AVX) and ran at
 * 1.5 GFLOP/s, where 4-float vectors reach 20.
 *
 * The addon splits large products over its threads (blas.c: by batch or by columns of C) and
 * the convolutions by images, each part calling this single-threaded, as it does the BLAS.
 */
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

#define MR 6
/* KC×NR floats of B (16 KB with AVX2) stay in L1 beside the A panel; MC×KC of A (168 KB)
   in L2. */
#define KC 256
#define MC 168
/* KC×NC of B (4 MB) in L3; no product here is wider than a few thousand columns. */
#define NC 4080
/* the widest tile's columns, for the packing buffer's size */
#define NR_MAX 16

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

/*
 * The product compiled twice, for AVX2 with FMA (8-float vectors) and for the baseline
 * (4-float vectors: SSE2, NEON), the first used where the CPU has them; clang and other
 * architectures get the baseline only.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HAS_AVX2_COPY 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VL 8
#define NAME(x) x##_avx2
#include "sgemm-kernel.h"
#undef NAME
#undef VL
#pragma GCC pop_options
#endif
#define VL 4
#define NAME(x) x##_base
#include "sgemm-kernel.h"
#undef NAME
#undef VL

#ifdef HAS_AVX2_COPY
/* Whether the CPU runs the AVX2 copy (asked once; a race only asks twice). */
static bool use_avx2(void) {
  static int has = -1;
  if (has < 0) {
    __builtin_cpu_init();
    has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return has;
}
#endif

void sgemm_own(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const int64_t kc = k < KC ? k : KC, nc = n < NC ? n : NC;
  float *pa = k > 0 ? buffer(&packed_a, &packed_a_size, MR * kc) : NULL;
  float *pb =
      k > 0 ? buffer(&packed_b, &packed_b_size, (nc + NR_MAX - 1) / NR_MAX * NR_MAX * kc) : NULL;
  if (pa && pb && alpha != 0) {
#ifdef HAS_AVX2_COPY
    if (use_avx2()) {
      blocked_avx2(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pa, pb);
      return;
    }
#endif
    blocked_base(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pa, pb);
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
#ifdef HAS_AVX2_COPY
  return use_avx2() ? "AVX2, FMA" : "x86-64 baseline";
#elif defined(__x86_64__)
  return "x86-64 baseline";
#elif defined(__aarch64__)
  return "NEON";
#else
  return "portable C";
#endif
}
