/*
 * What the native kernels share: the helper-thread pool, the matrix products and the
 * convolutions, used by the tfjs kernels (blas.c) and the whole-step trainer (trainer.c).
 */
#ifndef TICKETLAB_KERNELS_H
#define TICKETLAB_KERNELS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * C = alpha·op(A)·op(B) + beta·C, row-major with leading dimensions (cblas_sgemm's meaning),
 * on the calling thread: on the system BLAS where the addon was built with one (TICKETLAB_BLAS)
 * and it is not switched off (useOwnGemm), else on our own kernels (sgemm.c).
 */
void sgemm_rows(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                int64_t ldc);
/* Our own: a packed, cache-blocked product (sgemm.c). */
void sgemm_own(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc);
/* The instruction set sgemm_own runs with on this CPU ("AVX2, FMA"), in words. */
const char *sgemm_own_isa(void);

/*
 * The element-wise loops are compiled for x86-64-v3 (AVX2, FMA) and baseline x86-64, and the
 * one the CPU can run is chosen when the addon loads (GCC's function clones, through glibc's
 * ifunc): Adam's update of LeNet-300-100 takes about 25% less time (AVX-512 was no faster).
 */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

/* Threads the kernels split their work over (setThreads; 1 to 64). */
extern int threads;

/*
 * Denormal numbers flushed to zero (x86's FTZ and DAZ) while set: the training step sets it,
 * as TensorFlow and oneDNN do on CPUs. Adam's first moment of a weight whose gradient has
 * become exactly zero (a dead unit) decays by 0.9 a step into the denormal range, where every
 * operation on it takes a microcode assist of a hundred cycles or more: measured, a few
 * thousand such moments in LeNet-300-100's fc2 made its whole update 2–3× slower.
 */
extern bool flush_denormals;
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static inline unsigned denormals_flushed(void) {
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040); /* FTZ (bit 15) and DAZ (bit 6) */
  return saved;
}
static inline void denormals_restored(unsigned saved) { _mm_setcsr(saved); }
#else
static inline unsigned denormals_flushed(void) { return 0; }
static inline void denormals_restored(unsigned saved) { (void)saved; }
#endif

/* Runs fn(arg, part) for part = 0 … parts−1 on the calling thread and the pool's helpers
   (at most `threads` threads; each claims the next part left when it finishes one). */
typedef void part_fn(void *arg, int part);
void run_parts(part_fn *fn, void *arg, int parts);

/*
 * Parts per thread for passes split over the threads: more parts than threads, so that where
 * other processes share the cores and one thread is descheduled, the others take its parts
 * instead of waiting for it to finish a share fixed in advance.
 */
#define PARTS_PER_THREAD 4
/* PARTS_PER_THREAD parts a thread, at most 64 (the partial sums' room, trainer.c). */
static inline int parts_per_threads(void) {
  return threads * PARTS_PER_THREAD < 64 ? threads * PARTS_PER_THREAD : 64;
}

/* fn(arg, part) on a helper thread, with denormals flushed there too when flush_denormals. */
static inline void run_part(part_fn *fn, void *arg, int part) {
  if (!flush_denormals) {
    fn(arg, part);
    return;
  }
  const unsigned saved = denormals_flushed();
  fn(arg, part);
  denormals_restored(saved);
}

/* C[m×n] = op(A)·op(B), row-major: on oneDNN where it runs, else sgemm_rows split over the
   pool when large. */
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a,
          const float *b, float *c);

/* Adam's constants for one step: bias corrections folded into the rate and the denominator. */
typedef struct {
  float b1, b2, eps, wd, rate, inv_sqrt_bc2;
} adam_settings;
adam_settings adam_settings_for(double lr, double b1, double b2, double eps, double wd,
                                double step);

/* One weight's Adam update (PyTorch's formulas, coupled L2 weight decay); `keep` is its 0/1
   mask value: where 0, the weight and both moments become 0. */
static inline void adam_element(float w, float g, float m, float v, float keep,
                                const adam_settings *a, float *w2, float *m2, float *v2) {
  const float grad = g + a->wd * w;
  const float mi = a->b1 * m + (1 - a->b1) * grad;
  const float vi = a->b2 * v + (1 - a->b2) * grad * grad;
  *m2 = keep * mi;
  *v2 = keep * vi;
  *w2 = keep * (w - a->rate * (mi / (sqrtf(vi) * a->inv_sqrt_bc2 + a->eps)));
}

/*
 * Adam's update of `count` weights into fresh buffers w2, m2, v2, with a 0/1 mask (NULL:
 * none). Split over the pool when large.
 */
void adam_threaded(int64_t count, const float *w, const float *g, const float *m,
                   const float *v, float *w2, float *m2, float *v2, const float *mask,
                   adam_settings settings);

/* A 2-D convolution's geometry: NHWC input, filter [kh, kw, ci, co], dilation 1. */
typedef struct {
  int64_t n, h, w, ci, kh, kw, co, oh, ow, sh, sw, pt, pl, pb, pr;
} conv_geometry;

enum { CONV_FORWARD = 0, CONV_FILTER_GRAD = 1, CONV_INPUT_GRAD = 2 };

/*
 * mode CONV_FORWARD: y = conv(x, w) (+ bias[co] unless NULL, then max(·, 0) when relu);
 * CONV_FILTER_GRAD: w = the
 * filter gradient from x and y = dy; CONV_INPUT_GRAD: x = the input gradient from y = dy and
 * w. On oneDNN where it is built and takes the geometry, else im2col + sgemm. Returns false
 * when out of memory.
 */
bool run_conv(int mode, const conv_geometry *g, float *x, float *w, float *y, const float *bias,
              bool relu);

/*
 * The oneDNN convolution (dnnl.c): true when it computed, false when oneDNN is not built, is
 * switched off, or does not take this geometry (the caller then uses im2col).
 */
bool onednn_conv(int mode, const conv_geometry *g, float *x, float *w, float *y,
                 const float *bias, bool relu);
/* The same product on oneDNN: false where it does not run (the caller then uses sgemm). */
bool onednn_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                    const float *b, float *c);
/* run_parts on oneDNN's OpenMP threads: false where oneDNN does not run on OpenMP. */
bool onednn_run_parts(part_fn *fn, void *arg, int parts);
/* "oneDNN 2.6.3" where built and on, else NULL. */
const char *onednn_name(void);
void onednn_enable(bool on);

#endif
