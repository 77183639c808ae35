/*
 * Convolutions and single matrix products on oneDNN (Intel's deep-learning kernels, the
 * library PyTorch's CPU convolutions run on; its AVX-512 products beat OpenBLAS's by 1.5–1.9×
 * on LeNet-300-100's shapes at two threads, BENCHMARKS.md), where scripts/build-native.mjs
 * found its version-2 headers (Debian/Ubuntu: libdnnl-dev) and libdnnl.so.2 loads at run
 * time: the library is opened with dlopen rather than linked, so that an addon built where
 * oneDNN is installed (a packaged app, say) still loads where it is not, and uses BLAS and
 * im2col there. Activations stay NHWC and filters HWIO, as tfjs keeps them; oneDNN's own
 * filter layout (blocked for its AVX-512 and AVX2 kernels) is reordered to and from on every
 * call, which costs little beside the convolution.
 */
#include <stddef.h>
#include "kernels.h"

#ifdef TICKETLAB_DNNL
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The oneDNN functions used, looked up in the library at first use. */
#define ONEDNN_FUNCTIONS(X)                                                                    \
  X(dnnl_version) X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_wait)          \
  X(dnnl_memory_desc_init_by_tag) X(dnnl_memory_desc_equal) X(dnnl_memory_desc_get_size)    \
  X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_memory_set_data_handle)               \
  X(dnnl_convolution_forward_desc_init) X(dnnl_convolution_backward_data_desc_init)         \
  X(dnnl_convolution_backward_weights_desc_init) X(dnnl_reorder_primitive_desc_create)      \
  X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query_md) \
  X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute)              \
  X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy)                               \
  X(dnnl_primitive_attr_set_post_ops) X(dnnl_post_ops_create) X(dnnl_post_ops_destroy)      \
  X(dnnl_post_ops_append_eltwise) X(dnnl_matmul_desc_init)
#define DECLARE(name) static __typeof__(name) *loaded_##name;
ONEDNN_FUNCTIONS(DECLARE)
#define dnnl_version (*loaded_dnnl_version)
#define dnnl_engine_create (*loaded_dnnl_engine_create)
#define dnnl_stream_create (*loaded_dnnl_stream_create)
#define dnnl_stream_wait (*loaded_dnnl_stream_wait)
#define dnnl_memory_desc_init_by_tag (*loaded_dnnl_memory_desc_init_by_tag)
#define dnnl_memory_desc_equal (*loaded_dnnl_memory_desc_equal)
#define dnnl_memory_desc_get_size (*loaded_dnnl_memory_desc_get_size)
#define dnnl_memory_create (*loaded_dnnl_memory_create)
#define dnnl_memory_destroy (*loaded_dnnl_memory_destroy)
#define dnnl_memory_set_data_handle (*loaded_dnnl_memory_set_data_handle)
#define dnnl_convolution_forward_desc_init (*loaded_dnnl_convolution_forward_desc_init)
#define dnnl_convolution_backward_data_desc_init (*loaded_dnnl_convolution_backward_data_desc_init)
#define dnnl_convolution_backward_weights_desc_init \
  (*loaded_dnnl_convolution_backward_weights_desc_init)
#define dnnl_reorder_primitive_desc_create (*loaded_dnnl_reorder_primitive_desc_create)
#define dnnl_primitive_desc_create (*loaded_dnnl_primitive_desc_create)
#define dnnl_primitive_desc_destroy (*loaded_dnnl_primitive_desc_destroy)
#define dnnl_primitive_desc_query_md (*loaded_dnnl_primitive_desc_query_md)
#define dnnl_primitive_create (*loaded_dnnl_primitive_create)
#define dnnl_primitive_destroy (*loaded_dnnl_primitive_destroy)
#define dnnl_primitive_execute (*loaded_dnnl_primitive_execute)
#define dnnl_primitive_attr_create (*loaded_dnnl_primitive_attr_create)
#define dnnl_primitive_attr_destroy (*loaded_dnnl_primitive_attr_destroy)
#define dnnl_primitive_attr_set_post_ops (*loaded_dnnl_primitive_attr_set_post_ops)
#define dnnl_post_ops_create (*loaded_dnnl_post_ops_create)
#define dnnl_post_ops_destroy (*loaded_dnnl_post_ops_destroy)
#define dnnl_post_ops_append_eltwise (*loaded_dnnl_post_ops_append_eltwise)
#define dnnl_matmul_desc_init (*loaded_dnnl_matmul_desc_init)

/* The OpenMP runtime oneDNN threads with (libgomp on Debian), found through the library's
   own dependencies: its thread count follows setThreads, and the pool's parallel passes run
   on its threads too (GOMP_parallel is what `#pragma omp parallel` compiles to), so that two
   sets of threads do not take turns on the same cores: OpenMP's idle threads keep polling
   for a while after oneDNN returns, and measured, they slowed the pool's Adam update that
   followed LeNet-300-100's products 3.5-fold. */
static void (*omp_set_num_threads)(int count);
/* The instruction set oneDNN's kernels use here (optional: read where the library has it). */
static dnnl_cpu_isa_t (*effective_cpu_isa)(void);
static void (*gomp_parallel)(void (*fn)(void *), void *data, unsigned threads, unsigned flags);

static bool enabled = true;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int engine_state; /* 0 not tried, 1 ready, -1 failed */
static int omp_threads;

/* One convolution's primitive for one mode and geometry, with its filter reorder. */
typedef struct {
  bool used, usable;
  unsigned long stamp;
  int mode, threads;
  bool bias, relu;
  conv_geometry g;
  dnnl_primitive_t conv, reorder;
  /* user layouts (data set per call) and oneDNN's filter layout (own buffer) */
  dnnl_memory_t src, dst, user_w, w, b;
  void *w_buffer;
} plan;

#define PLANS 48
static plan plans[PLANS];
static unsigned long clock_;

/* Frees a plan's oneDNN objects; its key (mode, geometry, threads) stays. */
static void release(plan *p) {
  if (p->conv) dnnl_primitive_destroy(p->conv);
  if (p->reorder) dnnl_primitive_destroy(p->reorder);
  dnnl_memory_t *ms[] = {&p->src, &p->dst, &p->user_w, &p->w, &p->b};
  for (int i = 0; i < 5; i++)
    if (*ms[i]) dnnl_memory_destroy(*ms[i]);
  free(p->w_buffer);
  p->conv = p->reorder = NULL;
  p->src = p->dst = p->user_w = p->w = p->b = NULL;
  p->w_buffer = NULL;
  p->usable = false;
}

#define OK(call)                          \
  do {                                    \
    if ((call) != dnnl_success) goto fail; \
  } while (0)

/* Builds the primitive for p->mode and p->g; leaves p->usable false where oneDNN refuses. */
static void build(plan *p) {
  const conv_geometry *g = &p->g;
  dnnl_memory_desc_t src, dst, user_w, any_w, bias;
  dnnl_dims_t src_dims = {g->n, g->ci, g->h, g->w}, dst_dims = {g->n, g->co, g->oh, g->ow},
              w_dims = {g->co, g->ci, g->kh, g->kw}, b_dims = {g->co}, strides = {g->sh, g->sw},
              pad_l = {g->pt, g->pl}, pad_r = {g->pb, g->pr};
  dnnl_convolution_desc_t desc;
  dnnl_primitive_desc_t fwd = NULL, pd = NULL, rpd = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  OK(dnnl_memory_desc_init_by_tag(&src, 4, src_dims, dnnl_f32, dnnl_nhwc));
  OK(dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, dnnl_nhwc));
  OK(dnnl_memory_desc_init_by_tag(&user_w, 4, w_dims, dnnl_f32, dnnl_hwio));
  OK(dnnl_memory_desc_init_by_tag(&any_w, 4, w_dims, dnnl_f32, dnnl_format_tag_any));
  OK(dnnl_memory_desc_init_by_tag(&bias, 1, b_dims, dnnl_f32, dnnl_x));
  /* The forward descriptor is also the backward ones' hint. */
  OK(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct,
                                        &src, &any_w, p->bias ? &bias : NULL, &dst, strides,
                                        pad_l, pad_r));
  if (p->relu) {
    OK(dnnl_primitive_attr_create(&attr));
    OK(dnnl_post_ops_create(&ops));
    OK(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
    OK(dnnl_primitive_attr_set_post_ops(attr, ops));
  }
  OK(dnnl_primitive_desc_create(&fwd, &desc, attr, engine, NULL));
  if (p->mode == CONV_FORWARD) {
    pd = fwd;
    fwd = NULL;
  } else if (p->mode == CONV_FILTER_GRAD) {
    OK(dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &src, &any_w,
                                                   NULL, &dst, strides, pad_l, pad_r));
    OK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, fwd));
  } else {
    OK(dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &src, &any_w,
                                                &dst, strides, pad_l, pad_r));
    OK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, fwd));
  }
  const dnnl_memory_desc_t *w = dnnl_primitive_desc_query_md(
      pd, p->mode == CONV_FILTER_GRAD ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  OK(dnnl_primitive_create(&p->conv, pd));
  OK(dnnl_memory_create(&p->src, &src, engine, DNNL_MEMORY_NONE));
  OK(dnnl_memory_create(&p->dst, &dst, engine, DNNL_MEMORY_NONE));
  OK(dnnl_memory_create(&p->user_w, &user_w, engine, DNNL_MEMORY_NONE));
  if (p->bias) OK(dnnl_memory_create(&p->b, &bias, engine, DNNL_MEMORY_NONE));
  if (!dnnl_memory_desc_equal(w, &user_w)) {
    p->w_buffer = aligned_alloc(64, (dnnl_memory_desc_get_size(w) + 63) / 64 * 64);
    if (!p->w_buffer) goto fail;
    OK(dnnl_memory_create(&p->w, w, engine, p->w_buffer));
    /* the filter gradient comes out in oneDNN's layout; the filter goes in in it */
    if (p->mode == CONV_FILTER_GRAD)
      OK(dnnl_reorder_primitive_desc_create(&rpd, w, engine, &user_w, engine, NULL));
    else
      OK(dnnl_reorder_primitive_desc_create(&rpd, &user_w, engine, w, engine, NULL));
    OK(dnnl_primitive_create(&p->reorder, rpd));
  }
  p->usable = true;
fail:
  if (ops) dnnl_post_ops_destroy(ops);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (fwd) dnnl_primitive_desc_destroy(fwd);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (rpd) dnnl_primitive_desc_destroy(rpd);
  /* the entry stays, as a record that oneDNN declines this one */
  if (!p->usable) release(p);
  p->used = true;
}

static plan *find(int mode, const conv_geometry *g, bool bias, bool relu) {
  plan *oldest = &plans[0];
  for (int i = 0; i < PLANS; i++) {
    plan *p = &plans[i];
    if (p->used && p->mode == mode && p->bias == bias && p->relu == relu &&
        p->threads == threads &&
        memcmp(&p->g, g, sizeof *g) == 0) {
      p->stamp = ++clock_;
      return p;
    }
    if (!p->used || p->stamp < oldest->stamp) oldest = p;
  }
  if (oldest->used) release(oldest);
  oldest->mode = mode;
  oldest->g = *g;
  oldest->bias = bias;
  oldest->relu = relu;
  oldest->threads = threads;
  oldest->stamp = ++clock_;
  build(oldest);
  return oldest;
}

/* Opens libdnnl.so.2 and finds every function used; false (for good) where it cannot. */
static bool load(void) {
  /* OpenMP's idle threads sleep rather than poll (libgomp reads this as it loads, below),
     unless the user chose: where other processes share the cores, a thread that polls holds
     a core its partner needs to reach the next barrier. Measured on ResNet-20's native step
     at two threads on a shared 2-core machine at load average 11: 4.9 s a step polling,
     0.81 s passive (DEVELOPERS.md, native kernels). */
  if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT"))
    setenv("OMP_WAIT_POLICY", "passive", 0);
  void *library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!library) return false;
#define FIND(name) loaded_##name = (__typeof__(loaded_##name))dlsym(library, #name);
  ONEDNN_FUNCTIONS(FIND)
#define MISSING(name) !loaded_##name ||
  omp_set_num_threads = (void (*)(int))dlsym(library, "omp_set_num_threads");
  gomp_parallel =
      (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(library, "GOMP_parallel");
  effective_cpu_isa = (dnnl_cpu_isa_t (*)(void))dlsym(library, "dnnl_get_effective_cpu_isa");
  if (ONEDNN_FUNCTIONS(MISSING) !omp_set_num_threads || dnnl_version()->major != 2) {
    dlclose(library);
    return false;
  }
  return true;
}

static bool ready(void) {
  if (engine_state == 0) {
    engine_state = load() && dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
                           dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) ==
                               dnnl_success
                       ? 1
                       : -1;
  }
  return engine_state == 1;
}

/* ready(), with oneDNN's OpenMP threads as many as setThreads says. */
static bool ready_on_threads(void) {
  if (!ready()) return false;
  if (omp_threads != threads) {
    omp_set_num_threads(threads);
    omp_threads = threads;
  }
  return true;
}

/* oneDNN 2's JIT GEMM kernels point the stack pointer at a heap buffer while they run
   (oneDNN issue #4845, fixed in 3.11, after the 2.x that distributions ship): a signal
   handled on a thread running one pushes its frame there and corrupts the heap. Slurm's
   SIGTERM to a preempted cluster worker did, as would Ctrl-C or a profiler's SIGPROF. So
   asynchronous signals wait while oneDNN runs: blocked on the calling thread for the call,
   and for good on OpenMP's threads, which oneDNN's calls create and which inherit the mask.
   Faults the code raises itself (SIGSEGV, …) still reach their handlers at once. A signal
   sent meanwhile is handled as the call returns. */
static sigset_t waiting_signals(void) {
  sigset_t set;
  sigfillset(&set);
  const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
  for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) sigdelset(&set, faults[i]);
  return set;
}

static void hold_signals(sigset_t *before) {
  const sigset_t set = waiting_signals();
  pthread_sigmask(SIG_BLOCK, &set, before);
}

static void release_signals(const sigset_t *before) {
  pthread_sigmask(SIG_SETMASK, before, NULL);
}

static bool execute(dnnl_primitive_t prim, int count, const dnnl_exec_arg_t *args) {
  return dnnl_primitive_execute(prim, stream, count, args) == dnnl_success &&
         dnnl_stream_wait(stream) == dnnl_success;
}

/* Whether oneDNN's kernels run on AVX-512 here (asked once). */
static bool onednn_on_avx512(void) {
  static int known = -1;
  /* the values are sets of bits: each ISA's includes those of the ISAs under it */
  if (known < 0)
    known = effective_cpu_isa &&
            (effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
  return known;
}

static bool conv_held(int mode, const conv_geometry *g, float *x, float *w, float *y,
                      const float *bias, bool relu) {
  /* oneDNN's input gradient for a few input channels (a first layer's, which training never
     needs) runs at about 1 GFLOP/s; im2col does it far faster. */
  if ((mode == CONV_INPUT_GRAD && g->ci < 8) || !ready_on_threads()) return false;
  /* Where an image has few output positions (VGG's last layers: 4×4 and 2×2 for CIFAR),
     im2col's products beat oneDNN 2.6's direct convolutions on AVX2, and its filter gradient
     already from 8×8: measured per layer of VGG-11 and ResNet-20 at batch 60, one thread,
     CPU time, e.g. 512→512 at 2×2 filter gradient 171 ms against 23, forward 37 against 20
     (DEVELOPERS.md, native kernels). Not where oneDNN runs on AVX-512 and our sgemm stays
     on AVX2: there oneDNN's are faster, VGG-11's step 526 → 373 ms at two threads. */
  const int64_t positions = g->oh * g->ow;
  if (!onednn_on_avx512() && (positions <= 16 || (mode == CONV_FILTER_GRAD && positions <= 64)))
    return false;
  const bool forward = mode == CONV_FORWARD;
  plan *p = find(mode, g, forward && bias != NULL, forward && relu);
  if (!p->usable) return false;
  dnnl_memory_set_data_handle(p->src, x);
  dnnl_memory_set_data_handle(p->dst, y);
  dnnl_memory_set_data_handle(p->user_w, w);
  if (p->b) dnnl_memory_set_data_handle(p->b, (void *)bias);
  dnnl_memory_t filter = p->w ? p->w : p->user_w;
  if (p->reorder && mode != CONV_FILTER_GRAD) {
    dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->user_w}, {DNNL_ARG_TO, p->w}};
    if (!execute(p->reorder, 2, r)) return false;
  }
  bool done;
  if (mode == CONV_FORWARD) {
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->src},
                           {DNNL_ARG_WEIGHTS, filter},
                           {DNNL_ARG_DST, p->dst},
                           {DNNL_ARG_BIAS, p->b}};
    done = execute(p->conv, p->b ? 4 : 3, a);
  } else if (mode == CONV_FILTER_GRAD) {
    dnnl_exec_arg_t a[] = {
        {DNNL_ARG_SRC, p->src}, {DNNL_ARG_DIFF_DST, p->dst}, {DNNL_ARG_DIFF_WEIGHTS, filter}};
    done = execute(p->conv, 3, a);
    if (done && p->reorder) {
      dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->w}, {DNNL_ARG_TO, p->user_w}};
      done = execute(p->reorder, 2, r);
    }
  } else {
    dnnl_exec_arg_t a[] = {
        {DNNL_ARG_DIFF_DST, p->dst}, {DNNL_ARG_WEIGHTS, filter}, {DNNL_ARG_DIFF_SRC, p->src}};
    done = execute(p->conv, 3, a);
  }
  return done;
}

bool onednn_conv(int mode, const conv_geometry *g, float *x, float *w, float *y,
                 const float *bias, bool relu) {
  if (!enabled) return false;
  sigset_t before;
  hold_signals(&before);
  const bool done = conv_held(mode, g, x, w, y, bias, relu);
  release_signals(&before);
  return done;
}

typedef struct {
  part_fn *fn;
  void *arg;
  int parts, next;
} parts_job;

/* Each thread claims the next part left (run_parts). */
static void run_parts_on_openmp(void *data) {
  parts_job *job = data;
  for (int p; (p = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) < job->parts;)
    run_part(job->fn, job->arg, p);
}

/* The largest OpenMP team started with signals held: its threads block them for good. */
static unsigned team_held;

bool onednn_run_parts(part_fn *fn, void *arg, int parts) {
  if (!enabled || !gomp_parallel || !ready()) return false;
  parts_job job = {fn, arg, parts, 0};
  const unsigned team = (unsigned)(parts < threads ? parts : threads);
  /* Our parts run no JIT code, but a larger team than before starts OpenMP threads, which
     oneDNN's kernels run on later: they must start with signals held. */
  const bool starts_threads = team > team_held;
  sigset_t before;
  if (starts_threads) hold_signals(&before);
  gomp_parallel(run_parts_on_openmp, &job, team, 0);
  if (starts_threads) {
    release_signals(&before);
    team_held = team;
  }
  return true;
}

/* A matrix product's primitive for one shape (row-major operands, either transposed). */
typedef struct {
  bool used, usable;
  unsigned long stamp;
  bool trans_a, trans_b;
  int64_t m, n, k;
  int threads;
  dnnl_primitive_t product;
  dnnl_memory_t a, b, c;
} product_plan;

#define PRODUCT_PLANS 32
static product_plan products[PRODUCT_PLANS];

/* Frees a product plan's oneDNN objects; its key (shape, threads) stays. */
static void release_product(product_plan *p) {
  if (p->product) dnnl_primitive_destroy(p->product);
  dnnl_memory_t *ms[] = {&p->a, &p->b, &p->c};
  for (int i = 0; i < 3; i++)
    if (*ms[i]) dnnl_memory_destroy(*ms[i]);
  p->product = NULL;
  p->a = p->b = p->c = NULL;
  p->usable = false;
}

static void build_product(product_plan *p) {
  dnnl_memory_desc_t a, b, c;
  dnnl_dims_t a_dims = {p->m, p->k}, b_dims = {p->k, p->n}, c_dims = {p->m, p->n};
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd = NULL;
  /* a transposed operand is the same memory read with swapped strides (tag ba) */
  OK(dnnl_memory_desc_init_by_tag(&a, 2, a_dims, dnnl_f32, p->trans_a ? dnnl_ba : dnnl_ab));
  OK(dnnl_memory_desc_init_by_tag(&b, 2, b_dims, dnnl_f32, p->trans_b ? dnnl_ba : dnnl_ab));
  OK(dnnl_memory_desc_init_by_tag(&c, 2, c_dims, dnnl_f32, dnnl_ab));
  OK(dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c));
  OK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
  OK(dnnl_primitive_create(&p->product, pd));
  OK(dnnl_memory_create(&p->a, &a, engine, DNNL_MEMORY_NONE));
  OK(dnnl_memory_create(&p->b, &b, engine, DNNL_MEMORY_NONE));
  OK(dnnl_memory_create(&p->c, &c, engine, DNNL_MEMORY_NONE));
  p->usable = true;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (!p->usable) release_product(p);
  p->used = true;
}

static bool product_held(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                         const float *a, const float *b, float *c) {
  if (!ready_on_threads()) return false;
  product_plan *p = NULL, *oldest = &products[0];
  for (int i = 0; i < PRODUCT_PLANS && !p; i++) {
    product_plan *q = &products[i];
    if (q->used && q->trans_a == trans_a && q->trans_b == trans_b && q->m == m && q->n == n &&
        q->k == k && q->threads == threads)
      p = q;
    else if (!q->used || q->stamp < oldest->stamp)
      oldest = q;
  }
  if (!p) {
    p = oldest;
    if (p->used) release_product(p);
    *p = (product_plan){
        .trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .threads = threads};
    build_product(p);
  }
  p->stamp = ++clock_;
  if (!p->usable) return false;
  dnnl_memory_set_data_handle(p->a, (void *)a);
  dnnl_memory_set_data_handle(p->b, (void *)b);
  dnnl_memory_set_data_handle(p->c, c);
  dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, p->a}, {DNNL_ARG_WEIGHTS, p->b}, {DNNL_ARG_DST, p->c}};
  return execute(p->product, 3, args);
}

bool onednn_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                    const float *b, float *c) {
  if (!enabled) return false;
  sigset_t before;
  hold_signals(&before);
  const bool done = product_held(trans_a, trans_b, m, n, k, a, b, c);
  release_signals(&before);
  return done;
}

const char *onednn_name(void) {
  static char text[32];
  if (!enabled || !ready()) return NULL;
  const dnnl_version_t *v = dnnl_version();
  snprintf(text, sizeof text, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  return text;
}

void onednn_enable(bool on) { enabled = on; }

#else

bool onednn_conv(int mode, const conv_geometry *g, float *x, float *w, float *y,
                 const float *bias, bool relu) {
  (void)mode, (void)g, (void)x, (void)w, (void)y, (void)bias, (void)relu;
  return false;
}
bool onednn_run_parts(part_fn *fn, void *arg, int parts) {
  (void)fn, (void)arg, (void)parts;
  return false;
}
bool onednn_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                    const float *b, float *c) {
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)a, (void)b, (void)c;
  return false;
}
const char *onednn_name(void) { return NULL; }
void onednn_enable(bool on) { (void)on; }

#endif
