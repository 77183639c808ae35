/*
 * TicketLab's optional native kernels: single-precision matrix products by the system BLAS
 * (OpenBLAS through libblas.so.3 on Linux, Accelerate on macOS), computed in place on the
 * memory of tfjs's WebAssembly backend. Built by scripts/build-native.mjs when a compiler
 * and a BLAS are present; without it the engine uses the WebAssembly kernels.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

/* CBLAS, declared here so that only the shared library is needed, not its headers. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
extern void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c,
                        int ldc);

/* OpenBLAS only (weak: absent from other BLAS libraries). */
extern void openblas_set_num_threads(int threads) __attribute__((weak));

#define ARGS 12

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

/*
 * sgemm(memory, transA, transB, batch, m, n, k, a, b, c, strideA, strideB): for each of
 * `batch` products, C[m×n] = op(A) · op(B) with row-major operands at byte offsets a, b, c
 * of `memory` (an ArrayBuffer), A and B advancing by strideA and strideB floats per product
 * (0 broadcasts one operand) and C by m·n.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = ARGS;
  napi_value argv[ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != ARGS)
    return fail(env, "sgemm: expected 12 arguments");
  void *memory;
  size_t bytes;
  if (napi_get_arraybuffer_info(env, argv[0], &memory, &bytes) != napi_ok)
    return fail(env, "sgemm: the first argument must be an ArrayBuffer");
  bool trans_a, trans_b;
  napi_get_value_bool(env, argv[1], &trans_a);
  napi_get_value_bool(env, argv[2], &trans_b);
  int64_t v[9];
  for (int i = 0; i < 9; i++)
    if (napi_get_value_int64(env, argv[3 + i], &v[i]) != napi_ok)
      return fail(env, "sgemm: sizes and offsets must be numbers");
  int64_t batch = v[0], m = v[1], n = v[2], k = v[3];
  int64_t a = v[4], b = v[5], c = v[6], stride_a = v[7], stride_b = v[8];
  int64_t last_a = a + 4 * ((batch - 1) * stride_a + m * k);
  int64_t last_b = b + 4 * ((batch - 1) * stride_b + k * n);
  int64_t last_c = c + 4 * batch * m * n;
  if (batch < 1 || m < 1 || n < 1 || k < 1 || a < 0 || b < 0 || c < 0 ||
      last_a > (int64_t)bytes || last_b > (int64_t)bytes || last_c > (int64_t)bytes)
    return fail(env, "sgemm: operands outside the memory");
  float *base = (float *)memory;
  for (int64_t i = 0; i < batch; i++) {
    const float *pa = base + a / 4 + i * stride_a;
    const float *pb = base + b / 4 + i * stride_b;
    float *pc = base + c / 4 + i * m * n;
    cblas_sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, (int)m, (int)n,
                (int)k, 1.0f, pa, trans_a ? (int)m : (int)k, pb, trans_b ? (int)k : (int)n, 0.0f,
                pc, (int)n);
  }
  return NULL;
}

#define CONV_ARGS 18

/*
 * conv(memory, mode, x, w, y, n, h, wd, ci, kh, kw, co, oh, ow, sh, sw, pt, pl): a 2-D
 * convolution in NHWC with filter [kh, kw, ci, co] (dilation 1) as products of im2col rows,
 * in chunks of rows so the column buffer stays small. mode 0: y = conv(x, w); mode 1: w =
 * the filter gradient from x and y = dy; mode 2: x = the input gradient from y = dy and w.
 * Offsets x, w, y are bytes in `memory`.
 */
static napi_value conv(napi_env env, napi_callback_info info) {
  size_t argc = CONV_ARGS;
  napi_value argv[CONV_ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != CONV_ARGS)
    return fail(env, "conv: expected 18 arguments");
  void *memory;
  size_t bytes;
  if (napi_get_arraybuffer_info(env, argv[0], &memory, &bytes) != napi_ok)
    return fail(env, "conv: the first argument must be an ArrayBuffer");
  int64_t v[17];
  for (int i = 0; i < 17; i++)
    if (napi_get_value_int64(env, argv[1 + i], &v[i]) != napi_ok)
      return fail(env, "conv: sizes and offsets must be numbers");
  int64_t mode = v[0], ox = v[1], ow_ = v[2], oy = v[3], n = v[4], h = v[5], wd = v[6], ci = v[7],
          kh = v[8], kw = v[9], co = v[10], oh = v[11], owd = v[12], sh = v[13], sw = v[14],
          pt = v[15], pl = v[16];
  int64_t k = kh * kw * ci, rows = n * oh * owd;
  if (mode < 0 || mode > 2 || n < 1 || k < 1 || co < 1 || rows < 1 || ox < 0 || ow_ < 0 ||
      oy < 0 || ox + 4 * n * h * wd * ci > (int64_t)bytes || ow_ + 4 * k * co > (int64_t)bytes ||
      oy + 4 * rows * co > (int64_t)bytes)
    return fail(env, "conv: operands outside the memory");
  float *base = (float *)memory;
  float *X = base + ox / 4, *W = base + ow_ / 4, *Y = base + oy / 4;
  int64_t chunk = (1 << 22) / k;
  if (chunk < 1) chunk = 1;
  if (chunk > rows) chunk = rows;
  float *cols = malloc(sizeof(float) * chunk * k);
  if (!cols) return fail(env, "conv: out of memory");
  if (mode == 2) memset(X, 0, sizeof(float) * n * h * wd * ci);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    int64_t count = rows - r0 < chunk ? rows - r0 : chunk;
    if (mode == 2)
      cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, (int)count, (int)k, (int)co, 1.0f, Y + r0 * co,
                  (int)co, W, (int)co, 0.0f, cols, (int)k);
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
          if (mode == 2) {
            if (inside)
              for (int64_t q = 0; q < ci; q++) pixel[q] += cell[q];
          } else if (inside) {
            memcpy(cell, pixel, sizeof(float) * ci);
          } else {
            memset(cell, 0, sizeof(float) * ci);
          }
        }
    }
    if (mode == 0)
      cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)count, (int)co, (int)k, 1.0f, cols,
                  (int)k, W, (int)co, 0.0f, Y + r0 * co, (int)co);
    else if (mode == 1)
      cblas_sgemm(ROW_MAJOR, TRANS, NO_TRANS, (int)k, (int)co, (int)count, 1.0f, cols, (int)k,
                  Y + r0 * co, (int)co, r0 == 0 ? 0.0f : 1.0f, W, (int)co);
  }
  free(cols);
  return NULL;
}

#define ADAM_ARGS 15

/*
 * adam(memory, count, w, g, m, v, w2, m2, v2, lr, beta1, beta2, epsilon, weightDecay, step):
 * Adam's update of one parameter (PyTorch's formulas, coupled L2 weight decay) in one pass,
 * writing the new weights and moments to w2, m2, v2. Offsets are bytes in `memory`.
 */
static napi_value adam(napi_env env, napi_callback_info info) {
  size_t argc = ADAM_ARGS;
  napi_value argv[ADAM_ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != ADAM_ARGS)
    return fail(env, "adam: expected 15 arguments");
  void *memory;
  size_t bytes;
  if (napi_get_arraybuffer_info(env, argv[0], &memory, &bytes) != napi_ok)
    return fail(env, "adam: the first argument must be an ArrayBuffer");
  int64_t v[8];
  for (int i = 0; i < 8; i++)
    if (napi_get_value_int64(env, argv[1 + i], &v[i]) != napi_ok)
      return fail(env, "adam: sizes and offsets must be numbers");
  double s[6];
  for (int i = 0; i < 6; i++)
    if (napi_get_value_double(env, argv[9 + i], &s[i]) != napi_ok)
      return fail(env, "adam: settings must be numbers");
  int64_t count = v[0];
  for (int i = 1; i < 8; i++)
    if (count < 0 || v[i] < 0 || v[i] + 4 * count > (int64_t)bytes)
      return fail(env, "adam: operands outside the memory");
  float *base = (float *)memory;
  const float *w = base + v[1] / 4, *g = base + v[2] / 4, *m = base + v[3] / 4,
              *vv = base + v[4] / 4;
  float *w2 = base + v[5] / 4, *m2 = base + v[6] / 4, *v2 = base + v[7] / 4;
  const float lr = (float)s[0], b1 = (float)s[1], b2 = (float)s[2], eps = (float)s[3],
              wd = (float)s[4];
  const double step = s[5];
  const float rate = (float)(lr / (1 - pow(b1, step)));
  const float inv_sqrt_bc2 = (float)(1 / sqrt(1 - pow(b2, step)));
  for (int64_t i = 0; i < count; i++) {
    const float grad = g[i] + wd * w[i];
    const float mi = b1 * m[i] + (1 - b1) * grad;
    const float vi = b2 * vv[i] + (1 - b2) * grad * grad;
    m2[i] = mi;
    v2[i] = vi;
    w2[i] = w[i] - rate * (mi / (sqrtf(vi) * inv_sqrt_bc2 + eps));
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  /* One thread unless OPENBLAS_NUM_THREADS says otherwise: the products here are small, and
     OpenBLAS's idle threads spin on the cores the WebAssembly kernels need (measured: a
     Conv-4 step 1.49 s with one thread, 1.75 s with two; BENCHMARKS.md). */
  if (openblas_set_num_threads && !getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
  napi_value fn;
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &fn);
  napi_set_named_property(env, exports, "sgemm", fn);
  napi_create_function(env, "conv", NAPI_AUTO_LENGTH, conv, NULL, &fn);
  napi_set_named_property(env, exports, "conv", fn);
  napi_create_function(env, "adam", NAPI_AUTO_LENGTH, adam, NULL, &fn);
  napi_set_named_property(env, exports, "adam", fn);
  return exports;
}
