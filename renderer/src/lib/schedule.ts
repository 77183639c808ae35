import {
  learningRateAt,
  resolveSchedule,
  resolveSpec,
  specSchedule,
  TrainingSpec,
  type LearningRateSchedule,
} from '../../../src/api/spec.ts';

/**
 * Points of a schedule's learning rate over training, for the plot: evenly spaced samples
 * plus both sides of every milestone (so a drop is drawn as a vertical step) and the end of
 * the warm-up. The rates come from learningRateAt, the function the training itself uses.
 */
export function learningRatePoints(
  s: LearningRateSchedule,
  samples = 200,
): { iteration: number; rate: number }[] {
  const at = new Set<number>([0, s.total]);
  for (let k = 1; k < samples; k++) at.add(Math.round((k * s.total) / samples));
  for (const m of s.milestones)
    if (m > 0 && m <= s.total) {
      at.add(m - 1);
      at.add(m);
    }
  if (s.warmup > 0 && s.warmup < s.total) at.add(s.warmup);
  return [...at]
    .sort((a, b) => a - b)
    .map((iteration) => ({ iteration, rate: learningRateAt(s, iteration) }));
}

/**
 * The schedule a run trained with, from its stored settings (tickets.get's `training`:
 * spec.training's fields with `iterations` and `iterationsPerEpoch`), or null where they do
 * not say (a run stored before schedules, whose rate was constant, lacks the epoch size).
 */
export function runSchedule(training: Record<string, unknown> | null): LearningRateSchedule | null {
  if (!training) return null;
  const { iterations, iterationsPerEpoch } = training;
  if (typeof iterations !== 'number' || typeof iterationsPerEpoch !== 'number') return null;
  const fields = Object.keys(TrainingSpec.shape);
  const parsed = TrainingSpec.safeParse(
    Object.fromEntries(Object.entries(training).filter(([k]) => fields.includes(k))),
  );
  return parsed.success ? resolveSchedule(parsed.data, iterationsPerEpoch, iterations) : null;
}

/**
 * The schedule a spec being written will train with on a dataset of `trainCount` training
 * examples, or null while the spec is invalid.
 */
export function specScheduleOrNull(spec: unknown, trainCount: number): LearningRateSchedule | null {
  try {
    return specSchedule(resolveSpec(spec), trainCount);
  } catch {
    return null;
  }
}
