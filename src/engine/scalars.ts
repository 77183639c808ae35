import * as tf from '@tensorflow/tfjs-core';

/**
 * Scalar tensors made once per call rather than once per operation. `tf.mul(x, 0.9)` makes
 * a new scalar tensor each time, and on WebGPU each one is a GPU buffer created and
 * uploaded: an SGD step made three per parameter and batch norm five per layer, 7% of a
 * ResNet-20 step's CPU time on an H200 (bench/records/gpu-2026-12-04T1824.cpuprofile). Use
 * inside the tidy of the step or forward pass, which disposes them.
 */
export function scalars(): (x: number) => tf.Scalar {
  const made = new Map<number, tf.Scalar>();
  return (x) => {
    let s = made.get(x);
    if (!s) made.set(x, (s = tf.scalar(x)));
    return s;
  };
}
