import { useState } from 'react';
import { useEvents, useLoad, useReloadOn } from '../hooks.ts';
import { duration, pct, when } from '../lib/format.ts';
import { JobControls } from './JobControls.tsx';

export function MonitorPage() {
  const jobs = useLoad((c) => c.call('jobs.list', {}), []);
  const [live, setLive] = useState<
    Record<string, { phase: string; progress: number; etaMs: number | null; loss: number | null }>
  >({});
  useReloadOn(jobs.reload, (e) => e.type === 'job.state');
  useEvents((e) => {
    if (e.type === 'job.progress') setLive((l) => ({ ...l, [e.jobId]: e }));
  });
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
              return (
                <tr key={j.id}>
                  <td>{j.id}</td>
                  <td>
                    <a href={`#/experiment/${j.experimentId}`}>{j.experimentId}</a>
                  </td>
                  <td>
                    <span className={`status ${j.state}`}>{j.state}</span>
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
    </section>
  );
}
