import { deriveSeed } from '../core/random.ts';
import { runKey } from '../core/run-key.ts';
import { controlsAt, type ScoringIteration, type ScoringStatistics } from '../core/vocabulary.ts';
import { Model } from '../engine/model.ts';
import { initWeights } from '../engine/weights.ts';
import { ticketTrainer, type ImpHooks, type RunOptions, type TrainerConfig } from './imp.ts';
import { applyMask, countKept, denseMask } from './mask.ts';
import type { ScoreName } from './methods.ts';
import { pruneAtInit } from './scores.ts';

export interface PaiConfig extends TrainerConfig {
  score: ScoreName;
  scope: 'global' | 'layerwise';
  /** log10 compression ratios; level i keeps 10^−compressions[i−1] of the prunable weights */
  compressions: number[];
  /** scoring rounds: SynFlow's, and SNIP's and GraSP's where `iterative` */
  rounds: number;
  /** how SNIP and GraSP, too, prune over `rounds` */
  iterative: ScoringIteration;
  /** batch norm's statistics while SNIP and GraSP score */
  statistics: ScoringStatistics;
  /** training examples for SNIP and GraSP */
  samples: number;
}

/**
 * Pruning at initialisation: level 0 trains the dense network; level i prunes θ0 with the
 * score to the i-th compression ratio (Tanaka et al. 2020 sweep 10^0.5 … 10^3) and trains
 * that ticket from θ0, with the controls of the level. Every ticket's parent is the dense
 * one. Runs already stored (`completed`) are skipped; masks are recomputed, as scoring is
 * deterministic.
 */
export async function runPai(
  config: PaiConfig,
  hooks: ImpHooks,
  options: RunOptions & { completed?: Set<string> } = {},
): Promise<void> {
  const { specs, trainTicket, controls } = ticketTrainer(config, hooks, options);
  const done = options.completed ?? new Set<string>();
  const theta0 = initWeights(specs, config.init, config.seed);
  const dense = denseMask(specs);
  if (!done.has(runKey({ level: 0, method: 'dense' })))
    await trainTicket(0, 'dense', null, dense, theta0);

  for (let level = 1; level <= config.compressions.length; level++) {
    const method = config.score;
    const ticketDone = done.has(runKey({ level, method }));
    const controlsDone = controlsAt(config.controls, level).every((control) =>
      done.has(runKey({ level, method: control })),
    );
    if (ticketDone && controlsDone) continue;
    const model = new Model(config.arch, theta0);
    let mask;
    try {
      mask = await pruneAtInit(model, dense, {
        score: config.score,
        density: 10 ** -config.compressions[level - 1]!,
        scope: config.scope,
        rounds: config.rounds,
        iterative: config.iterative,
        statistics: config.statistics,
        samples: config.samples,
        seed: deriveSeed(config.seed, 'score', level),
        data: config.data,
        signal: options.signal,
        pauseSignal: options.pauseSignal,
      });
    } finally {
      model.dispose();
    }
    // Layer collapse (Tanaka et al. 2020 §3): the ticket is still trained, since showing it
    // is the point of the comparison, but the user is told which layers were cut off.
    const collapsed = [...mask].filter(([, m]) => countKept(m) === 0).map(([name]) => name);
    if (collapsed.length > 0) {
      hooks.onWarning?.(
        `Layer collapse: ${config.score} at compression 10^${config.compressions[level - 1]} prunes every weight of ${collapsed.join(', ')}; the network is disconnected and will train to chance.`,
      );
    }
    if (!ticketDone)
      await trainTicket(
        level,
        method,
        { level: 0, method: 'dense' },
        mask,
        applyMask(theta0, mask),
      );
    await controls(level, mask, theta0, done, { level, method });
  }
}
