import { useState, type ReactNode } from 'react';
import type { MethodOutput } from '../../../src/api/contract.ts';
import { Dialog } from './Dialog.tsx';

type ExportedFile = MethodOutput<'tickets.export'>['files'][number];

type Step =
  | { kind: 'form' }
  | { kind: 'busy' }
  /** the files are there: the user replaces them or picks another name */
  | { kind: 'exists'; message: string }
  | { kind: 'done'; files: ExportedFile[] }
  | { kind: 'failed'; message: string };

/**
 * Export to a path on the machine that runs the core: the format, the path (a default
 * under the data folder's exports, following the format until the user edits it), and
 * when the files are already there, Replace or another name. Models and results alike.
 */
export function ExportDialog({
  title,
  formats,
  defaultPath,
  run,
  onDone,
  onClose,
  children,
}: {
  title: string;
  formats: { value: string; label: string }[];
  defaultPath: (format: string) => string;
  /** the export call; `replace` overwrites what is there */
  run: (format: string, path: string, replace: boolean) => Promise<{ files: ExportedFile[] }>;
  onDone?: (files: ExportedFile[]) => void;
  onClose: () => void;
  /** more options, inside the form */
  children?: ReactNode;
}) {
  const [format, setFormat] = useState(formats[0]!.value);
  const [path, setPath] = useState<string | null>(null); // null: the format's default
  const [step, setStep] = useState<Step>({ kind: 'form' });
  const target = path ?? defaultPath(format);

  const save = async (replace: boolean) => {
    setStep({ kind: 'busy' });
    try {
      const { files } = await run(format, target, replace);
      setStep({ kind: 'done', files });
      onDone?.(files);
    } catch (e) {
      const message = (e as Error).message;
      setStep(
        (e as { code?: string }).code === 'FILE_EXISTS' && !replace
          ? { kind: 'exists', message }
          : { kind: 'failed', message },
      );
    }
  };

  if (step.kind === 'done')
    return (
      <Dialog title={`${title}: saved`} onClose={onClose}>
        <ul className="saved-files" aria-label="Saved files">
          {step.files.map((f) => (
            <li key={f.id}>
              <code>{f.path}</code>
              <div className="muted">
                {f.bytes.toLocaleString()} bytes · sha256 {f.checksum.slice(0, 12)}…
              </div>
            </li>
          ))}
        </ul>
        <div className="dialog-actions">
          <button autoFocus onClick={onClose}>
            Close
          </button>
        </div>
      </Dialog>
    );

  if (step.kind === 'exists')
    return (
      <Dialog title={`${title}: replace?`} onClose={onClose}>
        <p>{step.message}</p>
        <div className="dialog-actions">
          <button autoFocus onClick={() => setStep({ kind: 'form' })}>
            Choose another name
          </button>
          <button className="danger" onClick={() => void save(true)}>
            Replace
          </button>
        </div>
      </Dialog>
    );

  return (
    <Dialog title={title} onClose={onClose}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void save(false);
        }}
      >
        <label>
          Format
          <select value={format} onChange={(e) => setFormat(e.target.value)} autoFocus>
            {formats.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        {children}
        <label>
          Save to (a path on the machine running TicketLab)
          <input value={target} onChange={(e) => setPath(e.target.value)} spellCheck={false} />
        </label>
        {step.kind === 'failed' && (
          <p className="error" role="alert">
            Export failed: {step.message}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={step.kind === 'busy' || !target}>
            {step.kind === 'busy' ? 'Exporting…' : 'Export'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
