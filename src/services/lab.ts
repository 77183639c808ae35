import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { z } from 'zod';
import { describeIssues } from '../api/spec.ts';
import {
  METHODS,
  isMethodName,
  type MethodArgs,
  type MethodName,
  type MethodOutput,
  JobView,
  DatasetView,
} from '../api/contract.ts';
import type { SequencedEvent } from '../api/events.ts';
import { ApiError, type Transport } from '../api/client.ts';
import { TicketLabError } from '../core/errors.ts';
import { SlurmTarget } from '../cluster/slurm-target.ts';
import { Scheduler } from '../jobs/scheduler.ts';
import type { WorkerFactory } from '../jobs/worker-host.ts';
import { Store, type DatasetRow, type JobRow } from '../store/store.ts';
import {
  ensureBuiltinDatasetAsync,
  getDatasetRow,
  importDataset,
  loadDatasetAsync,
} from './datasets.ts';
import { EventBus } from './events.ts';
import { exportResults, exportTicket } from './exports.ts';
import { genealogy } from './genealogy.ts';
import { buildReport } from './report.ts';
import { instabilityResults, startInstability } from './instability.ts';
import { comparableTickets, ticketMasks } from './masks.ts';
import { createTransfers, transferMatrix } from './transfer.ts';
import { removedUnits } from '../pruning/mask.ts';
import { getClusterJob, type ClusterJobRow } from '../store/cluster-jobs.ts';
import { setSetting, sweepMembers } from '../store/sweeps.ts';
import {
  createSweep,
  defaultTarget,
  listSweepViews,
  planSweep,
  requireSweep,
  sweepView,
  targetOfSweep,
} from './sweeps.ts';
import {
  createExperiment,
  experimentSummary,
  lineage,
  listExperiments,
  showExperiment,
} from './experiments.ts';

export interface LabOptions {
  dataDir: string;
  workerFactory?: WorkerFactory;
  concurrency?: number;
  /** long-lived hosts (server, desktop) run every queued job; the CLI only its own */
  runAll?: boolean;
  staleMs?: number;
  /** how often cluster jobs' states and reports are read (ms) */
  clusterPollMs?: number;
}

type Handlers = {
  [M in MethodName]: (args: MethodArgs<M>) => MethodOutput<M> | Promise<MethodOutput<M>>;
};

function jobView(
  store: Store,
  j: JobRow,
  cluster: ClusterJobRow | undefined,
): z.output<typeof JobView> {
  return {
    id: j.id,
    kind: j.kind,
    experimentId: j.experimentId,
    // jobs go with their experiment (cascade), so it is there
    experimentName: store.getExperiment(j.experimentId)?.name ?? j.experimentId,
    state: j.state,
    progress: j.progress,
    phase: j.phase,
    attempt: j.attempt,
    error: j.error,
    checkpointIteration: j.checkpointIteration,
    autoResume: j.autoResume,
    cluster: cluster
      ? {
          kind: 'slurm',
          jobId: cluster.clusterJobId,
          state: cluster.clusterState,
          reason: cluster.clusterReason,
        }
      : null,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
  };
}

function datasetView(d: DatasetRow): z.output<typeof DatasetView> {
  return {
    id: d.id,
    name: d.name,
    format: d.format,
    inputShape: d.inputShape,
    classNames: d.classNames,
    trainCount: d.trainCount,
    testCount: d.testCount,
    sourcePath: d.sourcePath,
    createdAt: d.createdAt,
  };
}

function version(pkg: string): string {
  try {
    return (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/**
 * The core as one object: the store, the event bus, the job scheduler and a handler for
 * every contract method. Each transport holds a Lab and calls `invoke`, which validates
 * the input at the boundary (a bad field never reaches the store).
 */
export class Lab {
  readonly events = new EventBus();
  readonly scheduler: Scheduler;
  /** the Slurm target: jobs queued for it are submitted, followed and ingested here */
  readonly cluster: SlurmTarget;
  private readonly handlers: Handlers;

  private constructor(
    readonly store: Store,
    options: LabOptions,
  ) {
    this.cluster = new SlurmTarget({
      store,
      emit: (e) => this.events.emit(e),
      pollMs: options.clusterPollMs,
    });
    this.scheduler = new Scheduler({
      store,
      emit: (e) => this.events.emit(e),
      workerFactory: options.workerFactory,
      concurrency: options.concurrency,
      runAll: options.runAll,
      staleMs: options.staleMs,
      remote: this.cluster,
    });
    this.handlers = this.makeHandlers();
  }

  /**
   * Opens the data folder. A long-lived host (runAll) takes over the jobs that hosts which
   * died left running; every other opener only looks, so listing jobs never changes them.
   */
  static open(options: LabOptions): Lab {
    const lab = new Lab(Store.open(options.dataDir), options);
    if (options.runAll) lab.scheduler.recover();
    return lab;
  }

  async invoke<M extends MethodName>(method: M, input: unknown): Promise<MethodOutput<M>> {
    if (!isMethodName(method))
      throw new TicketLabError('NOT_FOUND', `Unknown method "${String(method)}".`);
    const parsed = METHODS[method].input.safeParse(input ?? {});
    if (!parsed.success) {
      throw new TicketLabError(
        'INVALID_INPUT',
        `Invalid input for ${method}:\n${describeIssues(parsed.error.issues, 'input', METHODS[method].input)}`,
      );
    }
    const handler = this.handlers[method] as (
      args: unknown,
    ) => MethodOutput<M> | Promise<MethodOutput<M>>;
    return handler(parsed.data);
  }

  subscribe(listener: (e: SequencedEvent) => void, after?: number): () => void {
    return this.events.subscribe(listener, after);
  }

  /** The in-process transport (CLI, tests): errors are rebuilt as they would be across a wire. */
  transport(): Transport {
    return {
      invoke: async (method, input) => {
        try {
          return await this.invoke(method as MethodName, input);
        } catch (e) {
          const err = e as Error & { code?: string };
          throw new ApiError(err.code ?? 'INTERNAL', err.message);
        }
      },
      subscribe: (listener, after) => this.subscribe(listener, after),
    };
  }

  async close(options?: { pauseRunning?: boolean }): Promise<void> {
    await this.scheduler.close(options);
    this.store.close();
  }

  private makeHandlers(): Handlers {
    const store = this.store;
    const scheduler = this.scheduler;
    const view = (j: JobRow) => jobView(store, j, getClusterJob(store, j.id));
    const versions = () => ({
      ticketlab: version('../..'),
      node: process.versions.node,
      tfjs: version('@tensorflow/tfjs-core'),
      sqlite: (store.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
    });
    return {
      'experiments.list': ({ limit, offset, search, status, tag }) =>
        listExperiments(store, { search, status, tag }, limit, offset),
      'experiments.get': ({ id }) => showExperiment(store, id),
      'experiments.create': ({ spec, newReplicate, start }) => {
        const { experiment, created } = createExperiment(store, spec, { newReplicate });
        const job =
          start && experiment.status !== 'done' ? view(scheduler.enqueue(experiment.id)) : null;
        return { experiment: experimentSummary(store, experiment.id), created, job };
      },
      'experiments.duplicate': ({ id }) => {
        const e = showExperiment(store, id);
        const { experiment } = createExperiment(store, e.spec, { newReplicate: true });
        return experimentSummary(store, experiment.id);
      },
      'experiments.rename': ({ id, name }) => {
        experimentSummary(store, id);
        store.updateExperiment(id, { name });
        return experimentSummary(store, id);
      },
      'experiments.tag': ({ id, tags }) => {
        experimentSummary(store, id);
        store.updateExperiment(id, { tags: [...new Set(tags)] });
        return experimentSummary(store, id);
      },
      'experiments.annotate': ({ id, notes }) => {
        experimentSummary(store, id);
        store.updateExperiment(id, { notes });
        return experimentSummary(store, id);
      },
      'experiments.delete': ({ id }) => {
        experimentSummary(store, id);
        const active = store.activeJobOf(id);
        if (active && active.state === 'running') {
          throw new TicketLabError(
            'INVALID_INPUT',
            `Experiment ${id} has a running job (${active.id}); cancel it first.`,
          );
        }
        // A cluster job whose host died may still run there, writing to its folder.
        if (active?.state === 'interrupted' && this.cluster.runs(active.id))
          this.cluster.stopDetached(active.id);
        // its blobs that nothing else refers to and its cluster folders go with it
        store.deleteExperiment(id);
        return { deleted: true as const };
      },
      'experiments.lineage': ({ id }) => ({
        experimentId: id,
        tickets: lineage(store, id),
        transfers: store.ticketsTransferredFrom(id).map((t) => ({
          sourceTicketId: t.sourceTicketId!,
          ticketId: t.id,
          experimentId: t.experimentId,
          dataset: t.datasetId,
          datasetName: store.getDataset(t.datasetId)?.name ?? t.datasetId,
          method: t.method,
          testAccuracy: store.runOfTicket(t.id)?.testAccuracy ?? null,
        })),
      }),
      'experiments.genealogy': ({ id, ...filter }) => genealogy(store, id, filter),
      'runs.metrics': ({ runId, split, maxPoints }) => {
        if (!store.getRun(runId)) throw new TicketLabError('NOT_FOUND', `No run ${runId}.`);
        const { points, ...whole } = store.metricSeries(runId, split, maxPoints);
        return {
          runId,
          split,
          points: points.map(({ step, epoch, loss, accuracy }) => ({
            step,
            epoch,
            loss,
            accuracy,
          })),
          ...whole,
        };
      },
      compare: ({ experimentIds }) => ({
        rows: experimentIds.flatMap((id) => {
          const e = experimentSummary(store, id);
          const ranges = store.testAccuracyRanges(id);
          return lineage(store, id)
            .filter((t) => t.trained)
            .map((t) => ({
              experimentId: id,
              specHash: e.specHash,
              replicate: e.replicate,
              ticketId: t.id,
              level: t.level,
              method: t.method,
              remainingWeights: t.remainingWeights,
              testAccuracy: t.testAccuracy,
              finalTestAccuracy: t.finalTestAccuracy,
              minTestAccuracy: ranges.get(t.runId ?? '')?.min ?? null,
              maxTestAccuracy: ranges.get(t.runId ?? '')?.max ?? null,
              earlyStopIteration: t.earlyStopIteration,
              speedup:
                t.speedup?.batch64 ?? (e.method === 'structured' && t.level === 0 ? 1 : null),
              speedupBackend: t.speedup?.backend ?? null,
            }));
        }),
      }),
      'tickets.get': ({ id }) => {
        const row = store.getTicket(id);
        if (!row) throw new TicketLabError('NOT_FOUND', `No ticket ${id}.`);
        const tickets = lineage(store, row.experimentId);
        const ticket = tickets.find((t) => t.id === id)!;
        return {
          ticket,
          experiment: experimentSummary(store, row.experimentId),
          parent: tickets.find((t) => t.id === ticket.parentId) ?? null,
          children: tickets.filter((t) => t.parentId === id),
          training: store.runOfTicket(id)?.hyperparams ?? null,
          // a compacted model's units are the ones surgery kept; a masked one's, its mask's
          units: row.structure?.architecture
            ? (row.structure.units ?? []).map((u) => ({
                layer: `${u.layer}.kernel`,
                total: u.total,
                removed: u.total - u.kept,
              }))
            : row.maskBlob
              ? removedUnits(store.getTensors(row.maskBlob))
              : [],
          structure: row.structure
            ? {
                layers: (row.structure.architecture?.layers ?? []).flatMap(
                  (l): { name: string; kind: string; units: number }[] =>
                    l.kind === 'dense'
                      ? [{ name: l.name, kind: l.kind, units: l.units }]
                      : l.kind === 'conv2d'
                        ? [{ name: l.name, kind: l.kind, units: l.filters }]
                        : l.kind === 'select' // the input features it reads
                          ? [{ name: l.name, kind: l.kind, units: l.indices.length }]
                          : [],
                ),
                ranks: row.structure.ranks ?? [],
                earlyBird: (row.structure.earlyBird ?? []).map(({ mask: _mask, ...eb }) => eb),
                inference: row.inference,
              }
            : null,
        };
      },
      'tickets.masks': ({ ticketId, againstId }) => ticketMasks(store, ticketId, againstId),
      'tickets.comparable': ({ ticketId, search, limit, offset }) =>
        comparableTickets(store, ticketId, { search, limit, offset }),
      'tickets.export': (args) => ({
        files: exportTicket(store, { ...args, producer: `TicketLab ${version('../..')}` }),
      }),
      'experiments.export': ({ id, format, path, force }) => ({
        files: exportResults(store, { experimentId: id, format, path, force }),
      }),
      'experiments.report': ({ ids }) => {
        const v = versions();
        return buildReport(store, ids, {
          TicketLab: v.ticketlab,
          Node: v.node,
          'TensorFlow.js': v.tfjs,
          SQLite: v.sqlite,
        });
      },
      'exports.list': ({ experimentId }) => {
        experimentSummary(store, experimentId);
        return store.listExports(experimentId);
      },
      'transfer.create': ({ ticketId, targets, duration, newReplicate, start }) => {
        const made = createTransfers(store, { ticketId, targets, duration, newReplicate });
        return {
          experiments: made.map(({ experiment }) => experimentSummary(store, experiment.id)),
          created: made.map(({ created }) => created),
          jobs: made.map(({ experiment }) =>
            start && store.getExperiment(experiment.id)!.status !== 'done'
              ? view(scheduler.enqueue(experiment.id))
              : null,
          ),
        };
      },
      'tickets.instability': ({ ticketId, rewinds, points, target }) => {
        const { job, analyses } = startInstability(store, scheduler, {
          ticketId,
          rewinds,
          points,
          target,
        });
        return { job: job ? jobView(store, job, undefined) : null, analyses };
      },
      'tickets.instabilityResults': ({ ticketId }) => instabilityResults(store, ticketId),
      'transfer.matrix': () => transferMatrix(store),
      'datasets.list': async () => {
        await ensureBuiltinDatasetAsync(store);
        return store.listDatasets().map(datasetView);
      },
      'datasets.import': async ({ path, name, classes }) =>
        datasetView(await importDataset(store, path, { name, classes })),
      'datasets.inspect': async ({ id, count }) => {
        const row = getDatasetRow(store, id);
        const ds = await loadDatasetAsync(store, id);
        const size = ds.inputShape[0] * ds.inputShape[1] * ds.inputShape[2];
        const n = Math.min(count, ds.test.count);
        const samples = Array.from({ length: n }, (_, i) => ({
          index: i,
          label: ds.test.labels[i]!,
          className: ds.classNames[ds.test.labels[i]!] ?? String(ds.test.labels[i]),
          pixels: Array.from(ds.test.images.subarray(i * size, (i + 1) * size)),
        }));
        const counts = (labels: Uint8Array) => {
          const c = new Array<number>(ds.classNames.length).fill(0);
          for (const l of labels) c[l]!++;
          return c;
        };
        return {
          dataset: datasetView(row),
          classCounts: { train: counts(ds.train.labels), test: counts(ds.test.labels) },
          samples,
        };
      },
      'sweeps.plan': ({ spec }) => {
        const plan = planSweep(store, spec);
        return {
          cost: plan.cost,
          experiments: plan.experiments.map((e) => ({
            point: e.values,
            name: e.name,
            specHash: e.hash,
            existingId: e.existingId,
          })),
        };
      },
      'sweeps.create': ({ spec, start }) => {
        const plan = planSweep(store, spec);
        const row = createSweep(store, plan);
        const target = targetOfSweep(store, row);
        const jobs = start
          ? sweepMembers(store, row.id)
              .filter((m) => store.getExperiment(m.experimentId)!.status !== 'done')
              .map((m) => view(scheduler.enqueue(m.experimentId, { target })))
          : [];
        return { sweep: sweepView(store, row), cost: plan.cost, jobs };
      },
      'sweeps.list': () => listSweepViews(store),
      'settings.get': () => ({ computeTarget: defaultTarget(store) }),
      'settings.set': ({ computeTarget }) => {
        setSetting(store, 'computeTarget', computeTarget);
        return { computeTarget: defaultTarget(store) };
      },
      'sweeps.get': ({ id }) => sweepView(store, requireSweep(store, id)),
      'jobs.start': ({ experimentId, autoResume }) => {
        experimentSummary(store, experimentId);
        return view(scheduler.enqueue(experimentId, { autoResume }));
      },
      'jobs.pause': ({ jobId }) => view(scheduler.pause(jobId)),
      'jobs.resume': ({ jobId }) => view(scheduler.resume(jobId)),
      'jobs.cancel': ({ jobId }) => view(scheduler.cancel(jobId)),
      'jobs.list': () => scheduler.list().map(view),
      'system.info': () => ({
        backend: scheduler.backend?.name ?? null,
        device: scheduler.backend?.device ?? null,
        dataDir: store.dataDir,
        versions: { ...versions(), database: join(store.dataDir, 'ticketlab.db') },
      }),
    };
  }
}
