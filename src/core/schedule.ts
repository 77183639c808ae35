import { durationToIterations } from './duration.ts';

/**
 * Learning-rate schedules, as one pure function of the iteration: the engine's optimisers
 * (tfjs and native) and the UI's plot of a spec's schedule both read it, so what is drawn is
 * what is trained.
 */

export const SCHEDULE_NAMES = ['constant', 'multistep', 'cosine'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** A milestone given as a share of the training: `50%`. */
export const PERCENT_PATTERN = /^(\d+(?:\.\d+)?)%$/;

/** The spec's schedule fields (spec.training), before the epoch size is known. */
export interface ScheduleSpec {
  learningRate: number;
  schedule: ScheduleName;
  /** durations (`80ep`, `32000it`) or shares of the training (`50%`) */
  milestones: readonly string[];
  milestoneFactor: number;
  /** linear warm-up, a duration */
  warmup: string;
}

/** A schedule in iterations. */
export interface LearningRateSchedule {
  base: number;
  schedule: ScheduleName;
  /** iterations (steps taken) from which the rate is multiplied by one more `factor` */
  milestones: number[];
  factor: number;
  warmup: number;
  /** iterations of the whole training: cosine reaches 0 there */
  total: number;
}

/** A milestone in iterations: a duration, or a share of `total` rounded to an iteration. */
export function milestoneToIterations(
  milestone: string,
  iterationsPerEpoch: number,
  total: number,
): number {
  const percent = PERCENT_PATTERN.exec(milestone);
  if (percent) return Math.round((Number(percent[1]) / 100) * total);
  return durationToIterations(milestone, iterationsPerEpoch);
}

export function resolveSchedule(
  spec: ScheduleSpec,
  iterationsPerEpoch: number,
  total: number,
): LearningRateSchedule {
  return {
    base: spec.learningRate,
    schedule: spec.schedule,
    milestones: spec.milestones.map((m) => milestoneToIterations(m, iterationsPerEpoch, total)),
    factor: spec.milestoneFactor,
    warmup: durationToIterations(spec.warmup, iterationsPerEpoch),
    total,
  };
}

/**
 * The learning rate of the step taken after `step` steps (0 for the first step), as
 * PyTorch's schedulers stepped once per iteration give it (their `last_epoch` = `step`):
 * - multistep: base · factor^(milestones ≤ step) (MultiStepLR; OpenLTH's `milestone_steps`
 *   with `gamma`), so a milestone at 80 epochs first lowers the rate of the step after them;
 * - cosine: base · (1 + cos(π · step / total)) / 2 (CosineAnnealingLR with T_max = the
 *   training's iterations and eta_min = 0), 0 at the end of training;
 * - warm-up of W iterations multiplies any of them by min(1, step / W) (OpenLTH's
 *   `warmup_steps`: its first step runs at rate 0).
 */
export function learningRateAt(s: LearningRateSchedule, step: number): number {
  let rate = s.base;
  if (s.schedule === 'multistep') {
    let passed = 0;
    for (const m of s.milestones) if (m <= step) passed++;
    rate *= s.factor ** passed;
  } else if (s.schedule === 'cosine') {
    rate *= (1 + Math.cos((Math.PI * Math.min(step, s.total)) / s.total)) / 2;
  }
  if (s.warmup > 0) rate *= Math.min(1, step / s.warmup);
  return rate;
}
