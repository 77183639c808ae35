import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import type { ThreadSpan } from '../../src/api/contract.ts';
import type { SlurmTargetSpec } from '../../src/api/sweep.ts';
import type { NodeMachine } from '../../src/jobs/protocol.ts';
import type { Machine, Versions } from '../records.ts';
import type { ModelSpeed, Workers } from './plan.ts';

/** One finished experiment of a campaign part, as bench:campaign writes it. */
export interface CampaignRecord {
  part: string;
  label: string;
  seed: number;
  specHash: string;
  /** the resolved spec the experiment ran (its identity is specHash) */
  spec: Record<string, unknown>;
  dataset: { id: string; folder: string; train: number; test: number };
  /** the plan's estimate, made before the experiment ran (records from 2026-12-02 08:00 on) */
  estimate?: EstimateRecord;
  /** each training's measured wall time is its ticket's `wallTimeMs` */
  tickets: TicketRecord[];
  /**
   * A transfer part's second stage: the experiment trained a ticket of another record of
   * the part on this record's dataset (its tickets: `transfer` and `random-prune`). Its
   * specHash names the source ticket's id, which is the data folder's own.
   */
  transfer?: TransferSource;
  /** a part with instability analyses: one per analysed ticket and rewind point */
  instability?: InstabilityRecord[];
  /**
   * the analyses' jobs' wall time, summed over jobs; null where a job ran partly in an
   * earlier bench:campaign run (a pause cut it, so its time was not measured whole)
   */
  instabilityWallMs?: number | null;
  /**
   * Where the experiment trained when its jobs ran on a Slurm cluster: the target and the
   * nodes its workers reported; `machine` is then the host that submitted them (and ran
   * any instability analyses). Absent where the jobs ran on `machine`.
   */
  cluster?: { target: SlurmTargetSpec; nodes: NodeMachine[] };
  machine: Machine;
  versions: Versions;
  date: string;
  command: string;
  /**
   * Fields added to the record after its run by `bench:campaign --complete-records`, read
   * from the same experiment in the data folder: which, when, by what command and code.
   * Every other field is as the run wrote it.
   */
  completed?: { fields: string[]; date: string; command: string; versions: Versions };
}

/**
 * bench:campaign's estimate of an experiment's job (bench/campaign/plan.ts), from the speed a
 * bench:engine record measured: an estimate, to set beside the training time measured.
 */
export interface EstimateRecord {
  /** hours of the experiment's job on its share of the cores */
  hours: number;
  runs: number;
  iterations: number;
  trainingSamples: number;
  evaluatedExamples: number;
  /** the model's speed the estimate assumed, and where it came from */
  speed: ModelSpeed;
  /** how the campaign ran its jobs: how many at a time, each on how many threads */
  workers: Workers;
}

export interface TicketRecord {
  level: number;
  method: string;
  remainingWeights: number;
  /** at the early-stopping iteration (minimum validation loss) */
  testAccuracy: number | null;
  finalTestAccuracy: number | null;
  earlyStopIteration: number | null;
  /** the training's, where it ran: for a `reused` dense network, in another experiment */
  wallTimeMs: number | null;
  backend: string | null;
  /**
   * the native kernels' threads while it trained, span by span (records from 2026-12-08 on;
   * absent before, and where not recorded)
   */
  kernelThreads?: z.output<typeof ThreadSpan>[];
  /** a dense network copied from another experiment's identical training (src/jobs/dense-reuse.ts) */
  reused?: true;
  /** structured experiments' tickets (records from 2026-12-02 05:00 on) */
  structure?: StructureRecord;
  /**
   * each prunable layer's weights and how many the ticket keeps (records from 2026-12-06
   * on; older ones where `--complete-records` found their experiment, as `completed` says)
   */
  layers?: LayerRecord[];
  /**
   * whether the mask leaves a path of kept weights from an input unit to an output unit
   * (bench/layer-path.ts `unitsReachOutput`); absent for a ticket without a mask (a compacted
   * structured model) and in records from before 2026-12-06 07:05 that `--complete-records`
   * has not completed
   */
  reachesOutput?: boolean;
}

export interface LayerRecord {
  layer: string;
  total: number;
  kept: number;
}

/** The controls' names in tables and plots. */
export const CONTROL_NAMES: Record<string, string> = {
  'random-prune': 'random pruning',
  'random-reinit': 'random re-init',
};

/** An analysed ticket as the tables and plots name it: the dense network, a level's ticket or one of its controls. */
export function analysedTicket(a: Pick<InstabilityRecord, 'level' | 'method'>): string {
  if (a.level === 0) return 'dense';
  const control = CONTROL_NAMES[a.method];
  return control ? `level ${a.level}, ${control}` : `level ${a.level}`;
}

const ANALYSED_ORDER = ['dense', 'imp', 'random-reinit', 'random-prune'];

/** Analysed tickets in the order tables and plots list them: by level, the ticket before its controls. */
export function byAnalysedTicket(
  a: Pick<InstabilityRecord, 'level' | 'method'>,
  b: Pick<InstabilityRecord, 'level' | 'method'>,
): number {
  return a.level - b.level || ANALYSED_ORDER.indexOf(a.method) - ANALYSED_ORDER.indexOf(b.method);
}

/** One rewind point of a ticket's instability analysis (Frankle et al. 2020). */
export interface InstabilityRecord {
  level: number;
  method: string;
  remainingWeights: number;
  /** the rewind point k, in iterations */
  rewindIteration: number;
  points: number;
  /** where θ_k came from: θ0 (k = 0), stored by the experiment, or retrained from θ0 */
  thetaK: string | null;
  /** the two copies' batch-order seeds */
  seeds: number[] | null;
  /** test error at α from 0 (copy A) to 1 (copy B) */
  curve: { alpha: number; testError: number }[];
  /** highest error on the line minus the mean of its ends */
  barrier: number;
}

/** The ticket a transfer record's experiment started from. */
export interface TransferSource {
  /** the source experiment's record: its label, dataset folder and spec hash */
  label: string;
  folder: string;
  specHash: string;
  /** the source ticket's IMP level */
  level: number;
}

/** What structured surgery left and measured, from `tickets.get`. */
export interface StructureRecord {
  remainingParams: number;
  totalParams: number;
  /** measured batch-64 inference speed-up of the compacted model over the dense one */
  speedup: number | null;
  /**
   * test accuracy of the compacted model as surgery cut it out of the trained network,
   * before any retraining (its run's first test evaluation; records from 2026-12-02 21:00 on)
   */
  cutTestAccuracy?: number | null;
  /** the input features kept (where surgery selects pixels), then the output units of each
   * dense and convolutional layer of the compacted model */
  units: number[];
  /** slimming: one Early-Bird search per pruning ratio (You et al. 2020) */
  earlyBird: {
    ratio: number;
    detectedEpoch: number | null;
    prunedEpoch: number;
    /** mask distance from each epoch's channel mask to the last epoch's (the pruned one) */
    distancesToLast: number[];
  }[];
}

/** A part's records in `records` (bench/records, or another folder of the same layout), by file name. */
export function readCampaign(records: string, part: string): CampaignRecord[] {
  const folder = join(records, 'campaign', part);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as CampaignRecord);
}

export function campaignRecordPath(
  records: string,
  part: string,
  label: string,
  seed: number,
  hash: string,
): string {
  return join(records, part, `${label}-seed${seed}-${hash.slice(0, 12)}.json`);
}

/** The tickets a transfer part compares at one source → target and level. */
export interface TransferComparison {
  source: string;
  target: string;
  level: number;
  /** the transfers' records (one a seed) */
  records: CampaignRecord[];
  transferred: TicketRecord[];
  /** the random tickets trained beside them */
  random: TicketRecord[];
  /** the IMP tickets found on the target itself at the same level */
  own: TicketRecord[];
}

/** Every source → target and level that `transfers` hold, in dataset order, then by level. */
export function transferComparisons(
  sources: CampaignRecord[],
  transfers: CampaignRecord[],
): TransferComparison[] {
  const folders = [...new Set(sources.map((r) => r.dataset.folder))];
  const comparisons: TransferComparison[] = [];
  for (const source of folders) {
    for (const target of folders.filter((f) => f !== source)) {
      const mine = transfers.filter(
        (r) => r.transfer!.folder === source && r.dataset.folder === target,
      );
      const levels = [...new Set(mine.map((r) => r.transfer!.level))].sort((a, b) => a - b);
      for (const level of levels) {
        const at = mine.filter((r) => r.transfer!.level === level);
        const tickets = (records: CampaignRecord[], keep: (t: TicketRecord) => boolean) =>
          records.flatMap((r) => r.tickets.filter(keep));
        comparisons.push({
          source,
          target,
          level,
          records: at,
          transferred: tickets(at, (t) => t.method === 'transfer'),
          random: tickets(at, (t) => t.method === 'random-prune'),
          own: tickets(
            sources.filter((r) => r.dataset.folder === target),
            (t) => t.level === level && t.method === 'imp',
          ),
        });
      }
    }
  }
  return comparisons;
}

/** A record's budget in a few words: its training length, and its levels where it prunes iteratively. */
export function budgetName(r: CampaignRecord): string {
  const spec = r.spec as {
    method: string;
    training: { duration: string };
    pruning: { levels: number };
  };
  const levels = spec.pruning.levels;
  return `${spec.training.duration}${spec.method === 'imp' ? `, ${levels} level${levels === 1 ? '' : 's'}` : ''}`;
}

/**
 * The dense network's test accuracy once per seed, in the order the seeds first appear: a
 * seed's experiments each copy its one dense network, so a value per experiment would weigh
 * a seed by how many of its experiments are recorded (a part run in pieces). A seed whose
 * copies hold no accuracy is left out.
 */
export function denseAccuracyPerSeed(records: CampaignRecord[]): number[] {
  const bySeed = new Map<number, number[]>();
  for (const r of records)
    for (const t of r.tickets)
      if (t.level === 0 && t.testAccuracy !== null)
        bySeed.set(r.seed, [...(bySeed.get(r.seed) ?? []), t.testAccuracy]);
  return [...bySeed.values()].map((xs) => xs.reduce((a, b) => a + b, 0) / xs.length);
}
