/*
 * The layers of batch-normalised and residual networks (VGG with batch norm, ResNet-20) for the
 * whole-step trainer (trainer.c): batch norm in training mode, global average pooling and the
 * residual sum, forward and backward, split over the pool by rows when large.
 */
#ifndef TICKETLAB_LAYERS_H
#define TICKETLAB_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

/* Parts for a pass over `elements` floats in `rows` rows: one below about 64K floats, where
   waking helpers costs more than it saves (trainer.c). */
int parts_for(int64_t elements, int64_t rows);

/*
 * Batch norm over rows × c (NHWC: every position of every image is a row) with the batch's
 * statistics: y = γ (x − mean) / √(var + ε) + β, then max(·, 0) when relu; var is the biased
 * variance, as tf.moments gives it. Writes the batch's mean and 1/√(var + ε) per channel, and
 * the unbiased variance into `variance` (for the moving average). `partials`: 2 × 64 × c
 * doubles of scratch.
 */
void batch_norm_forward(const float *x, float *y, int64_t rows, int64_t c, const float *gamma,
                        const float *beta, float epsilon, bool relu, float *mean, float *invstd,
                        double *variance, double *partials);

/* Batch norm in inference mode: the moving statistics in place of the batch's, then the ReLU. */
void batch_norm_inference(const float *x, float *y, int64_t rows, int64_t c, const float *gamma,
                          const float *beta, const float *moving_mean,
                          const float *moving_variance, float epsilon, bool relu);

/*
 * Its gradient, through the batch's statistics: dy becomes the gradient at the normalised
 * output before the ReLU (masked by y > 0 when relu), dgamma and dbeta are written, and dx
 * (unless NULL) the gradient at x.
 */
void batch_norm_backward(float *dy, const float *y, const float *x, float *dx, int64_t rows,
                         int64_t c, const float *gamma, const float *mean, const float *invstd,
                         bool relu, float *dgamma, float *dbeta, double *partials);

/* y[n, c] = the mean of x[n, ·, c] over `positions`; backward: dx = dy / positions at each. */
void global_avg_pool(const float *x, float *y, int64_t n, int64_t positions, int64_t c);
void global_avg_pool_backward(const float *dy, float *dx, int64_t n, int64_t positions,
                              int64_t c);

/* y = max(a + b, 0) (a residual block's output); count floats. */
void add_relu(const float *a, const float *b, float *y, int64_t count);
/* dy ⊙= (y > 0), the ReLU's gradient at its input. */
void relu_backward(float *dy, const float *y, int64_t count);
/* y += x */
void add_into(float *y, const float *x, int64_t count);

#endif
