/*
 * Batch norm, global average pooling and residual sums for the whole-step trainer (layers.h).
 * Statistics are summed in double per part of the rows, then over the parts, so they do not
 * depend on how the rows were split beyond rounding.
 */
#include "layers.h"
#include <math.h>
#include <string.h>
#include "kernels.h"

typedef struct {
  const float *x, *y;
  float *out, *dy;
  int64_t rows, c;
  const float *a, *b, *mean; /* per channel: out = a·x + b (forward); see backward_part */
  const float *k1, *k2, *k3;
  bool relu;
  double *partials;
  int parts;
} bn_job;

/* Per part: Σx and Σx² per channel. */
VECTOR_CLONES static void moments_part(void *arg, int p) {
  const bn_job *j = arg;
  const int64_t r0 = j->rows * p / j->parts, r1 = j->rows * (p + 1) / j->parts, c = j->c;
  double *sum = j->partials + 2 * p * c, *squares = sum + c;
  memset(sum, 0, sizeof(double) * 2 * c);
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * c;
    for (int64_t q = 0; q < c; q++) {
      sum[q] += x[q];
      squares[q] += (double)x[q] * x[q];
    }
  }
}

/* out = a·x + b per channel, then the ReLU. */
VECTOR_CLONES static void normalise_part(void *arg, int p) {
  const bn_job *j = arg;
  const int64_t r0 = j->rows * p / j->parts, r1 = j->rows * (p + 1) / j->parts, c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * c;
    float *y = j->out + r * c;
    for (int64_t q = 0; q < c; q++) y[q] = j->a[q] * x[q] + j->b[q];
    if (j->relu)
      for (int64_t q = 0; q < c; q++) y[q] = y[q] < 0 ? 0 : y[q]; /* NaN stays */
  }
}

/* total[0, 2c) = the parts' sums, each part's 2c doubles apart. */
static void sum_parts(const double *partials, int parts, int64_t c, double *total) {
  for (int64_t q = 0; q < 2 * c; q++) {
    double s = 0;
    for (int p = 0; p < parts; p++) s += partials[2 * p * c + q];
    total[q] = s;
  }
}

#define MAX_CHANNELS 4096

void batch_norm_forward(const float *x, float *y, int64_t rows, int64_t c, const float *gamma,
                        const float *beta, float epsilon, bool relu, float *mean, float *invstd,
                        double *variance, double *partials) {
  float a[MAX_CHANNELS], b[MAX_CHANNELS];
  double total[2 * MAX_CHANNELS];
  bn_job job = {.x = x, .out = y, .rows = rows, .c = c, .a = a, .b = b, .relu = relu,
                .partials = partials, .parts = parts_for(rows * c, rows)};
  run_parts(moments_part, &job, job.parts);
  sum_parts(partials, job.parts, c, total);
  for (int64_t q = 0; q < c; q++) {
    const double m = total[q] / rows, v = fmax(total[c + q] / rows - m * m, 0);
    mean[q] = (float)m;
    invstd[q] = (float)(1 / sqrt(v + epsilon));
    variance[q] = rows > 1 ? v * rows / (rows - 1) : v;
    a[q] = gamma[q] * invstd[q];
    b[q] = beta[q] - mean[q] * a[q];
  }
  run_parts(normalise_part, &job, job.parts);
}

void batch_norm_inference(const float *x, float *y, int64_t rows, int64_t c, const float *gamma,
                          const float *beta, const float *moving_mean,
                          const float *moving_variance, float epsilon, bool relu) {
  float a[MAX_CHANNELS], b[MAX_CHANNELS];
  for (int64_t q = 0; q < c; q++) {
    a[q] = (float)(gamma[q] / sqrt((double)moving_variance[q] + epsilon));
    b[q] = beta[q] - moving_mean[q] * a[q];
  }
  bn_job job = {.x = x, .out = y, .rows = rows, .c = c, .a = a, .b = b, .relu = relu,
                .parts = parts_for(rows * c, rows)};
  run_parts(normalise_part, &job, job.parts);
}

/* Per part: the ReLU's mask applied to dy, then Σdy and Σdy·(x − mean) per channel. */
VECTOR_CLONES static void gradient_sums_part(void *arg, int p) {
  const bn_job *j = arg;
  const int64_t r0 = j->rows * p / j->parts, r1 = j->rows * (p + 1) / j->parts, c = j->c;
  double *sum = j->partials + 2 * p * c, *dot = sum + c;
  memset(sum, 0, sizeof(double) * 2 * c);
  for (int64_t r = r0; r < r1; r++) {
    float *d = j->dy + r * c;
    const float *x = j->x + r * c, *y = j->y + r * c;
    if (j->relu)
      for (int64_t q = 0; q < c; q++) d[q] = y[q] > 0 ? d[q] : 0;
    for (int64_t q = 0; q < c; q++) {
      sum[q] += d[q];
      dot[q] += d[q] * (x[q] - j->mean[q]);
    }
  }
}

/* dx = k1·dy + k2·x + k3 per channel. */
VECTOR_CLONES static void input_gradient_part(void *arg, int p) {
  const bn_job *j = arg;
  const int64_t r0 = j->rows * p / j->parts, r1 = j->rows * (p + 1) / j->parts, c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *d = j->dy + r * c, *x = j->x + r * c;
    float *dx = j->out + r * c;
    for (int64_t q = 0; q < c; q++) dx[q] = j->k1[q] * d[q] + j->k2[q] * x[q] + j->k3[q];
  }
}

/*
 * With x̂ = (x − mean)·s, s = 1/√(var + ε), g the gradient at γx̂ + β and R rows:
 * dγ = Σ g x̂, dβ = Σ g, dx = γ s (g − dβ/R − x̂ dγ/R) = k1 g + k2 x + k3.
 */
void batch_norm_backward(float *dy, const float *y, const float *x, float *dx, int64_t rows,
                         int64_t c, const float *gamma, const float *mean, const float *invstd,
                         bool relu, float *dgamma, float *dbeta, double *partials) {
  float k1[MAX_CHANNELS], k2[MAX_CHANNELS], k3[MAX_CHANNELS];
  double total[2 * MAX_CHANNELS];
  bn_job job = {.x = x, .y = y, .dy = dy, .out = dx, .rows = rows, .c = c, .mean = mean,
                .k1 = k1, .k2 = k2, .k3 = k3, .relu = relu, .partials = partials,
                .parts = parts_for(rows * c, rows)};
  run_parts(gradient_sums_part, &job, job.parts);
  sum_parts(partials, job.parts, c, total);
  for (int64_t q = 0; q < c; q++) {
    const double s = invstd[q], sum = total[q], dot_hat = total[c + q] * s;
    dbeta[q] = (float)sum;
    dgamma[q] = (float)dot_hat;
    const double scale = gamma[q] * s;
    k1[q] = (float)scale;
    k2[q] = (float)(-scale * s * dot_hat / rows);
    k3[q] = (float)(-scale * sum / rows + scale * s * dot_hat / rows * mean[q]);
  }
  if (dx) run_parts(input_gradient_part, &job, job.parts);
}

typedef struct {
  const float *x;
  float *y;
  int64_t n, positions, c;
  int parts;
} pool_job;

VECTOR_CLONES static void average_part(void *arg, int p) {
  const pool_job *j = arg;
  const int64_t b0 = j->n * p / j->parts, b1 = j->n * (p + 1) / j->parts, c = j->c;
  double sum[MAX_CHANNELS];
  for (int64_t b = b0; b < b1; b++) {
    memset(sum, 0, sizeof(double) * c);
    for (int64_t i = 0; i < j->positions; i++) {
      const float *x = j->x + (b * j->positions + i) * c;
      for (int64_t q = 0; q < c; q++) sum[q] += x[q];
    }
    for (int64_t q = 0; q < c; q++) j->y[b * c + q] = (float)(sum[q] / j->positions);
  }
}

void global_avg_pool(const float *x, float *y, int64_t n, int64_t positions, int64_t c) {
  pool_job job = {x, y, n, positions, c, parts_for(n * positions * c, n)};
  run_parts(average_part, &job, job.parts);
}

/* x is dy here, y is dx. */
VECTOR_CLONES static void spread_part(void *arg, int p) {
  const pool_job *j = arg;
  const int64_t b0 = j->n * p / j->parts, b1 = j->n * (p + 1) / j->parts, c = j->c;
  const float share = 1.0f / (float)j->positions;
  for (int64_t b = b0; b < b1; b++)
    for (int64_t i = 0; i < j->positions; i++) {
      float *dx = j->y + (b * j->positions + i) * c;
      for (int64_t q = 0; q < c; q++) dx[q] = j->x[b * c + q] * share;
    }
}

void global_avg_pool_backward(const float *dy, float *dx, int64_t n, int64_t positions,
                              int64_t c) {
  pool_job job = {dy, dx, n, positions, c, parts_for(n * positions * c, n)};
  run_parts(spread_part, &job, job.parts);
}

typedef struct {
  const float *a, *b;
  float *y;
  int64_t count;
  int kind, parts;
} elementwise_job;

enum { ADD_RELU, RELU_BACKWARD, ADD_INTO };

VECTOR_CLONES static void elementwise_part(void *arg, int p) {
  const elementwise_job *j = arg;
  const int64_t i0 = j->count * p / j->parts, i1 = j->count * (p + 1) / j->parts;
  const float *restrict a = j->a, *restrict b = j->b;
  float *restrict y = j->y;
  if (j->kind == ADD_RELU)
    for (int64_t i = i0; i < i1; i++) {
      const float s = a[i] + b[i];
      y[i] = s < 0 ? 0 : s;
    }
  else if (j->kind == RELU_BACKWARD)
    for (int64_t i = i0; i < i1; i++) y[i] = a[i] > 0 ? y[i] : 0;
  else
    for (int64_t i = i0; i < i1; i++) y[i] += a[i];
}

static void elementwise(int kind, const float *a, const float *b, float *y, int64_t count) {
  const int64_t rows = (count + 1023) / 1024; /* split on 1024-float boundaries at most */
  elementwise_job job = {a, b, y, count, kind, parts_for(count, rows)};
  run_parts(elementwise_part, &job, job.parts);
}

void add_relu(const float *a, const float *b, float *y, int64_t count) {
  elementwise(ADD_RELU, a, b, y, count);
}
void relu_backward(float *dy, const float *y, int64_t count) {
  elementwise(RELU_BACKWARD, y, NULL, dy, count);
}
void add_into(float *y, const float *x, int64_t count) { elementwise(ADD_INTO, x, NULL, y, count); }
