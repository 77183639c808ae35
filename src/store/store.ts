import Database from 'better-sqlite3';
import { TicketLabError } from '../core/errors.ts';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TensorBundle } from '../core/tensorfile.ts';
import type { JobKind } from '../core/vocabulary.ts';
import type { InferenceMeasurement, TicketStructure } from '../pruning/structured/record.ts';
import { BlobStore } from './blobs.ts';
import { migrate, readMigrations } from './migrate.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export type ExperimentStatus =
  'created' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface DatasetRow {
  id: string;
  name: string;
  format: string;
  inputShape: [number, number, number];
  classNames: string[];
  trainCount: number;
  testCount: number;
  contentHash: string;
  sourcePath: string | null;
  tensorsBlob: string;
  createdAt: string;
}

export interface ExperimentRow {
  id: string;
  name: string;
  specJson: string;
  specHash: string;
  replicate: number;
  method: string;
  datasetId: string;
  model: string;
  status: ExperimentStatus;
  error: string | null;
  notes: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

export type JobState =
  'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface JobRow {
  id: string;
  experimentId: string;
  kind: string;
  state: JobState;
  progress: number;
  phase: string | null;
  owner: string | null;
  /** the lock file (under locks/) its owner holds while it runs the job; see HostLock */
  ownerLock: string | null;
  heartbeatAt: string | null;
  attempt: number;
  autoResume: boolean;
  error: string | null;
  checkpointBlob: string | null;
  checkpointRun: string | null;
  checkpointIteration: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ExperimentFilter {
  id?: string;
  /** matched against name, model, dataset and notes */
  search?: string;
  status?: ExperimentStatus;
  tag?: string;
}

function experimentWhere(f: ExperimentFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.id) {
    clauses.push('e.id = ?');
    params.push(f.id);
  }
  if (f.search) {
    clauses.push(
      "(e.name LIKE ? ESCAPE '\\' OR e.model LIKE ? ESCAPE '\\' OR e.dataset_id LIKE ? ESCAPE '\\' OR e.notes LIKE ? ESCAPE '\\'" +
        " OR e.dataset_id IN (SELECT id FROM datasets WHERE name LIKE ? ESCAPE '\\'))",
    );
    const like = `%${f.search.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    params.push(like, like, like, like, like);
  }
  if (f.status) {
    clauses.push('e.status = ?');
    params.push(f.status);
  }
  if (f.tag) {
    clauses.push('EXISTS (SELECT 1 FROM json_each(e.tags) WHERE json_each.value = ?)');
    params.push(f.tag);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export interface ExperimentListRow extends ExperimentRow {
  /** its dataset's name (the id where the dataset is gone) */
  datasetName: string;
  /** trained tickets of the experiment's own method (controls not counted) */
  levels: number;
  minRemainingFraction: number | null;
  accuracyAtMinRemaining: number | null;
}

export interface LayerRemaining {
  layer: string;
  total: number;
  kept: number;
}

export interface TicketRow {
  id: string;
  experimentId: string;
  parentId: string | null;
  method: string;
  level: number;
  datasetId: string;
  architecture: string;
  remainingFraction: number;
  remainingParams: number;
  totalParams: number;
  flops: number;
  layerRemaining: LayerRemaining[];
  maskBlob: string | null;
  initBlob: string | null;
  rewindBlob: string | null;
  trainedBlob: string | null;
  /** for transferred tickets: the ticket (in another experiment) it came from */
  sourceTicketId: string | null;
  /** for structured tickets: the compacted architecture, units kept, Early-Bird records */
  structure: TicketStructure | null;
  /** for structured tickets: measured inference of the compacted model against the dense one */
  inference: InferenceMeasurement | null;
  createdAt: string;
}

export interface RunRow {
  id: string;
  ticketId: string;
  seed: number;
  startIteration: number;
  hyperparams: Record<string, unknown>;
  backend: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  iterations: number;
  earlyStopIteration: number | null;
  bestValLoss: number | null;
  valAccuracy: number | null;
  testAccuracy: number | null;
  finalTestAccuracy: number | null;
  wallTimeMs: number | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** the run (of another experiment's ticket) this one is a copy of: src/jobs/dense-reuse.ts */
  reusedFrom: string | null;
  /** the native kernels' threads while it trained, span by span; null: not recorded */
  kernelThreads: ThreadSpan[] | null;
}

/** From step `fromIteration` on (to the next span's start), the native kernels took `threads`. */
export interface ThreadSpan {
  fromIteration: number;
  threads: number;
}

export interface MetricRow {
  runId: string;
  split: 'train' | 'val' | 'test';
  step: number;
  epoch: number;
  loss: number;
  accuracy: number | null;
}

export interface ExportRow {
  id: string;
  experimentId: string;
  /** null for exports of a whole experiment's results */
  ticketId: string | null;
  format: string;
  path: string;
  bytes: number;
  /** sha256 of the written file */
  checksum: string;
  createdAt: string;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

const now = () => new Date().toISOString();

type Row = Record<string, unknown>;

function toDataset(r: Row): DatasetRow {
  return {
    id: r.id as string,
    name: r.name as string,
    format: r.format as string,
    inputShape: JSON.parse(r.input_shape as string),
    classNames: JSON.parse(r.class_names as string),
    trainCount: r.train_count as number,
    testCount: r.test_count as number,
    contentHash: r.content_hash as string,
    sourcePath: r.source_path as string | null,
    tensorsBlob: r.tensors_blob as string,
    createdAt: r.created_at as string,
  };
}

function toExperiment(r: Row): ExperimentRow {
  return {
    id: r.id as string,
    name: r.name as string,
    specJson: r.spec_json as string,
    specHash: r.spec_hash as string,
    replicate: r.replicate as number,
    method: r.method as string,
    datasetId: r.dataset_id as string,
    model: r.model as string,
    status: r.status as ExperimentStatus,
    error: r.error as string | null,
    notes: r.notes as string,
    tags: JSON.parse(r.tags as string),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toTicket(r: Row): TicketRow {
  return {
    id: r.id as string,
    experimentId: r.experiment_id as string,
    parentId: r.parent_id as string | null,
    method: r.method as string,
    level: r.level as number,
    datasetId: r.dataset_id as string,
    architecture: r.architecture as string,
    remainingFraction: r.remaining_fraction as number,
    remainingParams: r.remaining_params as number,
    totalParams: r.total_params as number,
    flops: r.flops as number,
    layerRemaining: JSON.parse(r.layer_remaining as string),
    maskBlob: r.mask_blob as string | null,
    initBlob: r.init_blob as string | null,
    rewindBlob: r.rewind_blob as string | null,
    trainedBlob: r.trained_blob as string | null,
    sourceTicketId: r.source_ticket_id as string | null,
    structure: r.structure ? JSON.parse(r.structure as string) : null,
    inference: r.inference ? JSON.parse(r.inference as string) : null,
    createdAt: r.created_at as string,
  };
}

function toJob(r: Row): JobRow {
  return {
    id: r.id as string,
    experimentId: r.experiment_id as string,
    kind: r.kind as string,
    state: r.state as JobState,
    progress: r.progress as number,
    phase: r.phase as string | null,
    owner: r.owner as string | null,
    ownerLock: (r.owner_lock as string | null | undefined) ?? null,
    heartbeatAt: r.heartbeat_at as string | null,
    attempt: r.attempt as number,
    autoResume: r.auto_resume === 1,
    error: r.error as string | null,
    checkpointBlob: r.checkpoint_blob as string | null,
    checkpointRun: r.checkpoint_run as string | null,
    checkpointIteration: r.checkpoint_iteration as number | null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toRun(r: Row): RunRow {
  return {
    id: r.id as string,
    ticketId: r.ticket_id as string,
    seed: r.seed as number,
    startIteration: r.start_iteration as number,
    hyperparams: JSON.parse(r.hyperparams as string),
    backend: r.backend as string,
    status: r.status as RunRow['status'],
    iterations: r.iterations as number,
    earlyStopIteration: r.early_stop_iteration as number | null,
    bestValLoss: r.best_val_loss as number | null,
    valAccuracy: r.val_accuracy as number | null,
    testAccuracy: r.test_accuracy as number | null,
    finalTestAccuracy: r.final_test_accuracy as number | null,
    wallTimeMs: r.wall_time_ms as number | null,
    error: r.error as string | null,
    startedAt: r.started_at as string,
    finishedAt: r.finished_at as string | null,
    reusedFrom: r.reused_from as string | null,
    kernelThreads: r.kernel_threads
      ? (JSON.parse(r.kernel_threads as string) as ThreadSpan[])
      : null,
  };
}

/**
 * The experiment store: one SQLite database (WAL, foreign keys) and the blob folder
 * beside it. Every query is a named method; no SQL leaves this file.
 */
/**
 * Opening the database (WAL needs its -wal and -shm files beside it) fails on a read-only
 * folder or file system, or without permission: say so, not SQLite's "unable to open
 * database file".
 */
function unwritableDataFolder(dataDir: string, e: unknown, making = false): unknown {
  const code = (e as { code?: string }).code ?? '';
  if (!making && !/^(SQLITE_CANTOPEN|SQLITE_READONLY|EROFS|EACCES|EPERM)/.test(code)) return e;
  return new TicketLabError(
    'DATA_FOLDER_UNWRITABLE',
    `${dataDir}: TicketLab cannot write its data folder (${code}: ${(e as Error).message}); it keeps its database there. Make the folder writable, or choose another with --data-dir or $TICKETLAB_HOME. Nothing was changed.`,
  );
}

export class Store {
  private constructor(
    readonly db: Database.Database,
    readonly blobs: BlobStore,
    readonly dataDir: string,
  ) {}

  static open(dataDir: string, migrationsDir = MIGRATIONS_DIR): Store {
    const migrations = readMigrations(migrationsDir);
    let db: Database.Database | undefined;
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (e) {
      // (a recursive mkdir on a read-only file system can report ENOENT)
      throw unwritableDataFolder(dataDir, e, true);
    }
    try {
      db = new Database(join(dataDir, 'ticketlab.db'));
      db.pragma('journal_mode = WAL');
    } catch (e) {
      db?.close();
      throw unwritableDataFolder(dataDir, e);
    }
    try {
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db, migrations);
    } catch (e) {
      db.close();
      throw e;
    }
    return new Store(db, new BlobStore(join(dataDir, 'blobs')), dataDir);
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ── blobs ────────────────────────────────────────────────────────────────
  /** Writes the bundle to the blob folder and records it. */
  putTensors(bundle: TensorBundle): string {
    const sha = this.blobs.putTensors(bundle);
    this.recordBlob(sha, 'tensors');
    return sha;
  }

  /** `putTensors` that keeps the event loop free while a large bundle is hashed and written. */
  async putTensorsAsync(bundle: TensorBundle): Promise<string> {
    const sha = await this.blobs.putTensorsAsync(bundle);
    this.recordBlob(sha, 'tensors');
    return sha;
  }

  recordBlob(sha256: string, kind: 'tensors' | 'raw'): void {
    const size = this.blobs.byteSize(sha256);
    this.db
      .prepare(
        'INSERT OR IGNORE INTO blobs (sha256, kind, byte_size, created_at) VALUES (?, ?, ?, ?)',
      )
      .run(sha256, kind, size, now());
  }

  getTensors(sha256: string): TensorBundle {
    return this.blobs.getTensors(sha256);
  }

  getTensorsAsync(sha256: string): Promise<TensorBundle> {
    return this.blobs.getTensorsAsync(sha256);
  }

  // ── datasets ─────────────────────────────────────────────────────────────
  insertDataset(d: Omit<DatasetRow, 'createdAt'>): DatasetRow {
    const createdAt = now();
    this.db
      .prepare(
        `INSERT INTO datasets (id, name, format, input_shape, class_count, class_names, train_count,
          test_count, content_hash, source_path, tensors_blob, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        d.id,
        d.name,
        d.format,
        JSON.stringify(d.inputShape),
        d.classNames.length,
        JSON.stringify(d.classNames),
        d.trainCount,
        d.testCount,
        d.contentHash,
        d.sourcePath,
        d.tensorsBlob,
        createdAt,
      );
    return { ...d, createdAt };
  }

  getDataset(id: string): DatasetRow | undefined {
    const r = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as Row | undefined;
    return r && toDataset(r);
  }

  findDatasetByHash(contentHash: string): DatasetRow | undefined {
    const r = this.db.prepare('SELECT * FROM datasets WHERE content_hash = ?').get(contentHash) as
      Row | undefined;
    return r && toDataset(r);
  }

  listDatasets(): DatasetRow[] {
    return (this.db.prepare('SELECT * FROM datasets ORDER BY created_at').all() as Row[]).map(
      toDataset,
    );
  }

  // ── experiments ──────────────────────────────────────────────────────────
  insertExperiment(
    e: Pick<
      ExperimentRow,
      'name' | 'specJson' | 'specHash' | 'replicate' | 'method' | 'datasetId' | 'model'
    >,
  ): ExperimentRow {
    const id = newId('exp');
    const t = now();
    this.db
      .prepare(
        `INSERT INTO experiments (id, name, spec_json, spec_hash, replicate, method, dataset_id, model, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)`,
      )
      .run(id, e.name, e.specJson, e.specHash, e.replicate, e.method, e.datasetId, e.model, t, t);
    return this.getExperiment(id)!;
  }

  getExperiment(id: string): ExperimentRow | undefined {
    const r = this.db.prepare('SELECT * FROM experiments WHERE id = ?').get(id) as Row | undefined;
    return r && toExperiment(r);
  }

  /** The experiments with this spec hash, replicate 0 first. */
  findExperimentsByHash(specHash: string): ExperimentRow[] {
    return (
      this.db
        .prepare('SELECT * FROM experiments WHERE spec_hash = ? ORDER BY replicate')
        .all(specHash) as Row[]
    ).map(toExperiment);
  }

  /** A page of experiments, newest first, with the IMP lineage's level count and sparsest level. */
  listExperiments(filter: ExperimentFilter = {}, limit = 100, offset = 0): ExperimentListRow[] {
    const { where, params } = experimentWhere(filter);
    const rows = this.db
      .prepare(
        // With one min() aggregate, SQLite takes the bare r.test_accuracy from the row
        // holding that minimum: the accuracy at the lowest remaining weights.
        // The page is cut first, then only its experiments are joined with their tickets:
        // joining every experiment's tickets made each page of a large folder cost the whole.
        `SELECT e.*, count(t.id) AS levels, min(t.remaining_fraction) AS min_remaining,
           r.test_accuracy AS accuracy_at_min,
           (SELECT d.name FROM datasets d WHERE d.id = e.dataset_id) AS dataset_name
         FROM (SELECT * FROM experiments e ${where}
               ORDER BY e.created_at DESC, e.id LIMIT ? OFFSET ?) e
         LEFT JOIN tickets t ON t.experiment_id = e.id
           AND t.method NOT IN ('random-reinit', 'random-prune') AND t.trained_blob IS NOT NULL
         LEFT JOIN runs r ON r.ticket_id = t.id
         GROUP BY e.id ORDER BY e.created_at DESC, e.id`,
      )
      .all(...params, limit, offset) as Row[];
    return rows.map((r) => ({
      ...toExperiment(r),
      datasetName: (r.dataset_name as string | null) ?? (r.dataset_id as string),
      levels: r.levels as number,
      minRemainingFraction: r.min_remaining as number | null,
      accuracyAtMinRemaining: r.accuracy_at_min as number | null,
    }));
  }

  countExperiments(filter: ExperimentFilter = {}): number {
    const { where, params } = experimentWhere(filter);
    return (
      this.db.prepare(`SELECT count(*) AS n FROM experiments e ${where}`).get(...params) as {
        n: number;
      }
    ).n;
  }

  updateExperiment(
    id: string,
    fields: Partial<Pick<ExperimentRow, 'name' | 'notes' | 'tags'>>,
  ): void {
    if (fields.name !== undefined)
      this.db
        .prepare('UPDATE experiments SET name = ?, updated_at = ? WHERE id = ?')
        .run(fields.name, now(), id);
    if (fields.notes !== undefined)
      this.db
        .prepare('UPDATE experiments SET notes = ?, updated_at = ? WHERE id = ?')
        .run(fields.notes, now(), id);
    if (fields.tags !== undefined)
      this.db
        .prepare('UPDATE experiments SET tags = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify(fields.tags), now(), id);
  }

  /**
   * Deletes the experiment with its tickets, runs, metrics and jobs (cascade), then the
   * blobs they referred to that no other row refers to (blobs are shared by content: another
   * experiment's identical mask keeps its file), and its cluster jobs' folders. Returns how
   * many blobs were removed.
   */
  deleteExperiment(id: string): number {
    const blobs = this.db
      .prepare(
        `SELECT mask_blob AS sha FROM tickets WHERE experiment_id = @id
         UNION SELECT init_blob FROM tickets WHERE experiment_id = @id
         UNION SELECT rewind_blob FROM tickets WHERE experiment_id = @id
         UNION SELECT trained_blob FROM tickets WHERE experiment_id = @id
         UNION SELECT checkpoint_blob FROM jobs WHERE experiment_id = @id
         UNION SELECT i.copy_a_blob FROM instability i JOIN tickets t ON t.id = i.ticket_id WHERE t.experiment_id = @id
         UNION SELECT i.copy_b_blob FROM instability i JOIN tickets t ON t.id = i.ticket_id WHERE t.experiment_id = @id`,
      )
      .all({ id }) as { sha: string | null }[];
    const clusterFolders = this.db
      .prepare(
        'SELECT c.folder FROM cluster_jobs c JOIN jobs j ON j.id = c.job_id WHERE j.experiment_id = ?',
      )
      .all(id) as { folder: string }[];
    this.db.prepare('DELETE FROM experiments WHERE id = ?').run(id);
    // Its cluster jobs' folders (start.json, the report log, Slurm's output), and only
    // those: a folder that is not one of `cluster/`'s own is left alone.
    const cluster = resolve(this.dataDir, 'cluster') + sep;
    for (const { folder } of clusterFolders) {
      const path = resolve(this.dataDir, folder);
      if (path.startsWith(cluster)) rmSync(path, { recursive: true, force: true });
    }
    return blobs.filter((b) => b.sha !== null && this.deleteBlobIfUnused(b.sha)).length;
  }

  setExperimentStatus(id: string, status: ExperimentStatus, error: string | null = null): void {
    this.db
      .prepare('UPDATE experiments SET status = ?, error = ?, updated_at = ? WHERE id = ?')
      .run(status, error, now(), id);
  }

  // ── tickets, runs, metrics ───────────────────────────────────────────────
  insertTicket(
    t: Omit<TicketRow, 'id' | 'createdAt' | 'structure' | 'inference'> & {
      structure?: TicketStructure | null;
    },
  ): TicketRow {
    const id = newId('tkt');
    this.db
      .prepare(
        `INSERT INTO tickets (id, experiment_id, parent_id, method, level, dataset_id, architecture,
          remaining_fraction, remaining_params, total_params, flops, layer_remaining, mask_blob,
          init_blob, rewind_blob, trained_blob, source_ticket_id, structure, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        t.experimentId,
        t.parentId,
        t.method,
        t.level,
        t.datasetId,
        t.architecture,
        t.remainingFraction,
        t.remainingParams,
        t.totalParams,
        t.flops,
        JSON.stringify(t.layerRemaining),
        t.maskBlob,
        t.initBlob,
        t.rewindBlob,
        t.trainedBlob,
        t.sourceTicketId,
        t.structure ? JSON.stringify(t.structure) : null,
        now(),
      );
    return this.getTicket(id)!;
  }

  getTicket(id: string): TicketRow | undefined {
    const r = this.db.prepare('SELECT * FROM tickets WHERE id = ?').get(id) as Row | undefined;
    return r && toTicket(r);
  }

  listTickets(experimentId: string): TicketRow[] {
    return (
      this.db
        .prepare('SELECT * FROM tickets WHERE experiment_id = ? ORDER BY level, created_at')
        .all(experimentId) as Row[]
    ).map(toTicket);
  }

  /** Tickets in other experiments transferred from this experiment's tickets. */
  ticketsTransferredFrom(experimentId: string): TicketRow[] {
    return (
      this.db
        .prepare(
          `SELECT t.* FROM tickets t JOIN tickets s ON s.id = t.source_ticket_id
           WHERE s.experiment_id = ? ORDER BY t.created_at`,
        )
        .all(experimentId) as Row[]
    ).map(toTicket);
  }

  /**
   * Experiments whose dense network (level 0) started from the weights stored as `initBlob`
   * on `datasetId`, oldest first. Blobs are content-addressed, so equal hashes are the same θ0.
   */
  experimentsFromInit(initBlob: string, datasetId: string): string[] {
    return (
      this.db
        .prepare(
          `SELECT t.experiment_id AS id FROM tickets t JOIN experiments e ON e.id = t.experiment_id
           WHERE t.level = 0 AND t.method = 'dense' AND t.init_blob = ? AND t.dataset_id = ?
           ORDER BY e.created_at, e.id`,
        )
        .all(initBlob, datasetId) as { id: string }[]
    ).map((r) => r.id);
  }

  /** Every transferred ticket, for the transfer matrix. */
  transferredTickets(): TicketRow[] {
    return (
      this.db
        .prepare('SELECT * FROM tickets WHERE source_ticket_id IS NOT NULL ORDER BY created_at')
        .all() as Row[]
    ).map(toTicket);
  }

  /** Trained tickets of a model on a dataset with the given method (any experiment). */
  trainedTicketsOn(datasetId: string, model: string, method: string): TicketRow[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM tickets WHERE dataset_id = ? AND architecture = ? AND method = ?
           AND trained_blob IS NOT NULL`,
        )
        .all(datasetId, model, method) as Row[]
    ).map(toTicket);
  }

  findTicket(experimentId: string, level: number, method: string): TicketRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM tickets WHERE experiment_id = ? AND level = ? AND method = ?')
      .get(experimentId, level, method) as Row | undefined;
    return r && toTicket(r);
  }

  /** Records a ticket's trained weights, and what was learned or measured with them. */
  setTicketTrained(
    id: string,
    trained: {
      trainedBlob: string;
      rewindBlob: string | null;
      structure?: TicketStructure;
      inference?: InferenceMeasurement;
    },
  ): void {
    this.db
      .prepare(
        `UPDATE tickets SET trained_blob = ?, rewind_blob = ?,
           structure = COALESCE(?, structure), inference = COALESCE(?, inference) WHERE id = ?`,
      )
      .run(
        trained.trainedBlob,
        trained.rewindBlob,
        trained.structure ? JSON.stringify(trained.structure) : null,
        trained.inference ? JSON.stringify(trained.inference) : null,
        id,
      );
  }

  /** Starts a run of a ticket; its results come with finishRun. */
  startRun(
    r: Pick<RunRow, 'ticketId' | 'seed' | 'startIteration' | 'hyperparams' | 'backend'>,
  ): RunRow {
    const id = newId('run');
    this.db
      .prepare(
        `INSERT INTO runs (id, ticket_id, seed, start_iteration, hyperparams, backend, status, started_at)
         VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(
        id,
        r.ticketId,
        r.seed,
        r.startIteration,
        JSON.stringify(r.hyperparams),
        r.backend,
        now(),
      );
    return this.getRun(id)!;
  }

  /**
   * The trained dense networks (level 0, run done) of `model` on `datasetId` in experiments
   * other than `exceptExperimentId`, oldest first: what src/jobs/dense-reuse.ts may reuse.
   */
  trainedDenseTickets(datasetId: string, model: string, exceptExperimentId: string): TicketRow[] {
    return (
      this.db
        .prepare(
          `SELECT t.* FROM tickets t JOIN runs r ON r.ticket_id = t.id
           WHERE t.level = 0 AND t.method = 'dense' AND t.dataset_id = ? AND t.architecture = ?
             AND t.trained_blob IS NOT NULL AND r.status = 'done' AND t.experiment_id != ?
           ORDER BY t.created_at`,
        )
        .all(datasetId, model, exceptExperimentId) as Row[]
    ).map(toTicket);
  }

  /**
   * Copies another experiment's trained ticket into `experimentId`: the ticket (its blobs
   * shared, no parent), its finished run marked as reused from the run that trained it (the
   * original's, where that ticket is a copy too), and every metric of that run. One
   * transaction: the copy is whole or absent.
   */
  copyTrainedTicket(experimentId: string, ticketId: string): TicketRow {
    return this.transaction(() => {
      // a dense network has no inference measurement (structured tickets do)
      const original: Partial<TicketRow> = { ...this.getTicket(ticketId)! };
      delete original.id;
      delete original.createdAt;
      delete original.inference;
      const run = this.runOfTicket(ticketId)!;
      const copy = this.insertTicket({
        ...(original as Omit<TicketRow, 'id' | 'createdAt' | 'inference'>),
        experimentId,
        parentId: null,
      });
      const runId = newId('run');
      this.db
        .prepare(
          `INSERT INTO runs (id, ticket_id, seed, start_iteration, hyperparams, backend, status,
             iterations, early_stop_iteration, best_val_loss, val_accuracy, test_accuracy,
             final_test_accuracy, wall_time_ms, error, started_at, finished_at, reused_from,
             kernel_threads)
           SELECT ?, ?, seed, start_iteration, hyperparams, backend, status, iterations,
             early_stop_iteration, best_val_loss, val_accuracy, test_accuracy, final_test_accuracy,
             wall_time_ms, error, started_at, finished_at, COALESCE(reused_from, id), kernel_threads
           FROM runs WHERE id = ?`,
        )
        .run(runId, copy.id, run.id);
      this.db
        .prepare(
          `INSERT INTO metrics (run_id, split, step, epoch, loss, accuracy)
           SELECT ?, split, step, epoch, loss, accuracy FROM metrics WHERE run_id = ?`,
        )
        .run(runId, run.id);
      return copy;
    });
  }

  runOfTicket(ticketId: string): RunRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM runs WHERE ticket_id = ? ORDER BY started_at DESC LIMIT 1')
      .get(ticketId) as Row | undefined;
    return r && toRun(r);
  }

  getRun(id: string): RunRow | undefined {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
    return r && toRun(r);
  }

  /**
   * Notes that a run's steps from `fromIteration` on took `threads` kernel threads. A span
   * that starts at or after it is dropped first: those steps were taken again after a resume
   * from an earlier checkpoint, and this span is how they were taken.
   */
  noteKernelThreads(runId: string, fromIteration: number, threads: number): void {
    this.transaction(() => {
      const spans = (this.getRun(runId)?.kernelThreads ?? []).filter(
        (s) => s.fromIteration < fromIteration,
      );
      if (spans.at(-1)?.threads !== threads) spans.push({ fromIteration, threads });
      this.db
        .prepare('UPDATE runs SET kernel_threads = ? WHERE id = ?')
        .run(JSON.stringify(spans), runId);
    });
  }

  finishRun(
    id: string,
    r: Pick<
      RunRow,
      | 'status'
      | 'iterations'
      | 'earlyStopIteration'
      | 'bestValLoss'
      | 'valAccuracy'
      | 'testAccuracy'
      | 'finalTestAccuracy'
      | 'wallTimeMs'
      | 'error'
    >,
  ): void {
    this.db
      .prepare(
        `UPDATE runs SET status = ?, iterations = ?, early_stop_iteration = ?, best_val_loss = ?,
          val_accuracy = ?, test_accuracy = ?, final_test_accuracy = ?, wall_time_ms = ?, error = ?,
          finished_at = ? WHERE id = ?`,
      )
      .run(
        r.status,
        r.iterations,
        r.earlyStopIteration,
        r.bestValLoss,
        r.valAccuracy,
        r.testAccuracy,
        r.finalTestAccuracy,
        r.wallTimeMs,
        r.error,
        now(),
        id,
      );
  }

  /**
   * A metric series downsampled in SQL to at most `maxPoints` buckets of equal step width
   * (mean loss and accuracy per bucket, its last step), so plots never load a whole history;
   * with the whole history's count, highest accuracy and lowest loss, which bucket means hide.
   */
  metricSeries(
    runId: string,
    split: MetricRow['split'],
    maxPoints: number,
  ): {
    points: MetricRow[];
    count: number;
    bestAccuracy: number | null;
    lowestLoss: number | null;
  } {
    const span = this.db
      .prepare(
        `SELECT min(step) AS lo, max(step) AS hi, count(*) AS n, max(accuracy) AS best, min(loss) AS lowest
         FROM metrics WHERE run_id = ? AND split = ?`,
      )
      .get(runId, split) as {
      lo: number | null;
      hi: number | null;
      n: number;
      best: number | null;
      lowest: number | null;
    };
    const whole = { count: span.n, bestAccuracy: span.best, lowestLoss: span.lowest };
    if (span.n === 0) return { points: [], ...whole };
    const width = span.n <= maxPoints ? 1 : Math.ceil((span.hi! - span.lo! + 1) / maxPoints);
    const rows = this.db
      .prepare(
        `SELECT max(step) AS step, max(epoch) AS epoch, avg(loss) AS loss, avg(accuracy) AS accuracy
         FROM metrics WHERE run_id = ? AND split = ? GROUP BY CAST((step - ?) / ? AS INTEGER) ORDER BY step`,
      )
      .all(runId, split, span.lo, width) as Row[];
    const points = rows.map((r) => ({
      runId,
      split,
      step: r.step as number,
      epoch: r.epoch as number,
      loss: r.loss as number,
      accuracy: r.accuracy as number | null,
    }));
    return { points, ...whole };
  }

  /** Lowest and highest test accuracy over every evaluation of each run of an experiment. */
  testAccuracyRanges(experimentId: string): Map<string, { min: number; max: number }> {
    const rows = this.db
      .prepare(
        `SELECT m.run_id AS run, min(m.accuracy) AS lo, max(m.accuracy) AS hi FROM metrics m
         JOIN runs r ON r.id = m.run_id JOIN tickets t ON t.id = r.ticket_id
         WHERE t.experiment_id = ? AND m.split = 'test' AND m.accuracy IS NOT NULL GROUP BY m.run_id`,
      )
      .all(experimentId) as { run: string; lo: number; hi: number }[];
    return new Map(rows.map((r) => [r.run, { min: r.lo, max: r.hi }]));
  }

  listRunsOfExperiment(experimentId: string): RunRow[] {
    return (
      this.db
        .prepare(
          `SELECT runs.* FROM runs JOIN tickets ON tickets.id = runs.ticket_id
           WHERE tickets.experiment_id = ? ORDER BY tickets.level, runs.started_at`,
        )
        .all(experimentId) as Row[]
    ).map(toRun);
  }

  insertMetrics(rows: MetricRow[]): void {
    const stmt = this.db.prepare(
      // Idempotent: a run resumed from a checkpoint reports the evaluations after it again.
      'INSERT OR REPLACE INTO metrics (run_id, split, step, epoch, loss, accuracy) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.transaction(() => {
      for (const m of rows) stmt.run(m.runId, m.split, m.step, m.epoch, m.loss, m.accuracy);
    });
  }

  /** Every recorded metric of a run, in step order (exports; plots use metricSeries). */
  allMetrics(runId: string): MetricRow[] {
    return (
      this.db
        .prepare('SELECT * FROM metrics WHERE run_id = ? ORDER BY split, step')
        .all(runId) as Row[]
    ).map((r) => ({
      runId,
      split: r.split as MetricRow['split'],
      step: r.step as number,
      epoch: r.epoch as number,
      loss: r.loss as number,
      accuracy: r.accuracy as number | null,
    }));
  }

  // ── exports ──────────────────────────────────────────────────────────────
  insertExport(e: Omit<ExportRow, 'id' | 'createdAt'>): ExportRow {
    const row = { ...e, id: newId('xpt'), createdAt: now() };
    this.db
      .prepare(
        `INSERT INTO exports (id, experiment_id, ticket_id, format, path, bytes, checksum, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.id,
        row.experimentId,
        row.ticketId,
        row.format,
        row.path,
        row.bytes,
        row.checksum,
        row.createdAt,
      );
    return row;
  }

  listExports(experimentId: string): ExportRow[] {
    return (
      this.db
        .prepare('SELECT * FROM exports WHERE experiment_id = ? ORDER BY created_at, path')
        .all(experimentId) as Row[]
    ).map((r) => ({
      id: r.id as string,
      experimentId: r.experiment_id as string,
      ticketId: r.ticket_id as string | null,
      format: r.format as string,
      path: r.path as string,
      bytes: r.bytes as number,
      checksum: r.checksum as string,
      createdAt: r.created_at as string,
    }));
  }

  // ── jobs ─────────────────────────────────────────────────────────────────
  insertJob(experimentId: string, kind: string, autoResume = true): JobRow {
    const id = newId('job');
    const t = now();
    this.db
      .prepare(
        `INSERT INTO jobs (id, experiment_id, kind, state, auto_resume, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)`,
      )
      .run(id, experimentId, kind, autoResume ? 1 : 0, t, t);
    return this.getJob(id)!;
  }

  /**
   * Takes a queued job for this host, recording the lock it holds (HostLock); false if
   * another host took it first.
   */
  claimJob(id: string, owner: string, ownerLock: string, attempt: number): boolean {
    const t = now();
    return (
      this.db
        .prepare(
          `UPDATE jobs SET state = 'running', owner = ?, owner_lock = ?, heartbeat_at = ?, attempt = ?,
             error = NULL, updated_at = ?
           WHERE id = ? AND state = 'queued'`,
        )
        .run(owner, ownerLock, t, attempt, t, id).changes === 1
    );
  }

  /**
   * Moves a job to `to` only if it is still in one of the `from` states (and, for a running
   * job, still has the owner lock that was checked), so that two processes taking over the
   * same job cannot both succeed. False if the job changed in between.
   */
  transitionJob(
    id: string,
    from: { states: JobState[]; ownerLock?: string | null },
    to: JobState,
    error: string | null = null,
  ): boolean {
    const lockClause = from.ownerLock === undefined ? '' : ' AND owner_lock IS ?';
    return (
      this.db
        .prepare(
          `UPDATE jobs SET state = ?, error = ?, updated_at = ?
           WHERE id = ? AND state IN (${from.states.map(() => '?').join(',')})${lockClause}`,
        )
        .run(
          to,
          error,
          now(),
          id,
          ...from.states,
          ...(from.ownerLock === undefined ? [] : [from.ownerLock]),
        ).changes === 1
    );
  }

  getJob(id: string): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return r && toJob(r);
  }

  /** Jobs in queue order (oldest first), optionally only in the given states. */
  listJobs(states?: JobState[]): JobRow[] {
    const rows = (
      states
        ? this.db
            .prepare(
              `SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY created_at, id`,
            )
            .all(...states)
        : this.db.prepare('SELECT * FROM jobs ORDER BY created_at, id').all()
    ) as Row[];
    return rows.map(toJob);
  }

  /** The experiment's unfinished job of this kind (its training, unless asked otherwise). */
  activeJobOf(experimentId: string, kind: JobKind = 'imp'): JobRow | undefined {
    const r = this.db
      .prepare(
        `SELECT * FROM jobs WHERE experiment_id = ? AND kind = ? AND state IN ('queued','running','paused','interrupted') ORDER BY created_at DESC LIMIT 1`,
      )
      .get(experimentId, kind) as Row | undefined;
    return r && toJob(r);
  }

  updateJob(
    id: string,
    fields: Partial<
      Pick<
        JobRow,
        | 'state'
        | 'progress'
        | 'phase'
        | 'owner'
        | 'ownerLock'
        | 'heartbeatAt'
        | 'attempt'
        | 'error'
        | 'checkpointBlob'
        | 'checkpointRun'
        | 'checkpointIteration'
      >
    >,
  ): void {
    const columns: Record<string, string> = {
      state: 'state',
      progress: 'progress',
      phase: 'phase',
      owner: 'owner',
      ownerLock: 'owner_lock',
      heartbeatAt: 'heartbeat_at',
      attempt: 'attempt',
      error: 'error',
      checkpointBlob: 'checkpoint_blob',
      checkpointRun: 'checkpoint_run',
      checkpointIteration: 'checkpoint_iteration',
    };
    const keys = Object.keys(fields) as (keyof typeof fields)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${columns[k]} = ?`).join(', ');
    this.db
      .prepare(`UPDATE jobs SET ${sets}, updated_at = ? WHERE id = ?`)
      .run(...keys.map((k) => fields[k] ?? null), now(), id);
  }

  /**
   * Removes a blob no row refers to any more (a superseded checkpoint), and says whether it
   * did. Blobs are content-addressed, so rows can share one (two identical trainings side by
   * side write identical checkpoints): the foreign keys refuse to drop a blob still in use.
   */
  deleteBlobIfUnused(sha256: string): boolean {
    try {
      this.db.prepare('DELETE FROM blobs WHERE sha256 = ?').run(sha256);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return false;
      throw e;
    }
    this.blobs.remove(sha256);
    return true;
  }
}
