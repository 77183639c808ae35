import { bundleToWeights } from '../../engine/weights.ts';
import { runImp } from '../../pruning/imp.ts';
import { bundleToMask } from '../../pruning/mask.ts';
import type { MethodRunner } from './runner.ts';

/** Iterative magnitude pruning (Frankle & Carbin 2019): resumes after its last stored level. */
export const impRunner: MethodRunner = {
  async run({ job, spec, blobs, base, hooks, options, completed }) {
    const r = job.resume;
    await runImp(
      {
        ...base,
        levels: spec.pruning.levels,
        scope: spec.pruning.scope,
        rates: spec.pruning.rates,
        globalRate: spec.pruning.globalRate,
        pruneOutput: spec.pruning.pruneOutput,
      },
      hooks,
      {
        ...options,
        resume: r.last
          ? {
              completed,
              last: {
                level: r.last.level,
                mask: bundleToMask(blobs.getTensors(r.last.maskBlob)),
                trainedWeights: bundleToWeights(blobs.getTensors(r.last.trainedBlob)),
              },
              rewindWeights: bundleToWeights(blobs.getTensors(r.rewindBlob!)),
            }
          : undefined,
      },
    );
  },
};
