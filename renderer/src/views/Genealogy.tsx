import { useState } from 'react';
import type { MethodInput } from '../../../src/api/contract.ts';
import { GenealogyTree } from '../charts/GenealogyTree.tsx';
import { useLoad, useTitle } from '../hooks.ts';
import { go } from '../lib/route.ts';

type Filter = Omit<MethodInput<'experiments.genealogy'>, 'id'>;

/** A percentage typed in a field as a fraction, or undefined when empty or not a number. */
const fraction = (text: string) => {
  const v = Number(text);
  return text.trim() === '' || !Number.isFinite(v) ? undefined : Math.max(0, Math.min(1, v / 100));
};

/** A filter's percentage field; empty means no bound. */
function PercentField(props: {
  label: string;
  ariaLabel: string;
  value: string;
  onChange: (text: string) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <input
        type="number"
        min={0}
        max={100}
        step="any"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-label={props.ariaLabel}
      />
    </label>
  );
}

/**
 * The genealogy of an experiment's θ0: every experiment that started from the same weights
 * on the same dataset and the transfers of their tickets, as one tree, filtered by method,
 * dataset, lowest accuracy and remaining-weight range.
 */
export function GenealogyPage({ id }: { id: string }) {
  const [methods, setMethods] = useState<string[] | null>(null);
  const [datasets, setDatasets] = useState<string[] | null>(null);
  const [minAccuracy, setMinAccuracy] = useState('');
  const [minRemaining, setMinRemaining] = useState('');
  const [maxRemaining, setMaxRemaining] = useState('');
  const filter: Filter = {
    methods: methods ?? undefined,
    datasets: datasets ?? undefined,
    minAccuracy: fraction(minAccuracy),
    minRemaining: fraction(minRemaining),
    maxRemaining: fraction(maxRemaining),
  };
  const key = JSON.stringify(filter);
  const loaded = useLoad((c) => c.call('experiments.genealogy', { id, ...filter }), [id, key]);
  const g = loaded.data;
  useTitle('Genealogy', g?.experiments.find((e) => e.id === id)?.name);

  const toggle = (
    all: string[],
    chosen: string[] | null,
    value: string,
    on: boolean,
  ): string[] | null => {
    const next = (chosen ?? all).filter((x) => x !== value);
    if (on) next.push(value);
    // every value chosen is no filter at all
    return next.length === all.length ? null : next;
  };

  return (
    <section>
      <h1>Genealogy</h1>
      {loaded.error && <p className="error">{loaded.error}</p>}
      {g && (
        <>
          <p className="muted">
            θ0 of {g.theta0.model} on {g.theta0.datasetName}: seed {g.theta0.seed}, {g.theta0.init}{' '}
            initialisation, the weights every dense network below started from.{' '}
            {g.experiments.length} experiment{g.experiments.length === 1 ? '' : 's'};{' '}
            {g.nodes.length - 1} of {g.total - 1} tickets shown.{' '}
            <a href={`#/experiment/${id}`} aria-label="Back to the experiment">
              Back to the experiment
            </a>
          </p>
          <fieldset className="genealogy-filters">
            <legend>Filters</legend>
            <div role="group" aria-label="Methods">
              <span>Method</span>
              {g.methods.map((m) => (
                <label key={m} className="chip">
                  <input
                    type="checkbox"
                    checked={methods === null || methods.includes(m)}
                    onChange={(e) => setMethods(toggle(g.methods, methods, m, e.target.checked))}
                  />
                  {m}
                </label>
              ))}
            </div>
            <div role="group" aria-label="Datasets">
              <span>Dataset</span>
              {g.datasets.map((d) => (
                <label key={d.id} className="chip">
                  <input
                    type="checkbox"
                    checked={datasets === null || datasets.includes(d.id)}
                    onChange={(e) =>
                      setDatasets(
                        toggle(
                          g.datasets.map((x) => x.id),
                          datasets,
                          d.id,
                          e.target.checked,
                        ),
                      )
                    }
                  />
                  {d.name}
                </label>
              ))}
            </div>
            <div>
              <PercentField
                label="Test accuracy at least (%)"
                ariaLabel="Lowest test accuracy (%)"
                value={minAccuracy}
                onChange={setMinAccuracy}
              />
              <PercentField
                label="Remaining weights from (%)"
                ariaLabel="Fewest remaining weights (%)"
                value={minRemaining}
                onChange={setMinRemaining}
              />
              <PercentField
                label="to (%)"
                ariaLabel="Most remaining weights (%)"
                value={maxRemaining}
                onChange={setMaxRemaining}
              />
            </div>
          </fieldset>
          <GenealogyTree nodes={g.nodes} onOpen={(t) => go(`ticket/${t}`)} />
          <p className="muted">
            Size: remaining weights; colour: test accuracy at early stop, over the tickets that pass
            the filters; faded: outside the filters, shown to connect them to θ0. Click or Enter
            opens a ticket; Ctrl+scroll (⌘+scroll) zooms, drag pans.
          </p>
        </>
      )}
    </section>
  );
}
