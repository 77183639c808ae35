import * as tf from '@tensorflow/tfjs-core';
import type { Architecture } from './architectures.ts';
import { Model } from './model.ts';
import type { Weights } from './weights.ts';

export interface Latency {
  batch: number;
  /** median over the timed runs, after warm-up */
  medianMs: number;
  /** examples per second at that median */
  throughput: number;
  runs: number;
}

/**
 * Inference latency of a model on the active backend: `warmup` untimed runs, then the
 * median of `runs` timed ones, each waiting for the result to be read back (so lazy
 * backends cannot hide work).
 */
export async function measureLatency(
  arch: Architecture,
  weights: Weights,
  batch: number,
  options: { warmup?: number; runs?: number } = {},
): Promise<Latency> {
  const { warmup = 3, runs = 15 } = options;
  const model = new Model(arch, weights);
  const x = tf.randomUniform([batch, ...arch.inputShape]);
  const once = async () => {
    const y = tf.tidy(() => model.apply(x, false));
    await y.data();
    y.dispose();
  };
  try {
    for (let i = 0; i < warmup; i++) await once();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await once();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const medianMs = times[Math.floor(times.length / 2)]!;
    return { batch, medianMs, throughput: (batch * 1000) / medianMs, runs };
  } finally {
    x.dispose();
    model.dispose();
  }
}
