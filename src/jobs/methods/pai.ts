import { runPai } from '../../pruning/pai.ts';
import type { MethodRunner } from './runner.ts';

/** Pruning at initialisation by a score (SynFlow, SNIP, GraSP, magnitude, random). */
export const paiRunner: MethodRunner = {
  async run({ spec, base, hooks, options, completed, classes }) {
    await runPai(
      {
        ...base,
        score: spec.pai.score,
        scope: spec.pai.scope,
        compressions: spec.pai.compressions,
        rounds: spec.pai.rounds,
        iterative: spec.pai.iterative,
        statistics: spec.pai.batchNormStatistics,
        samples: spec.pai.samplesPerClass * classes,
      },
      hooks,
      { ...options, completed },
    );
  },
};
