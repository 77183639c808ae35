import * as tf from '@tensorflow/tfjs-core';
import { durationToIterations } from '../../api/spec.ts';
import { bundleToWeights } from '../../engine/weights.ts';
import { runStructured } from '../../pruning/structured/run.ts';
import type { MethodRunner } from './runner.ts';

/** Structured pruning: units cut out, the smaller model retrained from its pruned weights. */
export const structuredRunner: MethodRunner = {
  async run({ job, spec, blobs, base, hooks, options, completed, iterationsPerEpoch }) {
    const r = job.resume;
    const s = spec.structured;
    await runStructured(
      {
        ...base,
        method: s.method,
        rates: s.rates,
        energies: s.energies,
        l0Lambda: s.l0Lambda,
        logAlphaThresholds: s.logAlphaThresholds,
        calibrationSamples: s.calibrationSamples,
        fineTuneIterations: durationToIterations(s.fineTune, iterationsPerEpoch),
        sparsity: s.sparsity,
        earlyBird: s.earlyBird,
        latencyRuns: s.latencyRuns,
        backend: tf.getBackend(),
      },
      hooks,
      {
        ...options,
        completed,
        resume:
          r.last?.level === 0
            ? {
                denseTrained: bundleToWeights(blobs.getTensors(r.last.trainedBlob)),
                structure: r.last.structure,
              }
            : undefined,
      },
    );
  },
};
