import { z } from 'zod';
import { TicketLabError } from '../core/errors.ts';
import { describeIssues, resolveSpec, type ResolvedSpec } from './spec.ts';

/**
 * Where a sweep's jobs run. `local`: the host's own worker pool. `slurm`: each job is a
 * Slurm batch job (a sweep's jobs one job array) running TicketLab's compute worker on a
 * node, which leaves its results in the data folder for the host to ingest.
 */
export const SlurmTarget = z
  .strictObject({
    kind: z.literal('slurm'),
    partition: z.string().min(1).max(100).optional(),
    account: z.string().min(1).max(100).optional(),
    /** sbatch --time, e.g. "02:00:00" or "1-00:00:00" */
    timeLimit: z
      .string()
      .regex(
        /^(\d+-)?\d+(:\d\d){0,2}$/,
        'expected a time limit such as "30", "02:00:00" or "1-00:00:00"',
      )
      .optional(),
    cpusPerTask: z.number().int().min(1).max(1024).default(1),
    /** sbatch --mem, e.g. "4G" */
    memory: z
      .string()
      .regex(/^\d+[KMGT]?$/, 'expected memory such as "4000M" or "8G"')
      .optional(),
    /** GPUs per job, requested as --gres=gpu:N (or gpu:<gpuType>:N) */
    gpus: z.number().int().min(0).max(16).default(0),
    gpuType: z.string().min(1).max(50).optional(),
    /**
     * Seconds before the time limit at which Slurm warns the job (--signal): the worker
     * checkpoints and the job is requeued, resuming from that checkpoint.
     */
    warnSeconds: z.number().int().min(1).max(3600).default(120),
    /** further #SBATCH lines, written as given (e.g. "--qos=short", "--constraint=a100") */
    extraSbatch: z.array(z.string().min(1).max(300)).max(50).default([]),
    /** the worker's command on the nodes; the data folder's own bin/ticketlab.mjs by default */
    command: z.string().min(1).max(1000).optional(),
  })
  .superRefine((target, ctx) => {
    const limit = target.timeLimit === undefined ? null : timeLimitSeconds(target.timeLimit);
    if (limit === null || limit - target.warnSeconds >= WARNING_ROOM_SECONDS) return;
    ctx.addIssue({
      code: 'custom',
      path: ['warnSeconds'],
      message: `${target.warnSeconds} s leaves ${Math.max(0, limit - target.warnSeconds)} s of the ${limit}-s time limit before the warning: Slurm may send it up to 60 s early, which can be before the worker has started and can hear it. ${limit - WARNING_ROOM_SECONDS >= 1 ? `Lower warnSeconds to at most ${limit - WARNING_ROOM_SECONDS} or raise timeLimit.` : `Raise timeLimit past ${WARNING_ROOM_SECONDS} s and the warning.`}`,
    });
  });

/**
 * Slurm sends the --signal warning up to 60 s before its time (sbatch(1)); 30 s more give
 * the worker time to start and listen for it.
 */
const WARNING_ROOM_SECONDS = 90;

/**
 * Seconds in an sbatch --time value ("minutes", "minutes:seconds", "hours:minutes:seconds",
 * "days-hours", "days-hours:minutes", "days-hours:minutes:seconds"); null for "0", no limit.
 */
export function timeLimitSeconds(limit: string): number | null {
  const [days, rest] = limit.includes('-') ? limit.split('-') : [null, limit];
  const parts = rest!.split(':').map(Number);
  const [h, m, s] =
    days !== null
      ? [parts[0]!, parts[1] ?? 0, parts[2] ?? 0]
      : parts.length === 3
        ? parts
        : [0, parts[0]!, parts[1] ?? 0];
  const seconds = Number(days ?? 0) * 86400 + h! * 3600 + m! * 60 + s!;
  return seconds === 0 ? null : seconds;
}

export const ComputeTarget = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local') }),
  SlurmTarget,
]);
export type ComputeTargetSpec = z.output<typeof ComputeTarget>;
export type SlurmTargetSpec = z.output<typeof SlurmTarget>;

const axisValues = z.array(z.unknown()).min(1).max(1000);

export const SweepSpec = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  /** an experiment spec, as `ticketlab run` takes it */
  base: z.record(z.string(), z.unknown()),
  /**
   * field path → values, e.g. `"seed": [0, 1, 2]`, `"pruning.rewind": ["0it", "500it"]`:
   * every combination is one experiment
   */
  axes: z.record(z.string().regex(/^[A-Za-z]+(\.[A-Za-z]+)*$/), axisValues),
  /** where its jobs run; the data folder's setting (local by default) when absent */
  target: ComputeTarget.optional(),
});
export type SweepSpecInput = z.input<typeof SweepSpec>;
export type ResolvedSweep = z.output<typeof SweepSpec>;

/** The most experiments one sweep may expand to. */
export const MAX_SWEEP_EXPERIMENTS = 1000;

export interface SweepPoint {
  /** axis path → the value this experiment takes */
  values: Record<string, unknown>;
  spec: ResolvedSpec;
}

export function resolveSweep(input: unknown): ResolvedSweep {
  const parsed = SweepSpec.safeParse(input);
  if (!parsed.success)
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid sweep:\n${describeIssues(parsed.error.issues, 'sweep', SweepSpec)}`,
    );
  return parsed.data;
}

function withValue(base: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  const out = structuredClone(base);
  let at: Record<string, unknown> = out;
  for (const key of keys.slice(0, -1)) {
    const next = at[key];
    if (next === undefined) at[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next))
      throw new TicketLabError(
        'INVALID_SPEC',
        `Invalid sweep: axis "${path}" goes through sweep.base.${keys.slice(0, keys.indexOf(key) + 1).join('.')}, which is not an object.`,
      );
    at = at[key] as Record<string, unknown>;
  }
  at[keys.at(-1)!] = value;
  return out;
}

/**
 * Every combination of the axes' values (the first axis varies slowest), each resolved as
 * an experiment spec: a value the spec refuses is reported with the combination it is in.
 */
export function expandSweep(sweep: ResolvedSweep): SweepPoint[] {
  const axes = Object.entries(sweep.axes);
  const count = axes.reduce((n, [, values]) => n * values.length, 1);
  if (count > MAX_SWEEP_EXPERIMENTS)
    throw new TicketLabError(
      'INVALID_SPEC',
      `Invalid sweep: its axes make ${count} experiments; at most ${MAX_SWEEP_EXPERIMENTS} are allowed in one sweep. Split it into several sweeps.`,
    );
  const points: SweepPoint[] = [];
  for (let i = 0; i < count; i++) {
    const values: Record<string, unknown> = {};
    let rest = i;
    for (let a = axes.length - 1; a >= 0; a--) {
      const [path, options] = axes[a]!;
      values[path] = options[rest % options.length];
      rest = Math.floor(rest / options.length);
    }
    let input: Record<string, unknown> = sweep.base;
    for (const [path] of axes) input = withValue(input, path, values[path]);
    try {
      points.push({
        values: Object.fromEntries(axes.map(([p]) => [p, values[p]])),
        spec: resolveSpec(input),
      });
    } catch (e) {
      const at = axes.map(([p]) => `${p}=${JSON.stringify(values[p])}`).join(', ');
      throw new TicketLabError(
        'INVALID_SPEC',
        `Invalid sweep: the experiment at ${at || 'its base'} is not a valid spec. ${(e as Error).message}`,
      );
    }
  }
  return points;
}
