import type { z } from 'zod';
import type { InstabilityView } from '../api/contract.ts';
import { startsFromOwnInit } from '../api/methods.ts';
import { durationToIterations, resolveSpec } from '../api/spec.ts';
import type { ComputeTargetSpec } from '../api/sweep.ts';
import { TicketLabError } from '../core/errors.ts';
import { specIterationsPerEpoch } from '../core/split-counts.ts';
import type { Scheduler } from '../jobs/scheduler.ts';
import {
  insertInstability,
  instabilityOfTicket,
  type InstabilityRow,
} from '../store/instability.ts';
import { getClusterJob } from '../store/cluster-jobs.ts';
import type { JobRow, Store } from '../store/store.ts';
import { getDatasetRow } from './datasets.ts';

/**
 * Instability analyses (Frankle, Dziugaite, Roy & Carbin 2020) of stored tickets: asked
 * for here, run as a job of kind `instability` (src/jobs/kinds/instability.ts), stored per
 * ticket and rewind point.
 */

export type InstabilityResult = z.output<typeof InstabilityView>;

export function instabilityView(store: Store, r: InstabilityRow): InstabilityResult {
  // a row goes with its job (cascade), so the job is there
  const job = store.getJob(r.jobId)!;
  const cluster = getClusterJob(store, r.jobId);
  return {
    id: r.id,
    ticketId: r.ticketId,
    jobId: r.jobId,
    rewind: r.rewind,
    rewindIteration: r.rewindIteration,
    points: r.points,
    seeds: r.seeds,
    thetaK: r.thetaK,
    curve: r.curve,
    barrier: r.barrier,
    job: {
      state: job.state,
      error: job.error,
      clusterJobId: cluster?.clusterJobId ?? null,
      onCluster: cluster !== undefined,
    },
  };
}

export function instabilityResults(store: Store, ticketId: string): InstabilityResult[] {
  if (!store.getTicket(ticketId)) throw new TicketLabError('NOT_FOUND', `No ticket ${ticketId}.`);
  return instabilityOfTicket(store, ticketId).map((r) => instabilityView(store, r));
}

/**
 * The rewind points a ticket of `method` can be analysed at: a random re-initialisation is
 * a fresh network that trains from iteration 0, with no θ_k of its own.
 */
export function analysableRewinds(method: string, rewinds: number[]): number[] {
  return startsFromOwnInit(method) ? rewinds.filter((k) => k === 0) : rewinds;
}

/**
 * Queues the analysis of a ticket at each rewind point not analysed yet with as many
 * points (a finished one is kept and returned, not trained again). Refused, naming the
 * fix: tickets without a mask of the full model (compacted structured tickets), experiments
 * without a dense network (transfers), rewind points at or past the end of training, and
 * k > 0 for a random re-initialisation (it starts from its own θ0).
 */
export function startInstability(
  store: Store,
  scheduler: Scheduler,
  r: { ticketId: string; rewinds: string[]; points: number; target?: ComputeTargetSpec },
): { job: JobRow | null; analyses: InstabilityResult[] } {
  const ticket = store.getTicket(r.ticketId);
  if (!ticket) throw new TicketLabError('NOT_FOUND', `No ticket ${r.ticketId}.`);
  if (ticket.structure?.architecture) {
    throw new TicketLabError(
      'INVALID_INPUT',
      `Ticket ${ticket.id} is a compacted (structured) model; the instability analysis takes masked tickets of the full model (its dense network or an unstructured ticket).`,
    );
  }
  if (!ticket.maskBlob) {
    throw new TicketLabError('INVALID_INPUT', `Ticket ${ticket.id} has no stored mask yet.`);
  }
  const experiment = store.getExperiment(ticket.experimentId)!;
  if (!store.findTicket(experiment.id, 0, 'dense')?.initBlob) {
    throw new TicketLabError(
      'INVALID_INPUT',
      `Experiment ${experiment.id} has no dense network to take θ_k from (a transfer trains none); analyse the source ticket instead.`,
    );
  }
  const spec = resolveSpec(JSON.parse(experiment.specJson));
  const dataset = getDatasetRow(store, spec.dataset);
  const perEpoch = specIterationsPerEpoch(spec, dataset.trainCount, dataset.name);
  const end = durationToIterations(spec.training.duration, perEpoch);
  const asked = [...new Set(r.rewinds)].map((rewind) => {
    const k = durationToIterations(rewind, perEpoch);
    if (k >= end) {
      throw new TicketLabError(
        'INVALID_INPUT',
        `rewind ${rewind} is iteration ${k}, at or past the end of training (${end} iterations, ${spec.training.duration}): choose an earlier point.`,
      );
    }
    if (analysableRewinds(ticket.method, [k]).length === 0) {
      throw new TicketLabError(
        'INVALID_INPUT',
        `Ticket ${ticket.id} is a random re-initialisation: a fresh network that trains from iteration 0, with no θ_k of its own. Analyse it at 0it.`,
      );
    }
    return { rewind, k };
  });
  const existing = instabilityOfTicket(store, ticket.id).filter((e) => e.points === r.points);
  const open = asked.filter(({ k }) => !existing.some((e) => e.rewindIteration === k));
  const job =
    open.length === 0
      ? null
      : scheduler.enqueueAnalysis(
          experiment.id,
          'instability',
          (j) => {
            for (const { rewind, k } of open)
              insertInstability(store, {
                ticketId: ticket.id,
                jobId: j.id,
                rewind,
                rewindIteration: k,
                points: r.points,
              });
          },
          r.target,
        );
  const analyses = instabilityOfTicket(store, ticket.id).filter(
    (e) => e.points === r.points && asked.some(({ k }) => k === e.rewindIteration),
  );
  return { job, analyses: analyses.map((a) => instabilityView(store, a)) };
}
