import { buildArchitecture } from '../../engine/architectures.ts';
import { bundleToWeights } from '../../engine/weights.ts';
import { bundleToMask } from '../../pruning/mask.ts';
import { runTransfer } from '../../pruning/transfer.ts';
import type { MethodRunner } from './runner.ts';

/** A ticket found on another dataset, trained on this one (Morcos et al. 2019). */
export const transferRunner: MethodRunner = {
  async run({ job, spec, blobs, base, hooks, options, completed }) {
    const source = job.transfer!;
    await runTransfer(
      {
        ...base,
        source: {
          ticketId: source.ticketId,
          arch: buildArchitecture(spec.model, source.inputShape, source.classes),
          mask: bundleToMask(blobs.getTensors(source.maskBlob)),
          startWeights: bundleToWeights(blobs.getTensors(source.initBlob)),
        },
      },
      hooks,
      { ...options, completed },
    );
  },
};
