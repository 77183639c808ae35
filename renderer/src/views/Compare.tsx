import { useMemo, useRef, useState } from 'react';
import { Chart } from '../charts/Chart.tsx';
import { useClient, useLoad } from '../hooks.ts';
import {
  ACCURACY,
  denseReferences,
  groupSeries,
  REDUCERS,
  seriesCsv,
  type Reducer,
} from '../lib/compare.ts';
import { listAllExperiments } from '../lib/experiments.ts';
import { downloadReport } from '../lib/export.ts';
import { download } from '../lib/format.ts';
import { savePng, saveSvg } from '../lib/svg-export.ts';

/** Chips shown at once in the picker; the search reaches the rest. */
const PICKER_MAX = 200;

export function ComparePage({ initial }: { initial: string[] }) {
  const client = useClient();
  const experiments = useLoad((c) => listAllExperiments(c), []);
  const [reportError, setReportError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string[]>(initial);
  const [search, setSearch] = useState('');
  // The chosen experiments always, then those whose name matches, up to a screenful.
  const pickable = useMemo(() => {
    const all = experiments.data?.items ?? [];
    const needle = search.trim().toLowerCase();
    const matching = all.filter(
      (e) => !selected.includes(e.id) && (!needle || e.name.toLowerCase().includes(needle)),
    );
    return {
      shown: [...all.filter((e) => selected.includes(e.id)), ...matching.slice(0, PICKER_MAX)],
      hidden: Math.max(0, matching.length - PICKER_MAX),
    };
  }, [experiments.data, selected, search]);
  const [reducer, setReducer] = useState<Reducer>('at early stop');
  const [band, setBand] = useState<'minmax' | 'std'>('minmax');
  const rows = useLoad(
    async (c) =>
      selected.length ? (await c.call('compare', { experimentIds: selected })).rows : [],
    [selected.join()],
  );
  const names = useMemo(
    () => new Map((experiments.data?.items ?? []).map((e) => [e.id, e.name])),
    [experiments.data],
  );
  const accuracy = useMemo(
    () => groupSeries(rows.data ?? [], names, ACCURACY[reducer]),
    [rows.data, names, reducer],
  );
  const earlyStop = useMemo(
    () => groupSeries(rows.data ?? [], names, (r) => r.earlyStopIteration),
    [rows.data, names],
  );
  // structured tickets are smaller models: their accuracy against the speed-up measured
  const speed = useMemo(
    () => groupSeries(rows.data ?? [], names, ACCURACY[reducer], (r) => r.speedup),
    [rows.data, names, reducer],
  );
  const speedBackends = [
    ...new Set((rows.data ?? []).flatMap((r) => (r.speedupBackend ? [r.speedupBackend] : []))),
  ];
  const chart = useRef<SVGSVGElement>(null);
  // Named in the chart's caption and the saved files, so a figure says how it was made.
  const bandName = band === 'minmax' ? 'min–max' : '± std';
  const caption = (what: string) =>
    `${what} · band: ${bandName} over replicates · dense point starts each line`;
  const references = denseReferences(accuracy).map((r) => ({
    label: `dense ${r.label}: ${(r.y * 100).toFixed(2)}%`,
    y: r.y,
  }));
  const toChart = (s: typeof accuracy) =>
    s.map((x) => ({
      label: x.label,
      points: x.points.map((p) => ({
        x: p.x,
        y: p.mean,
        lo: band === 'minmax' ? p.min : p.std === null ? undefined : p.mean - p.std,
        hi: band === 'minmax' ? p.max : p.std === null ? undefined : p.mean + p.std,
        n: p.n,
      })),
    }));

  return (
    <section>
      <h1>Compare</h1>
      <input
        type="search"
        className="search"
        placeholder="Find experiments to compare"
        aria-label="Find experiments"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <div className="picker" aria-label="Experiments to compare">
        {pickable.shown.map((e) => (
          <label key={e.id} className="chip">
            <input
              type="checkbox"
              checked={selected.includes(e.id)}
              onChange={(ev) =>
                setSelected((s) => (ev.target.checked ? [...s, e.id] : s.filter((x) => x !== e.id)))
              }
            />
            {e.name}
            {e.replicate > 0 ? ` (replicate ${e.replicate})` : ''}
          </label>
        ))}
        {pickable.hidden > 0 && (
          <span className="muted">
            and {pickable.hidden.toLocaleString('en')} more: search to narrow
          </span>
        )}
      </div>
      <div className="toolbar">
        <label>
          Accuracy{' '}
          <select
            value={reducer}
            onChange={(e) => setReducer(e.target.value as Reducer)}
            aria-label="Reducer"
          >
            {REDUCERS.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Band{' '}
          <select
            value={band}
            onChange={(e) => setBand(e.target.value as 'minmax')}
            aria-label="Band"
          >
            <option value="minmax">min–max</option>
            <option value="std">± std</option>
          </select>
        </label>
        <button disabled={!accuracy.length} onClick={() => saveSvg(chart.current!, 'compare')}>
          Save SVG
        </button>
        <button disabled={!accuracy.length} onClick={() => savePng(chart.current!, 'compare')}>
          Save PNG
        </button>
        <button
          disabled={!accuracy.length}
          onClick={() =>
            download('compare.csv', seriesCsv(accuracy, 'test_accuracy', reducer, band), 'text/csv')
          }
        >
          Save CSV
        </button>
        <button
          disabled={!selected.length}
          title="One HTML file with these experiments' specs, levels, lineage and chart, readable offline"
          onClick={() =>
            void downloadReport(client, selected).then(
              () => setReportError(null),
              (e: Error) => setReportError(e.message),
            )
          }
        >
          Download report
        </button>
      </div>
      {rows.error && <p className="error">{rows.error}</p>}
      {reportError && <p className="error">{reportError}</p>}
      {selected.length === 0 ? (
        <p className="empty">
          Pick experiments above; replicates of one spec are drawn as one line with a band.
        </p>
      ) : (
        <>
          <Chart
            ref={chart}
            series={toChart(accuracy)}
            xLabel="remaining weights (log scale)"
            yLabel={`test accuracy (${reducer})`}
            xLog
            xReverse
            format={(y) => `${(y * 100).toFixed(1)}%`}
            caption={caption(`Test accuracy (${reducer}) vs remaining weights`)}
            references={references}
          />
          <table aria-label="Compare table">
            <thead>
              <tr>
                <th>series</th>
                <th>level</th>
                <th>remaining</th>
                <th>N</th>
                <th>mean</th>
                <th>min</th>
                <th>max</th>
                <th>± std</th>
              </tr>
            </thead>
            <tbody>
              {accuracy.flatMap((s) =>
                s.points.map((p) => (
                  <tr key={`${s.key}/${p.level}`}>
                    <td>{s.label}</td>
                    <td>{p.level}</td>
                    <td>{(p.remainingWeights * 100).toFixed(1)}%</td>
                    <td>{p.n}</td>
                    <td>{(p.mean * 100).toFixed(2)}%</td>
                    <td>{(p.min * 100).toFixed(2)}%</td>
                    <td>{(p.max * 100).toFixed(2)}%</td>
                    <td>{p.std === null ? '–' : (p.std * 100).toFixed(2)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
          {speed.length > 0 && (
            <>
              <h2>Accuracy vs measured speed-up</h2>
              <p className="muted">
                Structured tickets: inference speed-up of the compacted model over the dense one,
                measured at batch 64 on {speedBackends.join(', ')} (the dense network at 1×).
              </p>
              <Chart
                series={toChart(speed)}
                xLabel="measured speed-up (batch 64)"
                yLabel={`test accuracy (${reducer})`}
                format={(y) => `${(y * 100).toFixed(1)}%`}
                caption={caption(`Test accuracy (${reducer}) vs measured speed-up`)}
              />
              <table aria-label="Accuracy vs speed-up">
                <thead>
                  <tr>
                    <th>series</th>
                    <th>level</th>
                    <th>speed-up</th>
                    <th>remaining</th>
                    <th>N</th>
                    <th>mean accuracy</th>
                  </tr>
                </thead>
                <tbody>
                  {speed.flatMap((s) =>
                    s.points.map((p) => (
                      <tr key={`${s.key}/${p.level}`}>
                        <td>{s.label}</td>
                        <td>{p.level}</td>
                        <td>{p.x.toFixed(2)}×</td>
                        <td>{(p.remainingWeights * 100).toFixed(1)}%</td>
                        <td>{p.n}</td>
                        <td>{(p.mean * 100).toFixed(2)}%</td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            </>
          )}
          <h2>Early-stop iteration</h2>
          <Chart
            series={toChart(earlyStop)}
            xLabel="remaining weights (log scale)"
            yLabel="early-stop iteration"
            xLog
            xReverse
            caption={caption('Early-stop iteration vs remaining weights')}
          />
        </>
      )}
    </section>
  );
}
