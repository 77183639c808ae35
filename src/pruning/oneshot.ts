import { runKey } from '../core/run-key.ts';
import { initWeights, type Weights } from '../engine/weights.ts';
import { ticketTrainer, type ImpHooks, type RunOptions, type TrainerConfig } from './imp.ts';
import { applyMask, countKept, denseMask } from './mask.ts';
import { keepTop, type Scores } from './scores.ts';

export interface OneShotConfig extends TrainerConfig {
  scope: 'global' | 'layerwise';
  /** log10 compression ratios; level i keeps 10^−compressions[i−1] of the prunable weights */
  compressions: number[];
}

/** Where an interrupted one-shot experiment stands: its trained dense network. */
export interface OneShotResume {
  denseTrained: Weights;
  /** θ0, or θ_k when rewinding */
  rewindWeights: Weights;
}

/**
 * One-shot magnitude pruning after training (Han et al. 2015; the one-shot baseline of
 * Frankle & Carbin 2019 §2): train the dense network once, then for each compression keep
 * the largest trained weights (global or per layer), reset the survivors to θ0 (or rewind
 * them to θ_k), and train that ticket, with the controls of the level. Every ticket's parent
 * is the dense one. Runs already stored (`completed`) are skipped.
 */
export async function runOneShot(
  config: OneShotConfig,
  hooks: ImpHooks,
  options: RunOptions & { completed?: Set<string>; resume?: OneShotResume } = {},
): Promise<void> {
  const { specs, trainTicket, controls } = ticketTrainer(config, hooks, options);
  const done = options.completed ?? new Set<string>();
  const dense = denseMask(specs);
  let { denseTrained, rewindWeights } = options.resume ?? {};
  if (!denseTrained || !rewindWeights) {
    const theta0 = initWeights(specs, config.init, config.seed);
    const ticket = await trainTicket(0, 'dense', null, dense, theta0);
    denseTrained = ticket.trainedWeights;
    rewindWeights = ticket.rewindWeights ?? theta0;
  }
  const magnitudes: Scores = new Map(
    [...dense.keys()].map((name) => [name, denseTrained!.get(name)!.map(Math.abs)]),
  );
  for (let level = 1; level <= config.compressions.length; level++) {
    const self = { level, method: 'oneshot' as const };
    const mask = keepTop(magnitudes, dense, 10 ** -config.compressions[level - 1]!, config.scope);
    const collapsed = [...mask].filter(([, m]) => countKept(m) === 0).map(([name]) => name);
    if (collapsed.length > 0) {
      hooks.onWarning?.(
        `Layer collapse: one-shot pruning at compression 10^${config.compressions[level - 1]} removes every weight of ${collapsed.join(', ')}; the network is disconnected and will train to chance.`,
      );
    }
    if (!done.has(runKey(self)))
      await trainTicket(
        level,
        'oneshot',
        { level: 0, method: 'dense' },
        mask,
        applyMask(rewindWeights, mask),
      );
    await controls(level, mask, rewindWeights, done, self);
  }
}
