import type { InstabilityRef, ResumeRef, StartJob, WorkerMessage } from '../jobs/protocol.ts';
import { runKey } from '../core/run-key.ts';
import type { TicketMethod } from '../core/vocabulary.ts';
import type { TicketStructure } from '../pruning/structured/record.ts';

/**
 * A requeued job's start on its node: the one the host wrote, advanced past what the
 * worker's earlier attempts reported (runs and tickets, or an analysis's copies and curves).
 */
export function advanceStart(start: StartJob, messages: WorkerMessage[]): StartJob {
  return {
    ...start,
    resume: advanceResume(start.resume, messages),
    instability: start.instability && advanceInstability(start.instability, messages),
  };
}

const INSTABILITY_STEP = 'instability:';
const isInstabilityStep = (method: string) => method.startsWith(INSTABILITY_STEP);

/**
 * Where an instability job stands after the reports since its start, as the host reads it
 * from the store (jobs/kinds/instability-host.ts): each rewind point's copies stored and
 * whether its curve is in, and the copy a checkpoint cut short.
 */
export function advanceInstability(
  plan: InstabilityRef,
  messages: WorkerMessage[],
): InstabilityRef {
  const next: InstabilityRef = structuredClone(plan);
  const point = (id: string) => next.rewinds.find((r) => r.id === id);
  for (const m of messages) {
    if (m.type === 'checkpoint' && isInstabilityStep(m.run.method)) {
      // its step is { level: copy, method: 'instability:<row id>' } (jobs/protocol.ts)
      const id = m.run.method.slice(INSTABILITY_STEP.length);
      const copy = m.run.level as 0 | 1;
      if (!point(id)?.copies[copy]) next.inFlight = { id, copy, checkpointBlob: m.blob };
    } else if (m.type === 'instability-copy') {
      const p = point(m.id);
      if (p) p.copies[m.copy] = m.blob;
      if (next.inFlight?.id === m.id && next.inFlight.copy === m.copy) next.inFlight = null;
    } else if (m.type === 'instability-curve') {
      const p = point(m.id);
      if (p) p.done = true;
    }
  }
  return next;
}

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
      if (!next.completed.includes(runKey(m.run)) && !isInstabilityStep(m.run.method))
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
