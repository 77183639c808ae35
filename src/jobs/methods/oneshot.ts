import { bundleToWeights } from '../../engine/weights.ts';
import { runOneShot } from '../../pruning/oneshot.ts';
import type { MethodRunner } from './runner.ts';

/** One-shot magnitude pruning after training: the dense network is trained once. */
export const oneshotRunner: MethodRunner = {
  async run({ job, spec, blobs, base, hooks, options, completed }) {
    const r = job.resume;
    await runOneShot(
      { ...base, scope: spec.oneshot.scope, compressions: spec.oneshot.compressions },
      hooks,
      {
        ...options,
        completed,
        // the dense network is stored once trained: later levels prune its weights
        resume:
          r.last?.level === 0 && r.rewindBlob
            ? {
                denseTrained: bundleToWeights(blobs.getTensors(r.last.trainedBlob)),
                rewindWeights: bundleToWeights(blobs.getTensors(r.rewindBlob)),
              }
            : undefined,
      },
    );
  },
};
