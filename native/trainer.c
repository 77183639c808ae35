/*
 * A whole training step of a feed-forward network (dense and convolutional layers with ReLU,
 * max pooling, flattening, batch norm in training mode, residual blocks, global average
 * pooling — layers.c; softmax cross-entropy) as one native call: forward pass,
 * backward pass and the masked Adam or SGD update, on the pool's threads, with the
 * convolutions on run_conv and the products on gemm (oneDNN where it runs, else sgemm). tfjs
 * runs the same step as about a hundred kernels, each through its engine's bookkeeping; this
 * is what src/engine/native-step.ts uses where the model allows it, and it is checked against
 * tfjs's own step in test/engine/native-step.test.ts.
 *
 * createTrainer(layers, batch, classes, masks, optimizer[, l1]) plans a network once: buffers
 * for every layer's output, the gradients and the masks, and an L1 coefficient per parameter
 * where its loss has one (freeTrainer releases them).
 * trainStep(trainer, memory, offsets, x, labels, step) then runs one step on parameters and
 * optimiser slots that live on the WebAssembly heap (`memory`, at byte `offsets`), updating
 * them in place, and returns the batch's mean loss. trainerEvaluate runs the forward pass alone,
 * in inference mode, and scores it; trainerForwardTraining runs it in training mode, to
 * recompute batch norm's statistics; trainerProfile says where the time went.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "addon.h"
#include "kernels.h"
#include "layers.h"

enum {
  LAYER_DENSE = 1,
  LAYER_CONV = 2,
  LAYER_MAXPOOL = 3,
  LAYER_BATCHNORM = 4,
  LAYER_AVGPOOL = 5,   /* global average pooling */
  LAYER_RESIDUAL = 6,  /* a residual block begins: its shortcut's layers follow */
  LAYER_BODY = 7,      /* the shortcut ends, the block's body follows on the block's input */
  LAYER_RESIDUAL_END = 8 /* max(body + shortcut, 0) */
};
enum { OPT_ADAM = 0, OPT_SGD = 1 };

#define MAX_LAYERS 128
#define MAX_PARAMS (2 * MAX_LAYERS)

typedef struct {
  int kind;
  bool relu, bias;
  int64_t in, out; /* floats per example of the input and output */
  conv_geometry g; /* convolutions; pooling uses n, h, w, ci (= c), kh/kw (window), sh/sw, oh, ow */
  int kernel;      /* index of the layer's kernel among the parameters (-1: none); bias next
                      (batch norm: γ, then β) */
  float *y;        /* the batch's output, after the activation (NULL for the markers) */
  /* the layers whose outputs are this one's input and output (-1: the batch): a layer's own
     output but for LAYER_RESIDUAL (the block's input) and LAYER_BODY (the block's input);
     LAYER_BODY and LAYER_RESIDUAL_END: `shortcut`, the layer whose output is the shortcut's */
  int in_of, out_of, shortcut;
  /* batch norm: ε, the moving averages' momentum, the index of its moving mean among the
     statistics (the variance next), and the batch's mean and 1/√(var + ε) per channel */
  float epsilon, momentum;
  int moving;
  float *mean, *invstd;
} layer;

typedef struct {
  int layers_count, params_count;
  layer layers[MAX_LAYERS];
  int64_t batch, classes, in;
  int64_t sizes[MAX_PARAMS];
  float *grads[MAX_PARAMS];
  /* 0/1 per weight, or NULL: a byte is a quarter of a float's memory traffic */
  uint8_t *masks[MAX_PARAMS];
  /* λ of an L1 penalty per parameter (network slimming's on batch norm's γ; 0: none): its
     subgradient λ·sign(w) joins the loss's gradient before the update */
  float l1[MAX_PARAMS];
  float *dy, *dx; /* gradients flowing back, each as large as the largest layer output */
  float *skip;    /* a residual block's other gradient: the shortcut's, then the body's */
  /* batch norm's moving means and variances, where this step finds them (trainStep) */
  int moving_count;
  float *moving[2 * MAX_LAYERS];
  double *variance; /* the batch's unbiased variance per channel */
  double *partials; /* per-part sums: bias gradients, batch norm's statistics and gradients */
  int64_t widest;   /* the most output channels or units of any layer */
  int optimizer;
  double lr, beta1, beta2, epsilon, weight_decay, momentum;
  /* SGD's Nesterov momentum; decay decoupled from the gradient (w·(1 − lr·wd) first) */
  bool nesterov, decoupled;
  /* where the steps' time went (trainerProfile): per layer forward and backward (its update
     apart), then the loss and the updates, in nanoseconds summed over `steps` */
  double forward_ns[MAX_LAYERS], backward_ns[MAX_LAYERS], loss_ns, update_ns;
  int64_t steps;
} trainer;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* ---- element-wise passes, split over the pool by rows when large ---- */

typedef struct {
  float *y;
  const float *bias;
  int64_t rows, cols;
  bool relu;
  int parts;
} bias_job;

VECTOR_CLONES static void bias_part(void *arg, int p) {
  const bias_job *j = arg;
  const int64_t r0 = j->rows * p / j->parts, r1 = j->rows * (p + 1) / j->parts;
  for (int64_t r = r0; r < r1; r++) {
    float *row = j->y + r * j->cols;
    if (j->bias)
      for (int64_t c = 0; c < j->cols; c++) row[c] += j->bias[c];
    if (j->relu)
      for (int64_t c = 0; c < j->cols; c++) row[c] = row[c] < 0 ? 0 : row[c]; /* NaN stays */
  }
}

/* Parts for a pass over `elements` floats: one below about 64K, where waking helpers costs
   more than it saves. */
int parts_for(int64_t elements, int64_t rows) {
  int parts = elements >= (1 << 16) && threads > 1 ? parts_per_threads() : 1;
  return parts > rows ? (int)rows : parts;
}

static void add_bias_relu(float *y, const float *bias, int64_t rows, int64_t cols, bool relu) {
  if (!bias && !relu) return;
  bias_job job = {y, bias, rows, cols, relu, parts_for(rows * cols, rows)};
  run_parts(bias_part, &job, job.parts);
}

typedef struct {
  float *dy;
  const float *y;
  double *sums; /* per part: cols sums */
  int64_t rows, cols;
  bool relu, bias;
  int parts;
} back_job;

/* dy ⊙= (y > 0) for a ReLU (its gradient at the pre-activation), and the column sums of the
   result (the bias gradient) in the same pass. */
VECTOR_CLONES static void back_part(void *arg, int p) {
  const back_job *j = arg;
  const int64_t r0 = j->rows * p / j->parts, r1 = j->rows * (p + 1) / j->parts;
  double *sums = j->sums + p * j->cols;
  if (j->bias) memset(sums, 0, sizeof(double) * j->cols);
  for (int64_t r = r0; r < r1; r++) {
    float *d = j->dy + r * j->cols;
    const float *y = j->y + r * j->cols;
    if (j->relu)
      for (int64_t c = 0; c < j->cols; c++) d[c] = y[c] > 0 ? d[c] : 0;
    if (j->bias)
      for (int64_t c = 0; c < j->cols; c++) sums[c] += d[c];
  }
}

static void relu_back_and_bias(trainer *t, float *dy, const float *y, int64_t rows,
                               int64_t cols, bool relu, float *bias_grad) {
  back_job job = {dy, y, t->partials, rows, cols, relu, bias_grad != NULL,
                  parts_for(rows * cols, rows)};
  if (!relu && !bias_grad) return;
  run_parts(back_part, &job, job.parts);
  if (!bias_grad) return;
  for (int64_t c = 0; c < cols; c++) {
    double s = 0;
    for (int p = 0; p < job.parts; p++) s += t->partials[p * cols + c];
    bias_grad[c] = (float)s;
  }
}

typedef struct {
  const float *x;
  float *y, *dx;
  const float *dy;
  const conv_geometry *g;
  int parts;
} pool_job;

/*
 * Max pooling over images [b0, b1) with windows as wide as their stride (they tile the input):
 * forward (y), or backward (dx from dy: each output's gradient to the first largest input of
 * its window, as tfjs does, every other input of the window 0). Vectorised across channels:
 * `which` holds, per channel, the window position of the largest input so far.
 */
#define MAX_POOL_CHANNELS 4096

/* dx[q] = dy[q] where window position k held channel q's maximum, else 0. */
static inline void route_gradient(float *restrict dx, const float *restrict dy,
                                  const int32_t *restrict which, int32_t k, int64_t c) {
  for (int64_t q = 0; q < c; q++) dx[q] = which[q] == k ? dy[q] : 0;
}
VECTOR_CLONES static void pool_part(void *arg, int p) {
  const pool_job *j = arg;
  const conv_geometry *g = j->g;
  const int64_t b0 = g->n * p / j->parts, b1 = g->n * (p + 1) / j->parts, c = g->ci;
  const int64_t s = g->sh, window = s * s;
  /* inputs past the last window (leftover rows or columns) get no gradient */
  if (j->dx && (g->oh * s != g->h || g->ow * s != g->w))
    memset(j->dx + b0 * g->h * g->w * c, 0, sizeof(float) * (b1 - b0) * g->h * g->w * c);
  float best[MAX_POOL_CHANNELS];
  int32_t which[MAX_POOL_CHANNELS];
  for (int64_t b = b0; b < b1; b++)
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        const float *corner = j->x + ((b * g->h + oy * s) * g->w + ox * s) * c;
        for (int64_t q = 0; q < c; q++) {
          best[q] = corner[q];
          which[q] = 0;
        }
        for (int64_t k = 1; k < window; k++) {
          const float *x = corner + ((k / s) * g->w + k % s) * c;
          for (int64_t q = 0; q < c; q++) {
            const bool larger = x[q] > best[q];
            best[q] = larger ? x[q] : best[q];
            which[q] = larger ? (int32_t)k : which[q];
          }
        }
        const int64_t out = ((b * g->oh + oy) * g->ow + ox) * c;
        if (!j->dx) {
          memcpy(j->y + out, best, sizeof(float) * c);
          continue;
        }
        for (int64_t k = 0; k < window; k++)
          route_gradient(j->dx + (corner - j->x) + ((k / s) * g->w + k % s) * c, j->dy + out,
                         which, (int32_t)k, c);
      }
}

static void max_pool(const conv_geometry *g, const float *x, float *y, float *dx,
                     const float *dy) {
  pool_job job = {x, y, dx, dy, g, parts_for(g->n * g->h * g->w * g->ci, g->n)};
  run_parts(pool_part, &job, job.parts);
}

/* ---- the step ---- */

/* Softmax cross-entropy: the mean loss, and its gradient by the logits into d. */
static double softmax_cross_entropy(const float *logits, const int32_t *labels, int64_t n,
                                    int64_t classes, float *d) {
  double loss = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *z = logits + i * classes;
    float *g = d + i * classes;
    float top = z[0];
    for (int64_t c = 1; c < classes; c++) top = z[c] > top ? z[c] : top;
    double sum = 0;
    for (int64_t c = 0; c < classes; c++) sum += exp((double)z[c] - top);
    const double log_sum = log(sum) + top;
    loss += log_sum - z[labels[i]];
    for (int64_t c = 0; c < classes; c++)
      g[c] = (float)((exp((double)z[c] - log_sum) - (c == labels[i])) / (double)n);
  }
  return loss / (double)n;
}

/* Parameters at byte offsets of the heap: kernel then bias, per layer with parameters. */
typedef struct {
  float *w[MAX_PARAMS], *m[MAX_PARAMS], *v[MAX_PARAMS];
} parameters;

typedef struct {
  int64_t count;
  float *w, *m, *v; /* Adam: moments; SGD: m is the momentum buffer (or NULL) */
  const float *g;
  const uint8_t *mask;
  adam_settings adam;
  float lr, momentum, wd;
  float shrink; /* decoupled weight decay's factor on the weights before the step (else 1) */
  bool nesterov;
  int parts;
} update_job;

/* Adam in place (restrict: the arrays are distinct, each element read before it is written).
   The mask's bytes become floats a block at a time: converted inside the update's loop, they
   made GCC unroll it four times over and spill registers (the masked step was 10% slower). */
#define MASK_BLOCK 512

/* keep[0, n) = the mask's bytes [i0, i0 + n) as floats (ones without a mask), for the block
   of at most MASK_BLOCK elements from i0 of count; returns n. */
static inline int64_t mask_block(float *restrict keep, const uint8_t *restrict mask, int64_t i0,
                                 int64_t count) {
  const int64_t n = count - i0 < MASK_BLOCK ? count - i0 : MASK_BLOCK;
  for (int64_t j = 0; j < n; j++) keep[j] = mask ? mask[i0 + j] : 1.0f;
  return n;
}

VECTOR_CLONES static void adam_in_place(int64_t count, float *restrict w, const float *restrict g,
                                        float *restrict m, float *restrict v,
                                        const uint8_t *restrict mask, adam_settings a,
                                        float shrink) {
  if (!mask) {
    for (int64_t i = 0; i < count; i++)
      adam_element(w[i] * shrink, g[i], m[i], v[i], 1.0f, &a, &w[i], &m[i], &v[i]);
    return;
  }
  float keep[MASK_BLOCK];
  for (int64_t i0 = 0; i0 < count; i0 += MASK_BLOCK) {
    const int64_t n = mask_block(keep, mask, i0, count);
    float *restrict bw = w + i0, *restrict bm = m + i0, *restrict bv = v + i0;
    const float *restrict bg = g + i0;
    for (int64_t j = 0; j < n; j++)
      adam_element(bw[j] * shrink, bg[j], bm[j], bv[j], keep[j], &a, &bw[j], &bm[j], &bv[j]);
  }
}

/* SGD as the tfjs ops do it (optimizer.ts): the weight shrunk by decoupled decay, the
   gradient masked, coupled decay added, momentum without dampening (Nesterov: the step is
   g + μ·b), the weight masked after the update. The mask as in adam_in_place. */
static inline void sgd_element(float *w, float g, float *buf, float keep, float lr,
                               float momentum, float wd, float shrink, bool nesterov) {
  const float w0 = *w * shrink;
  const float grad = keep * g + wd * w0;
  float step = grad;
  if (buf) {
    *buf = *buf * momentum + grad;
    step = nesterov ? grad + *buf * momentum : *buf;
  }
  *w = keep * (w0 - lr * step);
}

VECTOR_CLONES static void sgd_in_place(int64_t count, float *restrict w, const float *restrict g,
                                       float *restrict buf, const uint8_t *restrict mask,
                                       float lr, float momentum, float wd, float shrink,
                                       bool nesterov) {
  float keep[MASK_BLOCK];
  for (int64_t i0 = 0; i0 < count; i0 += MASK_BLOCK) {
    const int64_t n = mask_block(keep, mask, i0, count);
    float *restrict bw = w + i0, *restrict bbuf = buf ? buf + i0 : NULL;
    const float *restrict bg = g + i0;
    for (int64_t j = 0; j < n; j++)
      sgd_element(&bw[j], bg[j], bbuf ? &bbuf[j] : NULL, keep[j], lr, momentum, wd, shrink,
                  nesterov);
  }
}

static void adam_part(void *arg, int p) {
  const update_job *j = arg;
  const int64_t i0 = j->count * p / j->parts, i1 = j->count * (p + 1) / j->parts;
  adam_in_place(i1 - i0, j->w + i0, j->g + i0, j->m + i0, j->v + i0,
                j->mask ? j->mask + i0 : NULL, j->adam, j->shrink);
}

static void sgd_part(void *arg, int p) {
  const update_job *j = arg;
  const int64_t i0 = j->count * p / j->parts, i1 = j->count * (p + 1) / j->parts;
  sgd_in_place(i1 - i0, j->w + i0, j->g + i0, j->m ? j->m + i0 : NULL,
               j->mask ? j->mask + i0 : NULL, j->lr, j->momentum, j->wd, j->shrink, j->nesterov);
}

/* Updates parameters [first, last) from their gradients at the step's learning rate lr. */
static void update(trainer *t, const parameters *p, int first, int last, adam_settings adam,
                   double lr) {
  for (int i = first; i < last; i++) {
    if (t->l1[i] != 0) {
      /* as tfjs's sign: 0 at 0 (a pruned weight stays without gradient) */
      const float lambda = t->l1[i], *w = p->w[i];
      float *g = t->grads[i];
      for (int64_t j = 0; j < t->sizes[i]; j++)
        g[j] += lambda * (float)((w[j] > 0) - (w[j] < 0));
    }
    update_job job = {.count = t->sizes[i],
                      .w = p->w[i],
                      .m = p->m[i],
                      .v = p->v[i],
                      .g = t->grads[i],
                      .mask = t->masks[i],
                      .adam = adam,
                      .lr = (float)lr,
                      .momentum = (float)t->momentum,
                      .wd = t->decoupled ? 0.0f : (float)t->weight_decay,
                      .shrink = t->decoupled ? (float)(1 - lr * t->weight_decay) : 1.0f,
                      .nesterov = t->nesterov,
                      /* threads pay from about 64K weights (LeNet-300-100's fc1 has 235K) */
                      .parts = threads > 1 && t->sizes[i] >= (1 << 16) ? parts_per_threads() : 1};
    run_parts(t->optimizer == OPT_ADAM ? adam_part : sgd_part, &job, job.parts);
  }
}

/* A layer's output by index (-1: the batch x). */
#define OUTPUT(i) ((i) < 0 ? x : t->layers[(i)].y)

/*
 * The forward pass over the trainer's batch; false when out of memory. In training, batch norm
 * normalises by the batch's statistics and moves its moving averages toward them by
 * `momentum` (each layer's own where negative), and each layer's time is added to the
 * profile; in inference, it normalises by the moving averages and nothing is written but the
 * layers' outputs.
 */
static bool forward(trainer *t, const parameters *p, const float *x, bool training,
                    float momentum) {
  const int64_t n = t->batch;
  double started = now_ns();
  for (int l = 0; l < t->layers_count; l++) {
    layer *L = &t->layers[l];
    const float *in = OUTPUT(L->in_of);
    float *w = L->kernel >= 0 ? p->w[L->kernel] : NULL;
    const float *bias = L->bias ? p->w[L->kernel + 1] : NULL;
    if (L->kind == LAYER_DENSE) {
      gemm(false, false, n, L->out, L->in, in, w, L->y);
      add_bias_relu(L->y, bias, n, L->out, L->relu);
    } else if (L->kind == LAYER_CONV) {
      if (!run_conv(CONV_FORWARD, &L->g, (float *)in, w, L->y, bias, L->relu)) return false;
    } else if (L->kind == LAYER_MAXPOOL) {
      max_pool(&L->g, in, L->y, NULL, NULL);
    } else if (L->kind == LAYER_BATCHNORM && !training) {
      batch_norm_inference(in, L->y, n * L->in / L->g.co, L->g.co, w, bias,
                           t->moving[2 * L->moving], t->moving[2 * L->moving + 1], L->epsilon,
                           L->relu);
    } else if (L->kind == LAYER_BATCHNORM) {
      const int64_t c = L->g.co, rows = n * L->in / c;
      batch_norm_forward(in, L->y, rows, c, w, bias, L->epsilon, L->relu, L->mean, L->invstd,
                         t->variance, t->partials);
      /* the moving averages, as model.ts updates them after tfjs's step */
      float *mean = t->moving[2 * L->moving], *variance = t->moving[2 * L->moving + 1];
      const float m = momentum < 0 ? L->momentum : momentum, keep = 1 - m;
      for (int64_t q = 0; q < c; q++) {
        mean[q] = mean[q] * keep + L->mean[q] * m;
        variance[q] = variance[q] * keep + (float)t->variance[q] * m;
      }
    } else if (L->kind == LAYER_AVGPOOL) {
      global_avg_pool(in, L->y, n, L->g.h * L->g.w, L->g.co);
    } else if (L->kind == LAYER_RESIDUAL_END) {
      add_relu(in, OUTPUT(L->shortcut), L->y, n * L->out);
    } /* LAYER_RESIDUAL and LAYER_BODY only route */
    if (training) {
      const double done = now_ns();
      t->forward_ns[l] += done - started;
      started = done;
    }
  }
  return true;
}

/* The network's output for the batch x (after forward). */
static const float *logits_of(const trainer *t, const float *x) {
  return OUTPUT(t->layers[t->layers_count - 1].out_of);
}

/*
 * One step: the forward pass, the loss, then the backward pass layer by layer, each layer's
 * parameters updated as soon as its gradients (and the gradient it passes back, which needs
 * its old weights) are computed: the gradients are then still in cache, and the update,
 * which is bound by memory bandwidth (LeNet-300-100: 7.7 MB a step), reads them from there.
 */
static bool train_step_native(trainer *t, const parameters *p, const float *x,
                              const int32_t *labels, double step, double lr, double *loss) {
  const adam_settings adam = adam_settings_for(lr, t->beta1, t->beta2, t->epsilon,
                                               t->decoupled ? 0 : t->weight_decay, step);
  const int64_t n = t->batch;
  if (!forward(t, p, x, true, -1)) return false;
  double started = now_ns();
  *loss = softmax_cross_entropy(logits_of(t, x), labels, n, t->classes, t->dy);
  const double scored = now_ns();
  t->loss_ns += scored - started;
  started = scored;
  for (int l = t->layers_count - 1; l >= 0; l--) {
    layer *L = &t->layers[l];
    const float *input = OUTPUT(L->in_of);
    const bool need_dx = L->in_of >= 0;
    float *w = L->kernel >= 0 ? p->w[L->kernel] : NULL;
    float *dw = L->kernel >= 0 ? t->grads[L->kernel] : NULL;
    float *db = L->bias ? t->grads[L->kernel + 1] : NULL;
    bool passed_back = true; /* whether dx now holds the gradient at the input */
    if (L->kind == LAYER_DENSE) {
      relu_back_and_bias(t, t->dy, L->y, n, L->out, L->relu, db);
      gemm(true, false, L->in, L->out, n, input, t->dy, dw);
      if (need_dx) gemm(false, true, n, L->in, L->out, t->dy, w, t->dx);
    } else if (L->kind == LAYER_CONV) {
      relu_back_and_bias(t, t->dy, L->y, n * L->g.oh * L->g.ow, L->g.co, L->relu, db);
      if (!run_conv(CONV_FILTER_GRAD, &L->g, (float *)input, dw, t->dy, NULL, false))
        return false;
      if (need_dx && !run_conv(CONV_INPUT_GRAD, &L->g, t->dx, w, t->dy, NULL, false))
        return false;
    } else if (L->kind == LAYER_MAXPOOL) {
      if (need_dx) max_pool(&L->g, input, NULL, t->dx, t->dy);
    } else if (L->kind == LAYER_BATCHNORM) {
      batch_norm_backward(t->dy, L->y, input, need_dx ? t->dx : NULL, n * L->in / L->g.co,
                          L->g.co, w, L->mean, L->invstd, L->relu, dw, db, t->partials);
    } else if (L->kind == LAYER_AVGPOOL) {
      if (need_dx) global_avg_pool_backward(t->dy, t->dx, n, L->g.h * L->g.w, L->g.co);
    } else if (L->kind == LAYER_RESIDUAL_END) {
      /* the gradient at the sum goes to the body (dy) and to the shortcut (skip) */
      relu_backward(t->dy, L->y, n * L->out);
      memcpy(t->skip, t->dy, sizeof(float) * n * L->out);
      passed_back = false;
    } else if (L->kind == LAYER_BODY) {
      /* dy: the body's gradient at the block's input; the shortcut's layers go next */
      float *swap = t->dy;
      t->dy = t->skip;
      t->skip = swap;
      passed_back = false;
    } else { /* LAYER_RESIDUAL: the shortcut's gradient at the block's input plus the body's */
      add_into(t->dy, t->skip, n * L->out);
      passed_back = false;
    }
    double updated_ns = 0;
    if (L->kernel >= 0) {
      const double updating = now_ns();
      update(t, p, L->kernel, L->kernel + (L->bias ? 2 : 1), adam, lr);
      updated_ns = now_ns() - updating;
      t->update_ns += updated_ns;
    }
    if (passed_back) {
      float *swap = t->dy;
      t->dy = t->dx;
      t->dx = swap;
    }
    const double done = now_ns();
    t->backward_ns[l] += done - started - updated_ns;
    started = done;
  }
#undef OUTPUT
  t->steps++;
  return true;
}

/* ---- N-API ---- */

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static void free_trainer(trainer *t) {
  if (!t) return;
  for (int l = 0; l < t->layers_count; l++) {
    free(t->layers[l].y);
    free(t->layers[l].mean);
    free(t->layers[l].invstd);
  }
  for (int i = 0; i < t->params_count; i++) {
    free(t->grads[i]);
    free(t->masks[i]);
  }
  free(t->dy);
  free(t->dx);
  free(t->partials);
  free(t->skip);
  free(t->variance);
  free(t);
}

/* What JavaScript holds: freeTrainer empties it at once, the garbage collector frees it. */
typedef struct {
  trainer *t;
} handle;

static void finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  free_trainer(((handle *)data)->t);
  free(data);
}

static bool typed_array(napi_env env, napi_value value, napi_typedarray_type type, void **data,
                        size_t *length) {
  bool is;
  napi_typedarray_type actual;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return false;
  if (napi_get_typedarray_info(env, value, &actual, length, data, NULL, NULL) != napi_ok)
    return false;
  return actual == type;
}

/*
 * createTrainer(layers: Float64Array, batch, classes, masks: (Float32Array | null)[],
 * optimizer: Float64Array, l1?: Float64Array): `layers` lists each layer as a kind and its sizes —
 *   1 (dense): in, out, relu, bias
 *   2 (conv):  h, w, ci, kh, kw, co, oh, ow, sh, sw, pt, pl, pb, pr, relu, bias
 *   3 (max pool): h, w, c, window, stride, oh, ow
 *   4 (batch norm in training mode): floats per example, channels, relu, epsilon, momentum
 *   5 (global average pooling): h, w, c
 *   6 (a residual block begins; its shortcut's layers follow, none for the identity): floats
 *     per example
 *   7 (the shortcut ends; the body's layers follow, on the block's input), no sizes
 *   8 (the block ends: max(body + shortcut, 0)), no sizes
 * — flattening is implicit (NHWC rows are the dense layer's inputs). Parameters are each
 * weighted layer's kernel, then its bias (batch norm: γ, then β); `masks` holds one 0/1 mask
 * or null per parameter.
 * `optimizer`: [0 (Adam), lr, beta1, beta2, epsilon, weightDecay, decoupled?] or [1 (SGD), lr,
 * momentum, weightDecay, nesterov?, decoupled?] (the flags 0 or 1, 0 where left out; `lr` is
 * the rate of steps that are not given their own). `l1`: one L1 coefficient per parameter (0
 * for none), the loss's λ·Σ|w| over that parameter.
 */
static napi_value create_trainer(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || argc > 6)
    return throw_error(env, "createTrainer: expected 5 or 6 arguments");
  double *spec, *opt;
  size_t spec_length, opt_length;
  int64_t batch, classes;
  if (!typed_array(env, argv[0], napi_float64_array, (void **)&spec, &spec_length) ||
      napi_get_value_int64(env, argv[1], &batch) != napi_ok ||
      napi_get_value_int64(env, argv[2], &classes) != napi_ok ||
      !typed_array(env, argv[4], napi_float64_array, (void **)&opt, &opt_length) ||
      opt_length < 1 || batch < 1 || classes < 1)
    return throw_error(env, "createTrainer: expected layers, batch, classes, masks, optimizer");
  trainer *t = calloc(1, sizeof *t);
  if (!t) return throw_error(env, "createTrainer: out of memory");
  t->batch = batch;
  t->classes = classes;
  const char *bad = NULL;
  int64_t largest = 0, in = -1;
  int last = -1;              /* the layer whose output the next layer reads (-1: the batch) */
  int block = -1, body = -1;  /* the open residual block's LAYER_RESIDUAL and LAYER_BODY */
  for (size_t i = 0; i < spec_length && !bad;) {
    if (t->layers_count == MAX_LAYERS) {
      bad = "createTrainer: too many layers";
      break;
    }
    const int l = t->layers_count;
    layer *L = &t->layers[t->layers_count++];
    L->kind = (int)spec[i++];
    L->kernel = -1;
    L->in_of = last;
    L->out_of = l;
    static const size_t sizes_of[] = {0, 4, 16, 7, 5, 3, 1, 0, 0};
    const size_t need = L->kind >= LAYER_DENSE && L->kind <= LAYER_RESIDUAL_END
                            ? sizes_of[L->kind] : 0;
    if (L->kind < LAYER_DENSE || L->kind > LAYER_RESIDUAL_END || i + need > spec_length) {
      bad = "createTrainer: malformed layer list";
      break;
    }
    const double *s = spec + i;
    i += need;
    if (L->kind == LAYER_DENSE) {
      L->in = (int64_t)s[0];
      L->out = (int64_t)s[1];
      L->relu = s[2] != 0;
      L->bias = s[3] != 0;
    } else if (L->kind == LAYER_CONV) {
      L->g = (conv_geometry){.n = batch, .h = (int64_t)s[0], .w = (int64_t)s[1],
                             .ci = (int64_t)s[2], .kh = (int64_t)s[3], .kw = (int64_t)s[4],
                             .co = (int64_t)s[5], .oh = (int64_t)s[6], .ow = (int64_t)s[7],
                             .sh = (int64_t)s[8], .sw = (int64_t)s[9], .pt = (int64_t)s[10],
                             .pl = (int64_t)s[11], .pb = (int64_t)s[12], .pr = (int64_t)s[13]};
      L->relu = s[14] != 0;
      L->bias = s[15] != 0;
      L->in = L->g.h * L->g.w * L->g.ci;
      L->out = L->g.oh * L->g.ow * L->g.co;
    } else if (L->kind == LAYER_BATCHNORM) {
      L->in = L->out = (int64_t)s[0];
      L->g = (conv_geometry){.n = batch, .ci = (int64_t)s[1], .co = (int64_t)s[1]};
      L->relu = s[2] != 0;
      L->bias = true;
      L->epsilon = (float)s[3];
      L->momentum = (float)s[4];
      L->moving = t->moving_count++;
      if (L->g.co < 1 || L->g.co > 4096 || L->in % L->g.co != 0)
        bad = "createTrainer: batch norm needs 1 to 4096 channels that divide its input";
    } else if (L->kind == LAYER_AVGPOOL) {
      L->g = (conv_geometry){.n = batch, .h = (int64_t)s[0], .w = (int64_t)s[1],
                             .ci = (int64_t)s[2], .co = (int64_t)s[2]};
      L->in = L->g.h * L->g.w * L->g.ci;
      L->out = L->g.ci;
      if (L->g.ci > 4096) bad = "createTrainer: global pooling over at most 4096 channels";
    } else if (L->kind >= LAYER_RESIDUAL) {
      /* routing: sizes follow from the layers around */
      L->in = L->out = L->kind == LAYER_RESIDUAL ? (int64_t)s[0] : in;
      if (L->kind == LAYER_RESIDUAL) {
        if (block >= 0) bad = "createTrainer: residual blocks cannot nest";
        block = l;
        body = -1;
        L->out_of = last;
      } else if (L->kind == LAYER_BODY) {
        if (block < 0 || body >= 0) bad = "createTrainer: a shortcut's end outside a block";
        else {
          body = l;
          L->shortcut = last;
          L->out_of = t->layers[block].in_of;
          L->out = t->layers[block].in;
        }
      } else {
        if (body < 0) bad = "createTrainer: a block's end without its shortcut's";
        else if (in != t->layers[body].in)
          bad = "createTrainer: a residual block's body and shortcut differ in size";
        else L->shortcut = t->layers[body].shortcut;
        block = body = -1;
      }
    } else {
      L->g = (conv_geometry){.n = batch, .h = (int64_t)s[0], .w = (int64_t)s[1],
                             .ci = (int64_t)s[2], .kh = (int64_t)s[3], .kw = (int64_t)s[3],
                             .sh = (int64_t)s[4], .sw = (int64_t)s[4], .oh = (int64_t)s[5],
                             .ow = (int64_t)s[6]};
      L->in = L->g.h * L->g.w * L->g.ci;
      L->out = L->g.oh * L->g.ow * L->g.ci;
      if ((L->g.oh - 1) * L->g.sh + L->g.kh > L->g.h || (L->g.ow - 1) * L->g.sw + L->g.kw > L->g.w)
        bad = "createTrainer: a pooling window reaches past its input";
      if (L->g.kh != L->g.sh || L->g.ci > MAX_POOL_CHANNELS)
        bad = "createTrainer: pooling windows must be as wide as their stride, over at most "
              "4096 channels";
    }
    if (bad) break;
    if (L->in < 1 || L->out < 1 || (in >= 0 && L->in != in)) {
      bad = "createTrainer: layer sizes do not chain";
      break;
    }
    if (in < 0) t->in = L->in;
    in = L->out;
    last = L->out_of;
    if (L->kind == LAYER_BATCHNORM) {
      if (t->params_count + 2 > MAX_PARAMS) {
        bad = "createTrainer: too many parameters";
        break;
      }
      L->kernel = t->params_count;
      t->sizes[t->params_count++] = L->g.co;
      t->sizes[t->params_count++] = L->g.co;
      if (L->g.co > t->widest) t->widest = L->g.co;
      L->mean = malloc(sizeof(float) * L->g.co);
      L->invstd = malloc(sizeof(float) * L->g.co);
      if (!L->mean || !L->invstd) bad = "createTrainer: out of memory";
    } else if (L->kind == LAYER_DENSE || L->kind == LAYER_CONV) {
      if (t->params_count + 2 > MAX_PARAMS) {
        bad = "createTrainer: too many parameters";
        break;
      }
      L->kernel = t->params_count;
      t->sizes[t->params_count++] =
          L->kind == LAYER_DENSE ? L->in * L->out : L->g.kh * L->g.kw * L->g.ci * L->g.co;
      if (L->bias) t->sizes[t->params_count++] = L->kind == LAYER_DENSE ? L->out : L->g.co;
      const int64_t units = L->kind == LAYER_DENSE ? L->out : L->g.co;
      if (units > t->widest) t->widest = units;
    }
    if (L->out > largest) largest = L->out;
    if (L->out_of != l) continue; /* routing only */
    L->y = malloc(sizeof(float) * batch * L->out);
    if (!L->y) bad = "createTrainer: out of memory";
  }
  if (!bad && block >= 0) bad = "createTrainer: a residual block does not end";
  if (!bad && (t->layers_count == 0 || in != classes || last < 0))
    bad = "createTrainer: the last layer must give one logit per class";
  bool is_array;
  uint32_t masks_length = 0;
  if (!bad && (napi_is_array(env, argv[3], &is_array) != napi_ok || !is_array ||
               napi_get_array_length(env, argv[3], &masks_length) != napi_ok ||
               masks_length != (uint32_t)t->params_count))
    bad = "createTrainer: expected one mask (or null) per parameter";
  for (int i = 0; i < t->params_count && !bad; i++) {
    napi_value m;
    napi_valuetype type;
    napi_get_element(env, argv[3], (uint32_t)i, &m);
    napi_typeof(env, m, &type);
    t->grads[i] = malloc(sizeof(float) * t->sizes[i]);
    if (!t->grads[i]) bad = "createTrainer: out of memory";
    if (bad || type == napi_null) continue;
    float *values;
    size_t length;
    if (!typed_array(env, m, napi_float32_array, (void **)&values, &length) ||
        (int64_t)length != t->sizes[i]) {
      bad = "createTrainer: a mask's size differs from its parameter's";
      break;
    }
    t->masks[i] = malloc(length);
    if (!t->masks[i]) {
      bad = "createTrainer: out of memory";
      break;
    }
    for (size_t j = 0; j < length && !bad; j++) {
      if (values[j] != 0 && values[j] != 1)
        bad = "createTrainer: a mask holds values other than 0 and 1";
      t->masks[i][j] = values[j] == 1;
    }
  }
  if (!bad) {
    t->dy = malloc(sizeof(float) * batch * (largest > t->in ? largest : t->in));
    t->dx = malloc(sizeof(float) * batch * (largest > t->in ? largest : t->in));
    /* two sums per channel and part (batch norm's) */
    t->partials = malloc(sizeof(double) * 2 * 64 * (t->widest > 0 ? t->widest : 1));
    t->skip = malloc(sizeof(float) * batch * (largest > t->in ? largest : t->in));
    t->variance = malloc(sizeof(double) * (t->widest > 0 ? t->widest : 1));
    if (!t->dy || !t->dx || !t->partials || !t->skip || !t->variance)
      bad = "createTrainer: out of memory";
  }
  if (!bad && argc == 6) {
    napi_valuetype type;
    napi_typeof(env, argv[5], &type);
    double *l1;
    size_t l1_length;
    if (type != napi_undefined &&
        (!typed_array(env, argv[5], napi_float64_array, (void **)&l1, &l1_length) ||
         l1_length != (size_t)t->params_count))
      bad = "createTrainer: expected one L1 coefficient per parameter";
    else if (type != napi_undefined)
      for (int i = 0; i < t->params_count; i++) t->l1[i] = (float)l1[i];
  }
  t->optimizer = (int)opt[0];
  if (!bad && t->optimizer == OPT_ADAM && (opt_length == 6 || opt_length == 7)) {
    t->lr = opt[1];
    t->beta1 = opt[2];
    t->beta2 = opt[3];
    t->epsilon = opt[4];
    t->weight_decay = opt[5];
    t->decoupled = opt_length == 7 && opt[6] == 1;
  } else if (!bad && t->optimizer == OPT_SGD && (opt_length == 4 || opt_length == 6)) {
    t->lr = opt[1];
    t->momentum = opt[2];
    t->weight_decay = opt[3];
    t->nesterov = opt_length == 6 && opt[4] == 1;
    t->decoupled = opt_length == 6 && opt[5] == 1;
  } else if (!bad) {
    bad = "createTrainer: unknown optimizer settings";
  }
  if (bad) {
    free_trainer(t);
    return throw_error(env, bad);
  }
  napi_value out;
  handle *h = malloc(sizeof *h);
  if (!h || napi_create_external(env, h, finalize, NULL, &out) != napi_ok) {
    free(h);
    free_trainer(t);
    return throw_error(env, "createTrainer: could not wrap the trainer");
  }
  h->t = t;
  return out;
}

static trainer *unwrap(napi_env env, napi_value value) {
  handle *h;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, (void **)&h) != napi_ok)
    return NULL;
  return h->t;
}

/* freeTrainer(trainer): frees its buffers now; a later trainStep on it throws. */
static napi_value free_trainer_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  handle *h;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_typeof(env, argv[0], &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, argv[0], (void **)&h) != napi_ok)
    return throw_error(env, "freeTrainer: expected a trainer");
  free_trainer(h->t);
  h->t = NULL;
  return NULL;
}

/*
 * Points p's parameters and the trainer's moving statistics at their places in memory
 * (`bytes` long), by byte offsets laid out as trainStep's; returns NULL, or what is wrong.
 * weights_only: the optimiser's slots are not read (-1 accepted for any of them).
 */
static const char *bind_memory(trainer *t, void *memory, size_t bytes, const double *offsets,
                               size_t offsets_length, bool weights_only, parameters *p) {
  if (offsets_length != 3 * (size_t)t->params_count + 2 * (size_t)t->moving_count)
    return "expected three offsets per parameter and two per batch-norm layer";
  for (int i = 0; i < t->params_count; i++) {
    float **slot[3] = {&p->w[i], &p->m[i], &p->v[i]};
    for (int s = 0; s < 3; s++) {
      const double o = offsets[3 * i + s];
      const bool optional = s > 0 && (weights_only || t->optimizer == OPT_SGD);
      if (optional && o == -1) {
        *slot[s] = NULL;
        continue;
      }
      if (o < 0 || o != floor(o) || (int64_t)o % 4 != 0 ||
          (int64_t)o + 4 * t->sizes[i] > (int64_t)bytes)
        return "a parameter lies outside the memory";
      *slot[s] = (float *)((char *)memory + (int64_t)o);
    }
  }
  for (int b = 0; b < t->moving_count; b++)
    for (int s = 0; s < 2; s++) {
      const double o = offsets[3 * t->params_count + 2 * b + s];
      int64_t channels = 0;
      for (int l = 0; l < t->layers_count; l++)
        if (t->layers[l].kind == LAYER_BATCHNORM && t->layers[l].moving == b)
          channels = t->layers[l].g.co;
      if (o < 0 || o != floor(o) || (int64_t)o % 4 != 0 ||
          (int64_t)o + 4 * channels > (int64_t)bytes)
        return "a moving statistic lies outside the memory";
      t->moving[2 * b + s] = (float *)((char *)memory + (int64_t)o);
    }
  return NULL;
}

static napi_value throw_prefixed(napi_env env, const char *who, const char *what) {
  char message[160];
  snprintf(message, sizeof message, "%s%s", who, what);
  return throw_error(env, message);
}

/*
 * trainStep(trainer, memory: ArrayBuffer, offsets: Float64Array, x: Float32Array,
 * labels: Int32Array, step, lr?): one step on the batch x (batch × input floats, NHWC) with
 * integer labels, at learning rate lr (the trainer's own where left out: schedules pass each
 * step's). offsets holds three byte offsets into memory per parameter: its weights,
 * then Adam's first and second moments (SGD: its momentum buffer, or -1 without momentum, and
 * -1); then two per batch-norm layer: its moving mean and moving variance. Updates them in
 * place; returns the mean loss before the update.
 */
static napi_value train_step(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 || argc > 7)
    return throw_error(env, "trainStep: expected 6 or 7 arguments");
  trainer *t;
  void *memory;
  size_t bytes, offsets_length, x_length, labels_length;
  double *offsets, step, lr;
  float *x;
  int32_t *labels;
  if (!(t = unwrap(env, argv[0])) ||
      napi_get_arraybuffer_info(env, argv[1], &memory, &bytes) != napi_ok ||
      !typed_array(env, argv[2], napi_float64_array, (void **)&offsets, &offsets_length) ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&x, &x_length) ||
      !typed_array(env, argv[4], napi_int32_array, (void **)&labels, &labels_length) ||
      napi_get_value_double(env, argv[5], &step) != napi_ok || step < 1)
    return throw_error(env, "trainStep: expected trainer, memory, offsets, x, labels, step");
  if (argc == 6)
    lr = t->lr;
  else if (napi_get_value_double(env, argv[6], &lr) != napi_ok || !(lr >= 0))
    return throw_error(env, "trainStep: the learning rate must be a number ≥ 0");
  if ((int64_t)x_length != t->batch * t->in || (int64_t)labels_length != t->batch)
    return throw_error(env, "trainStep: the batch's size differs from the trainer's");
  for (int64_t i = 0; i < t->batch; i++)
    if (labels[i] < 0 || labels[i] >= t->classes)
      return throw_error(env, "trainStep: a label is outside the classes");
  parameters p;
  const char *unbound = bind_memory(t, memory, bytes, offsets, offsets_length, false, &p);
  if (unbound) return throw_prefixed(env, "trainStep: ", unbound);
  double loss;
  const unsigned saved = denormals_flushed();
  flush_denormals = true;
  const bool done = train_step_native(t, &p, x, labels, step, lr, &loss);
  flush_denormals = false;
  denormals_restored(saved);
  if (!done) return throw_error(env, "trainStep: out of memory");
  napi_value out;
  napi_create_double(env, loss, &out);
  return out;
}

/*
 * trainerEvaluate(trainer, memory, offsets, x, labels, count): the forward pass in inference
 * mode (batch norm on its moving statistics) on the batch x, laid out as trainStep's; the
 * slots' offsets may be -1. Returns a Float64Array [summed softmax cross-entropy, examples
 * whose largest logit is their label (the first largest, as tf.argMax)] over the first
 * `count` examples: the rest pad a last, smaller batch to the trainer's size. Writes nothing
 * but the layers' outputs.
 */
static napi_value trainer_evaluate(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  trainer *t;
  void *memory;
  size_t bytes, offsets_length, x_length, labels_length;
  double *offsets;
  float *x;
  int32_t *labels;
  int64_t count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6 ||
      !(t = unwrap(env, argv[0])) ||
      napi_get_arraybuffer_info(env, argv[1], &memory, &bytes) != napi_ok ||
      !typed_array(env, argv[2], napi_float64_array, (void **)&offsets, &offsets_length) ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&x, &x_length) ||
      !typed_array(env, argv[4], napi_int32_array, (void **)&labels, &labels_length) ||
      napi_get_value_int64(env, argv[5], &count) != napi_ok)
    return throw_error(env, "trainerEvaluate: expected trainer, memory, offsets, x, labels, count");
  if ((int64_t)x_length != t->batch * t->in || (int64_t)labels_length != t->batch)
    return throw_error(env, "trainerEvaluate: the batch's size differs from the trainer's");
  if (count < 1 || count > t->batch)
    return throw_error(env, "trainerEvaluate: count must be 1 to the trainer's batch size");
  for (int64_t i = 0; i < count; i++)
    if (labels[i] < 0 || labels[i] >= t->classes)
      return throw_error(env, "trainerEvaluate: a label is outside the classes");
  parameters p;
  const char *unbound = bind_memory(t, memory, bytes, offsets, offsets_length, true, &p);
  if (unbound) return throw_prefixed(env, "trainerEvaluate: ", unbound);
  const unsigned saved = denormals_flushed();
  flush_denormals = true;
  const bool done = forward(t, &p, x, false, -1);
  flush_denormals = false;
  denormals_restored(saved);
  if (!done) return throw_error(env, "trainerEvaluate: out of memory");
  const float *logits = logits_of(t, x);
  double loss = 0, correct = 0;
  for (int64_t i = 0; i < count; i++) {
    const float *z = logits + i * t->classes;
    int64_t top = 0;
    for (int64_t c = 1; c < t->classes; c++)
      if (z[c] > z[top]) top = c;
    double sum = 0;
    for (int64_t c = 0; c < t->classes; c++) sum += exp((double)z[c] - z[top]);
    loss += log(sum) + z[top] - z[labels[i]];
    correct += top == labels[i];
  }
  napi_value buffer, out;
  double *values;
  if (napi_create_arraybuffer(env, 2 * sizeof(double), (void **)&values, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, 2, buffer, 0, &out) != napi_ok)
    return throw_error(env, "trainerEvaluate: out of memory");
  values[0] = loss;
  values[1] = correct;
  return out;
}

/*
 * trainerForwardTraining(trainer, memory, offsets, x, momentum): the forward pass in training
 * mode on the batch x, laid out as trainStep's (the slots' offsets may be -1): batch norm
 * normalises by the batch's statistics and moves each moving mean and variance toward them by
 * `momentum` (0 to 1) in place. Momentum 1/b on the b-th of several batches leaves their
 * cumulative average (src/pruning/instability.ts recomputes the statistics of an interpolated
 * network so). Writes nothing else but the layers' outputs; takes no step and is not profiled
 * as one.
 */
static napi_value trainer_forward_training(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  trainer *t;
  void *memory;
  size_t bytes, offsets_length, x_length;
  double *offsets, momentum;
  float *x;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 ||
      !(t = unwrap(env, argv[0])) ||
      napi_get_arraybuffer_info(env, argv[1], &memory, &bytes) != napi_ok ||
      !typed_array(env, argv[2], napi_float64_array, (void **)&offsets, &offsets_length) ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&x, &x_length) ||
      napi_get_value_double(env, argv[4], &momentum) != napi_ok)
    return throw_error(env, "trainerForwardTraining: expected trainer, memory, offsets, x, momentum");
  if (!(momentum >= 0 && momentum <= 1))
    return throw_error(env, "trainerForwardTraining: the momentum must be 0 to 1");
  if ((int64_t)x_length != t->batch * t->in)
    return throw_error(env, "trainerForwardTraining: the batch's size differs from the trainer's");
  parameters p;
  const char *unbound = bind_memory(t, memory, bytes, offsets, offsets_length, true, &p);
  if (unbound) return throw_prefixed(env, "trainerForwardTraining: ", unbound);
  double forward_ns[MAX_LAYERS];
  memcpy(forward_ns, t->forward_ns, sizeof forward_ns);
  const unsigned saved = denormals_flushed();
  flush_denormals = true;
  const bool done = forward(t, &p, x, true, (float)momentum);
  flush_denormals = false;
  denormals_restored(saved);
  memcpy(t->forward_ns, forward_ns, sizeof forward_ns);
  if (!done) return throw_error(env, "trainerForwardTraining: out of memory");
  return NULL;
}

/*
 * trainerProfile(trainer): where its steps' time went, as a Float64Array: the number of
 * steps, the nanoseconds summed over them of the loss and of the update, then each layer's
 * forward and backward nanoseconds.
 */
static napi_value trainer_profile(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  trainer *t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      !(t = unwrap(env, argv[0])))
    return throw_error(env, "trainerProfile: expected a trainer");
  const size_t count = 3 + 2 * (size_t)t->layers_count;
  napi_value buffer, out;
  double *values;
  if (napi_create_arraybuffer(env, count * sizeof(double), (void **)&values, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, count, buffer, 0, &out) != napi_ok)
    return throw_error(env, "trainerProfile: out of memory");
  values[0] = (double)t->steps;
  values[1] = t->loss_ns;
  values[2] = t->update_ns;
  for (int l = 0; l < t->layers_count; l++) {
    values[3 + 2 * l] = t->forward_ns[l];
    values[4 + 2 * l] = t->backward_ns[l];
  }
  return out;
}

void register_trainer(napi_env env, napi_value exports) {
  export_function(env, exports, "createTrainer", create_trainer);
  export_function(env, exports, "trainStep", train_step);
  export_function(env, exports, "freeTrainer", free_trainer_now);
  export_function(env, exports, "trainerProfile", trainer_profile);
  export_function(env, exports, "trainerEvaluate", trainer_evaluate);
  export_function(env, exports, "trainerForwardTraining", trainer_forward_training);
}
