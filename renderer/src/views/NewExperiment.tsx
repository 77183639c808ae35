import { useMemo, useState } from 'react';
import { ExperimentSpec, MODEL_NAMES, SCHEDULE_NAMES } from '../../../src/api/spec.ts';
import { LearningRateChart } from '../charts/LearningRateChart.tsx';
import { go } from '../lib/route.ts';
import { useClient, useLoad } from '../hooks.ts';
import { specScheduleOrNull } from '../lib/schedule.ts';
import { TEMPLATES, validateSpec } from '../lib/templates.ts';

const METHODS = ExperimentSpec.shape.method.unwrap().options;

type Spec = Record<string, unknown> & {
  training?: Record<string, unknown>;
  pruning?: Record<string, unknown>;
};

export function NewExperimentPage() {
  const client = useClient();
  const datasets = useLoad((c) => c.call('datasets.list', {}), []);
  const [text, setText] = useState(() => JSON.stringify(TEMPLATES[0]!.spec, null, 2));
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const parsed = useMemo((): { spec: Spec | null; error: string | null } => {
    try {
      return { spec: JSON.parse(text) as Spec, error: null };
    } catch (e) {
      return { spec: null, error: `Not JSON: ${(e as Error).message}` };
    }
  }, [text]);
  const spec = parsed.spec ?? {};
  const trainCount = datasets.data?.find(
    (d) => d.id === ((spec.dataset as string) ?? 'builtin:mnist'),
  )?.trainCount;
  const validation = parsed.spec ? validateSpec(parsed.spec, trainCount) : null;
  const set = (path: string[], value: unknown) => {
    const next = structuredClone(spec) as Record<string, unknown>;
    let at = next;
    for (const key of path.slice(0, -1)) {
      at[key] = { ...((at[key] as Record<string, unknown>) ?? {}) };
      at = at[key] as Record<string, unknown>;
    }
    if (value === '' || value === undefined) delete at[path.at(-1)!];
    else at[path.at(-1)!] = value;
    setText(JSON.stringify(next, null, 2));
  };

  const training = spec.training ?? {};
  const augmentation = (training.augmentation as Record<string, unknown> | undefined) ?? {};
  const numberOrEmpty = (v: string) => (v === '' ? '' : Number(v));
  const schedule =
    validation?.ok && trainCount !== undefined ? specScheduleOrNull(spec, trainCount) : null;

  const useTemplate = (id: string) => {
    const t = TEMPLATES.find((x) => x.id === id)!;
    const preferred = t.prefers && datasets.data?.find((d) => t.prefers!.test(d.name));
    setText(
      JSON.stringify({ ...t.spec, ...(preferred ? { dataset: preferred.id } : {}) }, null, 2),
    );
  };

  const create = async () => {
    setBusy(true);
    setSubmitError(null);
    try {
      const r = await client.call('experiments.create', { spec: parsed.spec, start: true });
      go(`experiment/${r.experiment.id}`);
    } catch (e) {
      setSubmitError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>New experiment</h1>
      <div className="templates" role="list" aria-label="Templates">
        {TEMPLATES.map((t) => (
          <button key={t.id} role="listitem" className="template" onClick={() => useTemplate(t.id)}>
            <strong>{t.title}</strong>
            <span>{t.about}</span>
          </button>
        ))}
      </div>
      {/* The fields edit the parsed spec; with the JSON broken they would replace the
          user's text with what they hold, so they wait until it parses again. */}
      {parsed.error && (
        <p className="muted" aria-label="Fields locked">
          The fields are locked while the spec below is not valid JSON: fix it there.
        </p>
      )}
      <fieldset className="form" disabled={parsed.spec === null}>
        <label>
          Name
          <input
            value={(spec.name as string) ?? ''}
            onChange={(e) => set(['name'], e.target.value)}
            placeholder="(from the spec)"
          />
        </label>
        <label>
          Model
          <select
            value={(spec.model as string) ?? ''}
            onChange={(e) => set(['model'], e.target.value)}
          >
            {!MODEL_NAMES.includes(spec.model as never) && (
              <option value={(spec.model as string) ?? ''}>(choose a model)</option>
            )}
            {MODEL_NAMES.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          Dataset
          <select
            value={(spec.dataset as string) ?? 'builtin:mnist'}
            onChange={(e) => set(['dataset'], e.target.value)}
          >
            {(datasets.data ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Method
          <select
            value={(spec.method as string) ?? 'imp'}
            onChange={(e) => set(['method'], e.target.value)}
          >
            {METHODS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          Training length
          <input
            value={(spec.training?.duration as string) ?? ''}
            onChange={(e) => set(['training', 'duration'], e.target.value)}
            placeholder={
              validation?.cost ? `default: ${validation.cost.duration}` : 'e.g. 2000it or 10ep'
            }
            aria-label="Training length"
          />
        </label>
        <label>
          Optimiser
          <select
            value={(training.optimizer as string) ?? 'adam'}
            onChange={(e) => set(['training', 'optimizer'], e.target.value)}
            aria-label="Optimiser"
          >
            <option>adam</option>
            <option>sgd</option>
          </select>
        </label>
        <label>
          Learning rate
          <input
            type="number"
            step="any"
            value={(training.learningRate as number | undefined) ?? ''}
            onChange={(e) => set(['training', 'learningRate'], numberOrEmpty(e.target.value))}
            placeholder="default: 0.0012"
            aria-label="Learning rate"
          />
        </label>
        <label>
          Momentum
          <input
            type="number"
            step="any"
            min={0}
            max={1}
            value={(training.momentum as number | undefined) ?? ''}
            onChange={(e) => set(['training', 'momentum'], numberOrEmpty(e.target.value))}
            placeholder="default: 0"
            aria-label="Momentum"
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={training.nesterov === true}
            onChange={(e) => set(['training', 'nesterov'], e.target.checked || '')}
            aria-label="Nesterov"
          />
          Nesterov
        </label>
        <label>
          Weight decay
          <input
            type="number"
            step="any"
            min={0}
            value={(training.weightDecay as number | undefined) ?? ''}
            onChange={(e) => set(['training', 'weightDecay'], numberOrEmpty(e.target.value))}
            placeholder="default: 0"
            aria-label="Weight decay"
          />
        </label>
        <label>
          Decay
          <select
            value={(training.weightDecayMode as string) ?? 'l2'}
            onChange={(e) => set(['training', 'weightDecayMode'], e.target.value)}
            aria-label="Weight decay mode"
          >
            <option value="l2">L2 (coupled)</option>
            <option value="decoupled">decoupled (AdamW/SGDW)</option>
          </select>
        </label>
        <label>
          Schedule
          <select
            value={(training.schedule as string) ?? 'constant'}
            onChange={(e) => set(['training', 'schedule'], e.target.value)}
            aria-label="Schedule"
          >
            {SCHEDULE_NAMES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Milestones
          <input
            value={((training.milestones as string[] | undefined) ?? []).join(', ')}
            onChange={(e) =>
              set(
                ['training', 'milestones'],
                e.target.value.trim() === '' ? '' : e.target.value.split(',').map((m) => m.trim()),
              )
            }
            placeholder="e.g. 80ep, 120ep or 50%, 75%"
            aria-label="Milestones"
          />
        </label>
        <label>
          Warm-up
          <input
            value={(training.warmup as string) ?? ''}
            onChange={(e) => set(['training', 'warmup'], e.target.value)}
            placeholder="e.g. 500it"
            aria-label="Warm-up"
          />
        </label>
        <label>
          Crop padding
          <input
            type="number"
            min={0}
            value={(augmentation.cropPadding as number | undefined) ?? ''}
            onChange={(e) =>
              set(['training', 'augmentation', 'cropPadding'], numberOrEmpty(e.target.value))
            }
            placeholder="0: no crops"
            aria-label="Crop padding"
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={augmentation.horizontalFlip === true}
            onChange={(e) =>
              set(['training', 'augmentation', 'horizontalFlip'], e.target.checked || '')
            }
            aria-label="Horizontal flip"
          />
          Horizontal flip
        </label>
        <label>
          Pruning levels
          <input
            type="number"
            min={0}
            value={(spec.pruning?.levels as number | undefined) ?? ''}
            onChange={(e) =>
              set(['pruning', 'levels'], e.target.value === '' ? '' : Number(e.target.value))
            }
            aria-label="Pruning levels"
          />
        </label>
      </fieldset>
      <label className="spec-text">
        Spec (JSON; every field of a spec file)
        <textarea
          value={text}
          onChange={(e) => setText(e.target.value)}
          rows={14}
          spellCheck={false}
          aria-label="Spec JSON"
        />
      </label>
      {parsed.error && <p className="error">{parsed.error}</p>}
      {validation && !validation.ok && (
        <ul className="error" aria-label="Spec errors">
          {validation.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
      {validation?.cost && (
        <p className="summary" aria-label="Cost">
          {validation.cost.runs} trainings,{' '}
          {validation.cost.iterations === null
            ? 'iterations counted once the dataset is known'
            : `${validation.cost.iterations.toLocaleString('en')} iterations in all${validation.cost.upperBound ? ' at most (the search stops at its Early-Bird ticket)' : ''}`}
        </p>
      )}
      {schedule && (
        <figure className="lr-plot">
          <figcaption>Learning rate over training ({schedule.total} iterations)</figcaption>
          <LearningRateChart schedule={schedule} />
        </figure>
      )}
      {submitError && <p className="error">{submitError}</p>}
      <button className="primary" disabled={!validation?.ok || busy} onClick={create}>
        Create and start
      </button>
    </section>
  );
}
