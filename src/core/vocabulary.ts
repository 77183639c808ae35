/**
 * The names every layer shares: models, experiment methods, scores and what produced a
 * ticket. Plain data on the ground floor, so the contract (and the renderer) can name them
 * without loading tfjs, the engine or the pruning code.
 */

/** Model architectures (src/engine/architectures.ts describes each). */
export const MODEL_NAMES = [
  'lenet-300-100',
  'lenet-5',
  'conv-2',
  'conv-4',
  'conv-6',
  'vgg-11',
  'vgg-16',
  'resnet-20',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * Experiment methods (a spec's `method`): iterative magnitude pruning, one-shot magnitude
 * pruning after training, pruning at initialisation, transfer, structured pruning. Each
 * has a spec entry in src/api/methods.ts and a runner in src/jobs/methods/.
 */
export const METHOD_NAMES = ['imp', 'oneshot', 'pai', 'transfer', 'structured'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/**
 * What a job does. `imp` trains an experiment's levels, whatever its method (the name jobs
 * have carried since the first one, kept because stored rows say it); `instability` runs
 * the instability analysis of a ticket (Frankle et al. 2020).
 */
export const JOB_KINDS = ['imp', 'instability'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/**
 * Where an instability analysis took θ_k from: θ0 itself (k = 0), the weights the
 * experiment stored for rewinding, or the dense network retrained from θ0 to k.
 */
export type ThetaKSource = 'initial' | 'stored' | 'recomputed';

/** Scores for pruning at initialisation (src/pruning/scores.ts). */
export const SCORE_NAMES = ['synflow', 'snip', 'grasp', 'magnitude', 'random'] as const;
export type ScoreName = (typeof SCORE_NAMES)[number];

/**
 * How SNIP and GraSP prune over several rounds: not at all (`off`: one ranking), ranking only
 * the weights still kept each round (`keep-pruned`), or ranking every weight each round, so
 * that one pruned earlier can return (`revive`).
 */
export const SCORING_ITERATIONS = ['off', 'keep-pruned', 'revive'] as const;
export type ScoringIteration = (typeof SCORING_ITERATIONS)[number];

/**
 * The statistics batch norm normalises by while SNIP and GraSP differentiate the loss: the
 * sample's own (`batch`: training mode) or the running ones (`running`: evaluation mode; at
 * initialisation they are mean 0 and variance 1, so batch norm is then the identity).
 */
export const SCORING_STATISTICS = ['batch', 'running'] as const;
export type ScoringStatistics = (typeof SCORING_STATISTICS)[number];

/** Structured methods: their tickets are physically smaller models. */
export const STRUCTURED_NAMES = ['l1-filter', 'slimming', 'pca', 'l0', 'bayesian'] as const;
export type StructuredName = (typeof STRUCTURED_NAMES)[number];

/** The structured methods that learn unit gates: their search trains the gated network. */
export const GATE_METHODS = ['l0', 'bayesian'] as const satisfies readonly StructuredName[];
export type GateMethod = (typeof GATE_METHODS)[number];

export function isGateMethod(method: string): method is GateMethod {
  return (GATE_METHODS as readonly string[]).includes(method);
}

/**
 * What produced a ticket: the dense level, an IMP level, one-shot pruning after training,
 * a score at init, a ticket transferred from another dataset, or a control.
 */
export type TicketMethod =
  | 'dense'
  | 'imp'
  | 'oneshot'
  | 'transfer'
  | 'random-reinit'
  | 'random-prune'
  | ScoreName
  | StructuredName;

/** A pruned level's controls as a spec asks for them (Frankle & Carbin 2019 §2). */
export interface Controls {
  randomReinit: boolean;
  randomPrune: boolean;
  /** the pruned levels that train them; every level where absent */
  levels?: number[];
}

/** The controls trained beside a pruned level's ticket, in the order the runners train them. */
export function controlsAt(
  controls: Controls,
  level: number,
): ('random-reinit' | 'random-prune')[] {
  if (level === 0 || (controls.levels && !controls.levels.includes(level))) return [];
  return [
    ...(controls.randomReinit ? (['random-reinit'] as const) : []),
    ...(controls.randomPrune ? (['random-prune'] as const) : []),
  ];
}

/**
 * The fields of a spec's `structured` section each method reads, beside `method`, `fineTune`
 * and `latencyRuns`: the others are defaults it never looks at.
 */
export const STRUCTURED_METHOD_FIELDS: Record<StructuredName, readonly string[]> = {
  'l1-filter': ['rates'],
  slimming: ['rates', 'sparsity', 'earlyBird'],
  pca: ['energies', 'calibrationSamples'],
  l0: ['l0Lambda'],
  bayesian: ['logAlphaThresholds'],
};

/** Levels of a structured experiment: one per rate, energy or threshold its method takes. */
export function structuredLevels(s: {
  method: StructuredName;
  rates: number[];
  energies: number[];
  logAlphaThresholds: number[];
}): number {
  return {
    'l1-filter': s.rates.length,
    slimming: s.rates.length,
    pca: s.energies.length,
    l0: 1,
    bayesian: s.logAlphaThresholds.length,
  }[s.method];
}

/**
 * What a structured experiment's pruned level (1 and up) sets: its rate, energy or
 * threshold, or l0's λ for its one level.
 */
export function structuredLevelValue(
  s: {
    method: StructuredName;
    rates: number[];
    energies: number[];
    logAlphaThresholds: number[];
    l0Lambda: number;
  },
  level: number,
): number {
  if (s.method === 'l0') return s.l0Lambda;
  const values =
    s.method === 'pca' ? s.energies : s.method === 'bayesian' ? s.logAlphaThresholds : s.rates;
  const value = values[level - 1];
  if (value === undefined) throw new Error(`a ${s.method} experiment has no level ${level}`);
  return value;
}
