import { useLoad, useReloadOn, useTitle } from '../hooks.ts';
import { pct, targetLabel, when } from '../lib/format.ts';

/** An axis value as the sweep file wrote it. */
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Every sweep (`ticketlab sweep`): its size, where it runs and how far it has come. */
export function SweepsPage() {
  const sweeps = useLoad((c) => c.call('sweeps.list', {}), []);
  useReloadOn(sweeps.reload, (e) => e.type === 'job.state' || e.type === 'ticket.created');
  const list = sweeps.data ?? [];
  return (
    <section>
      <h1>Sweeps</h1>
      {sweeps.error && <p className="error">{sweeps.error}</p>}
      {sweeps.data && list.length === 0 ? (
        <p className="empty">
          No sweeps. A sweep is a base spec and axes (seeds, rewinding points, models…) run as one:{' '}
          <code>ticketlab sweep sweep.json</code> (README.md, “Sweeps”).
        </p>
      ) : (
        <table aria-label="Sweeps">
          <thead>
            <tr>
              <th>sweep</th>
              <th>axes</th>
              <th>experiments</th>
              <th>runs on</th>
              <th>progress</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id}>
                <td>
                  <a href={`#/sweep/${s.id}`}>{s.name}</a>
                </td>
                <td>
                  {Object.entries(s.axes)
                    .map(([axis, values]) => `${axis} × ${values.length}`)
                    .join(', ')}
                </td>
                <td>
                  {s.experiments.length}
                  <div className="muted">
                    {Object.entries(s.statusCounts)
                      .map(([status, n]) => `${n} ${status}`)
                      .join(', ')}
                  </div>
                </td>
                <td>{targetLabel(s.target)}</td>
                <td>
                  <progress max={1} value={s.progress} aria-label={`Progress of ${s.name}`} />{' '}
                  {pct(s.progress, 0)} ({s.runsDone}/{s.runs} trainings)
                </td>
                <td>{when(s.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One sweep: its experiments grouped by their point on the axes, and compare pre-filled. */
export function SweepPage({ id }: { id: string }) {
  const sweep = useLoad((c) => c.call('sweeps.get', { id }), [id]);
  const datasets = useLoad((c) => c.call('datasets.list', {}), []);
  useTitle('Sweep', sweep.data?.name);
  const datasetNames = new Map((datasets.data ?? []).map((d) => [d.id, d.name]));
  // a dataset axis holds ids: shown by name, the id in the tooltip
  const cell = (axis: string, v: unknown) =>
    axis === 'dataset' && typeof v === 'string' && datasetNames.has(v) ? (
      <span title={v}>{datasetNames.get(v)}</span>
    ) : (
      show(v)
    );
  useReloadOn(sweep.reload, (e) => e.type === 'job.state' || e.type === 'ticket.created');
  if (sweep.error) return <p className="error">{sweep.error}</p>;
  const s = sweep.data;
  if (!s) return <p className="muted">Loading…</p>;
  const axes = Object.keys(s.axes);
  const ids = s.experiments.map((e) => e.experiment.id);
  return (
    <section>
      <h1>{s.name}</h1>
      <p>
        {s.experiments.length} experiments on {targetLabel(s.target)};{' '}
        <progress max={1} value={s.progress} aria-label="Sweep progress" /> {pct(s.progress, 0)} of{' '}
        {s.runs} trainings. <a href={`#/compare/${ids.join(',')}`}>Compare its experiments</a>
      </p>
      <table aria-label="Sweep experiments">
        <thead>
          <tr>
            {axes.map((a) => (
              <th key={a}>{a}</th>
            ))}
            <th>experiment</th>
            <th>status</th>
            <th>trainings</th>
            <th>lowest remaining</th>
          </tr>
        </thead>
        <tbody>
          {s.experiments.map(({ point, experiment: e, runs, runsDone }) => (
            <tr key={e.id}>
              {axes.map((a) => (
                <td key={a}>{cell(a, point[a])}</td>
              ))}
              <td>
                <a href={`#/experiment/${e.id}`}>{e.name}</a>
              </td>
              <td>
                <span className={`status ${e.status}`}>{e.status}</span>
              </td>
              <td>
                {runsDone}/{runs}
              </td>
              <td>
                {e.minRemainingWeights === null
                  ? '–'
                  : `${pct(e.minRemainingWeights)} → ${e.accuracyAtMinRemaining === null ? '–' : pct(e.accuracyAtMinRemaining)}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
