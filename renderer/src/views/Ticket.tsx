import { useState } from 'react';
import type { MethodOutput } from '../../../src/api/contract.ts';
import { go } from '../lib/route.ts';
import { Chart } from '../charts/Chart.tsx';
import { DistanceMatrix } from '../charts/DistanceMatrix.tsx';
import { LearningRateChart } from '../charts/LearningRateChart.tsx';
import { useClient, useExportDir, useLoad, useTitle } from '../hooks.ts';
import { InstabilitySection } from './Instability.tsx';
import { MaskSection } from './TicketMasks.tsx';
import { ExportDialog } from './ExportDialog.tsx';
import { duration, fileName, pct, threadSpans } from '../lib/format.ts';
import { runSchedule } from '../lib/schedule.ts';

type TicketDetail = MethodOutput<'tickets.get'>;

/** The learning rate this ticket's run trained with, from the schedule function training used. */
function LearningRateSection({ training }: { training: TicketDetail['training'] }) {
  const schedule = runSchedule(training);
  if (!schedule) return null;
  return (
    <>
      <h2>Learning rate</h2>
      <LearningRateChart schedule={schedule} />
    </>
  );
}

/** Only structured tickets are timed: a masked one keeps the dense shape, and its speed. */
const speedups = (s: TicketDetail['ticket']['speedup']) =>
  s ? `${s.batch1.toFixed(2)}× / ${s.batch64.toFixed(2)}×` : 'not measured (dense shape)';

/** What `flops` counts (measureSize, src/engine/architectures.ts): not a timing. */
const FLOPS_LABEL = 'forward FLOPs per example (kept weights, counted)';

const bytes = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;

/** What structured pruning made of the ticket: its layers, measured speed, Early-Bird search. */
function Structure({ detail }: { detail: TicketDetail }) {
  const s = detail.structure!;
  const m = s.inference;
  return (
    <>
      {s.layers.length > 0 && (
        <>
          <h2>Compacted model</h2>
          <table aria-label="Compacted layers">
            <thead>
              <tr>
                <th>layer</th>
                <th>kind</th>
                <th>units</th>
                <th>of</th>
              </tr>
            </thead>
            <tbody>
              {s.layers.map((l) => {
                const unit = detail.units.find((u) => u.layer === `${l.name}.kernel`);
                const rank = s.ranks.find((r) => r.layer === l.name);
                return (
                  <tr key={l.name}>
                    <td>{l.name}</td>
                    <td>{l.kind}</td>
                    <td>{l.units}</td>
                    <td>
                      {unit
                        ? `${unit.total} (${unit.removed} removed)`
                        : rank && rank.kept < rank.total
                          ? `rank ${rank.kept} of ${rank.total}`
                          : '–'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      {m && (
        <>
          <h2>Measured inference</h2>
          <p className="muted">
            On {m.backend}: median of {m.runs} timed runs after 5 warm-up runs, compacted model
            against the dense one.
          </p>
          <table aria-label="Measured inference">
            <thead>
              <tr>
                <th>batch</th>
                <th>dense</th>
                <th>compacted</th>
                <th>speed-up</th>
                <th>throughput</th>
              </tr>
            </thead>
            <tbody>
              {m.latency.map((l) => (
                <tr key={l.batch}>
                  <td>{l.batch}</td>
                  <td>{l.denseMs.toFixed(3)} ms</td>
                  <td>{l.compactMs.toFixed(3)} ms</td>
                  <td>{(l.denseMs / l.compactMs).toFixed(2)}×</td>
                  <td>
                    {Math.round(l.denseThroughput).toLocaleString()} →{' '}
                    {Math.round(l.compactThroughput).toLocaleString()} examples/s
                  </td>
                </tr>
              ))}
              <tr>
                <td>file size</td>
                <td>{bytes(m.fileBytes.dense)}</td>
                <td>{bytes(m.fileBytes.compact)}</td>
                <td>{(m.fileBytes.dense / m.fileBytes.compact).toFixed(2)}× smaller</td>
                <td />
              </tr>
            </tbody>
          </table>
        </>
      )}
      {s.earlyBird.map((eb) => (
        <div key={eb.ratio} aria-label={`Early-Bird at ratio ${eb.ratio}`}>
          <h2>Early-Bird search at pruning ratio {eb.ratio}</h2>
          <p>
            {eb.detectedEpoch !== null
              ? `Ticket drawn at epoch ${eb.detectedEpoch}; pruned at epoch ${+eb.prunedEpoch.toFixed(2)}.`
              : `No Early-Bird ticket drawn; pruned at the end of training (epoch ${+eb.prunedEpoch.toFixed(2)}).`}
          </p>
          {eb.distances.length > 0 && (
            <DistanceMatrix distances={eb.distances} detectedEpoch={eb.detectedEpoch} />
          )}
        </div>
      ))}
    </>
  );
}

/** Per-layer kept weights and removed units of two tickets side by side, with the change. */
function Diff({ here, there }: { here: TicketDetail; there: TicketDetail }) {
  const a = here.ticket;
  const b = there.ticket;
  const other = new Map(b.remainingWeightsPerLayer.map((l) => [l.layer, l]));
  const otherUnits = new Map(there.units.map((u) => [u.layer, u]));
  return (
    <table aria-label="Diff">
      <thead>
        <tr>
          <th>layer</th>
          <th>kept here</th>
          <th>kept there</th>
          <th>change</th>
        </tr>
      </thead>
      <tbody>
        {a.remainingWeightsPerLayer.map((l) => {
          const o = other.get(l.layer);
          return (
            <tr key={l.layer}>
              <td>{l.layer}</td>
              <td>
                {l.kept} ({pct(l.remaining)})
              </td>
              <td>{o ? `${o.kept} (${pct(o.remaining)})` : '–'}</td>
              <td>{o ? (l.kept - o.kept).toLocaleString() : '–'}</td>
            </tr>
          );
        })}
        {here.units.map((u) => {
          const o = otherUnits.get(u.layer);
          return (
            <tr key={`units-${u.layer}`}>
              <td>{u.layer}: units removed</td>
              <td>
                {u.removed} of {u.total}
              </td>
              <td>{o ? `${o.removed} of ${o.total}` : '–'}</td>
              <td>{o ? u.removed - o.removed : '–'}</td>
            </tr>
          );
        })}
        <tr>
          <td>test accuracy</td>
          <td>{pct(a.testAccuracy, 2)}</td>
          <td>{pct(b.testAccuracy, 2)}</td>
          <td>
            {a.testAccuracy !== null && b.testAccuracy !== null
              ? `${((a.testAccuracy - b.testAccuracy) * 100).toFixed(2)} points`
              : '–'}
          </td>
        </tr>
        <tr>
          <td>measured speed-up over the dense model (batch 1 / 64)</td>
          <td>{speedups(a.speedup)}</td>
          <td>{speedups(b.speedup)}</td>
          <td>
            {a.speedup && b.speedup
              ? `${(a.speedup.batch64 / b.speedup.batch64).toFixed(2)}× at batch 64`
              : '–'}
          </td>
        </tr>
        <tr>
          <td>{FLOPS_LABEL}</td>
          <td>{a.flops.toLocaleString()}</td>
          <td>{b.flops.toLocaleString()}</td>
          <td>
            {b.flops
              ? `${a.flops >= b.flops ? '+' : ''}${((a.flops / b.flops - 1) * 100).toFixed(1)}%`
              : '–'}
          </td>
        </tr>
      </tbody>
    </table>
  );
}

type Curve = MethodOutput<'runs.metrics'>;

/**
 * Loss and accuracy over training, side by side, each split a line, with the early-stop
 * iteration (the one the ticket is measured at) marked; loss on a log axis if asked.
 */
function TrainingCurves(props: { curves: Curve[]; earlyStop: number | null }) {
  const [logLoss, setLogLoss] = useState(false);
  const markers = props.earlyStop === null ? [] : [{ label: 'early stop', x: props.earlyStop }];
  const accuracy = props.curves
    .map((c) => ({
      label: `${c.split} accuracy`,
      points: c.points.flatMap((p) => (p.accuracy === null ? [] : [{ x: p.step, y: p.accuracy }])),
    }))
    .filter((s) => s.points.length > 0);
  return (
    <>
      <label>
        <input type="checkbox" checked={logLoss} onChange={(e) => setLogLoss(e.target.checked)} />{' '}
        Loss on a log scale
      </label>
      <div className="chart-pair">
        <Chart
          series={props.curves.map((c) => ({
            label: `${c.split} loss`,
            points: c.points.map((p) => ({ x: p.step, y: p.loss })),
          }))}
          xLabel="iteration"
          yLabel="loss"
          yLog={logLoss}
          format={(y) => (logLoss ? String(+y.toPrecision(2)) : y.toFixed(2))}
          markers={markers}
        />
        {accuracy.length > 0 ? (
          <Chart
            series={accuracy}
            xLabel="iteration"
            yLabel="accuracy"
            format={(y) => pct(y, 0)}
            markers={markers}
          />
        ) : (
          <p className="muted">No accuracy recorded for this run.</p>
        )}
      </div>
    </>
  );
}

export function TicketPage({ id }: { id: string }) {
  const client = useClient();
  const view = useLoad((c) => c.call('tickets.get', { id }), [id]);
  const lineage = useLoad(
    async (c) =>
      view.data ? c.call('experiments.lineage', { id: view.data.experiment.id }) : null,
    [view.data?.experiment.id],
  );
  const runId = view.data?.ticket.runId;
  const curves = useLoad(
    async (c) =>
      runId
        ? Promise.all(
            (['train', 'val', 'test'] as const).map((split) =>
              c.call('runs.metrics', { runId, split, maxPoints: 300 }),
            ),
          )
        : [],
    [runId],
  );
  const [against, setAgainst] = useState<string>('');
  const [exportState, setExportState] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [weights, setWeights] = useState<'trained' | 'initial'>('trained');
  const exportDir = useExportDir();
  const otherId = against || view.data?.parent?.id || null;
  const other = useLoad(
    async (c) => (otherId ? c.call('tickets.get', { id: otherId }) : null),
    [otherId],
  );
  useTitle(
    'Ticket',
    view.data
      ? `${view.data.experiment.name} · ${view.data.ticket.method} level ${view.data.ticket.level}`
      : undefined,
  );
  if (view.error) return <p className="error">{view.error}</p>;
  if (!view.data) return <p className="muted">Loading…</p>;
  const { ticket, experiment, parent, children } = view.data;
  const others = lineage.data?.tickets.filter((t) => t.id !== id) ?? [];

  return (
    <section>
      <h1>
        Ticket {ticket.method} · level {ticket.level}
      </h1>
      <p>
        In <a href={`#/experiment/${experiment.id}`}>{experiment.name}</a> ·{' '}
        {pct(ticket.remainingWeights)} of prunable weights · test {pct(ticket.testAccuracy, 2)}{' '}
        (final {pct(ticket.finalTestAccuracy, 2)}) · early stop {ticket.earlyStopIteration ?? '–'} ·{' '}
        {ticket.remainingParams.toLocaleString()} / {ticket.totalParams.toLocaleString()} parameters
        · {ticket.flops.toLocaleString()} forward FLOPs
      </p>
      {ticket.earlyStopNote && (
        <p className="error" role="note" aria-label="Early stop">
          Note: {ticket.earlyStopNote}.
        </p>
      )}
      <p>
        Parent:{' '}
        {parent ? (
          <a href={`#/ticket/${parent.id}`}>{`${parent.method} level ${parent.level}`}</a>
        ) : (
          '–'
        )}
        {ticket.sourceTicketId && (
          <>
            {' '}
            · transferred from <a href={`#/ticket/${ticket.sourceTicketId}`}>its source ticket</a>
          </>
        )}{' '}
        · Children:{' '}
        {children.length === 0
          ? '–'
          : children.map((c) => (
              <a key={c.id} href={`#/ticket/${c.id}`} className="chip">
                {c.method} L{c.level}
              </a>
            ))}
      </p>
      <div className="toolbar">
        <button onClick={() => setExporting(true)}>Export model…</button>
        <button onClick={() => go(`transfer/${ticket.id}`)}>Transfer to other datasets…</button>
      </div>
      {exporting && (
        <ExportDialog
          title="Export model"
          formats={[
            { value: 'onnx', label: 'ONNX (.onnx)' },
            { value: 'tfjs', label: 'TensorFlow.js (a folder)' },
            { value: 'safetensors', label: 'safetensors (.safetensors)' },
          ]}
          defaultPath={(format) =>
            `${exportDir}/${fileName(`${experiment.name} ${ticket.method} level ${ticket.level}`)}${format === 'tfjs' ? '-tfjs' : `.${format}`}`
          }
          run={(format, path, force) =>
            client.call('tickets.export', {
              ticketId: id,
              format: format as 'onnx',
              path,
              weights,
              force,
            })
          }
          onDone={(files) =>
            setExportState(
              files
                .map((f) => `${f.path} (${f.bytes} bytes, sha256 ${f.checksum.slice(0, 12)}…)`)
                .join('; '),
            )
          }
          onClose={() => setExporting(false)}
        >
          <label>
            Weights
            <select
              value={weights}
              onChange={(e) => setWeights(e.target.value as 'trained' | 'initial')}
            >
              <option value="trained">trained</option>
              <option value="initial">initial (where its training starts)</option>
            </select>
          </label>
        </ExportDialog>
      )}
      {exportState && (
        <p className="muted" aria-label="Last export">
          Exported {exportState}
        </p>
      )}
      <h2>Metrics</h2>
      <table aria-label="Metrics">
        <tbody>
          {[
            ['test accuracy at early stop', pct(ticket.testAccuracy, 2)],
            ['test accuracy at the last iteration', pct(ticket.finalTestAccuracy, 2)],
            // over every evaluation stored: the curves are downsampled to bucket means
            ...(['val', 'test'] as const).flatMap((split) => {
              const c = curves.data?.find((c) => c.split === split);
              return c && c.bestAccuracy !== null && c.lowestLoss !== null
                ? [
                    [`best ${split} accuracy (of ${c.count} evaluations)`, pct(c.bestAccuracy, 2)],
                    [`lowest ${split} loss`, c.lowestLoss.toFixed(4)],
                  ]
                : [];
            }),
            [
              'early-stop iteration',
              ticket.earlyStopNote
                ? `${ticket.earlyStopIteration} (untrained: training never improved validation loss)`
                : String(ticket.earlyStopIteration ?? '–'),
            ],
            ['remaining weights', `${pct(ticket.remainingWeights, 2)} of prunable`],
            [
              'parameters',
              `${ticket.remainingParams.toLocaleString()} of ${ticket.totalParams.toLocaleString()}`,
            ],
            [FLOPS_LABEL, ticket.flops.toLocaleString()],
            [
              'wall time',
              ticket.reusedFromRunId
                ? `${duration(ticket.wallTimeMs)}, once: reused from another experiment's identical training (run ${ticket.reusedFromRunId})`
                : duration(ticket.wallTimeMs),
            ],
            ['backend', ticket.backend ?? '–'],
            ['kernel threads', threadSpans(ticket.kernelThreads)],
          ].map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Remaining weights per layer</h2>
      <div className="bars" aria-label="Remaining weights per layer">
        {ticket.remainingWeightsPerLayer.map((l) => (
          <div key={l.layer} className="bar">
            <span>{l.layer}</span>
            <span className="track">
              <span className="fill" style={{ width: `${l.remaining * 100}%` }} />
            </span>
            <span>
              {pct(l.remaining)} of {l.total.toLocaleString()}
            </span>
          </div>
        ))}
      </div>
      {view.data.structure && <Structure detail={view.data} />}
      <MaskSection ticketId={ticket.id} parentId={parent?.id ?? null} />
      <h2>Training curves</h2>
      {curves.data && curves.data.length > 0 ? (
        <TrainingCurves curves={curves.data} earlyStop={ticket.earlyStopIteration} />
      ) : (
        <p className="muted">No run recorded yet.</p>
      )}
      <LearningRateSection training={view.data.training} />
      <InstabilitySection ticketId={ticket.id} method={ticket.method} />
      <h2>Diff</h2>
      <label>
        Against{' '}
        <select
          value={against}
          onChange={(e) => setAgainst(e.target.value)}
          aria-label="Diff against"
        >
          <option value="">its parent</option>
          {others.map((t) => (
            <option key={t.id} value={t.id}>
              {t.method} level {t.level} ({pct(t.remainingWeights)})
            </option>
          ))}
        </select>
      </label>
      {other.data ? (
        <Diff here={view.data} there={other.data} />
      ) : (
        <p className="muted">{otherId ? 'Loading…' : 'No parent to compare with.'}</p>
      )}
      {!ticket.speedup && (
        <p className="muted">
          Speed: an unstructured mask removes no units, so the masked model runs as fast as the
          dense one; only the FLOP count falls.
        </p>
      )}
    </section>
  );
}
