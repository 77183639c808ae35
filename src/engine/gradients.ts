import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  FusedBatchNormAttrs,
  MaxPoolGradAttrs,
  MeanAttrs,
} from '@tensorflow/tfjs-core';

let registered = false;

/**
 * Gradients that tfjs lacks or computes wastefully; call after tfjs's own are registered.
 *
 * - Second derivatives through convolutions and max pooling, which GraSP's Hessian-gradient
 *   product needs on conv nets: tfjs registers no gradient for Conv2DBackpropFilter nor for
 *   MaxPoolGrad. Checked against finite differences in test/engine/gradients.test.ts.
 * - Mean's gradient without a host-side array: tfjs's multiplies dy by `ones(x.shape)`, a
 *   JavaScript array the size of the input (uploaded to the GPU on WebGPU), for every mean
 *   in the backward pass, two per batch-norm layer. On an H200 filling it was 28% of a
 *   ResNet-20 step's CPU time and creating its GPU buffers 17% more
 *   (bench/records/gpu-2026-12-04T1824.cpuprofile). Here `onesLike`, which the
 *   backend fills where the data lives; the arithmetic, and so every bit, is tfjs's.
 * - FusedBatchNorm's gradient without `tile`: tfjs's tiles 1/√(σ²+ε) to the input's full
 *   shape before multiplying dy by it, and wasm's Tile kernel took 65% of a ResNet-20 step
 *   on tfjs's kernels (746 of 1,155 ms; bench/records/profile-2026-12-04T1858.md). A
 *   broadcasting multiply gives the same products without the copy: 447 ms a step
 *   (profile-2026-12-04T1859.md). Its derivatives reduce with sums, so GraSP's
 *   Hessian-gradient product differentiates batch norm through it a second time (through
 *   tfjs's, whose tile's gradient slices dy once per repetition, it grew with (N·H·W)²).
 *   The other derivatives are tfjs's as they are.
 */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const { varianceEpsilon } = attrs as unknown as FusedBatchNormAttrs;
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor?];
      const dyT = dy as tf.Tensor;
      const scaleValue = scale ?? tf.scalar(1);
      const axes = tf.broadcast_util.getReductionAxes(mean.shape, x.shape);
      const perChannel = mean.rank === 1;
      const reduce = (t: tf.Tensor) => tf.reshape(perChannel ? tf.sum(t, axes) : t, mean.shape);
      const xMinusMean = tf.sub(x, mean);
      const dyTimesScale = tf.mul(dyT, scaleValue);
      const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
      return {
        x: () =>
          tf.reshape(
            tf.mul(
              tf.mul(dyT, perChannel ? tf.reshape(rstd, [1, 1, 1, mean.shape[0]!]) : rstd),
              scaleValue,
            ),
            x.shape,
          ),
        mean: () => reduce(tf.mul(tf.mul(rstd, tf.scalar(-1)), dyTimesScale)),
        variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
        scale: () => reduce(tf.mul(dyT, tf.mul(xMinusMean, rstd))),
        offset: () => reduce(dyT),
      };
    },
  });
  tf.registerGradient({
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as unknown as MeanAttrs).axis, x.shape);
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const reduceSize = axes.reduce((n, a) => n * x.shape[a]!, 1);
      return {
        x: () => tf.div(tf.mul(tf.reshape(dy as tf.Tensor, expanded), tf.onesLike(x)), reduceSize),
      };
    },
  });
  // The filter gradient dW(x, dy) is bilinear: for an upstream ddW its gradients are
  // conv2d(x, ddW) for dy and the transposed convolution of dy with ddW for x (TensorFlow's
  // Conv2DBackpropFilterGrad).
  tf.registerGradient({
    kernelName: tf.Conv2DBackpropFilter,
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
      const filter = ddw as tf.Tensor4D;
      const { strides, pad, dataFormat, dimRoundingMode } =
        attrs as unknown as Conv2DBackpropFilterAttrs;
      if (dataFormat === 'NCHW') throw new Error('second derivatives of a convolution need NHWC');
      return {
        x: () => tf.conv2dTranspose(dy, filter, x.shape, strides, pad, dimRoundingMode),
        dy: () => tf.conv2d(x, filter, strides, pad, dataFormat, 1, dimRoundingMode),
      };
    },
  });
  // The pooling gradient routes each output's dy to its window's largest input: linear in
  // dy, so for an upstream ddx the gradient for dy reads ddx at those positions; for the
  // input and output it is zero almost everywhere (the routing is piecewise constant).
  tf.registerGradient({
    kernelName: tf.MaxPoolGrad,
    inputsToSave: ['input', 'output'],
    gradFunc: (ddx, saved, attrs) => {
      const [input, output] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { filterSize, strides, pad } = attrs as unknown as MaxPoolGradAttrs;
      if (typeof pad === 'object')
        throw new Error('second derivatives of a max pooling need padding valid, same or a number');
      return {
        dy: () => {
          const { indexes } = tf.maxPoolWithArgmax(input, filterSize, strides, pad, true);
          const flat = tf.reshape(ddx as tf.Tensor, [-1]);
          return tf.reshape(tf.gather(flat, tf.reshape(indexes!, [-1])), indexes!.shape);
        },
        input: () => tf.zerosLike(input),
        output: () => tf.zerosLike(output),
      };
    },
  });
}
