import { deriveSeed, Rng } from '../core/random.ts';
import { runKey } from '../core/run-key.ts';
import { controlsAt, type Controls } from '../core/vocabulary.ts';
import type { TicketMethod } from './methods.ts';
import type { PreparedData } from '../data/split.ts';
import {
  describeParams,
  measureSize,
  type Architecture,
  type ParamSpec,
  type Size,
} from '../engine/architectures.ts';
import { Model } from '../engine/model.ts';
import { initWeights, type Init, type Weights } from '../engine/weights.ts';
import type { InferenceMeasurement, TicketStructure } from './structured/record.ts';
import {
  train,
  type TrainOptions,
  type EvalPoint,
  type TrainLossPoint,
  type TrainCheckpoint,
  type TrainProgress,
  type TrainResult,
  type TrainingSettings,
} from '../engine/train.ts';
import { applyMask, countKept, denseMask, maskToFloat, type Mask } from './mask.ts';
import { pruneGlobal, pruneLayerwise, randomMaskLike } from './magnitude.ts';

export type { TicketMethod };

/** What every training of a job shares. */
export interface TrainerConfig {
  arch: Architecture;
  data: PreparedData;
  init: Init;
  seed: number;
  training: TrainingSettings;
  /** 0 resets survivors to θ0 (Frankle & Carbin 2019); k > 0 rewinds to θ_k (Frankle et al. 2020). */
  rewindIteration: number;
  controls: Controls;
}

export interface ImpConfig extends TrainerConfig {
  /** pruning rounds after the dense level 0 */
  levels: number;
  scope: 'layerwise' | 'global';
  rates: { dense: number; conv: number; output: number };
  globalRate: number;
  pruneOutput: boolean;
}

/** What one trained ticket hands to whoever stores it. */
export interface TicketOutcome {
  level: number;
  method: TicketMethod;
  /** the IMP ticket this one derives from: the previous level, or the same level for controls */
  parent: { level: number; method: TicketMethod } | null;
  seed: number;
  mask: Mask;
  /** the (masked) weights training started from */
  startWeights: Weights;
  /** θ_k for rewinding, recorded on the dense ticket when k > 0 */
  rewindWeights: Weights | null;
  trainedWeights: Weights;
  size: Size;
  training: TrainResult;
  /** the architecture its weights belong to: the model's, or a compacted one */
  arch: Architecture;
  structure?: TicketStructure;
  inference?: InferenceMeasurement;
}

export interface RunInfo {
  level: number;
  method: TicketMethod;
  seed: number;
  remainingFraction: number;
}

/** What is known when a run starts: enough to store its ticket before training. */
export interface RunStart extends RunInfo {
  parent: TicketOutcome['parent'];
  mask: Mask;
  startWeights: Weights;
  size: Size;
  startIteration: number;
  /** true when the run continues from a checkpoint */
  resumed: boolean;
  /** the architecture of `mask` and `startWeights` */
  arch: Architecture;
  structure?: TicketStructure;
}

export interface ImpHooks {
  onRunStart?(run: RunStart): void | Promise<void>;
  onEval?(run: RunInfo, point: EvalPoint): void;
  onTrainLoss?(run: RunInfo, point: TrainLossPoint): void;
  onProgress?(run: RunInfo, p: TrainProgress): void;
  onCheckpoint?(run: RunInfo, checkpoint: TrainCheckpoint): void | Promise<void>;
  /** Called when a ticket is trained; the next run starts only after it resolves. */
  onTicket(ticket: TicketOutcome): void | Promise<void>;
  /** Warnings for the user, e.g. a layer pruned to nothing. */
  onWarning?(message: string): void;
  /** Events worth a line in the job's log, e.g. an Early-Bird ticket drawn. */
  onInfo?(message: string): void;
}

/** Where an interrupted experiment stands: what it needs to continue exactly. */
export interface ImpResume {
  /** `level/method` of every run already stored */
  completed: Set<string>;
  /** the last stored IMP (or dense) level */
  last: { level: number; mask: Mask; trainedWeights: Weights };
  /** θ0 (reset) or θ_k (rewind), unmasked */
  rewindWeights: Weights;
}

/** A run cut short, to be continued from its checkpoint. */
export interface InFlight {
  level: number;
  method: TicketMethod;
  checkpoint: TrainCheckpoint;
}

export function sizeOf(specs: ParamSpec[], mask: Mask): Size {
  return measureSize(specs, (name) => countKept(mask.get(name)!));
}

/** Per-level pruning of the trained weights, layer-wise or global, by the config. */
export function pruneLevel(
  config: ImpConfig,
  specs: ParamSpec[],
  trained: Weights,
  mask: Mask,
): Mask {
  const isOutput = new Set(specs.filter((p) => p.isOutput).map((p) => p.name));
  const isConv = new Set(
    specs.filter((p) => p.prunable && p.shape.length === 4).map((p) => p.name),
  );
  if (config.scope === 'global') {
    return pruneGlobal(
      trained,
      mask,
      config.globalRate,
      (l) => config.pruneOutput || !isOutput.has(l),
    );
  }
  return pruneLayerwise(trained, mask, (l) => {
    if (isOutput.has(l)) return config.pruneOutput ? config.rates.output : 0;
    return isConv.has(l) ? config.rates.conv : config.rates.dense;
  });
}

/**
 * Iterative magnitude pruning (Frankle & Carbin 2019 §2): train, prune the smallest
 * surviving weights, reset the survivors to θ0 (or rewind them to θ_k), repeat. Level 0
 * is the dense network. Each level can be joined by the two controls: the same mask
 * randomly re-initialised, and a random mask of the same per-layer sparsity.
 */
/** Options shared by every training of a job. */
export interface RunOptions {
  signal?: AbortSignal;
  pauseSignal?: AbortSignal;
  /** a run cut short, continued from its checkpoint when it comes up */
  inFlight?: InFlight;
}

/** How one ticket's training differs from the job's usual one (structured methods). */
export interface TicketRun {
  /** the architecture trained, when not the job's (a compacted model; slimming's scaled one) */
  arch?: Architecture;
  /** the architecture the stored weights belong to, when not `arch` (slimming folds its scales) */
  storedArch?: Architecture;
  /** size to record, when not the mask's over `arch` (a compacted model against the dense one) */
  size?: Size;
  structure?: TicketStructure;
  /** iterations to train, when not the job's (fine-tuning a compacted model) */
  iterations?: number;
  startIteration?: number;
  train?: Pick<TrainOptions, 'sparsity' | 'penalty' | 'onEpochEnd' | 'checkpointState'>;
  /** restores the caller's state from a checkpoint's before training continues */
  restore?: (state: unknown) => void;
  /** turns the trained weights into what is stored, with what was measured */
  finish?: (
    trained: Weights,
    training: TrainResult,
  ) => Promise<Pick<TicketOutcome, 'trainedWeights' | 'structure' | 'inference'>>;
}

/**
 * Trains tickets for a pruning method: each from its start weights under its mask, with
 * the run's hooks (stored as it goes) and the controls of a level. Shared by IMP and
 * pruning at initialisation.
 */
export function ticketTrainer(config: TrainerConfig, hooks: ImpHooks, options: RunOptions) {
  const specs = describeParams(config.arch);
  const k = config.rewindIteration;
  let inFlight = options.inFlight;

  /** Trains one ticket from `startWeights` under `mask` and hands it to the hooks. */
  const trainTicket = async (
    level: number,
    method: TicketMethod,
    parent: TicketOutcome['parent'],
    mask: Mask,
    startWeights: Weights,
    run: TicketRun = {},
  ): Promise<TicketOutcome> => {
    const seed = deriveSeed(config.seed, 'batch-order', level, method);
    const arch = run.arch ?? config.arch;
    const stored = run.storedArch ?? arch;
    const size = run.size ?? sizeOf(stored === config.arch ? specs : describeParams(stored), mask);
    const info: RunInfo = { level, method, seed, remainingFraction: size.remainingFraction };
    const resumeFrom =
      inFlight && runKey(inFlight) === runKey(info) ? inFlight.checkpoint : undefined;
    inFlight = undefined;
    // Level 0 starts at θ0 and records θ_k; later levels continue from θ_k.
    const startIteration = run.startIteration ?? (level === 0 ? 0 : k);
    await hooks.onRunStart?.({
      ...info,
      parent,
      mask,
      startWeights,
      size,
      startIteration,
      resumed: resumeFrom !== undefined,
      arch: stored,
      structure: run.structure,
    });
    if (resumeFrom) run.restore?.(resumeFrom.state);
    const model = new Model(arch, startWeights);
    let training: TrainResult;
    let trainedWeights: Weights;
    try {
      training = await train({
        model,
        masks: maskToFloat(mask),
        data: config.data,
        settings:
          run.iterations !== undefined
            ? { ...config.training, iterations: run.iterations }
            : config.training,
        seed,
        startIteration,
        captureAt: level === 0 && k > 0 ? k : undefined,
        resumeFrom,
        signal: options.signal,
        pauseSignal: options.pauseSignal,
        onEval: (p) => hooks.onEval?.(info, p),
        onTrainLoss: (p) => hooks.onTrainLoss?.(info, p),
        onProgress: (p) => hooks.onProgress?.(info, p),
        onCheckpoint: (c) => hooks.onCheckpoint?.(info, c),
        ...run.train,
      });
      trainedWeights = await model.readWeights();
    } finally {
      model.dispose();
    }
    const finished = run.finish ? await run.finish(trainedWeights, training) : { trainedWeights };
    const ticket: TicketOutcome = {
      level,
      method,
      parent,
      seed,
      mask,
      startWeights,
      rewindWeights: level === 0 && k > 0 ? training.captured! : null,
      size,
      training,
      arch: stored,
      ...finished,
    };
    await hooks.onTicket(ticket);
    return ticket;
  };

  /** The controls of a level, each a child of the ticket (`self`) whose mask they test. */
  const controls = async (
    level: number,
    mask: Mask,
    rewind: Weights,
    done: Set<string>,
    self: { level: number; method: TicketMethod } = { level, method: 'imp' },
  ) => {
    const asked = controlsAt(config.controls, level);
    if (asked.includes('random-reinit') && !done.has(runKey({ level, method: 'random-reinit' }))) {
      // New initial weights are an iteration-0 network: they train the whole length, also
      // when the tickets rewind to θ_k and train from k (Frankle et al. 2020's control).
      const fresh = initWeights(specs, config.init, deriveSeed(config.seed, 'reinit', level));
      await trainTicket(level, 'random-reinit', self, mask, applyMask(fresh, mask), {
        startIteration: 0,
      });
    }
    if (asked.includes('random-prune') && !done.has(runKey({ level, method: 'random-prune' }))) {
      const randomMask = randomMaskLike(
        mask,
        new Rng(deriveSeed(config.seed, 'random-mask', level)),
      );
      await trainTicket(level, 'random-prune', self, randomMask, applyMask(rewind, randomMask));
    }
  };

  return { specs, trainTicket, controls };
}

export async function runImp(
  config: ImpConfig,
  hooks: ImpHooks,
  options: RunOptions & { resume?: ImpResume } = {},
): Promise<void> {
  const { specs, trainTicket, controls } = ticketTrainer(config, hooks, options);

  let mask: Mask;
  let trained: Weights;
  let rewind: Weights;
  let first: number;
  const resume = options.resume;
  if (resume) {
    ({ mask, trainedWeights: trained } = resume.last);
    rewind = resume.rewindWeights;
    // The controls of the last stored level may still be missing.
    if (resume.last.level > 0) await controls(resume.last.level, mask, rewind, resume.completed);
    first = resume.last.level + 1;
  } else {
    mask = denseMask(specs);
    const theta0 = initWeights(specs, config.init, config.seed);
    const dense = await trainTicket(0, 'dense', null, mask, theta0);
    trained = dense.trainedWeights;
    rewind = dense.rewindWeights ?? theta0;
    first = 1;
  }

  for (let level = first; level <= config.levels; level++) {
    const parent = { level: level - 1, method: (level === 1 ? 'dense' : 'imp') as TicketMethod };
    mask = pruneLevel(config, specs, trained, mask);
    const ticket = await trainTicket(level, 'imp', parent, mask, applyMask(rewind, mask));
    trained = ticket.trainedWeights;
    await controls(level, mask, rewind, new Set());
  }
}
