import { useState } from 'react';
import { Chart } from '../charts/Chart.tsx';
import { useEvents, useLoad, useReloadOn } from '../hooks.ts';
import { duration, jobKindLabel, jobLabel, pct, when } from '../lib/format.ts';
import { JobControls } from './JobControls.tsx';

export function MonitorPage() {
  const jobs = useLoad((c) => c.call('jobs.list', {}), []);
  const [live, setLive] = useState<
    Record<string, { phase: string; progress: number; etaMs: number | null; loss: number | null }>
  >({});
  useReloadOn(jobs.reload, (e) => e.type === 'job.state');
  // A cluster job's Slurm state as it changes (its job stays running meanwhile).
  const [slurm, setSlurm] = useState<
    Record<string, { jobId: string | null; state: string | null; reason: string | null }>
  >({});
  // Live curves of the run each job is training now (restarted when its phase changes).
  const [curves, setCurves] = useState<
    Record<
      string,
      { phase: string; loss: { x: number; y: number }[]; acc: { x: number; y: number }[] }
    >
  >({});
  useEvents((e) => {
    if (e.type === 'job.cluster')
      setSlurm((all) => ({
        ...all,
        [e.jobId]: { jobId: e.clusterJobId, state: e.state, reason: e.reason },
      }));
    if (e.type !== 'job.progress') return;
    setLive((l) => ({ ...l, [e.jobId]: e }));
    setCurves((all) => {
      const prev = all[e.jobId];
      const c = prev && prev.phase === e.phase ? prev : { phase: e.phase, loss: [], acc: [] };
      return {
        ...all,
        [e.jobId]: {
          phase: e.phase,
          loss: e.loss === null ? c.loss : [...c.loss.slice(-300), { x: e.step, y: e.loss }],
          acc: e.accuracy === null ? c.acc : [...c.acc, { x: e.step, y: e.accuracy }],
        },
      };
    });
  });
  const running = (jobs.data ?? []).filter((j) => j.state === 'running' && curves[j.id]);
  const list = jobs.data ?? [];
  return (
    <section>
      <h1>Monitor</h1>
      {jobs.error && <p className="error">{jobs.error}</p>}
      {list.length === 0 ? (
        <p className="empty">
          No jobs. Start one from <a href="#/new">New experiment</a>.
        </p>
      ) : (
        <table aria-label="Jobs">
          <thead>
            <tr>
              <th>job</th>
              <th>experiment</th>
              <th>state</th>
              <th>phase</th>
              <th>progress</th>
              <th>ETA</th>
              <th>updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {[...list].reverse().map((j) => {
              const l = live[j.id];
              // the latest event's, else the state stored when the list was loaded
              const cluster = j.cluster && (slurm[j.id] ?? j.cluster);
              return (
                <tr key={j.id}>
                  <td title={`job ${j.id}`}>{jobKindLabel(j.kind)}</td>
                  <td>
                    <a href={`#/experiment/${j.experimentId}`} title={j.experimentId}>
                      {j.experimentName}
                    </a>
                  </td>
                  <td>
                    <span className={`status ${j.state}`}>{j.state}</span>
                    {cluster && (
                      <div className="muted" aria-label={`Slurm state of ${j.id}`}>
                        Slurm {cluster.jobId ?? '(not submitted)'}: {cluster.state ?? '–'}
                        {cluster.reason ? ` (${cluster.reason})` : ''}
                      </div>
                    )}
                    {j.error && <div className="error">{j.error}</div>}
                  </td>
                  <td>{l?.phase ?? j.phase ?? '–'}</td>
                  <td>
                    <progress max={1} value={l?.progress ?? j.progress} />{' '}
                    {pct(l?.progress ?? j.progress, 0)}
                  </td>
                  <td>{j.state === 'running' ? duration(l?.etaMs) : '–'}</td>
                  <td>{when(j.updatedAt)}</td>
                  <td>
                    <JobControls job={j} onChange={jobs.reload} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {running.map((j) => (
        <div key={j.id} className="live" aria-label={`Live curves of ${j.id}`}>
          <h2 title={`job ${j.id}`}>
            {jobLabel(j)} · {curves[j.id]!.phase}
          </h2>
          {/* a step that trains nothing (an instability analysis's line) reports no loss */}
          {curves[j.id]!.loss.length > 0 && (
            <Chart
              series={[{ label: 'training loss', points: curves[j.id]!.loss }]}
              xLabel="iteration"
              yLabel="loss"
              format={(y) => y.toFixed(2)}
            />
          )}
          {curves[j.id]!.acc.length > 0 && (
            <Chart
              series={[{ label: 'test accuracy', points: curves[j.id]!.acc }]}
              xLabel="iteration"
              yLabel="test accuracy"
              format={(y) => `${(y * 100).toFixed(1)}%`}
            />
          )}
        </div>
      ))}
    </section>
  );
}
