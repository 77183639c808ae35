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

NAPI_MODULE_INIT() {
  /* One thread unless OPENBLAS_NUM_THREADS says otherwise: the products here are small, and
     OpenBLAS's idle threads spin on the cores the WebAssembly kernels need (measured: a
     Conv-4 step 1.49 s with one thread, 1.75 s with two; BENCHMARKS.md). */
  if (openblas_set_num_threads && !getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
  napi_value fn;
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &fn);
  napi_set_named_property(env, exports, "sgemm", fn);
  return exports;
}
