import { replicateSeed, resolveSpec, type ResolvedSpec } from '../api/spec.ts';
import type { ExperimentRow, Store, TicketRow } from '../store/store.ts';

/**
 * One dense training per θ0. Pruning at initialisation by five scores, one-shot pruning and
 * IMP from the same seed each begin by training the same dense network from the same θ0 on
 * the same data in the same way, and training is deterministic at a given number of threads:
 * the campaign's records show those dense networks equal to the last digit (on another
 * number they differ a little, BENCHMARKS.md: a copy is the training the original's threads
 * gave). So an experiment whose level 0 matches a trained one's gets a copy of it
 * (src/store/store.ts, copyTrainedTicket) and trains from level 1; the scheduler also holds
 * such an experiment back while the matching dense network is still training elsewhere,
 * rather than train it twice at once.
 *
 * Only the methods whose level 0 is that plain training take part: structured methods train
 * theirs with penalties or gates, and a transfer has no dense level.
 */
const PLAIN_DENSE = new Set<ResolvedSpec['method']>(['imp', 'pai', 'oneshot']);

/**
 * Everything the dense training reads (src/jobs/setting.ts, src/pruning/imp.ts), or null for
 * a method whose dense level is not shared: the data and its split, the model, θ0 (init and
 * the seed the replicate trains with, which also orders the batches), the training, and the
 * rewind point whose θ_k the dense training keeps.
 */
export function denseTrainingKey(spec: ResolvedSpec, replicate: number): string | null {
  if (!PLAIN_DENSE.has(spec.method)) return null;
  return JSON.stringify({
    dataset: spec.dataset,
    validationFraction: spec.validationFraction,
    model: spec.model,
    init: spec.init,
    seed: replicateSeed(spec, replicate),
    training: spec.training,
    rewind: spec.pruning.rewind,
  });
}

/** An experiment's dense training key, from its stored spec. */
export function experimentDenseKey(experiment: ExperimentRow): string | null {
  return denseTrainingKey(resolveSpec(JSON.parse(experiment.specJson)), experiment.replicate);
}

/**
 * Copies into `experiment` a trained dense network of another experiment with the same
 * dense training key, when it has no dense ticket of its own: the ticket copied from, or
 * null when there is nothing to reuse.
 */
export function reuseTrainedDense(store: Store, experiment: ExperimentRow): TicketRow | null {
  const key = experimentDenseKey(experiment);
  if (key === null) return null;
  // its own dense network, trained or under way (a paused job's checkpoint), is kept
  if (store.findTicket(experiment.id, 0, 'dense')) return null;
  const donor = trainedDense(store, experiment.datasetId, experiment.model, key, experiment.id);
  if (!donor) return null;
  store.copyTrainedTicket(experiment.id, donor.id);
  return donor;
}

/**
 * Whether the store holds a trained dense network that an experiment of `spec` (its first
 * replicate) would copy rather than train: what a plan made before creating the experiment
 * needs to know (bench/campaign.ts).
 */
export function denseTrainedAlready(store: Store, spec: ResolvedSpec): boolean {
  const key = denseTrainingKey(spec, 0);
  return key !== null && trainedDense(store, spec.dataset, spec.model, key) !== undefined;
}

/** The oldest trained dense network with dense training key `key`, outside `exceptExperimentId`. */
function trainedDense(
  store: Store,
  datasetId: string,
  model: string,
  key: string,
  exceptExperimentId = '',
): TicketRow | undefined {
  return store
    .trainedDenseTickets(datasetId, model, exceptExperimentId)
    .find((t) => experimentDenseKey(store.getExperiment(t.experimentId)!) === key);
}

/**
 * Whether `experiment` should wait: it has no dense network yet, and one of `running` (other
 * experiments with a job under way) is training the same one.
 */
export function denseTrainingElsewhere(
  store: Store,
  experiment: ExperimentRow,
  running: ExperimentRow[],
): boolean {
  const untrained = (e: ExperimentRow) => !store.findTicket(e.id, 0, 'dense')?.trainedBlob;
  if (!untrained(experiment)) return false;
  const key = experimentDenseKey(experiment);
  return (
    key !== null &&
    running.some((e) => e.id !== experiment.id && untrained(e) && experimentDenseKey(e) === key)
  );
}
