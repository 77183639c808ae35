import { useEffect, useState } from 'react';
import type { MethodInput, MethodOutput } from '../../../src/api/contract.ts';
import { useClient, useLoad } from '../hooks.ts';
import { targetLabel } from '../lib/format.ts';

type Target = MethodOutput<'settings.get'>['computeTarget'];
type SlurmInput = Extract<MethodInput<'settings.set'>['computeTarget'], { kind: 'slurm' }>;

/** The Slurm fields the form edits, as text (empty: the cluster's or the partition's default). */
interface SlurmFields {
  partition: string;
  account: string;
  timeLimit: string;
  cpusPerTask: string;
  memory: string;
  gpus: string;
}

function fieldsOf(t: Target | undefined): SlurmFields {
  const s = t?.kind === 'slurm' ? t : null;
  return {
    partition: s?.partition ?? '',
    account: s?.account ?? '',
    timeLimit: s?.timeLimit ?? '',
    cpusPerTask: String(s?.cpusPerTask ?? 1),
    memory: s?.memory ?? '',
    gpus: String(s?.gpus ?? 0),
  };
}

/**
 * A Slurm target from the form; the contract checks it. Fields the form does not edit
 * (gpuType, warnSeconds, extraSbatch, command) keep the values the data folder has.
 */
function slurmTarget(f: SlurmFields, current: Target | undefined): SlurmInput {
  const kept = current?.kind === 'slurm' ? current : {};
  const text = (v: string) => (v.trim() === '' ? undefined : v.trim());
  return {
    ...kept,
    kind: 'slurm',
    partition: text(f.partition),
    account: text(f.account),
    timeLimit: text(f.timeLimit),
    cpusPerTask: Number(f.cpusPerTask),
    memory: text(f.memory),
    gpus: Number(f.gpus),
  };
}

const SLURM_LABELS: [keyof SlurmFields, string, string][] = [
  ['partition', 'Partition', "the cluster's default"],
  ['account', 'Account', "the cluster's default"],
  ['timeLimit', 'Time limit', "the partition's, e.g. 04:00:00"],
  ['cpusPerTask', 'CPUs per job', ''],
  ['memory', 'Memory per job', "the cluster's default, e.g. 8G"],
  ['gpus', 'GPUs per job', ''],
];

/**
 * Where this data folder's sweeps and cluster analyses run (`ticketlab target`): this
 * machine's workers, or a Slurm cluster reached from this host (docs/cluster.md).
 */
function ComputeTargetSection() {
  const client = useClient();
  const settings = useLoad((c) => c.call('settings.get', {}), []);
  const current = settings.data?.computeTarget;
  const [kind, setKind] = useState<'local' | 'slurm'>('local');
  const [fields, setFields] = useState<SlurmFields>(fieldsOf(undefined));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!current) return;
    setKind(current.kind);
    setFields(fieldsOf(current));
  }, [current]);
  const save = async () => {
    setError(null);
    setSaved(false);
    try {
      await client.call('settings.set', {
        computeTarget: kind === 'local' ? { kind: 'local' } : slurmTarget(fields, current),
      });
      setSaved(true);
      settings.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <>
      <h2>Compute target</h2>
      <p className="muted">
        Where sweeps without a target of their own run, and the cluster an instability analysis may
        be sent to. Now: {current ? targetLabel(current) : '…'}.
      </p>
      <div className="form">
        <label>
          Runs on
          <select
            value={kind}
            onChange={(e) => setKind(e.target.value as 'local' | 'slurm')}
            aria-label="Compute target"
          >
            <option value="local">this machine</option>
            <option value="slurm">a Slurm cluster</option>
          </select>
        </label>
        {kind === 'slurm' &&
          SLURM_LABELS.map(([key, label, placeholder]) => (
            <label key={key}>
              {label}
              <input
                value={fields[key]}
                placeholder={placeholder}
                onChange={(e) => setFields({ ...fields, [key]: e.target.value })}
                aria-label={label}
              />
            </label>
          ))}
      </div>
      {error && <p className="error">{error}</p>}
      {saved && <p className="muted">Saved.</p>}
      <button onClick={save}>Save compute target</button>
    </>
  );
}

export function SettingsPage() {
  const info = useLoad((c) => c.call('system.info', {}), []);
  if (info.error) return <p className="error">{info.error}</p>;
  const i = info.data;
  return (
    <section>
      <h1>Settings and about</h1>
      {i && (
        <dl className="facts">
          <dt>Compute backend</dt>
          <dd>{i.backend ?? 'not started yet (starts with the first job)'}</dd>
          <dt>Device</dt>
          <dd>{i.device ?? '–'}</dd>
          <dt>Data folder</dt>
          <dd>{i.dataDir}</dd>
          {Object.entries(i.versions).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
      <ComputeTargetSection />
    </section>
  );
}
