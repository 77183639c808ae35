import type { MethodOutput } from '../../../src/api/contract.ts';

export const pct = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`;

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/**
 * A run's kernel threads, span by span: "2", or "2 (steps 1–57), then 1 (from step 58)" where
 * the scheduler changed them while it trained.
 */
export function threadSpans(spans: MethodOutput<'tickets.get'>['ticket']['kernelThreads']): string {
  if (!spans || spans.length === 0) return 'not recorded';
  if (spans.length === 1) return String(spans[0]!.threads);
  return spans
    .map((s, i) => {
      const next = spans[i + 1];
      if (!next) return `${s.threads} (from step ${s.fromIteration})`;
      const to = next.fromIteration - 1;
      const steps = to === s.fromIteration ? `step ${to}` : `steps ${s.fromIteration}–${to}`;
      return `${s.threads} (${steps})`;
    })
    .join(', then ');
}

// one formatter for every date shown: toLocaleString with options builds a new one per call,
// which a scrolled list of thousands of rows paid on every frame
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });
export const when = (iso: string) => DATE_TIME.format(new Date(iso));

/** Saves text or a blob as a file the browser downloads. */
export function download(name: string, data: string | Blob, type = 'text/plain') {
  const blob = typeof data === 'string' ? new Blob([data], { type }) : data;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** What a job does, as people say it (vocabulary JOB_KINDS). */
const JOB_KIND_LABELS: Record<string, string> = {
  imp: 'Training',
  instability: 'Instability analysis',
};

export const jobKindLabel = (kind: string) => JOB_KIND_LABELS[kind] ?? kind;

/** A job as people name it: what it does, and for which experiment ("Training · LeNet IMP"). */
export const jobLabel = (j: { kind: string; experimentName: string }) =>
  `${jobKindLabel(j.kind)} · ${j.experimentName}`;

/** A ticket as people name it: its experiment, level and the weights it keeps. */
export const ticketLabel = (
  experimentName: string,
  t: { method: string; level: number; remainingWeights: number },
) => `${experimentName} · ${t.method} level ${t.level} · ${pct(t.remainingWeights)} of weights`;

/** A name made safe and readable as a file name ("LeNet IMP on MNIST" → "lenet-imp-on-mnist"). */
export const fileName = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80) || 'export';

/** Where jobs run: this machine's workers, or a Slurm cluster (and its partition). */
export function targetLabel(t: { kind: string; partition?: string | null }): string {
  return t.kind === 'slurm' ? `Slurm${t.partition ? ` (${t.partition})` : ''}` : 'this machine';
}
