import { z } from 'zod';

/**
 * Events the core pushes to every transport. Each carries a sequence number, increasing
 * over all events, so a reconnecting client asks for what it missed (SSE Last-Event-ID);
 * events of one job are emitted in order.
 */
export const JOB_STATES = [
  'queued',
  'running',
  'paused',
  'done',
  'failed',
  'cancelled',
  'interrupted',
] as const;
export const JobStateSchema = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobStateSchema>;

export const JobStateEvent = z.object({
  type: z.literal('job.state'),
  jobId: z.string(),
  experimentId: z.string(),
  state: JobStateSchema,
  error: z.string().nullable(),
});

export const JobProgressEvent = z.object({
  type: z.literal('job.progress'),
  jobId: z.string(),
  experimentId: z.string(),
  /** e.g. "level 3 imp" */
  phase: z.string(),
  level: z.number().int(),
  method: z.string(),
  epoch: z.number(),
  step: z.number().int(),
  steps: z.number().int(),
  /** training loss at `step`; null on an evaluation's event */
  loss: z.number().nullable(),
  /** test accuracy of the evaluation at `step`, on the one event that reports it; else null */
  accuracy: z.number().nullable(),
  /** 0–1 of the whole job */
  progress: z.number(),
  etaMs: z.number().nullable(),
});

export const TicketCreatedEvent = z.object({
  type: z.literal('ticket.created'),
  jobId: z.string(),
  experimentId: z.string(),
  ticketId: z.string(),
  level: z.number().int(),
  method: z.string(),
  remainingWeights: z.number(),
  testAccuracy: z.number().nullable(),
  earlyStopIteration: z.number().int().nullable(),
  wallTimeMs: z.number().nullable(),
});

/**
 * A cluster job's state in its scheduler changed (Slurm: PENDING with its reason, RUNNING,
 * COMPLETED, TIMEOUT, PREEMPTED, …); its job's own state may stay `running` meanwhile.
 */
export const JobClusterEvent = z.object({
  type: z.literal('job.cluster'),
  jobId: z.string(),
  experimentId: z.string(),
  /** the scheduler's id for it (Slurm's; `123_4` for a job array's task) */
  clusterJobId: z.string().nullable(),
  state: z.string().nullable(),
  reason: z.string().nullable(),
});

export const LogEvent = z.object({
  type: z.literal('log'),
  jobId: z.string().nullable(),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
});

export const ApiEventSchema = z.discriminatedUnion('type', [
  JobStateEvent,
  JobProgressEvent,
  TicketCreatedEvent,
  JobClusterEvent,
  LogEvent,
]);
/** Every event's type (what an SSE client listens for). */
export const API_EVENT_TYPES = ApiEventSchema.options.map((o) => o.shape.type.value);
export type ApiEvent = z.infer<typeof ApiEventSchema>;
export type JobProgressEvent = z.infer<typeof JobProgressEvent>;
export type SequencedEvent = ApiEvent & { seq: number };
