/**
 * The raw results BENCHMARKS.md is generated from (`npm run bench:report`): every benchmark
 * that BENCHMARKS.md cites writes its measurements under bench/records/ (tracked), with the
 * command, the machine, the versions and the date, so that anyone can check a table or redraw
 * a plot from the repository alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { cpuDescription } from '../src/core/cpu.ts';

export const RECORDS = join(import.meta.dirname, 'records');

/** Where a measurement ran. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
}

/** The real datasets beside the checkout (../shared/datasets), where CI puts them. */
export const SHARED_DATASETS = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');

/** A `--dataset` option's folder, else the named folder of the shared datasets. */
export function datasetFolder(given: string | true | undefined, shared: string): string {
  return resolve(typeof given === 'string' ? given : join(SHARED_DATASETS, shared));
}

export function thisMachine(): Machine {
  return {
    cpu: cpuDescription(),
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

/** What produced a measurement: TicketLab's version and commit (marked when uncommitted changes were present). */
export interface Versions {
  ticketlab: string;
  commit: string | null;
  dirty: boolean;
}

/**
 * Where a new record of `kind` goes: bench/records/<kind>-<date to the minute, UTC>.<ext>,
 * the folder made where it is missing (a packed tree).
 */
export function recordPath(kind: string, isoDate: string, ext = 'json'): string {
  mkdirSync(RECORDS, { recursive: true });
  return join(RECORDS, `${kind}-${isoDate.slice(0, 16).replace(':', '')}.${ext}`);
}

/**
 * Writes a bench's result to bench/results/<name>.json and, where `record` is given, the
 * same text as its record bench/records/<kind>-<date>.json, saying where.
 */
export function saveResult(
  name: string,
  text: string,
  record?: { kind: string; date: string },
): void {
  const results = join(import.meta.dirname, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, `${name}.json`), text);
  if (!record) return;
  const file = recordPath(record.kind, record.date);
  writeFileSync(file, text);
  process.stdout.write(`recorded: ${file}\n`);
}

/**
 * The log10 compressions a bench:collapse record's masks are cut at: `from` to `to` in
 * steps of `step`, from the options `--from`, `--to` and `--step` (defaults as given).
 */
export function compressionGrid(
  options: Map<string, string | true>,
  defaults: { from: number; to: number; step: number },
): number[] {
  const number = (key: 'from' | 'to' | 'step') => Number(options.get(key) ?? defaults[key]);
  const [from, to, step] = [number('from'), number('to'), number('step')];
  if (!(from > 0 && to >= from && step > 0))
    throw new Error('--from, --to and --step: log10 compressions with 0 < from ≤ to, step > 0');
  return Array.from({ length: Math.floor((to - from) / step + 1e-9) + 1 }, (_, i) =>
    Number((from + i * step).toFixed(6)),
  );
}

/** `commit abc1234`, marked where the tree had uncommitted changes. */
export function commitOf(v: Versions): string {
  return `commit ${shortCommit(v)}`;
}

/** The commit's short hash, marked where the tree had uncommitted changes. */
export function shortCommit(v: Versions): string {
  return `${(v.commit ?? '?').slice(0, 7)}${v.dirty ? ' (with uncommitted changes)' : ''}`;
}

/** Tracked paths that hold results, not code: what `dirty` leaves out. */
export const RESULT_PATHS = ['bench/records', 'BENCHMARKS.md', 'docs/plots'];

/**
 * The version and commit of the tree this benchmark runs from. `dirty` means uncommitted
 * changes outside RESULT_PATHS. A packed copy without .git (scripts/gpu-check.sh's) names its
 * commit in a COMMIT file beside package.json: the hash, then "dirty" where the packed tree
 * had uncommitted changes.
 */
export function theseVersions(root = join(import.meta.dirname, '..')): Versions {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const packed = join(root, 'COMMIT');
  if (existsSync(packed)) {
    const [commit, dirty] = readFileSync(packed, 'utf8').trim().split(/\s+/);
    return { ticketlab: pkg.version, commit: commit ?? null, dirty: dirty === 'dirty' };
  }
  const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  // Results are not code: records, and the tables and plots generated from them, left
  // uncommitted between two runs would otherwise mark the second run's code as changed.
  const status = git(
    'status',
    '--porcelain',
    '--untracked-files=no',
    '--',
    '.',
    ...RESULT_PATHS.map((path) => `:(exclude)${path}`),
  );
  return {
    ticketlab: pkg.version,
    commit: head.status === 0 ? head.stdout.trim() : null,
    dirty: status.status === 0 && status.stdout.trim().length > 0,
  };
}

/**
 * A bench:engine row's label: `wasm <variant>, <state>`, or `wasm <variant> at <n> thread,
 * <state>` for a measurement at fewer threads than the machine's cores.
 */
export function engineLabel(variant: string, state: string, threads?: number): string {
  return `wasm ${variant}${threads ? ` at ${threads} thread` : ''}, ${state}`;
}

/** engineLabel's parts, or null for another row (PyTorch's, the cpu backend's). */
export function parseEngineLabel(
  label: string,
): { variant: string; state: string; threads: number | null } | null {
  const m = /^wasm (\S+)(?: at (\d+) thread)?, (.+)$/.exec(label);
  return m ? { variant: m[1]!, state: m[3]!, threads: m[2] ? Number(m[2]) : null } : null;
}

/** What `npm run bench:engine -- --record` writes (bench/engine.ts), as its readers use it. */
export interface EngineRecord {
  date: string;
  command: string;
  cpu: string;
  cores: number;
  /** one per engine and model: `label` is e.g. `wasm default, onednn` */
  rows: { label: string; model: string; samples: number[]; engine: string }[];
  ratios: Record<string, number[]>;
  loads: { round: number; loadavg: number[] }[];
  quickstartSeconds?: Record<string, { seconds: number }[]>;
}

/** Where bench:gpu's samples/s come from: our engine on a backend, or PyTorch. */
export type GpuBackend = 'webgpu' | 'wasm' | 'torch-cuda' | 'torch-cpu';

/** One model on one backend: samples/s of each round, or null and why not in `device`. */
export interface GpuRow {
  model: string;
  backend: GpuBackend;
  samples: number[] | null;
  /** the backend's own description (adapter and driver, CPU kernels, PyTorch's device) */
  device: string;
}

/** What `npm run bench:gpu -- --record` writes (bench/gpu.ts). */
export interface GpuRecord {
  date: string;
  command: string;
  machine: Machine;
  versions: Versions;
  batch: number;
  /** timed steps per round, after `warmupSteps` untimed ones */
  steps: number;
  warmupSteps: number;
  rows: GpuRow[];
}

/** The median (of an even count, the mean of the middle two). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The command line as a user would type it again. */
export function thisCommand(script: string): string {
  const args = process.argv.slice(2);
  return `npm run ${script}${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
}
