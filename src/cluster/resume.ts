import type { ResumeRef, WorkerMessage } from '../jobs/protocol.ts';
import { runKey } from '../core/run-key.ts';
import type { TicketMethod } from '../core/vocabulary.ts';
import type { TicketStructure } from '../pruning/structured/record.ts';

/**
 * Where a job stands after the reports a worker wrote since its start: the same ResumeRef
 * the host derives from the store (Scheduler.resumeRef), derived instead from the report
 * log, so that a job Slurm requeued resumes on its node without the database.
 */
export function advanceResume(resume: ResumeRef, messages: WorkerMessage[]): ResumeRef {
  const next: ResumeRef = structuredClone(resume);
  const started = new Map<
    string,
    { maskBlob: string; initBlob: string; structure: TicketStructure | null }
  >();
  for (const m of messages) {
    if (m.type === 'run-start') {
      started.set(runKey(m.run), {
        maskBlob: m.maskBlob,
        initBlob: m.initBlob,
        structure: m.structure ?? null,
      });
    } else if (m.type === 'checkpoint') {
      if (!next.completed.includes(runKey(m.run)))
        // cluster jobs are experiment jobs: their checkpoints belong to runs of a ticket method
        next.inFlight = {
          level: m.run.level,
          method: m.run.method as TicketMethod,
          checkpointBlob: m.blob,
        };
    } else if (m.type === 'ticket') {
      const key = runKey(m.run);
      const run = started.get(key);
      if (!next.completed.includes(key)) next.completed.push(key);
      if (next.inFlight && runKey(next.inFlight) === key) next.inFlight = null;
      if (!run) continue;
      if (m.run.method === 'dense') next.rewindBlob = m.rewindBlob ?? run.initBlob;
      if (
        (m.run.method === 'dense' || m.run.method === 'imp') &&
        m.run.level >= (next.last?.level ?? -1)
      )
        next.last = {
          level: m.run.level,
          maskBlob: run.maskBlob,
          trainedBlob: m.trainedBlob,
          structure: m.structure ?? run.structure,
        };
    }
  }
  return next;
}
