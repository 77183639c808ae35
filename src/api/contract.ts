import { z } from 'zod';
import { JobStateSchema } from './events.ts';
import { ComputeTarget } from './sweep.ts';
import { DURATION_PATTERN } from './spec.ts';

/**
 * The one API contract (DESIGN.md "One contract, three transports"): every operation the
 * UI, the CLI and the HTTP server use, named once with its input and output schema. The
 * transports (Electron IPC, HTTP + SSE, in-process) carry these and add nothing.
 */
const id = z.string().min(1).max(100);
const page = {
  limit: z.number().int().min(1).max(1000).default(50),
  offset: z.number().int().min(0).default(0),
};
const fraction = z.number().min(0).max(1);
const EXPERIMENT_STATUSES = [
  'created',
  'running',
  'paused',
  'done',
  'failed',
  'cancelled',
  'interrupted',
] as const;

export const ExperimentSummary = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(EXPERIMENT_STATUSES),
  method: z.string(),
  model: z.string(),
  /** the dataset's id, and its name as people read it */
  dataset: z.string(),
  datasetName: z.string(),
  specHash: z.string(),
  replicate: z.number().int(),
  /** trained tickets of the experiment's own method (dense, imp, a score, transfer; no controls) */
  levels: z.number().int(),
  /** lowest remaining-weight fraction reached by such a ticket, and its test accuracy */
  minRemainingWeights: fraction.nullable(),
  accuracyAtMinRemaining: fraction.nullable(),
  tags: z.array(z.string()),
  notes: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const LayerRemaining = z.object({
  layer: z.string(),
  total: z.number().int(),
  kept: z.number().int(),
  remaining: fraction,
});

/** From step `fromIteration` on (to the next span's start), the native kernels took `threads`. */
export const ThreadSpan = z.object({ fromIteration: z.number().int(), threads: z.number().int() });

export const TicketView = z.object({
  id: z.string(),
  parentId: z.string().nullable(),
  /** a transferred ticket: the ticket on another dataset it came from */
  sourceTicketId: z.string().nullable(),
  level: z.number().int(),
  method: z.string(),
  /** fraction 0–1 of prunable weights kept */
  remainingWeights: fraction,
  /** test accuracy 0–1 at the early-stopping iteration; null while training */
  testAccuracy: fraction.nullable(),
  finalTestAccuracy: fraction.nullable(),
  earlyStopIteration: z.number().int().nullable(),
  /**
   * Set when the minimum validation loss is where training started (iteration 0, or the
   * rewind point): training never improved on it, so `testAccuracy` is the accuracy of the
   * weights before training. Says so in one sentence; null otherwise.
   */
  earlyStopNote: z.string().nullable(),
  remainingParams: z.number().int(),
  totalParams: z.number().int(),
  flops: z.number(),
  remainingWeightsPerLayer: z.array(LayerRemaining),
  trained: z.boolean(),
  runId: z.string().nullable(),
  /** the training's wall time, where it ran (for a reused dense network: where it was trained) */
  wallTimeMs: z.number().nullable(),
  backend: z.string().nullable(),
  /**
   * A dense network copied from another experiment's identical training (same θ0, data and
   * training; src/jobs/dense-reuse.ts) rather than trained for this one: that training's run.
   */
  reusedFromRunId: z.string().nullable(),
  /**
   * The native kernels' threads while it trained: from step `fromIteration` on (to the next
   * span's start), `threads`. Training repeats to the digit only at the same threads; the
   * scheduler changes them when another job starts or ends. Null: not recorded.
   */
  kernelThreads: z.array(ThreadSpan).nullable(),
  /**
   * Structured tickets: measured inference speed-up of the compacted model over the dense
   * one (ratio of median latencies) at batch 1 and 64, and the backend both ran on; null for
   * masked tickets.
   */
  speedup: z.object({ batch1: z.number(), batch64: z.number(), backend: z.string() }).nullable(),
  /**
   * Structured tickets: the compacted model's widths as the papers write them, input
   * features first (`219-214-100-10`: an L0 LeNet-300-100 reading 219 pixels); null for
   * masked tickets.
   */
  widths: z.string().nullable(),
});

/** One Early-Bird search at one pruning ratio (You et al. 2020). */
export const EarlyBirdView = z.object({
  ratio: fraction,
  detectedEpoch: z.number().int().nullable(),
  prunedEpoch: z.number(),
  /** normalised Hamming distance between the channel masks of epochs i+1 and j+1 */
  distances: z.array(z.array(z.number())),
});

/** Inference of a compacted model against the dense one, measured on `backend`. */
export const InferenceView = z.object({
  backend: z.string(),
  runs: z.number().int(),
  fileBytes: z.object({ dense: z.number().int(), compact: z.number().int() }),
  latency: z.array(
    z.object({
      batch: z.number().int(),
      denseMs: z.number(),
      compactMs: z.number(),
      denseThroughput: z.number(),
      compactThroughput: z.number(),
    }),
  ),
});

export const ExperimentDetail = ExperimentSummary.extend({
  spec: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
  tickets: z.array(TicketView),
});

export const JobView = z.object({
  id: z.string(),
  /** what the job does (vocabulary JOB_KINDS): an experiment's training, an instability analysis */
  kind: z.string(),
  experimentId: z.string(),
  /** its experiment's name, so a list of jobs reads without a lookup per row */
  experimentName: z.string(),
  state: JobStateSchema,
  progress: fraction,
  phase: z.string().nullable(),
  attempt: z.number().int(),
  error: z.string().nullable(),
  checkpointIteration: z.number().int().nullable(),
  autoResume: z.boolean(),
  /** a job on a cluster: its scheduler's id and state (null for the local worker pool) */
  cluster: z
    .object({
      kind: z.literal('slurm'),
      /** null until submitted */
      jobId: z.string().nullable(),
      /** Slurm's state, e.g. PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, PREEMPTED, NODE_FAIL */
      state: z.string().nullable(),
      /** why it is pending (e.g. Resources, Priority), or how it ended */
      reason: z.string().nullable(),
    })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** What a sweep costs: counted from its specs and this data folder's datasets. */
export const SweepCost = z.object({
  experiments: z.number().int(),
  /** of those, already in the data folder (found by spec hash: not created again) */
  stored: z.number().int(),
  /** trainings (a level's ticket or control) in all its experiments, and those not yet stored */
  runs: z.number().int(),
  runsLeft: z.number().int(),
  /**
   * training iterations as the runners train them (src/api/methods.ts plannedRuns: a run
   * rewound to iteration k trains T−k, a structured level its fine-tuning), and those left
   */
  iterations: z.number().int(),
  iterationsLeft: z.number().int(),
  /** true where a slimming search may stop sooner, at its Early-Bird ticket */
  iterationsAreUpperBound: z.boolean(),
});

export const SweepView = z.object({
  id: z.string(),
  name: z.string(),
  specHash: z.string(),
  axes: z.record(z.string(), z.array(z.unknown())),
  target: ComputeTarget,
  experiments: z.array(
    z.object({
      /** axis path → the value this experiment takes */
      point: z.record(z.string(), z.unknown()),
      experiment: ExperimentSummary,
      runs: z.number().int(),
      runsDone: z.number().int(),
    }),
  ),
  /** experiment status → how many of its experiments are in it */
  statusCounts: z.record(z.string(), z.number().int()),
  runs: z.number().int(),
  runsDone: z.number().int(),
  /** runsDone / runs */
  progress: fraction,
  createdAt: z.string(),
});

export const DatasetView = z.object({
  id: z.string(),
  name: z.string(),
  format: z.string(),
  inputShape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  classNames: z.array(z.string()),
  trainCount: z.number().int(),
  testCount: z.number().int(),
  sourcePath: z.string().nullable(),
  createdAt: z.string(),
});

export const MetricPoint = z.object({
  step: z.number().int(),
  epoch: z.number(),
  loss: z.number(),
  accuracy: z.number().nullable(),
});

export const MODEL_FORMATS = ['onnx', 'tfjs', 'safetensors'] as const;
export const RESULT_FORMATS = ['csv', 'json', 'lineage'] as const;

export const ExportView = z.object({
  id: z.string(),
  experimentId: z.string(),
  ticketId: z.string().nullable(),
  format: z.string(),
  path: z.string(),
  bytes: z.number().int(),
  /** sha256 of the file */
  checksum: z.string(),
  createdAt: z.string(),
});

/** Where an export goes: an absolute path on the machine that runs the core. */
const exportPath = z.string().min(1).max(4096);

const accuracy = fraction.nullable();

export const TransferMatrix = z.object({
  rows: z.array(
    z.object({
      experimentId: z.string(),
      ticketId: z.string(),
      sourceTicketId: z.string(),
      sourceDataset: z.string(),
      targetDataset: z.string(),
      model: z.string(),
      remainingWeights: fraction,
      /** test accuracies at the early-stop iteration; null while training */
      transferAccuracy: accuracy,
      randomAccuracy: accuracy,
      /**
       * the IMP tickets found on the target with the closest remaining weights (within a
       * factor 1.5): one of them, how many (replicates), and their mean accuracy
       */
      targetTicketId: z.string().nullable(),
      targetTicketRemainingWeights: fraction.nullable(),
      targetTicketCount: z.number().int(),
      targetTicketAccuracy: accuracy,
      /** transferred minus random ticket, and minus the target-found ticket (−1…1) */
      vsRandom: z.number().nullable(),
      vsTargetTicket: z.number().nullable(),
    }),
  ),
  /**
   * source dataset × target dataset: mean differences over the rows of the pair, each over
   * the rows that have it (`nVsRandom`, `nVsTargetTicket`); `n` counts every transfer of the
   * pair, those still training included
   */
  cells: z.array(
    z.object({
      sourceDataset: z.string(),
      targetDataset: z.string(),
      n: z.number().int(),
      vsRandom: z.number().nullable(),
      nVsRandom: z.number().int(),
      vsTargetTicket: z.number().nullable(),
      nVsTargetTicket: z.number().int(),
    }),
  ),
});

/**
 * One node of a genealogy: θ0 itself (the root), or a ticket of an experiment that started
 * from θ0, or of a transfer of one of their tickets to another dataset.
 */
export const GenealogyNode = z.object({
  /** the ticket's id; for the root, `theta0:` and the hash of the stored θ0 */
  id: z.string(),
  parentId: z.string().nullable(),
  kind: z.enum(['theta0', 'ticket']),
  experimentId: z.string().nullable(),
  /** the experiment's way from θ0, e.g. "IMP, rewind to 500it", "snip", "transfer to fashion" */
  branch: z.string(),
  method: z.string(),
  level: z.number().int(),
  /** dataset id, and its name */
  dataset: z.string(),
  datasetName: z.string(),
  remainingWeights: fraction,
  /** test accuracy at the early-stop iteration; null while training */
  testAccuracy: fraction.nullable(),
  trained: z.boolean(),
  /** passes the filters; false for an ancestor kept only to connect a match to θ0 */
  match: z.boolean(),
});

export const Genealogy = z.object({
  /** the initialisation every experiment in the tree shares */
  theta0: z.object({
    blob: z.string(),
    model: z.string(),
    dataset: z.string(),
    datasetName: z.string(),
    seed: z.number().int(),
    init: z.string(),
  }),
  experiments: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      method: z.string(),
      dataset: z.string(),
      branch: z.string(),
    }),
  ),
  /** θ0 first, then each experiment's tickets by level: the tree after the filters */
  nodes: z.array(GenealogyNode),
  /** what the filters choose from: every ticket method and dataset in the unfiltered tree */
  methods: z.array(z.string()),
  datasets: z.array(z.object({ id: z.string(), name: z.string() })),
  /** nodes before filtering */
  total: z.number().int(),
});

/** A genealogy's filters; a node passes when it passes every one given. */
export const GenealogyFilter = z.strictObject({
  methods: z.array(z.string().min(1).max(50)).max(50).optional(),
  datasets: z.array(id).max(100).optional(),
  /** lowest test accuracy (0–1); an untrained ticket fails it */
  minAccuracy: fraction.optional(),
  /** remaining-weight range (0–1), both ends included */
  minRemaining: fraction.optional(),
  maxRemaining: fraction.optional(),
});

/** A ticket as the mask views name it: experiment, method, level, remaining weights. */
export const MaskTicket = z.object({
  id: z.string(),
  experimentId: z.string(),
  experimentName: z.string(),
  method: z.string(),
  level: z.number().int(),
  remainingWeights: fraction,
  model: z.string(),
  datasetName: z.string(),
  inputShape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
});

const overlapCounts = z.object({
  layer: z.string(),
  total: z.number().int(),
  /** kept in both masks, only in this ticket's, only in the other's */
  both: z.number().int(),
  onlyHere: z.number().int(),
  onlyThere: z.number().int(),
  /** both / (both + onlyHere + onlyThere); null when neither keeps a weight */
  jaccard: fraction.nullable(),
});

/** A ticket's mask, counted from its stored 0/1 masks (src/pruning/mask-views.ts). */
export const TicketMasks = z.object({
  ticket: MaskTicket,
  /** per prunable layer in forward order: a heat-map of kept weights */
  layers: z.array(
    z.object({
      layer: z.string(),
      kind: z.enum(['dense', 'conv2d']),
      shape: z.array(z.number().int()),
      kept: z.number().int(),
      total: z.number().int(),
      /** one row per output unit (dense) or filter (conv) */
      rows: z.number().int(),
      /** one column per input channel (conv), or 1 (dense; conv layers over 65,536 cells) */
      cols: z.number().int(),
      /** weights behind each cell */
      cellTotal: z.number().int(),
      /** kept weights per cell, row-major */
      cells: z.array(z.number().int()),
    }),
  ),
  /** a first layer dense over the image: kept weights per input pixel (channels summed) */
  inputMap: z
    .object({
      layer: z.string(),
      height: z.number().int(),
      width: z.number().int(),
      channels: z.number().int(),
      /** weights from each pixel */
      perPixel: z.number().int(),
      /** kept weights per pixel, row-major */
      kept: z.array(z.number().int()),
    })
    .nullable(),
  /** against another ticket of the same architecture, when asked */
  overlap: z
    .object({ against: MaskTicket, layers: z.array(overlapCounts), whole: overlapCounts })
    .nullable(),
});

function method<I extends z.ZodType, O extends z.ZodType>(input: I, output: O) {
  return { input, output };
}

/** One rewind point of a ticket's instability analysis. */
export const InstabilityView = z.object({
  id: z.string(),
  ticketId: z.string(),
  jobId: z.string(),
  rewind: z.string(),
  rewindIteration: z.number().int(),
  points: z.number().int(),
  /** the two copies' batch-order seeds, once they have trained */
  seeds: z.array(z.number().int()).nullable(),
  /** where θ_k came from: θ0 (k = 0), stored by the experiment, or retrained from θ0 */
  thetaK: z.enum(['initial', 'stored', 'recomputed']).nullable(),
  /** test error at α from 0 (copy A) to 1 (copy B); null until both copies are trained */
  curve: z.array(z.object({ alpha: z.number(), testError: fraction })).nullable(),
  /** highest error on the line minus the mean of its ends */
  barrier: z.number().nullable(),
  /**
   * the job that trains it: its state and error, and its Slurm job where it runs on a
   * cluster (null for a job this host's workers run)
   */
  job: z.object({
    state: JobStateSchema,
    error: z.string().nullable(),
    clusterJobId: z.string().nullable(),
    onCluster: z.boolean(),
  }),
});

const rewindPoint = z
  .string()
  .regex(DURATION_PATTERN, 'expected a rewind point such as "0it", "500it" or "2ep"')
  .refine((s) => s.length > 0, 'expected a rewind point such as "0it", "500it" or "2ep"');

export const METHODS = {
  'experiments.list': method(
    z.strictObject({
      ...page,
      search: z.string().max(200).optional(),
      status: z.enum(EXPERIMENT_STATUSES).optional(),
      tag: z.string().max(100).optional(),
    }),
    z.object({ items: z.array(ExperimentSummary), total: z.number().int() }),
  ),
  'experiments.get': method(z.strictObject({ id }), ExperimentDetail),
  'experiments.create': method(
    z.strictObject({
      spec: z.unknown(),
      newReplicate: z.boolean().default(false),
      start: z.boolean().default(false),
    }),
    /** job: the queued job, or null when not asked to start or already done */
    z.object({ experiment: ExperimentSummary, created: z.boolean(), job: JobView.nullable() }),
  ),
  'experiments.duplicate': method(z.strictObject({ id }), ExperimentSummary),
  'experiments.rename': method(
    z.strictObject({ id, name: z.string().min(1).max(200) }),
    ExperimentSummary,
  ),
  'experiments.tag': method(
    z.strictObject({ id, tags: z.array(z.string().min(1).max(50)).max(50) }),
    ExperimentSummary,
  ),
  'experiments.annotate': method(
    z.strictObject({ id, notes: z.string().max(100_000) }),
    ExperimentSummary,
  ),
  'experiments.delete': method(z.strictObject({ id }), z.object({ deleted: z.literal(true) })),
  'experiments.lineage': method(
    z.strictObject({ id }),
    z.object({
      experimentId: z.string(),
      tickets: z.array(TicketView),
      /** edges to tickets in other experiments (other datasets) transferred from these */
      transfers: z.array(
        z.object({
          sourceTicketId: z.string(),
          ticketId: z.string(),
          experimentId: z.string(),
          dataset: z.string(),
          datasetName: z.string(),
          method: z.string(),
          testAccuracy: fraction.nullable(),
        }),
      ),
    }),
  ),
  /**
   * The genealogy of the experiment's θ0: every experiment whose dense network started from
   * the same stored weights on the same dataset (IMP with any rewind point, one-shot,
   * pruning at initialisation, structured, their controls) and the transfers of their
   * tickets to other datasets, as one tree under θ0.
   */
  'experiments.genealogy': method(GenealogyFilter.extend({ id }), Genealogy),
  'runs.metrics': method(
    z.strictObject({
      runId: id,
      split: z.enum(['train', 'val', 'test']),
      maxPoints: z.number().int().min(2).max(10_000).default(500),
    }),
    z.object({
      runId: z.string(),
      split: z.string(),
      /** at most maxPoints: above that, the mean of each bucket of steps */
      points: z.array(MetricPoint),
      /** over every point stored, however many `points` shows */
      count: z.number().int(),
      bestAccuracy: z.number().nullable(),
      lowestLoss: z.number().nullable(),
    }),
  ),
  compare: method(
    z.strictObject({ experimentIds: z.array(id).min(1).max(100) }),
    z.object({
      rows: z.array(
        z.object({
          experimentId: z.string(),
          specHash: z.string(),
          replicate: z.number().int(),
          ticketId: z.string(),
          level: z.number().int(),
          method: z.string(),
          remainingWeights: fraction,
          /** test accuracy at the early-stop iteration */
          testAccuracy: fraction.nullable(),
          /** at the last iteration, and the lowest and highest over every evaluation */
          finalTestAccuracy: fraction.nullable(),
          minTestAccuracy: fraction.nullable(),
          maxTestAccuracy: fraction.nullable(),
          earlyStopIteration: z.number().int().nullable(),
          /**
           * measured batch-64 inference speed-up over the dense model: a structured ticket's,
           * 1 for the dense network of a structured experiment, null for masked tickets
           */
          speedup: z.number().nullable(),
          /** the backend the speed-up was measured on; null where none was */
          speedupBackend: z.string().nullable(),
        }),
      ),
    }),
  ),
  'tickets.get': method(
    z.strictObject({ id }),
    z.object({
      ticket: TicketView,
      experiment: ExperimentSummary,
      parent: TicketView.nullable(),
      children: z.array(TicketView),
      /**
       * how the ticket was trained: its run's settings (spec.training's fields, with
       * `iterations`, `rewindIteration`, `batchSize` and `iterationsPerEpoch` as trained), or
       * null before its run starts
       */
      training: z.record(z.string(), z.unknown()).nullable(),
      /**
       * per prunable layer: output units (neurons/filters) and those removed: left with no
       * weights by a mask, or cut out by structured surgery
       */
      units: z.array(
        z.object({ layer: z.string(), total: z.number().int(), removed: z.number().int() }),
      ),
      /** structured tickets and slimming searches: what was measured and found */
      structure: z
        .object({
          /** the compacted model's layers, when the ticket is one */
          layers: z.array(
            z.object({ name: z.string(), kind: z.string(), units: z.number().int() }),
          ),
          /** PCA replacement: per hidden layer, its full rank and the rank kept */
          ranks: z.array(
            z.object({ layer: z.string(), total: z.number().int(), kept: z.number().int() }),
          ),
          earlyBird: z.array(EarlyBirdView),
          inference: InferenceView.nullable(),
        })
        .nullable(),
    }),
  ),
  /**
   * Instability analysis of a ticket (Frankle et al. 2020): per rewind point k, two copies
   * trained from θ_k with different data orders and the test error on the line between them.
   */
  'tickets.instability': method(
    z.strictObject({
      ticketId: id,
      /** rewind points as durations: "0it", "100it", "2ep"; one curve each */
      rewinds: z.array(rewindPoint).min(1).max(20),
      /** points on the line, both ends included (the paper: 30) */
      points: z.number().int().min(3).max(200).default(30),
      /** where a new analysis job runs: this host's workers by default, or a Slurm cluster */
      target: ComputeTarget.optional(),
    }),
    z.object({
      /** null when every rewind point asked for was already analysed */
      job: JobView.nullable(),
      analyses: z.array(InstabilityView),
    }),
  ),
  /** A ticket's stored instability analyses, oldest first. */
  'tickets.instabilityResults': method(z.strictObject({ ticketId: id }), z.array(InstabilityView)),
  /** The ticket's mask views, and its overlap with `againstId`'s mask (any experiment). */
  'tickets.masks': method(z.strictObject({ ticketId: id, againstId: id.optional() }), TicketMasks),
  /** Tickets whose masks can overlap this one's: the same model, input shape and classes. */
  'tickets.comparable': method(
    z.strictObject({ ticketId: id, search: z.string().max(200).default(''), ...page }),
    z.object({
      items: z.array(MaskTicket.omit({ model: true, inputShape: true })),
      total: z.number().int(),
    }),
  ),
  'tickets.export': method(
    z.strictObject({
      ticketId: id,
      format: z.enum(MODEL_FORMATS),
      /** a file for onnx and safetensors (plus <name>.architecture.json), a folder for tfjs */
      path: exportPath,
      /** trained weights, or the weights its training started from (θ0 or the rewind point) */
      weights: z.enum(['trained', 'initial']).default('trained'),
      /** replace existing files (otherwise an existing file is a FILE_EXISTS error) */
      force: z.boolean().default(false),
    }),
    z.object({ files: z.array(ExportView) }),
  ),
  'experiments.export': method(
    z.strictObject({
      id,
      format: z.enum(RESULT_FORMATS),
      /** a folder for csv (tickets.csv, runs.csv, metrics.csv), a file for json and lineage */
      path: exportPath,
      force: z.boolean().default(false),
    }),
    z.object({ files: z.array(ExportView) }),
  ),
  /**
   * One self-contained HTML file (inline CSS and SVG, no request of any kind) with the
   * experiments' specs, levels, lineage, accuracy chart, machine and versions.
   */
  'experiments.report': method(
    z.strictObject({ ids: z.array(id).min(1).max(100) }),
    z.object({ fileName: z.string(), html: z.string() }),
  ),
  'exports.list': method(z.strictObject({ experimentId: id }), z.array(ExportView)),
  'transfer.create': method(
    z.strictObject({
      ticketId: id,
      /** dataset ids to train the ticket on, one experiment each */
      targets: z.array(id).min(1).max(20),
      /** training length on the targets (e.g. "2000it"); the source experiment's by default */
      duration: z.string().max(30).optional(),
      newReplicate: z.boolean().default(false),
      start: z.boolean().default(true),
    }),
    z.object({
      experiments: z.array(ExperimentSummary),
      /** false for a target whose transfer experiment already existed */
      created: z.array(z.boolean()),
      /** the job queued per experiment; null when not started or already done */
      jobs: z.array(JobView.nullable()),
    }),
  ),
  'transfer.matrix': method(z.strictObject({}), TransferMatrix),
  'datasets.list': method(z.strictObject({}), z.array(DatasetView)),
  'datasets.import': method(
    z.strictObject({
      path: z.string().min(1),
      name: z.string().min(1).max(200).optional(),
      classes: z.number().int().min(2).max(1000).optional(),
    }),
    DatasetView,
  ),
  'datasets.inspect': method(
    z.strictObject({ id, count: z.number().int().min(1).max(100).default(16) }),
    z.object({
      dataset: DatasetView,
      /** examples per class, indexed like classNames */
      classCounts: z.object({ train: z.array(z.number().int()), test: z.array(z.number().int()) }),
      /** the first `count` test images, uint8 pixels in HWC order */
      samples: z.array(
        z.object({
          index: z.number().int(),
          label: z.number().int(),
          className: z.string(),
          pixels: z.array(z.number().int()),
        }),
      ),
    }),
  ),
  'sweeps.plan': method(
    z.strictObject({ spec: z.unknown() }),
    z.object({
      cost: SweepCost,
      experiments: z.array(
        z.object({
          point: z.record(z.string(), z.unknown()),
          name: z.string(),
          specHash: z.string(),
          /** the stored experiment with this spec, if any */
          existingId: z.string().nullable(),
        }),
      ),
    }),
  ),
  'sweeps.create': method(
    z.strictObject({
      spec: z.unknown(),
      /** queue every experiment not yet done, on the sweep's compute target */
      start: z.boolean().default(true),
    }),
    z.object({ sweep: SweepView, cost: SweepCost, jobs: z.array(JobView) }),
  ),
  'sweeps.list': method(z.strictObject({}), z.array(SweepView)),
  /** the data folder's settings: where sweeps without a target of their own run */
  'settings.get': method(z.strictObject({}), z.object({ computeTarget: ComputeTarget })),
  'settings.set': method(
    z.strictObject({ computeTarget: ComputeTarget }),
    z.object({ computeTarget: ComputeTarget }),
  ),
  'sweeps.get': method(z.strictObject({ id }), SweepView),
  'jobs.start': method(
    z.strictObject({
      experimentId: id,
      /** resume on its own after a crash of the worker or the app (default on) */
      autoResume: z.boolean().default(true),
    }),
    JobView,
  ),
  'jobs.pause': method(z.strictObject({ jobId: id }), JobView),
  'jobs.resume': method(z.strictObject({ jobId: id }), JobView),
  'jobs.cancel': method(z.strictObject({ jobId: id }), JobView),
  'jobs.list': method(z.strictObject({}), z.array(JobView)),
  'system.info': method(
    z.strictObject({}),
    z.object({
      backend: z.string().nullable(),
      device: z.string().nullable(),
      dataDir: z.string(),
      versions: z.record(z.string(), z.string()),
    }),
  ),
} as const;

export type Methods = typeof METHODS;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type MethodArgs<M extends MethodName> = z.output<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}

/** An error as it crosses a boundary: rebuilt on the other side, tested by `code`. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}
