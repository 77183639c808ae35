import * as tf from '@tensorflow/tfjs-core';
import type { Conv2DBackpropFilterAttrs, MaxPoolGradAttrs } from '@tensorflow/tfjs-core';

/**
 * Second derivatives through convolutions and max pooling, which GraSP's Hessian-gradient
 * product needs on conv nets: tfjs registers no gradient for Conv2DBackpropFilter nor for
 * MaxPoolGrad. Checked against finite differences in test/pruning/scores.test.ts. Call
 * once, after tfjs's own gradients are registered.
 */
export function registerSecondOrderGradients(): void {
  if (tf.getGradient(tf.Conv2DBackpropFilter)) return;
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
