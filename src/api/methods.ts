import { durationToIterations } from '../core/duration.ts';
import { TicketLabError } from '../core/errors.ts';
import { specIterationsPerEpoch } from '../core/split-counts.ts';
import {
  controlsAt,
  structuredLevels,
  type MethodName,
  type TicketMethod,
} from '../core/vocabulary.ts';
import type { ResolvedSpec } from './spec.ts';

/**
 * The spec side of each experiment method: how many levels a spec asks for, what its
 * pruned tickets are called and how its experiments are named. Pure functions of the
 * spec, so the renderer can cost a spec as it is typed. The compute side (training,
 * resuming) is the method's runner in src/jobs/methods/ (README: "Adding a pruning
 * method").
 */
export interface MethodSpec {
  /** pruned levels after the dense level 0 */
  levels(spec: ResolvedSpec): number;
  /** what the method's pruned tickets are recorded as */
  ticketMethod(spec: ResolvedSpec): TicketMethod;
  /** the part of an experiment's default name that says how it prunes */
  label(spec: ResolvedSpec): string;
  /** whether level 0 trains the dense network (a transfer trains only the transferred ticket) */
  trainsDense: boolean;
}

export const METHOD_SPECS: Record<MethodName, MethodSpec> = {
  imp: {
    levels: (s) => s.pruning.levels,
    ticketMethod: () => 'imp',
    label: () => 'IMP',
    trainsDense: true,
  },
  oneshot: {
    levels: (s) => s.oneshot.compressions.length,
    ticketMethod: () => 'oneshot',
    label: () => 'one-shot',
    trainsDense: true,
  },
  pai: {
    levels: (s) => s.pai.compressions.length,
    ticketMethod: (s) => s.pai.score,
    label: (s) => s.pai.score,
    trainsDense: true,
  },
  transfer: {
    levels: () => 1,
    ticketMethod: () => 'transfer',
    label: (s) => `transfer of ${s.transfer.source}`,
    trainsDense: false,
  },
  structured: {
    levels: (s) => structuredLevels(s.structured),
    ticketMethod: (s) => s.structured.method,
    label: (s) => s.structured.method,
    trainsDense: true,
  },
};

/**
 * Runs per level the spec asks for: the level's ticket (dense at level 0) and its
 * controls. A transfer trains no dense network: its one level is the transferred ticket.
 */
export function methodsPerLevel(spec: ResolvedSpec, level: number): TicketMethod[] {
  const method = METHOD_SPECS[spec.method];
  if (level === 0) return method.trainsDense ? ['dense'] : [];
  return [method.ticketMethod(spec), ...controlsAt(spec.controls, level)];
}

/**
 * Whether a ticket of `method` is a fresh network with its own θ0 that trains from iteration
 * 0, whatever the experiment rewinds to: the random re-initialisation (Frankle et al. 2020's
 * control). It has no θ_k of the experiment's to start from.
 */
export function startsFromOwnInit(method: string): boolean {
  return method === 'random-reinit';
}

/** Pruned levels after the dense level 0. */
export function prunedLevels(spec: ResolvedSpec): number {
  return METHOD_SPECS[spec.method].levels(spec);
}

/** Refuses controls asked for at a level the spec does not prune. */
export function checkControls(spec: ResolvedSpec): void {
  const last = prunedLevels(spec);
  const past = spec.controls.levels?.filter((level) => level > last) ?? [];
  if (past.length > 0) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid spec:\nspec.controls.levels: ${past.join(', ')} ${past.length === 1 ? 'is' : 'are'} past the last pruned level (${last})`,
    );
  }
}

export function runsInJob(spec: ResolvedSpec): number {
  let n = 0;
  for (let level = 0; level <= prunedLevels(spec); level++)
    n += methodsPerLevel(spec, level).length;
  return n;
}

/** One training of a job: its level and ticket, and the iterations it trains. */
export interface PlannedRun {
  level: number;
  method: TicketMethod;
  /** the iteration it starts from: 0, or the rewind point θ_k that pruned tickets continue from */
  start: number;
  /** the iteration it ends at (at most: a slimming search can stop at its Early-Bird ticket) */
  end: number;
}

/**
 * Every training a spec's job runs, in order, as the runners train them (src/pruning/imp.ts's
 * ticketTrainer): level 0 from iteration 0; pruned tickets from the rewind point, except the
 * random re-initialisation, a fresh network that trains the whole length (Frankle et al.
 * 2020); a structured level's compacted model for `structured.fineTune`, from 0.
 */
export function plannedRuns(spec: ResolvedSpec, iterationsPerEpoch: number): PlannedRun[] {
  const end = durationToIterations(spec.training.duration, iterationsPerEpoch);
  const rewind = durationToIterations(spec.pruning.rewind, iterationsPerEpoch);
  const runs: PlannedRun[] = [];
  for (let level = 0; level <= prunedLevels(spec); level++) {
    for (const method of methodsPerLevel(spec, level)) {
      if (level === 0) runs.push({ level, method, start: 0, end });
      else if (spec.method === 'structured')
        runs.push({
          level,
          method,
          start: 0,
          end: durationToIterations(spec.structured.fineTune, iterationsPerEpoch),
        });
      else runs.push({ level, method, start: startsFromOwnInit(method) ? 0 : rewind, end });
    }
  }
  return runs;
}

/**
 * The iterations a job trains, summed over its planned runs, from the `skip` first on (those
 * already trained); an upper bound where a slimming search can stop at its Early-Bird ticket.
 */
export function jobIterations(
  spec: ResolvedSpec,
  iterationsPerEpoch: number,
  skip = 0,
): { iterations: number; upperBound: boolean } {
  const iterations = plannedRuns(spec, iterationsPerEpoch)
    .slice(skip)
    .reduce((n, r) => n + r.end - r.start, 0);
  const upperBound =
    spec.method === 'structured' &&
    spec.structured.method === 'slimming' &&
    spec.structured.earlyBird.enabled;
  return { iterations, upperBound };
}

/** jobIterations on a dataset of `trainCount` training examples (before the validation split). */
export function specJobIterations(
  spec: ResolvedSpec,
  trainCount: number,
): { iterations: number; upperBound: boolean } {
  return jobIterations(spec, specIterationsPerEpoch(spec, trainCount, spec.dataset));
}

/**
 * Evaluating an example costs about this share of training on it: a forward pass, where a
 * training step adds a backward pass that computes two products per layer as large as the
 * forward one (the gradients of the layer's inputs and of its weights). bench:engine's
 * `evaluate` rows measure 0.26–0.41 by model; the campaign's plan uses a model's measured
 * share where there is one, a job's progress this one.
 */
export const FORWARD_SHARE = 1 / 3;

/** A step's place in its job: the job's progress when it starts, and its share. */
export interface JobShare {
  before: number;
  share: number;
}

/** Consecutive steps' places in their job, in order: each one's length over all of theirs. */
export function consecutiveShares(lengths: number[]): JobShare[] {
  const total = lengths.reduce((a, b) => a + b, 0);
  let before = 0;
  return lengths.map((length) => {
    const share = length / total;
    before += share;
    return { before: before - share, share };
  });
}

/** A planned run's place in its job. */
export interface RunShare extends PlannedRun, JobShare {}

/**
 * Each run's share of its job, in the order the runners train them: its planned iterations
 * over the job's, so that a structured search of 200 epochs is not one run's share beside
 * its 2-epoch retrainings.
 */
export function runShares(spec: ResolvedSpec, iterationsPerEpoch: number): RunShare[] {
  const runs = plannedRuns(spec, iterationsPerEpoch);
  const shares = consecutiveShares(runs.map((r) => Math.max(1, r.end - r.start)));
  return runs.map((run, i) => ({ ...run, ...shares[i]! }));
}
