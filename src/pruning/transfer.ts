import { TicketLabError } from '../core/errors.ts';
import { deriveSeed, Rng } from '../core/random.ts';
import { runKey } from '../core/run-key.ts';
import { describeParams, type Architecture } from '../engine/architectures.ts';
import { initWeights, type Weights } from '../engine/weights.ts';
import { ticketTrainer, type ImpHooks, type RunOptions, type TrainerConfig } from './imp.ts';
import { applyMask, countKept, type Mask } from './mask.ts';

/**
 * Ticket transfer (Morcos et al. 2019, "One ticket to win them all"): a ticket's mask and
 * the weights its training started from, found on one dataset, trained on another.
 */

export interface TransferPlan {
  /** parameters that cannot carry over and start from a fresh initialisation */
  reinitialised: string[];
}

function describeShape(arch: Architecture): string {
  return `${arch.inputShape.join('×')} inputs, ${arch.classes} classes`;
}

/**
 * Which parameters carry over. Every parameter must keep its shape, except the output
 * layer's when the class count differs: that layer is re-initialised. Anything else
 * (another model, another input shape reaching a dense layer) is refused with the reason.
 */
export function transferPlan(source: Architecture, target: Architecture): TransferPlan {
  if (source.model !== target.model) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `A ${source.model} ticket cannot be trained as a ${target.model}; transfer keeps the model.`,
    );
  }
  const sourceShapes = new Map(describeParams(source).map((p) => [p.name, p.shape.join('×')]));
  const reinitialised: string[] = [];
  const mismatched: string[] = [];
  for (const p of describeParams(target)) {
    const from = sourceShapes.get(p.name);
    const to = p.shape.join('×');
    if (from === to) continue;
    if (p.isOutput && source.classes !== target.classes) reinitialised.push(p.name);
    else mismatched.push(`${p.name} is ${from ?? 'absent'} there and ${to} here`);
  }
  if (mismatched.length > 0) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `This ${source.model} ticket was found on ${describeShape(source)} and cannot transfer to ${describeShape(target)}: ${mismatched.join('; ')}. Only the output layer may change (another class count).`,
    );
  }
  return { reinitialised };
}

export interface TransferConfig extends TrainerConfig {
  source: {
    arch: Architecture;
    mask: Mask;
    /** the weights the source ticket's training started from (θ0 or θk, masked) */
    startWeights: Weights;
    /** its id, for messages */
    ticketId: string;
  };
}

/**
 * Trains the transferred ticket at level 1 (no dense level: the source lineage has it),
 * then the controls as its children. In a transfer, the controls start from fresh
 * weights: random-prune is a random mask of the same per-layer sparsity, freshly
 * initialised (Morcos et al.'s random ticket); random-reinit keeps the mask.
 * A re-initialised output layer keeps the source layer's density with a random mask.
 */
export async function runTransfer(
  config: TransferConfig,
  hooks: ImpHooks,
  options: RunOptions & { completed?: Set<string> } = {},
): Promise<void> {
  const { specs, trainTicket, controls } = ticketTrainer(config, hooks, options);
  const done = options.completed ?? new Set<string>();
  const { reinitialised } = transferPlan(config.source.arch, config.arch);
  const fresh = initWeights(specs, config.init, deriveSeed(config.seed, 'transfer-fresh'));
  const rng = new Rng(deriveSeed(config.seed, 'transfer-output-mask'));
  const mask: Mask = new Map();
  const start: Weights = new Map();
  for (const p of specs) {
    const reinit = reinitialised.includes(p.name);
    start.set(p.name, (reinit ? fresh : config.source.startWeights).get(p.name)!);
    if (!p.prunable) continue;
    if (!reinit) {
      mask.set(p.name, config.source.mask.get(p.name)!);
      continue;
    }
    const sourceMask = config.source.mask.get(p.name)!;
    const size = p.shape.reduce((a, b) => a * b, 1);
    const keep = Math.round((countKept(sourceMask) / sourceMask.length) * size);
    const order = rng.permutation(size);
    const m = new Uint8Array(size);
    for (let j = 0; j < keep; j++) m[order[j]!] = 1;
    mask.set(p.name, m);
  }
  if (reinitialised.length > 0) {
    hooks.onWarning?.(
      `Ticket ${config.source.ticketId} has ${config.source.arch.classes} classes and this dataset ${config.arch.classes}: ${reinitialised.join(', ')} start from a fresh initialisation, the output kernel under a random mask of the source's density.`,
    );
  }
  const self = { level: 1, method: 'transfer' as const };
  if (!done.has(runKey(self))) await trainTicket(1, 'transfer', null, mask, applyMask(start, mask));
  const randomStart = initWeights(specs, config.init, deriveSeed(config.seed, 'random-ticket'));
  await controls(1, mask, randomStart, done, self);
}
