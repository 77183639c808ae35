/**
 * The pruning vocabulary, free of tensor code so that the contract (and the renderer)
 * can name methods without loading tfjs.
 */
export const SCORE_NAMES = ['synflow', 'snip', 'grasp', 'magnitude', 'random'] as const;
export type ScoreName = (typeof SCORE_NAMES)[number];

/** Structured methods: their tickets are physically smaller models. */
export const STRUCTURED_NAMES = ['l1-filter', 'slimming', 'pca', 'l0', 'bayesian'] as const;
export type StructuredName = (typeof STRUCTURED_NAMES)[number];

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
