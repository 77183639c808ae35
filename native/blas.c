/*
 * TicketLab's optional native kernels: single-precision matrix products by the system BLAS
 * (OpenBLAS through libblas.so.3 on Linux, Accelerate on macOS) where the build found one,
 * else by our own (sgemm.c), computed in place on the memory of tfjs's WebAssembly backend.
 * Built by scripts/build-native.mjs where a compiler is present; without one the engine uses
 * the WebAssembly kernels.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include "addon.h"
#include "kernels.h"

#ifdef TICKETLAB_BLAS
/* CBLAS, declared here so that only the shared library is needed, not its headers. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
extern void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c,
                        int ldc);
/* OpenBLAS only (weak: absent from other BLAS libraries). */
extern void openblas_set_num_threads(int threads) __attribute__((weak));
/* Whether products run on our own kernels rather than the BLAS linked (useOwnGemm). */
static bool own_gemm = false;
#else
static const bool own_gemm = true;
#endif

void sgemm_rows(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                int64_t ldc) {
#ifdef TICKETLAB_BLAS
  if (!own_gemm) {
    cblas_sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    return;
  }
#endif
  sgemm_own(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#define ARGS 12

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

/*
 * Reads a kernel's arguments: exactly `count` of them, the first an ArrayBuffer (the wasm
 * heap), and `ints` integers (sizes and byte offsets) from argument `first` on. Throws a
 * JavaScript error naming the kernel and returns false when they are not so.
 */
static bool read_args(napi_env env, napi_callback_info info, const char *name, size_t count,
                      napi_value *argv, void **memory, size_t *bytes, int first, int64_t *ints,
                      int n_ints) {
  char message[128];
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) {
    snprintf(message, sizeof message, "%s: expected %zu arguments", name, count);
    fail(env, message);
    return false;
  }
  if (napi_get_arraybuffer_info(env, argv[0], memory, bytes) != napi_ok) {
    snprintf(message, sizeof message, "%s: the first argument must be an ArrayBuffer", name);
    fail(env, message);
    return false;
  }
  for (int i = 0; i < n_ints; i++)
    if (napi_get_value_int64(env, argv[first + i], &ints[i]) != napi_ok) {
      snprintf(message, sizeof message, "%s: sizes and offsets must be numbers", name);
      fail(env, message);
      return false;
    }
  return true;
}

/*
 * A pool of helper threads, started on first use and asleep between jobs: unlike OpenBLAS's
 * own threads they do not spin after a call on the cores the WebAssembly kernels need.
 * run_parts(fn, arg, parts) runs fn(arg, part) for every part on the calling thread and the
 * helpers, and returns when all are done. setThreads caps how many threads work on a job:
 * helpers started while it allowed more sit out the jobs it no longer gives them (the
 * scheduler lowers it when another job starts beside this one).
 */
int threads = 1;
bool flush_denormals = false;
static pthread_mutex_t one_job_at_a_time = PTHREAD_MUTEX_INITIALIZER;
static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  int helpers;
  int working;  /* helpers that take parts of the current job: those indexed below it */
  unsigned job; /* bumped per job: sleeping helpers wake on a change */
  part_fn *fn;
  void *arg;
  int parts, next, finished;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

/* Claims and runs parts of the current job until none is left; called with the lock held. */
static void work_on_job(void) {
  while (pool.next < pool.parts) {
    int part = pool.next++;
    part_fn *fn = pool.fn;
    void *arg = pool.arg;
    pthread_mutex_unlock(&pool.lock);
    run_part(fn, arg, part);
    pthread_mutex_lock(&pool.lock);
    if (++pool.finished == pool.parts) pthread_cond_signal(&pool.done);
  }
}

static void *helper(void *index_arg) {
  int index = (int)(uintptr_t)index_arg;
  pthread_mutex_lock(&pool.lock);
  /* the job it was started for (done already, if it started late: then nothing is left) */
  unsigned seen = pool.job - 1;
  for (;;) {
    while (pool.job == seen) pthread_cond_wait(&pool.wake, &pool.lock);
    seen = pool.job;
    if (index < pool.working) work_on_job();
  }
  return NULL;
}

void run_parts(part_fn *fn, void *arg, int parts) {
  if (parts <= 1) {
    if (parts == 1) fn(arg, 0);
    return;
  }
  if (onednn_run_parts(fn, arg, parts)) return;
  pthread_mutex_lock(&one_job_at_a_time);
  pthread_mutex_lock(&pool.lock);
  int working = (parts < threads ? parts : threads) - 1;
  /* Where a helper cannot start, the calling thread runs more of the parts. */
  for (pthread_t id; pool.helpers < working; pool.helpers++) {
    if (pthread_create(&id, NULL, helper, (void *)(uintptr_t)pool.helpers) != 0) break;
    pthread_detach(id);
  }
  pool.working = working;
  pool.fn = fn;
  pool.arg = arg;
  pool.parts = parts;
  pool.next = 0;
  pool.finished = 0;
  pool.job++;
  pthread_cond_broadcast(&pool.wake);
  work_on_job();
  while (pool.finished < pool.parts) pthread_cond_wait(&pool.done, &pool.lock);
  pthread_mutex_unlock(&pool.lock);
  pthread_mutex_unlock(&one_job_at_a_time);
}

typedef struct {
  bool trans_a, trans_b;
  int64_t batch, m, n, k;
  const float *a, *b;
  float *c;
  int64_t stride_a, stride_b, stride_c, lda, ldb, ldc;
  float alpha, beta;
  int parts;
} sgemm_job;

/* A batch of products with packed operands (leading dimensions their row lengths). */
static sgemm_job packed_job(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n,
                            int64_t k, const float *a, const float *b, float *c,
                            int64_t stride_a, int64_t stride_b) {
  return (sgemm_job){.trans_a = trans_a, .trans_b = trans_b, .batch = batch, .m = m, .n = n,
                     .k = k, .a = a, .b = b, .c = c, .stride_a = stride_a,
                     .stride_b = stride_b, .stride_c = m * n, .lda = trans_a ? m : k,
                     .ldb = trans_b ? k : n, .ldc = n, .alpha = 1, .beta = 0, .parts = 1};
}

/* Part p of the products: a range of the batch, or of C's columns when the batch is small. */
static void sgemm_part(void *arg, int p) {
  const sgemm_job *j = arg;
  const bool by_batch = j->batch >= j->parts;
  const int64_t i0 = by_batch ? j->batch * p / j->parts : 0,
                i1 = by_batch ? j->batch * (p + 1) / j->parts : j->batch;
  const int64_t n0 = by_batch ? 0 : j->n * p / j->parts,
                n1 = by_batch ? j->n : j->n * (p + 1) / j->parts;
  for (int64_t i = i0; i < i1 && n1 > n0; i++)
    sgemm_rows(j->trans_a, j->trans_b, j->m, n1 - n0, j->k, j->alpha, j->a + i * j->stride_a,
               j->lda, j->b + i * j->stride_b + (j->trans_b ? n0 * j->ldb : n0), j->ldb, j->beta,
               j->c + i * j->stride_c + n0, j->ldc);
}

/* Splits a job over the pool: threads pay from about 4M multiply-adds (LeNet-300-100's first
   layer is 14M); by batch where there are enough products, else by columns of 16 or more. */
static void run_sgemm(sgemm_job *job) {
  job->parts = 1;
  if (threads > 1 && job->batch * job->m * job->n * job->k >= (1 << 22))
    job->parts = job->batch >= threads
                     ? threads
                     : (int)(job->n / 16 < threads ? (job->n + 15) / 16 : threads);
  run_parts(sgemm_part, job, job->parts);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a,
          const float *b, float *c) {
  if (onednn_product(trans_a, trans_b, m, n, k, a, b, c)) return;
  sgemm_job job = packed_job(trans_a, trans_b, 1, m, n, k, a, b, c, 0, 0);
  run_sgemm(&job);
}

/*
 * sgemm(memory, transA, transB, batch, m, n, k, a, b, c, strideA, strideB): for each of
 * `batch` products, C[m×n] = op(A) · op(B) with row-major operands at byte offsets a, b, c
 * of `memory` (an ArrayBuffer), A and B advancing by strideA and strideB floats per product
 * (0 broadcasts one operand) and C by m·n.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  napi_value argv[ARGS];
  void *memory;
  size_t bytes;
  int64_t v[9];
  if (!read_args(env, info, "sgemm", ARGS, argv, &memory, &bytes, 3, v, 9)) return NULL;
  bool trans_a, trans_b;
  napi_get_value_bool(env, argv[1], &trans_a);
  napi_get_value_bool(env, argv[2], &trans_b);
  int64_t batch = v[0], m = v[1], n = v[2], k = v[3];
  int64_t a = v[4], b = v[5], c = v[6], stride_a = v[7], stride_b = v[8];
  int64_t last_a = a + 4 * ((batch - 1) * stride_a + m * k);
  int64_t last_b = b + 4 * ((batch - 1) * stride_b + k * n);
  int64_t last_c = c + 4 * batch * m * n;
  if (batch < 1 || m < 1 || n < 1 || k < 1 || a < 0 || b < 0 || c < 0 ||
      last_a > (int64_t)bytes || last_b > (int64_t)bytes || last_c > (int64_t)bytes)
    return fail(env, "sgemm: operands outside the memory");
  float *base = (float *)memory;
  if (batch == 1) {
    gemm(trans_a, trans_b, m, n, k, base + a / 4, base + b / 4, base + c / 4);
    return NULL;
  }
  sgemm_job job = packed_job(trans_a, trans_b, batch, m, n, k, base + a / 4, base + b / 4,
                             base + c / 4, stride_a, stride_b);
  run_sgemm(&job);
  return NULL;
}

typedef struct {
  int mode;
  int64_t b0, b1;
  const conv_geometry *g;
  float *X, *W, *Y;
  const float *bias;
  bool relu;
  int failed;
} conv_task;

/*
 * The convolution of images [b0, b1), as products of im2col rows in chunks of about 512 KB:
 * small enough that the rows im2col writes are still in cache (L2, else L3) when the product
 * reads them, and the input gradient's when they are scattered back. Measured on Conv-4's
 * convolutions at batch 60 (all three modes, two threads): 20% less CPU time than chunks of
 * 16 MB, with our own sgemm and with OpenBLAS alike (1 MB: the same; 128 KB: 15% more).
 */
#define IM2COL_FLOATS (1 << 17)
/* But never fewer rows than this: every chunk's product reads (and, for the filter gradient,
   rewrites) the whole filter, which for VGG's 512→512 layers is 9.4 MB against a chunk of 28
   rows; 256 rows make that traffic small beside the chunk's arithmetic. */
#define IM2COL_MIN_ROWS 256
static void conv_part(void *arg, int part) {
  conv_task *t = (conv_task *)arg + part;
  const conv_geometry *g = t->g;
  const int64_t h = g->h, wd = g->w, ci = g->ci, kh = g->kh, kw = g->kw, co = g->co,
                oh = g->oh, owd = g->ow, sh = g->sh, sw = g->sw, pt = g->pt, pl = g->pl;
  const int64_t k = kh * kw * ci, first = t->b0 * oh * owd, rows = (t->b1 - t->b0) * oh * owd;
  float *X = t->X, *W = t->W, *Y = t->Y;
  int64_t chunk = IM2COL_FLOATS / k;
  if (chunk < IM2COL_MIN_ROWS) chunk = IM2COL_MIN_ROWS;
  if (chunk > rows) chunk = rows;
  float *cols = malloc(sizeof(float) * chunk * k);
  if (!cols) {
    t->failed = 1;
    return;
  }
  if (t->mode == CONV_INPUT_GRAD)
    memset(X + t->b0 * h * wd * ci, 0, sizeof(float) * (t->b1 - t->b0) * h * wd * ci);
  for (int64_t r0 = first; r0 < first + rows; r0 += chunk) {
    int64_t count = first + rows - r0 < chunk ? first + rows - r0 : chunk;
    if (t->mode == CONV_INPUT_GRAD)
      sgemm_rows(false, true, count, k, co, 1.0f, Y + r0 * co, co, W, co, 0.0f, cols, k);
    for (int64_t r = 0; r < count; r++) {
      int64_t idx = r0 + r, b = idx / (oh * owd), rem = idx % (oh * owd);
      int64_t y0 = (rem / owd) * sh - pt, x0 = (rem % owd) * sw - pl;
      float *col = cols + r * k;
      for (int64_t a = 0; a < kh; a++)
        for (int64_t c = 0; c < kw; c++) {
          int64_t iy = y0 + a, ix = x0 + c;
          float *cell = col + (a * kw + c) * ci;
          int inside = iy >= 0 && iy < h && ix >= 0 && ix < wd;
          float *pixel = X + ((b * h + iy) * wd + ix) * ci;
          if (t->mode == CONV_INPUT_GRAD) {
            if (inside)
              for (int64_t q = 0; q < ci; q++) pixel[q] += cell[q];
          } else if (inside) {
            memcpy(cell, pixel, sizeof(float) * ci);
          } else {
            memset(cell, 0, sizeof(float) * ci);
          }
        }
    }
    if (t->mode == CONV_FORWARD) {
      sgemm_rows(false, false, count, co, k, 1.0f, cols, k, W, co, 0.0f, Y + r0 * co, co);
      if (t->bias)
        for (int64_t r = 0; r < count; r++)
          for (int64_t q = 0; q < co; q++) Y[(r0 + r) * co + q] += t->bias[q];
      if (t->relu)
        for (int64_t i = r0 * co; i < (r0 + count) * co; i++)
          Y[i] = Y[i] < 0 ? 0 : Y[i]; /* NaN stays */
    } else if (t->mode == CONV_FILTER_GRAD)
      sgemm_rows(true, false, k, co, count, 1.0f, cols, k, Y + r0 * co, co,
                 r0 == first ? 0.0f : 1.0f, W, co);
  }
  free(cols);
}

/*
 * im2col + sgemm: with several threads each part takes a range of images (own output rows; for
 * the filter gradient its own partial sum, added at the end); sgemm_rows (the BLAS or our own)
 * runs single-threaded inside each part. The forward pass and the input gradient have up to
 * PARTS_PER_THREAD parts a thread where each still holds IM2COL_MIN_ROWS rows; the filter
 * gradient one a thread (each part's partial sum is a whole filter).
 */
static bool im2col_conv(int mode, const conv_geometry *g, float *x, float *w, float *y,
                        const float *bias, bool relu) {
  const int64_t k = g->kh * g->kw * g->ci, n = g->n, co = g->co;
  int parts = threads < n ? threads : (int)n;
  if (mode != CONV_FILTER_GRAD && threads > 1) {
    const int64_t finer = n * g->oh * g->ow / IM2COL_MIN_ROWS,
                  most = n < parts_per_threads() ? n : parts_per_threads();
    if (finer > parts) parts = (int)(finer < most ? finer : most);
  }
  conv_task tasks[64];
  float *partials = NULL;
  if (mode == CONV_FILTER_GRAD && parts > 1) {
    partials = malloc(sizeof(float) * (parts - 1) * k * co);
    if (!partials) parts = 1;
  }
  for (int i = 0; i < parts; i++) {
    conv_task task = {.mode = mode, .b0 = n * i / parts, .b1 = n * (i + 1) / parts, .g = g,
                      .X = x, .W = w, .Y = y, .bias = mode == CONV_FORWARD ? bias : NULL,
                      .relu = mode == CONV_FORWARD && relu};
    if (mode == CONV_FILTER_GRAD && i > 0) task.W = partials + (i - 1) * k * co;
    tasks[i] = task;
  }
  run_parts(conv_part, tasks, parts);
  int failed = 0;
  for (int i = 0; i < parts; i++) failed |= tasks[i].failed;
  if (partials) {
    for (int i = 1; i < parts; i++)
      for (int64_t j = 0; j < k * co; j++) w[j] += partials[(i - 1) * k * co + j];
    free(partials);
  }
  return !failed;
}

bool run_conv(int mode, const conv_geometry *g, float *x, float *w, float *y, const float *bias,
              bool relu) {
  return onednn_conv(mode, g, x, w, y, bias, relu) || im2col_conv(mode, g, x, w, y, bias, relu);
}

#define CONV_ARGS 22

/*
 * conv(memory, mode, x, w, y, n, h, wd, ci, kh, kw, co, oh, ow, sh, sw, pt, pl, pb, pr, bias,
 * relu): a 2-D convolution in NHWC with filter [kh, kw, ci, co] (dilation 1; padding top,
 * left, bottom, right). mode 0: y = conv(x, w) (+ bias[co] unless its offset is -1, then
 * max(·, 0) when relu is true); mode 1: w =
 * the filter gradient from x and y = dy; mode 2: x = the input gradient from y = dy and w.
 * Offsets x, w, y are bytes in `memory`.
 */
static napi_value conv(napi_env env, napi_callback_info info) {
  napi_value argv[CONV_ARGS];
  void *memory;
  size_t bytes;
  int64_t v[20];
  if (!read_args(env, info, "conv", CONV_ARGS, argv, &memory, &bytes, 1, v, 20)) return NULL;
  bool relu;
  if (napi_get_value_bool(env, argv[21], &relu) != napi_ok)
    return fail(env, "conv: relu must be true or false");
  int64_t mode = v[0], ox = v[1], ow_ = v[2], oy = v[3], ob = v[19];
  conv_geometry g = {.n = v[4], .h = v[5], .w = v[6], .ci = v[7], .kh = v[8], .kw = v[9],
                     .co = v[10], .oh = v[11], .ow = v[12], .sh = v[13], .sw = v[14],
                     .pt = v[15], .pl = v[16], .pb = v[17], .pr = v[18]};
  int64_t k = g.kh * g.kw * g.ci, rows = g.n * g.oh * g.ow;
  if (mode < 0 || mode > 2 || g.n < 1 || k < 1 || g.co < 1 || rows < 1 || ox < 0 || ow_ < 0 ||
      oy < 0 || ox + 4 * g.n * g.h * g.w * g.ci > (int64_t)bytes ||
      ow_ + 4 * k * g.co > (int64_t)bytes || oy + 4 * rows * g.co > (int64_t)bytes || ob < -1 ||
      ob + 4 * g.co > (int64_t)bytes)
    return fail(env, "conv: operands outside the memory");
  float *base = (float *)memory;
  bool done = run_conv((int)mode, &g, base + ox / 4, base + ow_ / 4, base + oy / 4,
                       mode == CONV_FORWARD && ob >= 0 ? base + ob / 4 : NULL, relu);
  return done ? NULL : fail(env, "conv: out of memory");
}

/* setThreads(count): threads for the products, convolutions and updates (1 to 64). */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, argv[0], &count) != napi_ok || count < 1 || count > 64)
    return fail(env, "setThreads: expected a count from 1 to 64");
  threads = count;
  return NULL;
}

#define SUM_ARGS 5

/*
 * sumRows(memory, rows, cols, x, out): out[j] = Σ_i x[i·cols + j], a reduction over the
 * leading axes (the bias gradients), accumulated in double. Offsets are bytes in `memory`.
 */
static napi_value sum_rows(napi_env env, napi_callback_info info) {
  napi_value argv[SUM_ARGS];
  void *memory;
  size_t bytes;
  int64_t v[4];
  if (!read_args(env, info, "sumRows", SUM_ARGS, argv, &memory, &bytes, 1, v, 4)) return NULL;
  int64_t rows = v[0], cols = v[1], ox = v[2], oo = v[3];
  if (rows < 1 || cols < 1 || ox < 0 || oo < 0 || ox + 4 * rows * cols > (int64_t)bytes ||
      oo + 4 * cols > (int64_t)bytes)
    return fail(env, "sumRows: operands outside the memory");
  const float *x = (const float *)memory + ox / 4;
  float *out = (float *)memory + oo / 4;
  double *acc = calloc(cols, sizeof(double));
  if (!acc) return fail(env, "sumRows: out of memory");
  for (int64_t i = 0; i < rows; i++) {
    const float *row = x + i * cols;
    for (int64_t j = 0; j < cols; j++) acc[j] += row[j];
  }
  for (int64_t j = 0; j < cols; j++) out[j] = (float)acc[j];
  free(acc);
  return NULL;
}

#define POOL_ARGS 16

/*
 * maxPoolGrad(memory, x, dy, dx, n, h, w, c, fh, fw, oh, ow, sh, sw, pt, pl): the gradient of
 * a max pooling in NHWC (dilation 1): each output's gradient goes to the first largest input
 * of its window, as in tfjs's reference kernels. Offsets are bytes in `memory`.
 */
static napi_value max_pool_grad(napi_env env, napi_callback_info info) {
  napi_value argv[POOL_ARGS];
  void *memory;
  size_t bytes;
  int64_t v[15];
  if (!read_args(env, info, "maxPoolGrad", POOL_ARGS, argv, &memory, &bytes, 1, v, 15))
    return NULL;
  int64_t ox = v[0], ody = v[1], odx = v[2], n = v[3], h = v[4], w = v[5], c = v[6], fh = v[7],
          fw = v[8], oh = v[9], ow = v[10], sh = v[11], sw = v[12], pt = v[13], pl = v[14];
  if (n < 1 || h < 1 || w < 1 || c < 1 || oh < 1 || ow < 1 || ox < 0 || ody < 0 || odx < 0 ||
      ox + 4 * n * h * w * c > (int64_t)bytes || odx + 4 * n * h * w * c > (int64_t)bytes ||
      ody + 4 * n * oh * ow * c > (int64_t)bytes)
    return fail(env, "maxPoolGrad: operands outside the memory");
  const float *x = (const float *)memory + ox / 4, *dy = (const float *)memory + ody / 4;
  float *dx = (float *)memory + odx / 4;
  float *best = malloc(sizeof(float) * c);
  int64_t *where = malloc(sizeof(int64_t) * c);
  if (!best || !where) {
    free(best);
    free(where);
    return fail(env, "maxPoolGrad: out of memory");
  }
  memset(dx, 0, sizeof(float) * n * h * w * c);
  for (int64_t b = 0; b < n; b++)
    for (int64_t py = 0; py < oh; py++)
      for (int64_t px = 0; px < ow; px++) {
        for (int64_t q = 0; q < c; q++) {
          best[q] = -INFINITY;
          where[q] = -1;
        }
        for (int64_t a = 0; a < fh; a++) {
          int64_t iy = py * sh - pt + a;
          if (iy < 0 || iy >= h) continue;
          for (int64_t e = 0; e < fw; e++) {
            int64_t ix = px * sw - pl + e;
            if (ix < 0 || ix >= w) continue;
            int64_t at = ((b * h + iy) * w + ix) * c;
            for (int64_t q = 0; q < c; q++)
              if (x[at + q] > best[q]) {
                best[q] = x[at + q];
                where[q] = at + q;
              }
          }
        }
        const float *g = dy + ((b * oh + py) * ow + px) * c;
        for (int64_t q = 0; q < c; q++)
          if (where[q] >= 0) dx[where[q]] += g[q];
      }
  free(best);
  free(where);
  return NULL;
}

#define ADAM_ARGS 16

/* The update's loop. `restrict` (no two arrays overlap: the outputs are fresh buffers) lets
   the compiler vectorise it, which it does not do through possibly overlapping pointers; the
   loop-invariant mask test is hoisted out. */
VECTOR_CLONES static void adam_update(int64_t count, const float *restrict w,
                                      const float *restrict g, const float *restrict m,
                                      const float *restrict v, float *restrict w2,
                                      float *restrict m2, float *restrict v2,
                                      const float *restrict mask, adam_settings a) {
  for (int64_t i = 0; i < count; i++)
    adam_element(w[i], g[i], m[i], v[i], mask ? mask[i] : 1.0f, &a, &w2[i], &m2[i], &v2[i]);
}

typedef struct {
  int64_t count;
  const float *w, *g, *m, *v;
  float *w2, *m2, *v2;
  const float *mask;
  adam_settings settings;
  int parts;
} adam_job;

static void adam_part(void *arg, int p) {
  const adam_job *j = arg;
  const int64_t i0 = j->count * p / j->parts, i1 = j->count * (p + 1) / j->parts;
  adam_update(i1 - i0, j->w + i0, j->g + i0, j->m + i0, j->v + i0, j->w2 + i0, j->m2 + i0,
              j->v2 + i0, j->mask ? j->mask + i0 : NULL, j->settings);
}

adam_settings adam_settings_for(double lr, double b1, double b2, double eps, double wd,
                                double step) {
  return (adam_settings){
      .b1 = (float)b1,
      .b2 = (float)b2,
      .eps = (float)eps,
      .wd = (float)wd,
      .rate = (float)(lr / (1 - pow(b1, step))),
      .inv_sqrt_bc2 = (float)(1 / sqrt(1 - pow(b2, step))),
  };
}

void adam_threaded(int64_t count, const float *w, const float *g, const float *m,
                   const float *v, float *w2, float *m2, float *v2, const float *mask,
                   adam_settings settings) {
  adam_job job = {count, w, g, m, v, w2, m2, v2, mask, settings, 1};
  /* Threads pay from about 64K weights (LeNet-300-100's first layer has 235K). */
  if (threads > 1 && count >= (1 << 16)) job.parts = threads;
  run_parts(adam_part, &job, job.parts);
}

/*
 * adam(memory, count, w, g, m, v, w2, m2, v2, mask, lr, beta1, beta2, epsilon, weightDecay,
 * step): Adam's update of one parameter (PyTorch's formulas, coupled L2 weight decay) in one
 * pass, writing the new weights and moments to w2, m2, v2. Where the 0/1 mask (offset -1:
 * none) is 0 the weight and both moments become 0, which is what masking the gradient before
 * the update and the weight after it gives, without the two extra passes. Offsets are bytes
 * in `memory`.
 */
static napi_value adam(napi_env env, napi_callback_info info) {
  napi_value argv[ADAM_ARGS];
  void *memory;
  size_t bytes;
  int64_t v[9];
  if (!read_args(env, info, "adam", ADAM_ARGS, argv, &memory, &bytes, 1, v, 9)) return NULL;
  double s[6];
  for (int i = 0; i < 6; i++)
    if (napi_get_value_double(env, argv[10 + i], &s[i]) != napi_ok)
      return fail(env, "adam: settings must be numbers");
  int64_t count = v[0];
  for (int i = 1; i < 9; i++)
    if (count < 0 || (v[i] < 0 && !(i == 8 && v[i] == -1)) || v[i] + 4 * count > (int64_t)bytes)
      return fail(env, "adam: operands outside the memory");
  float *base = (float *)memory;
  adam_threaded(count, base + v[1] / 4, base + v[2] / 4, base + v[3] / 4, base + v[4] / 4,
                base + v[5] / 4, base + v[6] / 4, base + v[7] / 4,
                v[8] < 0 ? NULL : base + v[8] / 4,
                adam_settings_for(s[0], s[1], s[2], s[3], s[4], s[5]));
  return NULL;
}

#define GEMM_ARGS 14

/*
 * gemm(memory, transA, transB, alpha, beta, m, n, k, a, lda, b, ldb, c, ldc): one product
 * C = alpha·op(A)·op(B) + beta·C with row-major operands at byte offsets a, b, c of `memory`
 * and leading dimensions lda, ldb, ldc in floats (cblas_sgemm's meaning), on the BLAS or our
 * own kernels as sgemm chooses, split over the threads by columns of C when large (the tests
 * check every kernel's edge cases through it; never oneDNN).
 */
static napi_value gemm_strided(napi_env env, napi_callback_info info) {
  napi_value argv[GEMM_ARGS];
  void *memory;
  size_t bytes;
  int64_t v[9];
  double alpha, beta;
  bool trans_a, trans_b;
  if (!read_args(env, info, "gemm", GEMM_ARGS, argv, &memory, &bytes, 5, v, 9)) return NULL;
  if (napi_get_value_bool(env, argv[1], &trans_a) != napi_ok ||
      napi_get_value_bool(env, argv[2], &trans_b) != napi_ok ||
      napi_get_value_double(env, argv[3], &alpha) != napi_ok ||
      napi_get_value_double(env, argv[4], &beta) != napi_ok)
    return fail(env, "gemm: expected transposes as booleans, alpha and beta as numbers");
  const int64_t m = v[0], n = v[1], k = v[2], a = v[3], lda = v[4], b = v[5], ldb = v[6],
                c = v[7], ldc = v[8];
  /* op(A) is m×k: stored as m rows of k (k rows of m when transposed), rows lda apart */
  const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  if (m < 1 || n < 1 || k < 1 || lda < a_cols || ldb < b_cols || ldc < n || a < 0 || b < 0 ||
      c < 0 || a % 4 || b % 4 || c % 4 ||
      a + 4 * ((a_rows - 1) * lda + a_cols) > (int64_t)bytes ||
      b + 4 * ((b_rows - 1) * ldb + b_cols) > (int64_t)bytes ||
      c + 4 * ((m - 1) * ldc + n) > (int64_t)bytes)
    return fail(env, "gemm: operands outside the memory");
  float *base = (float *)memory;
  sgemm_job job = {.trans_a = trans_a, .trans_b = trans_b, .batch = 1, .m = m, .n = n, .k = k,
                   .a = base + a / 4, .b = base + b / 4, .c = base + c / 4, .lda = lda,
                   .ldb = ldb, .ldc = ldc, .alpha = (float)alpha, .beta = (float)beta};
  run_sgemm(&job);
  return NULL;
}

/* gemmKernels(): what the products run on where oneDNN does not, in words. */
static napi_value gemm_kernels(napi_env env, napi_callback_info info) {
  (void)info;
  char text[96];
  if (own_gemm)
    snprintf(text, sizeof text, "TicketLab's own sgemm (%s)", sgemm_own_isa());
  else
    snprintf(text, sizeof text, "the system BLAS");
  napi_value out;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out);
  return out;
}

/*
 * useOwnGemm(on): products on our own kernels (true) or on the BLAS the addon was built with
 * (false, the default there; tests and benchmarks compare both); returns whether they now run
 * on our own, which a build without a BLAS always does.
 */
static napi_value use_own_gemm(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  bool on;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_bool(env, argv[0], &on) != napi_ok)
    return fail(env, "useOwnGemm: expected true or false");
#ifdef TICKETLAB_BLAS
  own_gemm = on;
#endif
  napi_get_boolean(env, own_gemm, &out);
  return out;
}

/* oneDnn(): "oneDNN x.y.z" where products and convolutions run on it, else null. */
static napi_value one_dnn(napi_env env, napi_callback_info info) {
  (void)info;
  const char *name = onednn_name();
  napi_value out;
  if (name)
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &out);
  else
    napi_get_null(env, &out);
  return out;
}

/* useOneDnn(on): products and convolutions on oneDNN where it runs (default), or on BLAS. */
static napi_value use_onednn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_bool(env, argv[0], &on) != napi_ok)
    return fail(env, "useOneDnn: expected true or false");
  onednn_enable(on);
  return NULL;
}

void export_function(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  napi_set_named_property(env, exports, name, value);
}

NAPI_MODULE_INIT() {
  /* One thread unless OPENBLAS_NUM_THREADS says otherwise: the products here are small, and
     OpenBLAS's idle threads spin on the cores the WebAssembly kernels need (measured: a
     Conv-4 step 1.49 s with one thread, 1.75 s with two; BENCHMARKS.md). */
#ifdef TICKETLAB_BLAS
  if (openblas_set_num_threads && !getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
#endif
  export_function(env, exports, "sgemm", sgemm);
  export_function(env, exports, "conv", conv);
  export_function(env, exports, "adam", adam);
  export_function(env, exports, "setThreads", set_threads);
  export_function(env, exports, "sumRows", sum_rows);
  export_function(env, exports, "maxPoolGrad", max_pool_grad);
  export_function(env, exports, "gemm", gemm_strided);
  export_function(env, exports, "gemmKernels", gemm_kernels);
  export_function(env, exports, "useOwnGemm", use_own_gemm);
  export_function(env, exports, "oneDnn", one_dnn);
  export_function(env, exports, "useOneDnn", use_onednn);
  register_trainer(env, exports);
  napi_value version;
  napi_create_uint32(env, TICKETLAB_ADDON_INTERFACE, &version);
  napi_set_named_property(env, exports, "interfaceVersion", version);
  return exports;
}
