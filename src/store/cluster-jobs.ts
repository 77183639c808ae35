import type { Store } from './store.ts';

/** Named statements for jobs run on a cluster (migration 0006's cluster_jobs). */

export interface ClusterJobRow {
  jobId: string;
  /** the target it runs on, as JSON (api/sweep.ts's SlurmTarget) */
  targetJson: string;
  /** its folder, relative to the data folder */
  folder: string;
  clusterJobId: string | null;
  clusterState: string | null;
  clusterReason: string | null;
  /** bytes of its report log already stored */
  ingestedBytes: number;
  submittedAt: string | null;
  updatedAt: string;
}

type Row = Record<string, unknown>;
const now = () => new Date().toISOString();

function toClusterJob(r: Row): ClusterJobRow {
  return {
    jobId: r.job_id as string,
    targetJson: r.target_json as string,
    folder: r.folder as string,
    clusterJobId: r.cluster_job_id as string | null,
    clusterState: r.cluster_state as string | null,
    clusterReason: r.cluster_reason as string | null,
    ingestedBytes: r.ingested_bytes as number,
    submittedAt: r.submitted_at as string | null,
    updatedAt: r.updated_at as string,
  };
}

export function getClusterJob(store: Store, jobId: string): ClusterJobRow | undefined {
  const r = store.db.prepare('SELECT * FROM cluster_jobs WHERE job_id = ?').get(jobId) as
    Row | undefined;
  return r && toClusterJob(r);
}

export function insertClusterJob(store: Store, jobId: string, targetJson: string, folder: string) {
  store.db
    .prepare(
      'INSERT INTO cluster_jobs (job_id, target_json, folder, updated_at) VALUES (?, ?, ?, ?)',
    )
    .run(jobId, targetJson, folder, now());
}

export function updateClusterJob(
  store: Store,
  jobId: string,
  fields: Partial<
    Pick<
      ClusterJobRow,
      'clusterJobId' | 'clusterState' | 'clusterReason' | 'ingestedBytes' | 'submittedAt'
    >
  >,
) {
  const columns = {
    clusterJobId: 'cluster_job_id',
    clusterState: 'cluster_state',
    clusterReason: 'cluster_reason',
    ingestedBytes: 'ingested_bytes',
    submittedAt: 'submitted_at',
  } as const;
  const keys = Object.keys(fields) as (keyof typeof fields)[];
  if (keys.length === 0) return;
  store.db
    .prepare(
      `UPDATE cluster_jobs SET ${keys.map((k) => `${columns[k]} = ?`).join(', ')}, updated_at = ? WHERE job_id = ?`,
    )
    .run(...keys.map((k) => fields[k] ?? null), now(), jobId);
}
