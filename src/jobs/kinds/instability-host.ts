import { startsFromOwnInit } from '../../api/methods.ts';
import { replicateSeed, resolveSpec } from '../../api/spec.ts';
import { deriveSeed } from '../../core/random.ts';
import { instabilityOfJob } from '../../store/instability.ts';
import type { JobRow, Store } from '../../store/store.ts';
import type { InstabilityRef } from '../protocol.ts';

const CHECKPOINT_RUN = /^([01])\/instability:(.+)$/;

/**
 * What an instability job's worker needs, read from the store: the ticket's mask, the
 * experiment's θ0 (a random re-initialisation's own) and θ_k where it rewinds, and each
 * rewind point with its copies trained so far. A string says why the job cannot run.
 */
export function instabilityRef(store: Store, job: JobRow): InstabilityRef | string {
  const rows = instabilityOfJob(store, job.id);
  const ticket = rows[0] && store.getTicket(rows[0].ticketId);
  if (!ticket || !ticket.maskBlob) return `The ticket of job ${job.id} is no longer stored.`;
  const experiment = store.getExperiment(ticket.experimentId)!;
  const dense = store.findTicket(experiment.id, 0, 'dense');
  if (!dense?.initBlob) return `Experiment ${experiment.id} has no dense network to rewind to.`;
  // a random re-initialisation starts from its own fresh weights (analysed at k = 0 only)
  const theta0Blob = startsFromOwnInit(ticket.method) ? ticket.initBlob : dense.initBlob;
  if (!theta0Blob) return `Ticket ${ticket.id} has no stored initial weights.`;
  const spec = resolveSpec(JSON.parse(experiment.specJson));
  const inFlight = CHECKPOINT_RUN.exec(job.checkpointRun ?? '');
  return {
    ticketId: ticket.id,
    maskBlob: ticket.maskBlob,
    theta0Blob,
    storedRewindBlob: dense.rewindBlob,
    // the batch order of the dense run (pruning/imp.ts's ticketTrainer), to retrace it to k
    denseSeed: deriveSeed(replicateSeed(spec, experiment.replicate), 'batch-order', 0, 'dense'),
    points: rows[0]!.points,
    rewinds: rows.map((r) => ({
      id: r.id,
      rewind: r.rewind,
      rewindIteration: r.rewindIteration,
      copies: r.copies,
      done: r.curve !== null,
    })),
    inFlight:
      inFlight && job.checkpointBlob
        ? {
            copy: Number(inFlight[1]) as 0 | 1,
            id: inFlight[2]!,
            checkpointBlob: job.checkpointBlob,
          }
        : null,
  };
}
