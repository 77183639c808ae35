import { useState } from 'react';
import type { JobProgressEvent } from '../../../src/api/events.ts';
import type { z } from 'zod';
import { go } from '../lib/route.ts';
import { Chart } from '../charts/Chart.tsx';
import { LineageTree } from '../charts/LineageTree.tsx';
import { useClient, useEvents, useExportDir, useLoad, useReloadOn, useTitle } from '../hooks.ts';
import { ACCURACY, REDUCERS, type Reducer } from '../lib/compare.ts';
import { duration, fileName, pct } from '../lib/format.ts';
import { downloadReport } from '../lib/export.ts';
import { ExportDialog } from './ExportDialog.tsx';
import { JobControls } from './JobControls.tsx';

type Progress = z.infer<typeof JobProgressEvent>;

export function ExperimentPage({ id }: { id: string }) {
  const client = useClient();
  const detail = useLoad((c) => c.call('experiments.get', { id }), [id]);
  const lineage = useLoad((c) => c.call('experiments.lineage', { id }), [id]);
  const jobs = useLoad((c) => c.call('jobs.list', {}), [id]);
  useTitle('Experiment', detail.data?.name);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [losses, setLosses] = useState<{ x: number; y: number }[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const exportDir = useExportDir();
  // every accuracy column lets the user choose the reducer (not only the last value)
  const [reducer, setReducer] = useState<Reducer>('at early stop');
  const accuracies = useLoad((c) => c.call('compare', { experimentIds: [id] }), [id]);
  const byTicket = new Map(
    (accuracies.data?.rows ?? []).map((r) => [r.ticketId, ACCURACY[reducer](r)]),
  );
  const reload = () => {
    detail.reload();
    accuracies.reload();
    lineage.reload();
    jobs.reload();
  };
  useReloadOn(
    reload,
    (e) => (e.type === 'ticket.created' || e.type === 'job.state') && e.experimentId === id,
  );
  useEvents((e) => {
    if (e.type !== 'job.progress' || e.experimentId !== id) return;
    setProgress((prev) => {
      if (prev && prev.phase !== e.phase) setLosses([]);
      return e;
    });
    if (e.loss !== null) setLosses((l) => [...l.slice(-400), { x: e.step, y: e.loss! }]);
  });
  const e = detail.data;
  const job = jobs.data?.find(
    (j) => j.experimentId === id && !['done', 'cancelled'].includes(j.state),
  );
  const lastJob = jobs.data?.filter((j) => j.experimentId === id).at(-1);

  const edit = async (f: () => Promise<unknown>) => {
    try {
      setError(null);
      await f();
      detail.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  if (detail.error) return <p className="error">{detail.error}</p>;
  if (!e) return <p className="muted">Loading…</p>;
  return (
    <section>
      <h1>
        <input
          className="title"
          defaultValue={e.name}
          key={e.name}
          aria-label="Experiment name"
          onBlur={(ev) =>
            ev.target.value !== e.name &&
            edit(() => client.call('experiments.rename', { id, name: ev.target.value }))
          }
        />
      </h1>
      <p>
        <span className={`status ${e.status}`}>{e.status}</span> · {e.method} · {e.model} on{' '}
        <span title={e.dataset}>{e.datasetName}</span> · replicate {e.replicate} · spec{' '}
        {e.specHash.slice(0, 12)}
      </p>
      {/* The stored note is a failure only when the experiment failed; pausing and
          stopping leave a plain note. The job's error repeats it, so it shows only when it
          says more. */}
      {e.error &&
        (e.status === 'failed' ? (
          <p className="error">Failed: {e.error}</p>
        ) : (
          <p className="muted" aria-label="Status note">
            {e.error}
          </p>
        ))}
      {lastJob?.state === 'failed' && lastJob.error && !lastJob.error.includes(e.error ?? '\0') && (
        <p className="error">Job failed: {lastJob.error}</p>
      )}
      <div className="toolbar">
        {job ? (
          <>
            <span>
              job {job.state}
              {progress && job.state === 'running'
                ? ` · ${progress.phase} · it ${progress.step}/${progress.steps} · ${pct(progress.progress, 0)} · ETA ${duration(progress.etaMs)}`
                : ''}
            </span>
            <JobControls job={job} onChange={reload} />
          </>
        ) : (
          e.status !== 'done' && (
            <button onClick={() => edit(() => client.call('jobs.start', { experimentId: id }))}>
              Start
            </button>
          )
        )}
        <button onClick={() => go(`compare/${id}`)}>Compare…</button>
        <button onClick={() => setExporting(true)}>Export results…</button>
        <button
          onClick={() => void downloadReport(client, [id]).catch((e: Error) => setError(e.message))}
        >
          Download report
        </button>
        <button onClick={() => go(`genealogy/${id}`)}>Genealogy</button>
      </div>
      {/* Results go to a path on the machine running the core. */}
      {exporting && (
        <ExportDialog
          title="Export results"
          formats={[
            { value: 'csv', label: 'CSV (a folder: tickets, runs, metrics)' },
            { value: 'json', label: 'JSON (one file)' },
            { value: 'lineage', label: 'Lineage (JSON, one file)' },
          ]}
          defaultPath={(format) =>
            `${exportDir}/${fileName(e.name)}-${format}${format === 'csv' ? '' : '.json'}`
          }
          run={(format, path, force) =>
            client.call('experiments.export', { id, format: format as 'csv', path, force })
          }
          onClose={() => setExporting(false)}
        />
      )}
      {job?.state === 'running' && (
        <progress max={1} value={progress?.progress ?? 0} aria-label="Job progress" />
      )}
      {losses.length > 1 && (
        <Chart
          series={[{ label: 'training loss', points: losses }]}
          xLabel="iteration"
          yLabel="loss"
          format={(y) => y.toFixed(2)}
        />
      )}
      <div className="form">
        <label>
          Tags
          <input
            defaultValue={e.tags.join(', ')}
            key={e.tags.join()}
            aria-label="Tags"
            onBlur={(ev) =>
              edit(() =>
                client.call('experiments.tag', {
                  id,
                  tags: ev.target.value
                    .split(',')
                    .map((t) => t.trim())
                    .filter(Boolean),
                }),
              )
            }
          />
        </label>
        <label>
          Notes
          <textarea
            defaultValue={e.notes}
            key={e.notes}
            aria-label="Notes"
            onBlur={(ev) =>
              ev.target.value !== e.notes &&
              edit(() => client.call('experiments.annotate', { id, notes: ev.target.value }))
            }
          />
        </label>
      </div>
      {error && <p className="error">{error}</p>}
      <h2>Lineage</h2>
      {lineage.data && lineage.data.tickets.length > 0 ? (
        <LineageTree
          tickets={lineage.data.tickets}
          transfers={lineage.data.transfers}
          onOpen={(t) => go(`ticket/${t}`)}
        />
      ) : (
        <p className="empty">No tickets yet: they appear here as each level finishes training.</p>
      )}
      <h2>Tickets</h2>
      <table aria-label="Tickets">
        <thead>
          <tr>
            <th>level</th>
            <th>method</th>
            <th>weights</th>
            <th>
              test accuracy{' '}
              <select
                value={reducer}
                onChange={(ev) => setReducer(ev.target.value as Reducer)}
                aria-label="Accuracy reducer"
              >
                {REDUCERS.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </th>
            <th>early stop</th>
            <th>wall time</th>
          </tr>
        </thead>
        <tbody>
          {e.tickets.map((t) => (
            <tr key={t.id}>
              <td>{t.level}</td>
              <td>
                <a href={`#/ticket/${t.id}`}>{t.method}</a>
              </td>
              <td>{pct(t.remainingWeights)}</td>
              <td>{t.trained ? pct(byTicket.get(t.id) ?? null, 2) : 'training…'}</td>
              <td title={t.earlyStopNote ?? undefined}>
                {t.earlyStopNote
                  ? `${t.earlyStopIteration} (untrained)`
                  : (t.earlyStopIteration ?? '–')}
              </td>
              <td
                title={
                  t.reusedFromRunId
                    ? `the training this one reuses (run ${t.reusedFromRunId}): not trained again here`
                    : undefined
                }
              >
                {duration(t.wallTimeMs)}
                {t.reusedFromRunId ? ' (reused)' : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
