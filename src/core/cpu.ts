import { readFileSync } from 'node:fs';
import { cpus, platform } from 'node:os';

/**
 * The CPU as records and reports name it: its model name, and on Linux its family, model
 * and widest vector extension from /proc/cpuinfo. Cloud machines often report only a
 * generic name ("AMD EPYC", "Intel(R) Xeon(R) Processor") for CPUs generations apart — a
 * Zen 3 without AVX-512 and a Zen 4 with it train the same network at different speeds —
 * so the name alone cannot tell whether two measurements ran on the same kind of machine.
 */
export function cpuDescription(): string {
  const model = cpus()[0]?.model.trim() || 'unknown CPU';
  if (platform() !== 'linux') return model;
  try {
    return describeCpu(model, readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return model; // no /proc (a container without it): the name is all there is
  }
}

/** A machine as records and reports name it: its cores and their CPU, "2 × AMD EPYC (…)". */
export const describeMachine = ({ cores, cpu }: { cores: number; cpu: string }): string =>
  `${cores} × ${cpu}`;

/** This machine, named as {@link describeMachine} names one. */
export const machineDescription = (): string =>
  describeMachine({ cores: cpus().length, cpu: cpuDescription() });

/** `model` with the family, model and vector extension of the first processor in `cpuinfo`. */
export function describeCpu(model: string, cpuinfo: string): string {
  const first = cpuinfo.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) =>
    new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim() || undefined;
  const family = field('cpu family');
  const number = field('model');
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const vector = flags.has('avx512f')
    ? 'AVX-512'
    : flags.has('avx2')
      ? 'AVX2'
      : flags.has('avx')
        ? 'AVX'
        : undefined;
  const details = [
    family !== undefined && number !== undefined ? `family ${family} model ${number}` : undefined,
    vector,
  ].filter((d) => d !== undefined);
  return details.length ? `${model} (${details.join(', ')})` : model;
}
