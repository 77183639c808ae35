import { useState } from 'react';
import type { MethodOutput } from '../../../src/api/contract.ts';
import { startsFromOwnInit } from '../../../src/api/methods.ts';
import { Chart } from '../charts/Chart.tsx';
import { useClient, useLoad, useReloadOn } from '../hooks.ts';
import { pct, targetLabel } from '../lib/format.ts';

type Analysis = MethodOutput<'tickets.instabilityResults'>[number];

/** An analysis without its curve yet: where its job stands. */
function progressOf(job: Analysis['job']): string {
  if (job.state === 'failed') return `failed: ${job.error ?? 'no reason given'}`;
  if (job.state === 'running') return 'training…';
  return job.state;
}

/** Where an analysis's job runs: this host's workers, or its Slurm job. */
const whereOf = (job: Analysis['job']) =>
  !job.onCluster
    ? 'this machine'
    : job.clusterJobId
      ? `Slurm job ${job.clusterJobId}`
      : 'Slurm (not submitted)';

/**
 * A ticket's instability analyses (Frankle et al. 2020): test error along the line between
 * two copies trained from θ_k with different data orders, one line per rewind point k, and
 * the error barrier per k; a form starts more.
 */
export function InstabilitySection({ ticketId, method }: { ticketId: string; method: string }) {
  const client = useClient();
  const results = useLoad((c) => c.call('tickets.instabilityResults', { ticketId }), [ticketId]);
  useReloadOn(results.reload, (e) => e.type === 'job.state' || e.type === 'job.cluster');
  // the data folder's compute target: where a Slurm cluster is set, an analysis may go there
  const settings = useLoad((c) => c.call('settings.get', {}), []);
  const cluster =
    settings.data?.computeTarget.kind === 'slurm' ? settings.data.computeTarget : null;
  const [onCluster, setOnCluster] = useState(false);
  // a random re-initialisation trains from iteration 0 with its own weights: it has no θ_k
  const fresh = startsFromOwnInit(method);
  const [rewinds, setRewinds] = useState(fresh ? '0it' : '0it,100it,500it');
  const [points, setPoints] = useState('30');
  const [error, setError] = useState<string | null>(null);
  const analyses = results.data ?? [];
  const curves = analyses.filter((a): a is Analysis & { curve: NonNullable<Analysis['curve']> } =>
    Boolean(a.curve),
  );
  const start = async () => {
    try {
      setError(null);
      await client.call('tickets.instability', {
        ticketId,
        rewinds: rewinds
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean),
        points: Number(points),
        ...(onCluster && cluster ? { target: cluster } : {}),
      });
      results.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <>
      <h2>Instability</h2>
      <p className="muted">
        Two copies trained from the weights at rewind point k with different data orders; test error
        along the straight line between them (Frankle et al. 2020). Stable where the error barrier
        is about zero.
        {fresh &&
          ' A random re-initialisation trains from iteration 0 with its own weights, so it is analysed at 0it only.'}
      </p>
      {curves.length > 0 ? (
        <Chart
          series={curves.map((a) => ({
            label: `k = ${a.rewind} (${a.points} points)`,
            points: a.curve.map((p) => ({ x: p.alpha, y: p.testError })),
          }))}
          xLabel="α (0: copy A, 1: copy B)"
          yLabel="test error"
          format={(y) => pct(y, 1)}
          caption="Test error on the line between two copies trained from θ_k"
        />
      ) : (
        <p className="muted">No instability analysis of this ticket yet.</p>
      )}
      {analyses.length > 0 && (
        <table aria-label="Error barriers">
          <thead>
            <tr>
              <th>rewind k</th>
              <th>iteration</th>
              <th>θ_k</th>
              <th>points</th>
              <th>runs on</th>
              <th>error barrier</th>
            </tr>
          </thead>
          <tbody>
            {analyses.map((a) => (
              <tr key={a.id}>
                <td>{a.rewind}</td>
                <td>{a.rewindIteration}</td>
                <td>{a.thetaK ?? '–'}</td>
                <td>{a.points}</td>
                <td>{whereOf(a.job)}</td>
                <td>{a.barrier === null ? progressOf(a.job) : pct(a.barrier, 2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="form">
        <label>
          Rewind points
          <input
            value={rewinds}
            onChange={(e) => setRewinds(e.target.value)}
            aria-label="Rewind points"
          />
        </label>
        <label>
          Points on the line
          <input
            value={points}
            onChange={(e) => setPoints(e.target.value)}
            aria-label="Points on the line"
          />
        </label>
        {cluster && (
          <label>
            Runs on
            <select
              value={onCluster ? 'cluster' : 'here'}
              onChange={(e) => setOnCluster(e.target.value === 'cluster')}
              aria-label="Runs on"
            >
              <option value="here">this machine</option>
              <option value="cluster">{targetLabel(cluster)}, the data folder&apos;s target</option>
            </select>
          </label>
        )}
      </div>
      {error && <p className="error">{error}</p>}
      <button onClick={start}>Analyse instability</button>
    </>
  );
}
