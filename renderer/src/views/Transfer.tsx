import { useState } from 'react';
import { go } from '../lib/route.ts';
import { useClient, useLoad, useReloadOn } from '../hooks.ts';
import { pct, ticketLabel } from '../lib/format.ts';
import { cellColour, heatmapGrid } from '../lib/heatmap.ts';

const signed = (x: number | null | undefined) =>
  x === null || x === undefined ? '–' : `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;

/** Percentage points, unsigned (a spread). */
const points = (x: number) => (x * 100).toFixed(2);

export function TransferPage({ ticketId }: { ticketId?: string }) {
  const client = useClient();
  const datasets = useLoad((c) => c.call('datasets.list', {}), []);
  const matrix = useLoad((c) => c.call('transfer.matrix', {}), []);
  useReloadOn(matrix.reload, (e) => e.type === 'ticket.created');
  const [source, setSource] = useState(ticketId ?? '');
  const [targets, setTargets] = useState<string[]>([]);
  const [duration, setDuration] = useState('');
  const [metric, setMetric] = useState<'vsRandom' | 'vsTargetTicket'>('vsRandom');
  const [error, setError] = useState<string | null>(null);
  // the source named as people read it; an id that is no ticket stays in the field to fix
  const sourceTicket = useLoad(
    async (c) => (source.trim() ? c.call('tickets.get', { id: source.trim() }) : null),
    [source],
  );
  const named = sourceTicket.data?.ticket.id === source.trim() ? sourceTicket.data : null;

  const start = async () => {
    try {
      setError(null);
      const r = await client.call('transfer.create', {
        ticketId: source,
        targets,
        duration: duration || undefined,
      });
      go(`experiment/${r.experiments[0]!.id}`);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const grid = matrix.data ? heatmapGrid(matrix.data, metric) : null;
  const names = new Map((datasets.data ?? []).map((d) => [d.id, d.name]));
  const nameOf = (id: string) => names.get(id) ?? id;

  return (
    <section>
      <h1>Ticket transfer</h1>
      <p className="muted">
        Train a ticket found on one dataset on others of the same input shape, each beside a random
        ticket of the same per-layer sparsity (Morcos et al. 2019).
      </p>
      <div className="form">
        {named ? (
          <div className="named-source" role="group" aria-label="Source ticket">
            Source ticket
            <span>
              <a href={`#/ticket/${named.ticket.id}`} title={named.ticket.id}>
                {ticketLabel(named.experiment.name, named.ticket)}
              </a>{' '}
              <button className="link" onClick={() => setSource('')}>
                Change
              </button>
            </span>
          </div>
        ) : (
          <label>
            Source ticket
            <input
              value={source}
              onChange={(e) => setSource(e.target.value)}
              placeholder="a ticket id: a ticket's page has a Transfer button"
              aria-label="Source ticket"
            />
          </label>
        )}
        <label>
          Training length (optional)
          <input
            value={duration}
            onChange={(e) => setDuration(e.target.value)}
            placeholder="the source's"
            aria-label="Transfer training length"
          />
        </label>
      </div>
      <div className="picker" aria-label="Target datasets">
        {(datasets.data ?? []).map((d) => (
          <label key={d.id} className="chip">
            <input
              type="checkbox"
              checked={targets.includes(d.id)}
              onChange={(e) =>
                setTargets((t) => (e.target.checked ? [...t, d.id] : t.filter((x) => x !== d.id)))
              }
            />
            {d.name} ({d.inputShape.join('×')}, {d.classNames.length} classes)
          </label>
        ))}
      </div>
      {error && <p className="error">{error}</p>}
      <button className="primary" disabled={!source || targets.length === 0} onClick={start}>
        Transfer and train
      </button>

      <h2>Transfer matrix</h2>
      <label>
        Cell{' '}
        <select
          value={metric}
          onChange={(e) => setMetric(e.target.value as 'vsRandom')}
          aria-label="Matrix metric"
        >
          <option value="vsRandom">transferred − random ticket</option>
          <option value="vsTargetTicket">transferred − ticket found on the target</option>
        </select>
      </label>
      {grid && grid.sources.length > 0 ? (
        <table className="heatmap" aria-label="Transfer heatmap">
          <thead>
            <tr>
              <th>source ↓ target →</th>
              {grid.targets.map((t) => (
                <th key={t}>{nameOf(t)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {grid.sources.map((s) => (
              <tr key={s}>
                <th>{nameOf(s)}</th>
                {grid.targets.map((t) => {
                  const cell = grid.value(s, t);
                  if (!cell) return <td key={t} />;
                  return (
                    <td
                      key={t}
                      data-n={cell.n}
                      className={cell.tie ? 'tie' : undefined}
                      style={{ background: cellColour(cell, grid.extent) }}
                      title={
                        cell.spread === null
                          ? 'one transfer: no spread to judge the difference by'
                          : `mean ${signed(cell.v)} ± ${points(cell.spread)} (standard deviation of ${cell.n})`
                      }
                    >
                      <span className="value">
                        {signed(cell.v)}
                        {cell.spread !== null ? ` ± ${points(cell.spread)}` : ''}
                      </span>{' '}
                      <span className="n">(N={cell.n})</span>
                      {cell.tie && <span className="tie-mark"> tie</span>}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {grid && grid.sources.length > 0 ? (
        <div className="colour-legend" aria-label="Heatmap colours">
          <span>percentage points</span>
          <span className="low">−{points(grid.extent)}</span>
          <span className="ramp diverging" aria-hidden="true" />
          <span className="high">+{points(grid.extent)}</span>
          <span className="swatch neutral" aria-hidden="true" />
          <span>tie: the mean lies within its standard deviation (N ≥ 2)</span>
        </div>
      ) : (
        <p className="empty">
          No transfers yet: pick a ticket (its page has a Transfer button) and targets above.
        </p>
      )}
      {matrix.data && matrix.data.rows.length > 0 && (
        <table aria-label="Transfers">
          <thead>
            <tr>
              <th>source → target</th>
              <th>weights</th>
              <th>transferred</th>
              <th>random</th>
              <th>target's own</th>
              <th>vs random</th>
              <th>vs target's</th>
            </tr>
          </thead>
          <tbody>
            {matrix.data.rows.map((r) => (
              <tr key={r.ticketId}>
                <td>
                  <a href={`#/experiment/${r.experimentId}`}>
                    {nameOf(r.sourceDataset)} → {nameOf(r.targetDataset)}
                  </a>
                </td>
                <td>{pct(r.remainingWeights)}</td>
                <td>{pct(r.transferAccuracy, 2)}</td>
                <td>{pct(r.randomAccuracy, 2)}</td>
                <td>
                  {r.targetTicketAccuracy === null
                    ? '–'
                    : `${pct(r.targetTicketAccuracy, 2)} (N=${r.targetTicketCount})`}
                </td>
                <td>{signed(r.vsRandom)}</td>
                <td>{signed(r.vsTargetTicket)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
