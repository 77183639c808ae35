import { z } from 'zod';
import { TicketLabError } from '../core/errors.ts';
import { DURATION_PATTERN, durationToIterations } from '../core/duration.ts';
import { deriveSeed } from '../core/random.ts';
import {
  METHOD_NAMES,
  MODEL_NAMES,
  SCORE_NAMES,
  SCORING_ITERATIONS,
  SCORING_STATISTICS,
  STRUCTURED_NAMES,
  type ModelName,
} from '../core/vocabulary.ts';
import {
  learningRateAt,
  milestoneToIterations,
  PERCENT_PATTERN,
  resolveSchedule,
  SCHEDULE_NAMES,
  type LearningRateSchedule,
} from '../core/schedule.ts';
import { specIterationsPerEpoch } from '../core/split-counts.ts';

export { MODEL_NAMES, type ModelName };

/**
 * The experiment spec: what a user writes in a spec file or the wizard. Its resolved form
 * is the experiment's identity (STYLE.md §4, after OpenLTH): the hash covers only fields
 * that differ from their defaults, so adding an option with a default never changes the
 * hash of an old experiment.
 */

export const PRESET_NAMES = ['frankle-carbin-2019', 'openlth', 'early-bird-2020'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * Upper bounds on what a spec may ask for. Past them a value is a typo (an extra digit, a
 * percentage written as a number), and a run would either never end or diverge at once.
 * README.md ("A spec") lists them.
 */
export const SPEC_LIMITS = {
  /** iterations in any duration (training, rewind, fine-tuning), and its `it`/`ep` counts */
  iterations: 1e9,
  /** no optimiser here trains at a learning rate above 10 */
  learningRate: 10,
  /** L2 weight decay is a fraction of the weight taken per step */
  weightDecay: 1,
  evalEvery: 1e9,
} as const;

/** A zod message naming the bound and the value given (the field is named by the path). */
const atMost = (bound: number, what = '') => ({
  error: (issue: { input?: unknown }) =>
    `must be at most ${bound}${what} (got ${String(issue.input)})`,
});

export { DURATION_PATTERN, durationToIterations };
export { learningRateAt, resolveSchedule, SCHEDULE_NAMES, type LearningRateSchedule };

const duration = z
  .string()
  .regex(DURATION_PATTERN, 'expected a duration such as "50000it", "40ep" or "1ep50it"')
  .refine((s) => s.length > 0, 'expected a duration such as "50000it", "40ep" or "1ep50it"')
  .refine(
    (s) => {
      const m = DURATION_PATTERN.exec(s);
      return (
        !m ||
        (Number(m[1] ?? 0) <= SPEC_LIMITS.iterations && Number(m[2] ?? 0) <= SPEC_LIMITS.iterations)
      );
    },
    {
      error: (issue) =>
        `"${String(issue.input)}" is too long: a duration may be at most ${SPEC_LIMITS.iterations} iterations`,
    },
  );

/**
 * The durations once the epoch size is known (a dataset's training split and the batch
 * size): each at most SPEC_LIMITS.iterations iterations, a training of at least one, the
 * rewind point before its end, and the schedule inside it. Run when an experiment is created
 * and again in the worker.
 */
export function checkDurations(spec: ResolvedSpec, iterationsPerEpoch: number): void {
  const durations: [string, string][] = [
    ['spec.training.duration', spec.training.duration],
    ['spec.pruning.rewind', spec.pruning.rewind],
    ['spec.structured.fineTune', spec.structured.fineTune],
  ];
  for (const [field, d] of durations) {
    const n = durationToIterations(d, iterationsPerEpoch);
    if (n > SPEC_LIMITS.iterations)
      throw new TicketLabError(
        'INVALID_SPEC',
        `Invalid spec:\n${field}: "${d}" is ${n} iterations (${iterationsPerEpoch} per epoch); at most ${SPEC_LIMITS.iterations} are allowed: shorten it`,
      );
  }
  const iterations = durationToIterations(spec.training.duration, iterationsPerEpoch);
  if (iterations < 1)
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\nspec.training.duration: "${spec.training.duration}" is zero iterations; train for at least one, e.g. "1ep"`,
    );
  const rewind = durationToIterations(spec.pruning.rewind, iterationsPerEpoch);
  if (rewind >= iterations)
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\nspec.pruning.rewind: "${spec.pruning.rewind}" is iteration ${rewind}, not before the end of training ("${spec.training.duration}", ${iterations} iterations at ${iterationsPerEpoch} per epoch); rewind to an earlier iteration (Frankle et al. 2020 rewind to 0.1–7% of training) or train longer`,
    );
  checkSchedule(spec.training, iterationsPerEpoch);
}

/**
 * The schedule's milestones and warm-up once the epoch size is known: each milestone inside
 * the training (after its first iteration, before its last) and later than the one before,
 * the warm-up shorter than the training.
 */
export function checkSchedule(
  training: ResolvedSpec['training'],
  iterationsPerEpoch: number,
): void {
  const total = durationToIterations(training.duration, iterationsPerEpoch);
  const at = (m: string) => milestoneToIterations(m, iterationsPerEpoch, total);
  const where = `${iterationsPerEpoch} iterations per epoch, ${total} in training`;
  training.milestones.forEach((m, i) => {
    const n = at(m);
    if (n < 1 || n >= total)
      throw new TicketLabError(
        'INVALID_SPEC',
        `Invalid spec:\nspec.training.milestones[${i}]: "${m}" is iteration ${n} (${where}); a milestone must fall inside the training: choose one between 1it and ${Math.max(total - 1, 1)}it, or a share such as "50%"`,
      );
    if (i > 0 && n <= at(training.milestones[i - 1]!))
      throw new TicketLabError(
        'INVALID_SPEC',
        `Invalid spec:\nspec.training.milestones[${i}]: "${m}" is iteration ${n}, not after the milestone before it ("${training.milestones[i - 1]}", iteration ${at(training.milestones[i - 1]!)}); list milestones in increasing order`,
      );
  });
  const warmup = durationToIterations(training.warmup, iterationsPerEpoch);
  if (warmup >= total && warmup > 0)
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\nspec.training.warmup: "${training.warmup}" is ${warmup} iterations (${where}); the warm-up must end before the training does`,
    );
}

/**
 * Augmentation moves and mirrors pixels, so it needs images: at least 2×2 pixels, and a
 * crop's padding smaller than the image's sides. Checked where the dataset is known.
 */
export function checkAugmentation(
  training: ResolvedSpec['training'],
  inputShape: readonly [number, number, number],
  datasetName: string,
): void {
  const { cropPadding, horizontalFlip } = training.augmentation;
  if (cropPadding === 0 && !horizontalFlip) return;
  const [h, w] = inputShape;
  const field = horizontalFlip ? 'horizontalFlip' : 'cropPadding';
  if (h < 2 || w < 2)
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\nspec.training.augmentation.${field}: ${datasetName}'s examples are ${inputShape.join('×')} (height × width × channels), not images: random crops and flips apply to images only; remove spec.training.augmentation`,
    );
  if (cropPadding >= Math.min(h, w))
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\nspec.training.augmentation.cropPadding: ${cropPadding} pixels of padding on ${datasetName}'s ${h}×${w} images would crop mostly padding; use less than ${Math.min(h, w)} (CIFAR recipes use 4)`,
    );
}

const rate = z.number().min(0).max(1);

/** A milestone: a duration, or a share of the training strictly between 0% and 100%. */
const milestone = z
  .string()
  .refine((s) => (s.length > 0 && DURATION_PATTERN.test(s)) || PERCENT_PATTERN.test(s), {
    error: (issue) =>
      `"${String(issue.input)}": expected a milestone such as "80ep", "32000it" or "50%"`,
  })
  .refine(
    (s) => {
      const percent = PERCENT_PATTERN.exec(s);
      return !percent || (Number(percent[1]) > 0 && Number(percent[1]) < 100);
    },
    { error: (issue) => `"${String(issue.input)}" must be a share strictly between 0% and 100%` },
  )
  .refine(
    (s) => {
      const m = DURATION_PATTERN.exec(s);
      return !m || Math.max(Number(m[1] ?? 0), Number(m[2] ?? 0)) <= SPEC_LIMITS.iterations;
    },
    {
      error: (issue) =>
        `"${String(issue.input)}" is too long: a duration may be at most ${SPEC_LIMITS.iterations} iterations`,
    },
  );

export const TrainingSpec = z.strictObject({
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  learningRate: z
    .number()
    .positive()
    .max(SPEC_LIMITS.learningRate, atMost(SPEC_LIMITS.learningRate))
    .default(1.2e-3),
  momentum: z.number().min(0).max(1).default(0),
  weightDecay: z
    .number()
    .min(0)
    .max(SPEC_LIMITS.weightDecay, atMost(SPEC_LIMITS.weightDecay))
    .default(0),
  batchSize: z.number().int().positive().max(65536).default(60),
  duration: duration.default('50000it'),
  /** Iterations between evaluations on the validation and test sets. */
  evalEvery: z
    .number()
    .int()
    .positive()
    .max(SPEC_LIMITS.evalEvery, atMost(SPEC_LIMITS.evalEvery, ' iterations'))
    .default(100),
  /**
   * Iterations between training-loss points: each the mean training loss of the steps since
   * the previous point or evaluation, so the loss's course is kept without evaluating. At
   * evaluations only when absent (which keeps the spec hashes of experiments made before it).
   */
  lossEvery: z
    .number()
    .int()
    .positive()
    .max(SPEC_LIMITS.evalEvery, atMost(SPEC_LIMITS.evalEvery, ' iterations'))
    .optional(),
  /**
   * The learning rate over training (src/core/schedule.ts): constant; multistep (× the
   * factor at each milestone, PyTorch's MultiStepLR); cosine (to 0 at the end of training,
   * CosineAnnealingLR stepped per iteration).
   */
  schedule: z.enum(SCHEDULE_NAMES).default('constant'),
  /** multistep: where the rate drops, as durations ("80ep", "32000it") or shares ("50%"). */
  milestones: z.array(milestone).max(100).default([]),
  /** multistep: what each milestone multiplies the rate by (OpenLTH's gamma). */
  milestoneFactor: z.number().gt(0).max(1).default(0.1),
  /** Linear warm-up before any schedule: the rate × min(1, iteration / warm-up) (OpenLTH). */
  warmup: duration.default('0it'),
  /** SGD with Nesterov momentum, as PyTorch computes it (needs momentum > 0). */
  nesterov: z.boolean().default(false),
  /**
   * l2: weight decay added to the gradient (coupled; PyTorch's SGD and Adam).
   * decoupled: each weight shrunk apart from the gradient step, w ← w − lr_t·wd·w before it
   * (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization": AdamW and SGDW, in
   * PyTorch's AdamW form where lr_t is the scheduled rate, i.e. the paper's λ = lr·wd).
   */
  weightDecayMode: z.enum(['l2', 'decoupled']).default('l2'),
  /** Random crops and horizontal flips of training images, seeded by seed and iteration. */
  augmentation: z
    .strictObject({
      /** pixels of black padding each side before a random crop to the image's size (CIFAR: 4) */
      cropPadding: z.number().int().min(0).max(64).default(0),
      /** mirror each image left–right with probability ½ */
      horizontalFlip: z.boolean().default(false),
    })
    .prefault({}),
});

export const PruningSpec = z.strictObject({
  /** layerwise: each layer loses its own rate per level (Frankle & Carbin 2019);
   *  global: one magnitude threshold over all prunable layers (OpenLTH). */
  scope: z.enum(['layerwise', 'global']).default('layerwise'),
  /** Layer-wise rates per level, as fractions of the weights still kept. */
  rates: z
    .strictObject({
      dense: rate.default(0.2),
      conv: rate.default(0.1),
      output: rate.default(0.1),
    })
    .prefault({}),
  /** Global scope: fraction of the remaining prunable weights removed per level. */
  globalRate: rate.default(0.2),
  /** Whether the output layer is pruned at all (OpenLTH never prunes it). */
  pruneOutput: z.boolean().default(true),
  /** Pruning rounds after the dense level 0. */
  levels: z.number().int().min(0).max(100).default(10),
  /** Where surviving weights go back to: "0it" resets to θ0; "500it" rewinds to θ_500. */
  rewind: duration.default('0it'),
});

export const ControlsSpec = z.strictObject({
  /** Same mask, fresh initialisation (Frankle & Carbin 2019 §2). */
  randomReinit: z.boolean().default(false),
  /** Random mask with the same per-layer sparsity, same initial weights. */
  randomPrune: z.boolean().default(false),
  /** The pruned levels (from 1) that train the controls; every level where absent. */
  levels: z.array(z.number().int().min(1)).min(1).max(1000).optional(),
});

export const PaiSpec = z.strictObject({
  score: z.enum(SCORE_NAMES).default('synflow'),
  scope: z.enum(['global', 'layerwise']).default('global'),
  /** log10 compression ratios, one level each: level i keeps 10^−c of the prunable weights. */
  compressions: z.array(z.number().min(0).max(6)).min(1).max(30).default([0.5, 1, 1.5, 2, 2.5, 3]),
  /**
   * Scoring rounds, exponential schedule: SynFlow's always (Tanaka et al. 2020: 100), SNIP's
   * and GraSP's where `iterative` is not `off`.
   */
  rounds: z.number().int().min(1).max(1000).default(100),
  /**
   * SNIP and GraSP, too, prune over `rounds` rounds, re-scoring the masked network each
   * round. `keep-pruned`: each round ranks the weights still kept (Iterative SNIP, de Jorge
   * et al. 2021). `revive`: each round ranks every weight, so one pruned earlier returns when
   * it outranks a kept one (FORCE, de Jorge et al. 2021; what Tanaka et al. 2020's reference
   * code does with `--prune-epochs`, 100 in its Figure 1). Magnitude ranks alike every round
   * and random draws one mask, so they score once.
   */
  iterative: z.enum(SCORING_ITERATIONS).default('off'),
  /**
   * What batch norm normalises by while SNIP and GraSP score: the sample's own statistics
   * (`batch`, training mode, as Wang et al. 2020's GraSP code) or the running ones
   * (`running`, evaluation mode, Tanaka et al. 2020's reference default: at initialisation
   * batch norm is then the identity). No effect on networks without batch norm.
   */
  batchNormStatistics: z.enum(SCORING_STATISTICS).default('batch'),
  /** SNIP/GraSP batch: this many training examples per class (Lee et al.: 10). */
  samplesPerClass: z.number().int().min(1).max(1000).default(10),
});

export const OneShotSpec = z.strictObject({
  /** global: one magnitude threshold over all prunable layers; layerwise: each layer alike */
  scope: z.enum(['global', 'layerwise']).default('global'),
  /** log10 compression ratios, one level each: level i keeps 10^−c of the prunable weights. */
  compressions: z.array(z.number().min(0).max(6)).min(1).max(30).default([0.5, 1, 1.5, 2]),
});

export const TransferSpec = z.strictObject({
  /** The ticket to transfer: its mask and the weights its training started from. */
  source: z.string().min(1).max(100).optional(),
});

export const StructuredSpec = z.strictObject({
  /**
   * l1-filter: Li et al. 2017 on the trained network; slimming: Liu et al. 2017 with
   * Early-Bird tickets (You et al. 2020); pca: low-rank replacement of layers (Zhang et al.);
   * l0: hard-concrete gates (Louizos et al. 2018); bayesian: group noise with a sparsity
   * prior (Louizos et al. 2017)
   */
  method: z.enum(STRUCTURED_NAMES).default('l1-filter'),
  /**
   * Share of units (neurons, filters) removed, one level each: in every hidden layer
   * (l1-filter) or under one global threshold on the scale factors (slimming).
   */
  rates: z.array(z.number().min(0).max(0.95)).min(1).max(20).default([0.3, 0.5, 0.7]),
  /** PCA: share of each layer's response variance kept, one level each. */
  energies: z.array(z.number().gt(0).max(1)).min(1).max(20).default([0.99, 0.95, 0.9]),
  /** PCA: training examples whose responses the principal components come from. */
  calibrationSamples: z.number().int().min(10).max(100000).default(1000),
  /** L0: λ per expected open gate, the penalty divided by the training-set size (Louizos et al.: 0.1). */
  l0Lambda: z.number().min(0).max(1e6).default(0.1),
  /**
   * Bayesian: a unit is removed when log α = log σ²/μ² exceeds this, one level each, all from
   * the same trained network. 3 is Molchanov et al.'s threshold for single weights; Louizos
   * et al.'s code keeps a unit while log α is below about −3, so [3, 0, -3] shows both and the
   * way between at the cost of two more retrainings. (The default stays [3]: a spec's hash
   * leaves defaults out, so changing one would alias new experiments to stored ones.)
   */
  logAlphaThresholds: z.array(z.number().min(-20).max(20)).min(1).max(20).default([3]),
  /** Retraining of each compacted model, from its pruned weights. */
  fineTune: duration.default('2ep'),
  /** Network slimming's λ in λ·Σ|γ| (You et al.: 1e-4). */
  sparsity: z.number().min(0).max(1).default(1e-4),
  earlyBird: z
    .strictObject({
      /** stop slimming's training once every rate's Early-Bird ticket is drawn */
      enabled: z.boolean().default(true),
      /** largest mask distance between the newest epoch and each older one in the window */
      threshold: z.number().min(0).max(1).default(0.1),
      /** epochs compared (You et al.: 5) */
      window: z.number().int().min(2).max(50).default(5),
    })
    .prefault({}),
  /** Timed runs per inference-latency median (after 5 warm-up runs). */
  latencyRuns: z.number().int().min(1).max(1000).default(30),
});

export const ExperimentSpec = z.strictObject({
  /** Display name; not part of the experiment's identity. */
  name: z.string().min(1).max(200).optional(),
  /** Fills unset fields with a paper's settings; the resolved values are the identity. */
  preset: z.enum(PRESET_NAMES).optional(),
  /**
   * imp: iterative magnitude pruning; oneshot: magnitude pruning once, after training;
   * pai: pruning at initialisation with a score; transfer: train a ticket found on another
   * dataset (`transfer.source`) on this one; structured: remove whole neurons and channels
   * and retrain the smaller model.
   */
  method: z.enum(METHOD_NAMES).default('imp'),
  dataset: z.string().min(1).default('builtin:mnist'),
  model: z.enum(MODEL_NAMES),
  init: z.enum(['glorot-normal', 'kaiming-normal']).default('glorot-normal'),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
  /** Fraction of the training set held out for validation (early stopping). */
  validationFraction: z.number().gt(0).lt(1).default(0.1),
  training: TrainingSpec.prefault({}),
  pruning: PruningSpec.prefault({}),
  controls: ControlsSpec.prefault({}),
  pai: PaiSpec.prefault({}),
  oneshot: OneShotSpec.prefault({}),
  transfer: TransferSpec.prefault({}),
  structured: StructuredSpec.prefault({}),
});

export type ExperimentSpecInput = z.input<typeof ExperimentSpec>;
export type ResolvedSpec = z.output<typeof ExperimentSpec>;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Settings from the papers, per model (REFERENCES.md). */
export function presetValues(preset: PresetName, model: ModelName): DeepPartial<ResolvedSpec> {
  // OpenLTH's cifar_resnet_20 and cifar_vgg defaults (and You et al. 2020's VGG recipe):
  // SGD 0.1 with momentum 0.9 and coupled weight decay 1e-4 over 160 epochs, dropped ×0.1
  // twice; random crops (4 pixels of padding) and horizontal flips of the training images.
  const cifarSgd = {
    optimizer: 'sgd',
    learningRate: 0.1,
    momentum: 0.9,
    weightDecay: 1e-4,
    duration: '160ep',
    schedule: 'multistep',
    milestoneFactor: 0.1,
    augmentation: { cropPadding: 4, horizontalFlip: true },
  } as const;
  if (preset === 'early-bird-2020') {
    // You et al. 2020 §4 (after Liu et al. 2017): slimming with λ = 1e-4, SGD 0.1 lowered
    // ×0.1 at 50% and 75% of 160 epochs, batch 256.
    return {
      method: 'structured',
      training: { ...cifarSgd, batchSize: 256, milestones: ['50%', '75%'] },
      structured: { method: 'slimming', sparsity: 1e-4 },
    };
  }
  if (preset === 'openlth' && (model === 'resnet-20' || model === 'vgg-11' || model === 'vgg-16')) {
    // open_lth cifar_resnet_20 / cifar_vgg: batch 128, ×0.1 at 80 and 120 epochs, 20% of the
    // remaining weights pruned per level globally, the output layer never pruned.
    return {
      init: 'kaiming-normal',
      training: { ...cifarSgd, batchSize: 128, milestones: ['80ep', '120ep'] },
      pruning: { scope: 'global', globalRate: 0.2, pruneOutput: false },
    };
  }
  if (preset === 'openlth') {
    // open_lth mnist_lenet_300_100 defaults; the same optimiser settings for the other
    // feed-forward models (OpenLTH has none of them).
    return {
      init: 'kaiming-normal',
      training: {
        optimizer: 'sgd',
        learningRate: 0.1,
        momentum: 0,
        batchSize: 128,
        duration: '40ep',
      },
      pruning: { scope: 'global', globalRate: 0.2, pruneOutput: false },
    };
  }
  // Frankle & Carbin 2019, Figure 2 and Appendix: Adam, batch 60, Glorot normal.
  const conv: Partial<Record<ModelName, { lr: number; it: string; conv: number }>> = {
    'conv-2': { lr: 2e-4, it: '20000it', conv: 0.1 },
    'conv-4': { lr: 3e-4, it: '25000it', conv: 0.1 },
    'conv-6': { lr: 3e-4, it: '30000it', conv: 0.15 },
  };
  const c = conv[model];
  return {
    init: 'glorot-normal',
    // 5K held out of MNIST's 60K and of CIFAR-10's 50K (§2, Appendix): the share, so a
    // scaled-down set holds out as much in proportion (1,000 of a 10,000-image CIFAR subset)
    validationFraction: model.startsWith('lenet') ? 5000 / 60000 : 5000 / 50000,
    training: {
      optimizer: 'adam',
      learningRate: c?.lr ?? 1.2e-3,
      batchSize: 60,
      duration: c?.it ?? '50000it',
    },
    pruning: {
      scope: 'layerwise',
      rates: { dense: 0.2, conv: c?.conv ?? 0.1, output: 0.1 },
      pruneOutput: true,
    },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeUnder(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeUnder(base[k], v);
  return out;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}

function allowedKeysAt(root: z.ZodType, path: PropertyKey[]): string[] {
  let schema: z.ZodType = root;
  for (const key of path) {
    let inner: unknown = schema;
    while (inner && !(inner instanceof z.ZodObject) && 'unwrap' in (inner as object)) {
      inner = (inner as { unwrap(): unknown }).unwrap();
    }
    if (!(inner instanceof z.ZodObject)) return [];
    schema = (inner.shape as Record<string, z.ZodType>)[String(key)]!;
  }
  let inner: unknown = schema;
  while (inner && !(inner instanceof z.ZodObject) && 'unwrap' in (inner as object)) {
    inner = (inner as { unwrap(): unknown }).unwrap();
  }
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/** Turns zod issues into one message that names each field and what it accepts. */
export function describeIssues(
  issues: z.core.$ZodIssue[],
  root = 'spec',
  schema: z.ZodType = ExperimentSpec,
): string {
  const lines: string[] = [];
  for (const issue of issues) {
    const where = [root, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const close = allowed
          .map((a) => [a, editDistance(key, a)] as const)
          .filter(([, dist]) => dist <= 3)
          .sort((x, y) => x[1] - y[1])[0];
        lines.push(
          `${where}.${key}: unknown field` +
            (close ? ` (did you mean "${close[0]}"?)` : '') +
            (allowed.length ? `; allowed: ${allowed.join(', ')}` : ''),
        );
      }
    } else {
      lines.push(`${where}: ${issue.message}`);
    }
  }
  return lines.join('\n');
}

/** Validates a spec and fills its preset and defaults. Unknown fields are errors. */
export function resolveSpec(input: unknown): ResolvedSpec {
  let value = input;
  if (isPlainObject(input) && typeof input.preset === 'string' && typeof input.model === 'string') {
    const preset = z.enum(PRESET_NAMES).safeParse(input.preset);
    const model = z.enum(MODEL_NAMES).safeParse(input.model);
    if (preset.success && model.success) {
      value = mergeUnder(presetValues(preset.data, model.data), input);
    }
  }
  const parsed = ExperimentSpec.safeParse(value);
  if (!parsed.success) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\n${describeIssues(parsed.error.issues)}`,
    );
  }
  if (parsed.data.method === 'transfer' && !parsed.data.transfer.source) {
    throw new TicketLabError(
      'INVALID_SPEC',
      'Invalid spec:\nspec.transfer.source: a transfer needs the id of the ticket to transfer',
    );
  }
  checkTrainingRecipe(parsed.data.training);
  const { controls } = parsed.data;
  if (parsed.data.method === 'structured' && (controls.randomReinit || controls.randomPrune)) {
    throw new TicketLabError(
      'INVALID_SPEC',
      'Invalid spec:\nspec.controls: the random controls test unstructured masks; structured experiments have none',
    );
  }
  return parsed.data;
}

/**
 * The learning-rate schedule a spec trains with on a dataset of `trainCount` training
 * examples (before the validation split), as executeJob resolves it.
 */
export function specSchedule(spec: ResolvedSpec, trainCount: number): LearningRateSchedule {
  const perEpoch = specIterationsPerEpoch(spec, trainCount, spec.dataset);
  return resolveSchedule(
    spec.training,
    perEpoch,
    durationToIterations(spec.training.duration, perEpoch),
  );
}

/**
 * The training recipe in one line (`ticketlab show`, the UI): optimiser, rate and schedule,
 * weight decay and its mode, batch and length, augmentation.
 */
export function describeTrainingRecipe(t: ResolvedSpec['training']): string {
  const optimiser =
    t.optimizer === 'sgd' && t.momentum > 0
      ? `sgd (${t.nesterov ? 'Nesterov ' : ''}momentum ${t.momentum})`
      : t.optimizer;
  const schedule = {
    constant: 'constant',
    multistep: `×${t.milestoneFactor} at ${t.milestones.join(', ')}`,
    cosine: 'cosine to 0',
  }[t.schedule];
  const warmup = durationToIterations(t.warmup, 1) > 0 ? `, ${t.warmup} warm-up` : '';
  const decay = t.weightDecay > 0 ? `; weight decay ${t.weightDecay} (${t.weightDecayMode})` : '';
  const { cropPadding, horizontalFlip } = t.augmentation;
  const augmentation = [
    ...(cropPadding > 0 ? [`random crop (padding ${cropPadding})`] : []),
    ...(horizontalFlip ? ['horizontal flip'] : []),
  ];
  return (
    `${optimiser}, lr ${t.learningRate} ${schedule}${warmup}${decay}; batch ${t.batchSize} for ${t.duration}` +
    (augmentation.length > 0 ? `; ${augmentation.join(' + ')}` : '')
  );
}

/** The schedule's and optimiser's fields that only make sense together. */
function checkTrainingRecipe(t: ResolvedSpec['training']): void {
  const refuse = (message: string) => {
    throw new TicketLabError('INVALID_SPEC', `Invalid spec:\n${message}`);
  };
  if (t.schedule === 'multistep' && t.milestones.length === 0)
    refuse(
      'spec.training.milestones: a multistep schedule needs at least one milestone, e.g. ["80ep", "120ep"] or ["50%", "75%"]',
    );
  if (t.schedule !== 'multistep' && t.milestones.length > 0)
    refuse(
      `spec.training.milestones: milestones apply to the multistep schedule only; set spec.training.schedule to "multistep" or remove them (the schedule is "${t.schedule}")`,
    );
  const percents = t.milestones.map((m) => PERCENT_PATTERN.exec(m)?.[1]).map(Number);
  t.milestones.forEach((m, i) => {
    const before = t.milestones[i - 1];
    if (
      i > 0 &&
      PERCENT_PATTERN.test(m) &&
      PERCENT_PATTERN.test(before!) &&
      percents[i]! <= percents[i - 1]!
    )
      refuse(
        `spec.training.milestones[${i}]: "${m}" is not after "${before}"; list milestones in increasing order`,
      );
  });
  if (t.nesterov && (t.optimizer !== 'sgd' || t.momentum === 0))
    refuse(
      `spec.training.nesterov: Nesterov momentum needs the sgd optimiser with momentum > 0 (got ${t.optimizer}${t.optimizer === 'sgd' ? ` with momentum ${t.momentum}` : ''}); set spec.training.momentum, e.g. 0.9`,
    );
}

/** Fields that do not change what is computed, so they are not part of the identity. */
const NOT_IDENTITY = new Set(['name', 'preset']);

function diffFromDefaults(value: unknown, defaults: unknown): unknown {
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const d = isPlainObject(defaults) ? defaults[key] : undefined;
      const diff = diffFromDefaults(value[key], d);
      if (diff !== undefined) out[key] = diff;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return JSON.stringify(value) === JSON.stringify(defaults) ? undefined : value;
}

/** The canonical form: only fields that differ from their defaults, keys sorted. */
export function canonicalSpec(spec: ResolvedSpec): string {
  const defaults = ExperimentSpec.parse({ model: spec.model });
  const identity = Object.fromEntries(Object.entries(spec).filter(([k]) => !NOT_IDENTITY.has(k)));
  const diff = diffFromDefaults(identity, defaults) as Record<string, unknown> | undefined;
  // model is required (it has no default), so it is always part of the identity.
  const entries = Object.entries({ ...diff, model: spec.model });
  return JSON.stringify(Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** The seed a replicate trains with: replicate 0 uses the spec's seed, others derive theirs. */
export function replicateSeed(spec: ResolvedSpec, replicate: number): number {
  return replicate === 0 ? spec.seed : deriveSeed(spec.seed, 'replicate', replicate) % 2 ** 31;
}
