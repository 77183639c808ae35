/**
 * Generates BENCHMARKS.md's tables from the raw results in bench/records/, so that prose and
 * numbers cannot drift apart:
 *
 *   npm run bench:report            # rewrites every generated block of BENCHMARKS.md
 *   npm run bench:report -- --check # exits 1 when a block differs from what the records give
 *
 * A generated block sits between `<!-- report: KIND NAME -->` and `<!-- /report -->`:
 * `campaign <part>` tabulates every record of that campaign part (bench/campaign.ts), one
 * table per budget; `plan <engine record>` estimates every part's cost from the speeds of
 * that bench:engine record (and older ones for models it lacks); `engine <record>` tabulates a
 * bench:engine record; `ui <record>` a bench:ui record; `grasp <record>` a bench:grasp record
 * (GraSP's masks at initialisation); `collapse <record>[,<record>…]` bench:collapse records
 * (layer collapse), one table. Everything outside
 * the blocks is prose, written by hand. test/bench/report.test.ts holds that the committed
 * BENCHMARKS.md equals what this produces.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { describeMachine } from '../src/core/cpu.ts';
import { isoMinute } from '../src/core/timestamp.ts';
import {
  isGateMethod,
  METHOD_NAMES,
  STRUCTURED_METHOD_FIELDS,
  structuredLevelValue,
  type ScoringIteration,
  type ScoringStatistics,
  type StructuredName,
} from '../src/core/vocabulary.ts';
import { buildArchitecture, type ModelName } from '../src/engine/architectures.ts';
import { workerThreads } from '../src/engine/native-blas.ts';
import { findPart, PARTS, type CampaignPart, type TableKind } from './campaign/parts.ts';
import {
  datasetSize,
  describeSpeed,
  formatHours,
  planPart,
  planTotals,
  readCompactedSpeedups,
  readEngineSpeeds,
} from './campaign/plan.ts';
import { campaignPlots } from './campaign/plots.ts';
import { inputReachesOutput } from './layer-path.ts';
import {
  analysedTicket,
  budgetName,
  byAnalysedTicket,
  denseAccuracyPerSeed,
  readCampaign,
  transferComparisons,
  type CampaignRecord,
  type InstabilityRecord,
  type TicketRecord,
} from './campaign/record.ts';
import {
  commitOf,
  shortCommit,
  median,
  parseEngineLabel,
  RECORDS,
  type EngineRecord,
  type GpuBackend,
  type GpuRecord,
  type Machine,
  type Versions,
} from './records.ts';

export const BENCHMARKS = join(import.meta.dirname, '..', 'BENCHMARKS.md');
const BLOCK = /<!-- report: (\S+) (\S+) -->\n[\s\S]*?<!-- \/report -->/g;

/**
 * BENCHMARKS.md with every generated block rendered from `records`, formatted as prettier
 * formats the rest of the repository (`npm test` checks the format).
 */
export async function renderBenchmarks(markdown: string, records = RECORDS): Promise<string> {
  const rendered = markdown.replace(
    BLOCK,
    (_, kind: string, name: string) =>
      `<!-- report: ${kind} ${name} -->\n${renderBlock(kind, name, records).join('\n')}\n<!-- /report -->`,
  );
  const options = (await prettier.resolveConfig(BENCHMARKS)) ?? {};
  return prettier.format(rendered, { ...options, filepath: BENCHMARKS });
}

function renderBlock(kind: string, name: string, records: string): string[] {
  if (kind === 'campaign') return campaignTables(findPart(name), readCampaign(records, name));
  if (kind === 'plan') return planTable(name, records);
  const record = (file = name) => readJson(join(records, `${file}.json`));
  if (kind === 'engine') return engineTable(record() as EngineRecord);
  if (kind === 'input') return inputTables(record() as InputRecord);
  if (kind === 'cluster') return clusterTable(record() as ClusterRecord);
  if (kind === 'ui') return uiTable(record() as UiRecord);
  if (kind === 'grasp') return graspTable(record() as GraspRecord);
  if (kind === 'gpu') return gpuTable(record() as GpuRecord);
  if (kind === 'collapse')
    // several records, comma-separated: a later one extends some scores' grid
    return collapseTable(name.split(',').map((file) => record(file) as CollapseRecord));
  throw new Error(
    `BENCHMARKS.md names an unknown report kind "${kind}" (campaign, plan, engine, input, cluster, ui, grasp, gpu, collapse)`,
  );
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new Error(`BENCHMARKS.md cites ${file}, which does not exist`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

// ── statistics over seeds ──

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (x * 100).toFixed(2);
const int = (x: number) => Math.round(x).toLocaleString('en-US');

/** mean (min–max) over seeds, in %, with the count when seeds are missing. */
function spread(xs: number[], seeds: number): string {
  if (xs.length === 0) return '–';
  const n = xs.length < seeds ? ` n=${xs.length}` : '';
  if (xs.length === 1) return `${pct(xs[0]!)}${n}`;
  return `${pct(mean(xs))} (${pct(Math.min(...xs))}–${pct(Math.max(...xs))})${n}`;
}

/**
 * How `a` stands against `b` over seeds: better or worse only when their ranges do not
 * overlap; a difference inside the seed spread is a tie (and one seed decides nothing).
 */
export function compare(a: number[], b: number[]): 'better' | 'worse' | 'tie' | '–' {
  if (a.length < 2 || b.length < 2) return '–';
  if (Math.min(...a) > Math.max(...b)) return 'better';
  if (Math.max(...a) < Math.min(...b)) return 'worse';
  return 'tie';
}

// ── campaign parts ──

const accuracies = (tickets: TicketRecord[]) =>
  tickets.map((t) => t.testAccuracy).filter((a): a is number => a !== null);

/** Records of one budget: the same spec apart from the seed. */
function budgetKey(r: CampaignRecord): string {
  return JSON.stringify({ label: r.label, dataset: r.dataset.id, spec: comparableSpec(r.spec) });
}

/**
 * A record's spec without its seed and name, and without the sections of other methods:
 * each method but IMP has a section of its own name that it alone reads, so the others are
 * defaults the experiment never reads, which grow fields between records (pai's `iterative`
 * came after the first IMP records).
 */
function comparableSpec(spec: Record<string, unknown>): Record<string, unknown> {
  const unread = METHOD_NAMES.filter((method) => method !== spec.method);
  return {
    ...spec,
    seed: undefined,
    name: undefined,
    ...Object.fromEntries(unread.map((method) => [method, undefined])),
  };
}

/**
 * Where a record's experiment trained: its machine, or a cluster's nodes (each job's cores)
 * with the host that submitted them.
 */
function trainedOn(r: CampaignRecord): string {
  const here = describeMachine(r.machine);
  if (!r.cluster) return here;
  const { target, nodes } = r.cluster;
  const where = `Slurm${target.partition ? ` partition ${target.partition}` : ''}`;
  const on = [...new Set(nodes.map(describeMachine))].join(' and ');
  return `${where} (${on || 'nodes not reported'} per job; submitted from ${here})`;
}

function describeBudget(part: CampaignPart, group: CampaignRecord[]): string {
  const first = group[0]!;
  const spec = first.spec as {
    training: { duration: string };
    pruning: { levels: number; rewind: string };
    structured: { fineTune: string };
  };
  const datasets = [...new Map(group.map((r) => [r.dataset.folder, r.dataset])).values()];
  const seeds = [...new Set(group.map((r) => r.seed))].sort((a, b) => a - b);
  const dates = group.map((r) => r.date.slice(0, 10)).sort();
  const machines = [...new Set(group.map(trainedOn))];
  // each commit marked where it ran with uncommitted changes, not the list as a whole
  const commits = [...new Set(group.map((r) => shortCommit(r.versions)))];
  return [
    `${datasets.map((d) => `${d.folder} (${int(d.train)} training / ${int(d.test)} test images)`).join(', ')};`,
    `${spec.training.duration} per training${levelsAndRewind(part.table, spec.pruning)}${part.table === 'structured' ? `, ${spec.structured.fineTune} of retraining per compacted model` : ''};`,
    `${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds.join(', ')});`,
    `paper: ${part.paperBudget}.`,
    `Recorded ${dates[0]}${dates.at(-1) !== dates[0] ? ` to ${dates.at(-1)}` : ''} on ${machines.join(', ')},`,
    `commit ${commits.join(', ')}; training, the experiments' jobs summed: ${trainingTime(group)};`,
    `${[...new Set([...group].sort((a, b) => a.date.localeCompare(b.date)).map((r) => `\`${r.command}\``))].join(', then ')}.`,
  ].join(' ');
}

/** An IMP or transfer table's levels, and where its survivors were rewound to unless θ0. */
function levelsAndRewind(table: TableKind, pruning: { levels: number; rewind: string }): string {
  if (table !== 'imp' && table !== 'transfer') return '';
  const levels = `, ${pruning.levels} level${pruning.levels === 1 ? '' : 's'}`;
  return table === 'transfer' || pruning.rewind !== '0it'
    ? `${levels}, rewound to ${pruning.rewind}`
    : levels;
}

/**
 * The experiments' training time, summed over their jobs: estimated before they ran (the plan
 * each record keeps) and measured (every ticket's training wall time, and the instability
 * analyses' jobs where a part has them).
 */
function trainingTime(group: CampaignRecord[]): string {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  // a reused dense network trained once, in the experiment it was copied from
  const tickets = sum(
    group.flatMap((r) => r.tickets.map((t) => (t.reused ? 0 : (t.wallTimeMs ?? 0)))),
  );
  const analyses = sum(group.map((r) => r.instabilityWallMs ?? 0));
  const unmeasured = group.filter((r) => r.instability && r.instabilityWallMs == null).length;
  const estimates = group.flatMap((r) => (r.estimate ? [r.estimate.hours] : []));
  const estimated =
    estimates.length === 0
      ? 'no estimate recorded'
      : `estimated ${formatHours(sum(estimates))}${estimates.length < group.length ? ` (${estimates.length} of ${group.length} experiments)` : ''}`;
  const withAnalyses = group.some((r) => r.instability)
    ? ` (${formatHours(analyses / 3_600_000)} of it the instability analyses${unmeasured > 0 ? `, without ${unmeasured} experiment${unmeasured === 1 ? "'s" : "s'"} analyses, whose time was not measured whole` : ''})`
    : '';
  // the estimate prices each job at its share of the cores; a job left running alone took more
  const shared = group.filter((r) => r.estimate?.workers?.sharesCores).length;
  const sharing =
    shared === 0
      ? ''
      : `; ${shared} of ${group.length} experiments ran where the scheduler gives a job the cores that fewer jobs beside it leave free, which the estimate does not count`;
  return `${estimated}, measured ${formatHours((tickets + analyses) / 3_600_000)}${withAnalyses}${sharing}${threadsOf(group)}`;
}

/**
 * The kernel threads the trainings took, from the records that hold them (from 2026-12-08
 * on): how many kept one count throughout, by count, and how many the scheduler changed.
 */
function threadsOf(group: CampaignRecord[]): string {
  const trained = group.flatMap((r) => r.tickets.filter((t) => !t.reused));
  const recorded = trained.flatMap((t) => (t.kernelThreads ? [t.kernelThreads] : []));
  if (recorded.length === 0) return '';
  const throughout = new Map<number, number>();
  for (const spans of recorded)
    if (spans.length === 1)
      throughout.set(spans[0]!.threads, (throughout.get(spans[0]!.threads) ?? 0) + 1);
  const changed = recorded.filter((spans) => spans.length > 1).length;
  const counts = [
    ...[...throughout]
      .sort(([a], [b]) => a - b)
      .map(([threads, n]) => `${n} on ${threads} thread${threads === 1 ? '' : 's'} throughout`),
    ...(changed > 0
      ? [
          `${changed} on threads the scheduler changed while ${changed === 1 ? 'it' : 'they'} trained`,
        ]
      : []),
  ];
  return `; kernel threads recorded for ${recorded.length} of ${trained.length} trainings: ${counts.join(', ')}`;
}

/** The records grouped by `key` (of one budget, by default), in the order first met. */
function groups(
  records: CampaignRecord[],
  key: (r: CampaignRecord) => string = budgetKey,
): CampaignRecord[][] {
  const byKey = new Map<string, CampaignRecord[]>();
  for (const r of records) byKey.set(key(r), [...(byKey.get(key(r)) ?? []), r]);
  return [...byKey.values()];
}

function campaignTables(part: CampaignPart, records: CampaignRecord[]): string[] {
  if (records.length === 0)
    return [`Not run yet: \`npm run bench:campaign -- --part ${part.name}\`.`];
  const lines: string[] = [];
  if (part.table === 'transfer') {
    // one table per budget of the experiments the tickets come from, with their transfers
    const sources = records.filter((r) => !r.transfer);
    const bySpec = (r: CampaignRecord) =>
      JSON.stringify({ ...comparableSpec(r.spec), dataset: undefined });
    for (const group of groups(sources, bySpec)) {
      const hashes = new Set(group.map((r) => r.specHash));
      const transfers = records.filter((r) => r.transfer && hashes.has(r.transfer.specHash));
      lines.push(...transferTable(part, group, transfers), '');
    }
  } else if (part.table === 'imp') {
    for (const group of groups(records)) {
      lines.push(...impTable(part, group), '');
      if (group.some((r) => r.instability)) lines.push(...instabilityTable(group), '');
    }
  } else if (part.table === 'structured') {
    // one table per budget: the labels (early-bird against full-training) side by side, and
    // the same experiment recorded before and after a default it never reads had changed
    const sansLabel = (r: CampaignRecord) => {
      const all = r.spec.structured as Record<string, unknown> & { method: StructuredName };
      const read = ['method', 'fineTune', 'latencyRuns', ...STRUCTURED_METHOD_FIELDS[all.method]];
      const structured = Object.fromEntries(
        read.filter((k) => k !== 'earlyBird' && k in all).map((k) => [k, all[k]]),
      );
      return budgetKey({ ...r, label: '', spec: { ...r.spec, structured } });
    };
    for (const group of groups(records, sansLabel)) lines.push(...structuredTable(part, group), '');
  } else {
    // a scores table compares the labels (scores) of one budget, so group without the label
    // and its score, but apart where the compressions differ; the tables go from the least
    // compressed grid to the most
    const compressionsOf = (r: CampaignRecord) =>
      (r.spec.pai as { compressions: number[] }).compressions;
    const sansLabel = (r: CampaignRecord) =>
      budgetKey({ ...r, label: '', spec: { ...r.spec, pai: { compressions: compressionsOf(r) } } });
    const least = (group: CampaignRecord[]) => Math.min(...compressionsOf(group[0]!));
    for (const group of groups(records, sansLabel).sort((a, b) => least(a) - least(b)))
      lines.push(...scoresTable(part, group), '');
  }
  const plots = campaignPlots(part, records).map((p) => `[${p.file}](docs/plots/${p.file})`);
  if (plots.length === 0) return lines.slice(0, -1);
  lines.push(`Plots (\`npm run bench:plots\`, every record of the part): ${plots.join(', ')}.`);
  return lines;
}

/** A table column: its header and each level's cell. */
interface Column {
  header: string;
  cell: (level: number) => string;
}

function impTable(part: CampaignPart, group: CampaignRecord[]): string[] {
  const seeds = new Set(group.map((r) => r.seed)).size;
  const tickets = group.flatMap((r) => r.tickets);
  const at = (level: number, method: string) =>
    tickets.filter((t) => t.level === level && t.method === method);
  const levels = Math.max(...tickets.map((t) => t.level));
  const meanStop = (ts: TicketRecord[]) => {
    const stops = ts.map((t) => t.earlyStopIteration).filter((s): s is number => s !== null);
    return stops.length ? int(mean(stops)) : '–';
  };
  const ticket = (level: number) => at(level, level === 0 ? 'dense' : 'imp');
  const dense = accuracies(at(0, 'dense'));
  const versus = (other: (level: number) => number[]) => (level: number) =>
    level === 0 ? '' : compare(accuracies(ticket(level)), other(level));
  const reinit = (level: number) => at(level, 'random-reinit');
  const prune = (level: number) => accuracies(at(level, 'random-prune'));
  // a part without controls (the instability part) has no columns for them
  const controls = {
    reinit: tickets.some((t) => t.method === 'random-reinit'),
    prune: tickets.some((t) => t.method === 'random-prune'),
  };
  const columns: Column[] = [
    { header: 'level', cell: (level) => String(level) },
    {
      header: 'remaining',
      cell: (level) => `${pct(mean(ticket(level).map((t) => t.remainingWeights)))}%`,
    },
    { header: 'ticket', cell: (level) => spread(accuracies(ticket(level)), seeds) },
    { header: 'early stop', cell: (level) => meanStop(ticket(level)) },
    ...(controls.reinit
      ? [
          { header: 'random re-init', cell: (l: number) => spread(accuracies(reinit(l)), seeds) },
          {
            header: 'early stop, re-init',
            cell: (l: number) => (reinit(l).length ? meanStop(reinit(l)) : '–'),
          },
        ]
      : []),
    ...(controls.prune
      ? [{ header: 'random pruning', cell: (l: number) => spread(prune(l), seeds) }]
      : []),
    { header: 'vs dense', cell: versus(() => dense) },
    ...(controls.reinit
      ? [{ header: 'vs re-init', cell: versus((l) => accuracies(reinit(l))) }]
      : []),
    ...(controls.prune ? [{ header: 'vs random pruning', cell: versus(prune) }] : []),
  ];
  const against = [
    'the dense network (level 0)',
    ...(controls.reinit || controls.prune ? ['each control'] : []),
  ].join(' and ');
  const lines = [
    `**${group[0]!.label}**: ${describeBudget(part, group)}`,
    '',
    `Test accuracy at early stop, % — mean (min–max) over seeds; early stop: the mean iteration of minimum validation loss${controls.reinit ? ', of the ticket and of its random re-initialisation' : ''}; "vs": the ticket against ${against}, a tie when the ranges overlap.`,
    '',
    `| ${columns.map((c) => c.header).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
  ];
  for (let level = 0; level <= levels; level++) {
    if (ticket(level).length === 0) continue;
    lines.push(`| ${columns.map((c) => c.cell(level)).join(' | ')} |`);
  }
  return lines;
}

/** The error barrier under which the paper calls a network stable to SGD noise (Frankle et al. 2020). */
export const STABLE_BARRIER = 0.02;

/**
 * The instability analyses of one budget's records: per analysed ticket and rewind point k,
 * the error barrier and the copies' accuracy over seeds, and whether it is stable.
 */
function instabilityTable(group: CampaignRecord[]): string[] {
  const analyses = group.flatMap((r) => r.instability ?? []);
  const seeds = group.filter((r) => r.instability).length;
  const key = (a: InstabilityRecord) => `${a.level} ${a.method} ${a.rewindIteration}`;
  const rows = [...new Map(analyses.map((a) => [key(a), a])).values()]
    .sort((a, b) => byAnalysedTicket(a, b) || a.rewindIteration - b.rewindIteration)
    .map((first) => analyses.filter((a) => key(a) === key(first)));
  const points = (xs: number[]) =>
    xs.length === 1
      ? (xs[0]! * 100).toFixed(2)
      : `${(mean(xs) * 100).toFixed(2)} (${(Math.min(...xs) * 100).toFixed(2)}–${(Math.max(...xs) * 100).toFixed(2)})`;
  const lines = [
    `Instability analysis (Frankle et al. 2020), ${seeds} seed${seeds === 1 ? '' : 's'}: for each ticket and rewind point k, two copies trained from θ_k (θ0 at k = 0, a random re-initialisation's own; otherwise the dense network retrained from θ0 to k, "recomputed", or the experiment's own stored θ_k) with different batch orders to the end of training. Error barrier: the highest test error at ${analyses[0]?.points ?? 30} evenly spaced points on the line between the two copies, minus the mean of its two ends, in points — mean (min–max) over seeds; stable where it is under ${STABLE_BARRIER * 100} points, as the paper counts it. Copies: their test accuracy at the end of training, %, both copies of every seed.`,
    '',
    '| ticket | remaining | k | θ_k | error barrier, points | copies | stable |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const first = row[0]!;
    const barriers = row.map((a) => a.barrier);
    const ends = row.flatMap((a) => [1 - a.curve[0]!.testError, 1 - a.curve.at(-1)!.testError]);
    const stable = barriers.filter((b) => b < STABLE_BARRIER).length;
    lines.push(
      `| ${analysedTicket(first)} | ${pct(first.remainingWeights)}% | ${int(first.rewindIteration)} | ${[...new Set(row.map((a) => a.thetaK ?? '–'))].join(', ')} | ${points(barriers)} | ${spread(ends, ends.length)} | ${stable === row.length ? 'yes' : stable === 0 ? 'no' : `${stable} of ${row.length} seeds`} |`,
    );
  }
  return lines;
}

function scoresTable(part: CampaignPart, group: CampaignRecord[]): string[] {
  const seeds = new Set(group.map((r) => r.seed)).size;
  const labels = [...new Set(group.map((r) => r.label))];
  const at = (label: string, level: number) =>
    group
      .filter((r) => r.label === label)
      .flatMap((r) => r.tickets.filter((t) => t.level === level));
  const levels = Math.max(...group.flatMap((r) => r.tickets.map((t) => t.level)));
  const { compressions } = group[0]!.spec.pai as { compressions: number[] };
  const unrun = part.experiments(0, '', {}).filter((e) => !labels.includes(e.label));
  const lines = [
    `${describeBudget(part, group)} ${compressions.length === 1 ? 'Level 1' : `Levels 1 to ${compressions.length}`}: compression ${compressions.map((c) => `10^${c}`).join(', ')}${unrun.length ? `; not run at this budget: ${unrun.map((e) => e.label).join(', ')}` : ''}.`,
    '',
    `Test accuracy at early stop, % — mean (min–max) over seeds; "best": the highest mean, with every score whose range overlaps it (a tie)${seeds < 2 ? '; "–" with one seed, which has no range to tell a tie by' : ''}.`,
    '',
    `| level | remaining | ${labels.join(' | ')} | best |`,
    `| --- | --- | ${labels.map(() => '---').join(' | ')} | --- |`,
  ];
  for (let level = 1; level <= levels; level++) {
    const accs = labels.map((l) => accuracies(at(l, level)));
    const remaining = labels.flatMap((l) => at(l, level).map((t) => t.remainingWeights));
    if (remaining.length === 0) continue;
    const means = accs.map((a) => (a.length ? mean(a) : -1));
    const top = means.indexOf(Math.max(...means));
    const ties = labels.filter((_, i) => i !== top && compare(accs[top]!, accs[i]!) === 'tie');
    lines.push(
      `| ${level} | ${pct(mean(remaining))}% | ${accs.map((a) => spread(a, seeds)).join(' | ')} | ${seeds < 2 ? '–' : `${labels[top]}${ties.length ? ` (tie: ${ties.join(', ')})` : ''}`} |`,
    );
  }
  const dense = denseAccuracyPerSeed(group);
  lines.push(
    '',
    `Dense network (level 0), mean (min–max) over seeds: ${spread(dense, dense.length)}.`,
  );
  return [...lines, ...emptiedLayers(group, labels, levels)];
}

/**
 * Each seed's mask: how many prunable layers it keeps no weight of, and whether the input
 * still reaches the output (Tanaka et al. 2020's layer collapse, a whole layer pruned, cuts
 * a network without shortcuts; a ResNet's body can lose one and pass), where the records keep
 * their tickets' layers (nothing where none does).
 */
function emptiedLayers(group: CampaignRecord[], labels: string[], levels: number): string[] {
  const masks = group.flatMap((r) => r.tickets.filter((t) => t.level > 0));
  const prunable = masks.find((t) => t.layers)?.layers?.length;
  if (prunable === undefined) return [];
  // the layers' names and wiring alone: the input's shape and the classes do not change them
  const model = group[0]!.spec.model as ModelName;
  const { layers } = buildArchitecture(model, [32, 32, 3], 10);
  const seeds = [...new Set(group.map((r) => r.seed))].sort((a, b) => a - b);
  const cell = (label: string, level: number) =>
    seeds
      .map((seed) => {
        const record = group.find((r) => r.label === label && r.seed === seed);
        const ticket = record?.tickets.find((t) => t.level === level);
        const kept = ticket?.layers;
        if (!kept) return '–';
        const of = new Map(kept.map((l) => [l.layer, l.kept]));
        const empty = kept.filter((l) => l.kept === 0).length;
        if (!inputReachesOutput(layers, (kernel) => of.get(kernel))) return `${empty} cut`;
        return ticket.reachesOutput === false ? `${empty} cut (units)` : `${empty}`;
      })
      .join(', ');
  const completed = group.filter((r) =>
    r.completed?.fields.some((f) => f === 'tickets[].layers' || f === 'tickets[].reachesOutput'),
  );
  const unitsChecked = masks.some((t) => t.reachesOutput !== undefined);
  const lines = [
    '',
    `Prunable layers each mask keeps no weight of (of ${prunable}), seed by seed (${seeds.join(', ')}); "cut": no path from the input to the output is left (a residual block passes where its body or its shortcut does), as any emptied layer leaves in a network without shortcuts (Tanaka et al.'s layer collapse)${unitsChecked ? `; "cut (units)": every layer on some path keeps weights, but none that a layer keeps starts at a unit that carries the input, so no path is left unit by unit (checked on the stored masks)` : ''}; "–": the record does not keep its layers${completed.length ? `. What ${completed.length} of these ${group.length} records say of their masks was added after their runs, from their experiments in the campaign's data folder (\`npm run bench:campaign -- --complete-records\`)` : ''}.`,
    '',
    `| level | ${labels.join(' | ')} |`,
    `| --- | ${labels.map(() => '---').join(' | ')} |`,
  ];
  for (let level = 1; level <= levels; level++)
    lines.push(`| ${level} | ${labels.map((l) => cell(l, level)).join(' | ')} |`);
  return lines;
}

/** a mean difference in points, signed: `+1.23`, `−0.40` */
const points = (d: number) => `${d < 0 ? '−' : '+'}${Math.abs(d * 100).toFixed(2)}`;

/**
 * Morcos et al. 2019: each source → target and level, the transferred ticket against the
 * random ticket trained beside it and against the IMP ticket found on the target itself at
 * the same level (every seed's), with the verdict and the difference of the means.
 */
function transferTable(
  part: CampaignPart,
  sources: CampaignRecord[],
  transfers: CampaignRecord[],
): string[] {
  const seeds = new Set(sources.map((r) => r.seed)).size;
  const folders = [...new Set(sources.map((r) => r.dataset.folder))];
  const versus = (a: number[], b: number[]) =>
    a.length && b.length ? `${compare(a, b)} (${points(mean(a) - mean(b))})` : '–';
  const dense = folders.map(
    (f) =>
      `${f} ${spread(
        accuracies(
          sources
            .filter((r) => r.dataset.folder === f)
            .flatMap((r) => r.tickets.filter((t) => t.level === 0)),
        ),
        seeds,
      )}`,
  );
  const denseLine = `Dense networks (level 0) on each dataset: ${dense.join('; ')}.`;
  if (transfers.length === 0)
    return [
      describeBudget(part, sources),
      '',
      `No transfer recorded yet (the same command trains them). ${denseLine}`,
    ];
  const lines = [
    describeBudget(part, [...sources, ...transfers]),
    '',
    'Test accuracy at early stop on the target, % — mean (min–max) over seeds; N: transfers (seeds); "vs": the transferred ticket against the random ticket of the same layer-wise sparsity trained beside it, and against the IMP ticket found on the target itself at the same level, better or worse only when the ranges do not overlap, a tie otherwise (the difference of the means in points).',
    '',
    "| source → target | level | remaining | transferred ticket | random ticket | target's own ticket | N | vs random | vs target's own |",
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of transferComparisons(sources, transfers)) {
    const transferred = accuracies(c.transferred);
    const random = accuracies(c.random);
    const targets = accuracies(c.own);
    lines.push(
      `| ${c.source} → ${c.target} | ${c.level} | ${pct(mean(c.transferred.map((t) => t.remainingWeights)))}% | ${spread(transferred, seeds)} | ${spread(random, seeds)} | ${spread(targets, seeds)} | ${c.records.length} | ${versus(transferred, random)} | ${versus(transferred, targets)} |`,
    );
  }
  lines.push('', denseLine);
  return lines;
}

/** mean (min–max) over seeds of a ratio, as `1.23×` */
function times(xs: number[]): string {
  if (xs.length === 0) return '–';
  const f = (x: number) => `${x.toFixed(2)}×`;
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  return f(lo) === f(hi) ? f(lo) : `${f(mean(xs))} (${f(lo)}–${f(hi)})`;
}

/** mean (min–max) of whole numbers such as epochs, with how many seeds had none */
function counts(xs: (number | null)[]): string {
  const found = xs.filter((x): x is number => x !== null);
  const none = xs.length - found.length;
  const shown =
    found.length === 0
      ? '–'
      : new Set(found).size === 1
        ? String(found[0])
        : `${mean(found).toFixed(1)} (${Math.min(...found)}–${Math.max(...found)})`;
  return none ? `${shown}, none in ${none}` : shown;
}

/** units per layer as the papers write them (300-100-10); a range where seeds differ */
function architecture(units: number[][]): string {
  const layers = Math.max(0, ...units.map((u) => u.length));
  if (layers === 0) return '–';
  return Array.from({ length: layers }, (_, i) => {
    const at = units.map((u) => u[i]).filter((x): x is number => x !== undefined);
    const lo = Math.min(...at);
    const hi = Math.max(...at);
    return lo === hi ? String(lo) : `[${lo}–${hi}]`;
  }).join('-');
}

/** What a structured level removes, from the spec's lists (one entry per level). */
function structuredSetting(spec: Record<string, unknown>, level: number): string {
  const s = spec.structured as Parameters<typeof structuredLevelValue>[0];
  // level 0 is the search: the dense network trained with its gates (or its L1 penalty)
  if (level === 0)
    return isGateMethod(s.method)
      ? 'none (the dense network, trained with its gates)'
      : 'none (the dense network)';
  const value = structuredLevelValue(s, level);
  if (s.method === 'l0') return `λ = ${value}`;
  if (s.method === 'bayesian') return `log α > ${value}`;
  if (s.method === 'pca') return `${pct(value)}% of the variance`;
  return `${pct(value)}% of the ${s.method === 'slimming' ? 'channels' : 'units'}`;
}

function structuredTable(part: CampaignPart, group: CampaignRecord[]): string[] {
  const seeds = new Set(group.map((r) => r.seed)).size;
  const labels = [...new Set(group.map((r) => r.label))];
  const at = (label: string, level: number) =>
    group
      .filter((r) => r.label === label)
      .flatMap((r) => r.tickets.filter((t) => t.level === level).map((t) => ({ r, t })));
  const levels = Math.max(...group.flatMap((r) => r.tickets.map((t) => t.level)));
  const reference = part.reference && labels.includes(part.reference) ? part.reference : null;
  // Early-Bird's columns where some experiment searched for one: without the search, a
  // record's `earlyBird` says only that slimming pruned at the end of training
  const earlyBird = group.some(
    (r) =>
      (r.spec.structured as { earlyBird?: { enabled: boolean } } | undefined)?.earlyBird?.enabled &&
      r.tickets.some((t) => t.structure?.earlyBird.length),
  );
  // records from before the field: no column
  const cut = group.some((r) => r.tickets.some((t) => t.structure?.cutTestAccuracy != null));
  const lines = [
    `${describeBudget(part, group)}`,
    '',
    [
      'Test accuracy at early stop after retraining, % — mean (min–max) over seeds',
      cut ? ', and before retraining: the compacted model as surgery cut it out' : '',
      '; units per layer of the compacted model (the input pixels kept where surgery selects them, then each dense and convolutional layer; a range where seeds differ); compression: all parameters over those left; speed-up: measured batch-64 inference of the compacted model against the dense one.',
      reference ? ` "vs ${reference}": at the same level, a tie when the ranges overlap.` : '',
      earlyBird
        ? ' Early-Bird: the epoch the ticket was drawn (none: the rule never fired), the epoch pruned, and the mask distance between them.'
        : '',
    ].join(''),
    '',
    `| method | level | removed | units per layer | compression |${cut ? ' before retraining |' : ''} accuracy |${reference ? ` vs ${reference} |` : ''} speed-up |${earlyBird ? ' EB epoch | pruned at | distance |' : ''}`,
    `| --- | --- | --- | --- | --- |${cut ? ' --- |' : ''} --- |${reference ? ' --- |' : ''} --- |${earlyBird ? ' --- | --- | --- |' : ''}`,
  ];
  for (const label of labels) {
    for (let level = 0; level <= levels; level++) {
      const found = at(label, level);
      if (found.length === 0) continue;
      const acc = accuracies(found.map((f) => f.t));
      const structures = found.flatMap(({ t }) => (t.structure ? [t.structure] : []));
      const cells = [
        label,
        String(level),
        structuredSetting(found[0]!.r.spec, level),
        architecture(structures.map((s) => s.units)),
        times(structures.map((s) => s.totalParams / Math.max(1, s.remainingParams))),
        ...(cut
          ? [
              spread(
                structures.flatMap((s) => (s.cutTestAccuracy == null ? [] : [s.cutTestAccuracy])),
                seeds,
              ),
            ]
          : []),
        spread(acc, seeds),
      ];
      if (reference)
        cells.push(
          label === reference ? '' : compare(acc, accuracies(at(reference, level).map((f) => f.t))),
        );
      cells.push(times(structures.flatMap((s) => (s.speedup === null ? [] : [s.speedup]))));
      if (earlyBird) {
        const rate = (found[0]!.r.spec.structured as { rates: number[] }).rates[level - 1];
        const birds = structures.flatMap((s) => s.earlyBird.filter((eb) => eb.ratio === rate));
        const distances = birds.flatMap((eb) =>
          eb.detectedEpoch === null ? [] : [eb.distancesToLast[eb.detectedEpoch - 1] ?? 0],
        );
        cells.push(
          level === 0 || birds.length === 0 ? '' : counts(birds.map((eb) => eb.detectedEpoch)),
          // a reduced budget can end training, and so prune, within an epoch
          level === 0 || birds.length === 0
            ? ''
            : counts(birds.map((eb) => Number(eb.prunedEpoch.toFixed(2)))),
          distances.length === 0
            ? ''
            : distances.length === 1
              ? distances[0]!.toFixed(3)
              : `${mean(distances).toFixed(3)} (${Math.min(...distances).toFixed(3)}–${Math.max(...distances).toFixed(3)})`,
        );
      }
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return lines;
}

// ── the campaign's plan ──

/**
 * Every part's cost at the paper's budget on the machine of bench:engine record `name`, run as
 * bench:campaign runs it (one job per core), with the hours estimated and measured for each
 * budget a part has records of; then the speeds the estimates assume.
 */
function planTable(name: string, records: string): string[] {
  const engine = readJson(join(records, `${name}.json`)) as EngineRecord;
  const measured = readEngineSpeeds(records, name);
  const compacted = readCompactedSpeedups(records);
  const workers = {
    cores: engine.cores,
    concurrency: engine.cores,
    threads: workerThreads(engine.cores, engine.cores),
    sharesCores: true as const,
  };
  const plans = PARTS.map((part) =>
    planPart(part, {
      budget: {},
      seeds: part.seeds,
      datasets: part.datasets.map(datasetSize),
      measured,
      compacted,
      workers,
    }),
  );
  const lines = [
    `Estimates, not measurements: every part at the paper's budget with its seeds, on ${engine.cores} cores of ${engine.cpu}, ${workers.concurrency} experiments at a time on ${workers.threads} thread${workers.threads === 1 ? '' : 's'} each, fewer sharing the cores, as \`npm run bench:campaign\` runs them. A job gets the speed bench:engine measured at its threads where it did, else its threads' share of a speed measured at more threads (linear in threads: an assumption); evaluation (the validation and test sets at every \`evalEvery\`, and the instability analyses' lines) at the cost per example bench:engine measured for the model (\`evaluate\`), else at a third of a training step per example (a forward pass); a training with unit gates (l0, bayesian) at the share of the native step bench:engine measured for the model with those gates (\`gated\`), else at tfjs's kernels' share without them, else at the native step's speed (both too fast), and its evaluation at a third of its own step; pruned models at the dense model's speed; a structured level's compacted model, retrained and evaluated, at the inference speed-up the campaign's records measured for the same model, method and setting (their median; an estimate of its training's speed-up), else at the dense model's speed. Hours from the first experiment's start to the last one's end, and (in brackets) the experiments' jobs summed. "Recorded": each budget a part has records of, with the estimate its records keep beside the training time measured, both summed over the experiments' jobs.`,
    '',
    "| part | dataset | seeds | experiments | trainings | iterations | evaluated examples | estimated hours at the paper's budget | recorded |",
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const plan of plans) {
    const t = planTotals(plan);
    const recorded = groups(readCampaign(records, plan.part.name), budgetName).map(
      (group) =>
        `${budgetName(group[0]!)}, ${group.length} experiment${group.length === 1 ? '' : 's'}: ${trainingTime(group)}`,
    );
    const hours =
      plan.wallHours === null || t.jobHours === null
        ? 'no speed recorded'
        : `${formatHours(plan.wallHours)} (${formatHours(t.jobHours)} of jobs)`;
    const folders = plan.datasets.map((d) => d.folder).join(', ');
    const dataset = plan.part.transferLevels
      ? `${folders} (the experiments on each, and the transfers of their tickets)`
      : folders;
    lines.push(
      `| ${plan.part.name} | ${dataset} | ${plan.seeds} | ${t.experiments} | ${int(t.runs)} | ${int(t.iterations)} | ${int(t.evaluatedExamples)} | ${hours} | ${recorded.join('; ') || 'not run yet'} |`,
    );
  }
  const speeds = new Map(
    plans.flatMap((p) => p.speeds.map((s) => [`${s.model} ${s.flops}`, s] as const)),
  );
  lines.push('', 'Speeds (training samples/s of the native default):', '');
  for (const s of speeds.values()) lines.push(`- ${describeSpeed(s)}`);
  return lines;
}

// ── bench:engine records ──

/** `centre (min–max)` of `xs` formatted by `f` (the median unless another centre is given). */
const range = (xs: number[], f: (x: number) => string, centre = median) =>
  xs.length === 1 ? f(xs[0]!) : `${f(centre(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;

function engineTable(r: EngineRecord): string[] {
  const models = [...new Set(r.rows.map((x) => x.model))];
  const labels = [...new Set(r.rows.map((x) => x.label))];
  const lines = [
    `${describeMachine(r)}; ${isoMinute(r.date)} UTC; load average at each round's start ${r.loads.map((l) => l.loadavg[0]!.toFixed(1)).join(', ')}; \`${r.command}\`.`,
    '',
    'Samples/s, median (min–max) over rounds:',
    '',
    `| engine | ${models.join(' | ')} |`,
    `| --- | ${models.map(() => '---').join(' | ')} |`,
  ];
  for (const label of labels) {
    const cells = models.map((m) => {
      const row = r.rows.find((x) => x.label === label && x.model === m);
      return row ? range(row.samples, int) : '–';
    });
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  if (labels.some((label) => parseEngineLabel(label)?.variant === 'evaluate'))
    lines.push(
      '',
      '`wasm evaluate`: examples evaluated per second (the native forward pass in inference mode, as training and the instability analyses evaluate), not trained.',
    );
  lines.push(
    '',
    'Against the best PyTorch in the same round (any version, any thread count), median (min–max) over rounds:',
    '',
    '| model, state | ratio |',
    '| --- | --- |',
    ...Object.entries(r.ratios).map(
      ([k, v]) => `| ${k} | ${range(v, (x) => `${x.toFixed(2)}×`)} |`,
    ),
  );
  if (r.quickstartSeconds && Object.keys(r.quickstartSeconds).length > 0)
    lines.push(
      '',
      `Quickstart wall time by state, s (each round): ${Object.entries(r.quickstartSeconds)
        .map(([state, runs]) => `${state} ${runs.map((x) => x.seconds.toFixed(1)).join(', ')}`)
        .join('; ')}.`,
    );
  return lines;
}

// ── bench:gpu records ──

const GPU_COLUMNS: [GpuBackend, string][] = [
  ['webgpu', 'WebGPU'],
  ['wasm', 'CPU path (wasm + native)'],
  ['torch-cuda', 'PyTorch, CUDA'],
  ['torch-cpu', 'PyTorch, CPU'],
];

function gpuTable(r: GpuRecord): string[] {
  const models = [...new Set(r.rows.map((x) => x.model))];
  const row = (model: string, backend: GpuBackend) =>
    r.rows.find((x) => x.model === model && x.backend === backend);
  const columns = GPU_COLUMNS.filter(([b]) => r.rows.some((x) => x.backend === b));
  const cell = (model: string, backend: GpuBackend) => {
    const samples = row(model, backend)?.samples;
    return samples ? range(samples, int) : '–';
  };
  /** a ratio of medians; a tie where the two ranges overlap */
  const ratio = (model: string, over: GpuBackend, under: GpuBackend) => {
    const [a, b] = [row(model, over)?.samples, row(model, under)?.samples];
    if (!a || !b) return '–';
    const x = median(a) / median(b);
    return `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×${compare(a, b) === 'tie' ? ' (tie)' : ''}`;
  };
  const devices = columns.map(([b, name]) => {
    const found = [...new Set(r.rows.filter((x) => x.backend === b).map((x) => x.device))];
    return `${name}: ${found.join('; ')}`;
  });
  return [
    `${describeMachine(r.machine)}; ${isoMinute(r.date)} UTC; ${commitOf(r.versions)}; \`${r.command}\`.`,
    '',
    `Training samples/s at batch ${r.batch} (SGD with momentum, random data), median (min–max) over ${r.steps}-step rounds after ${r.warmupSteps} warm-up steps; the ratio is of medians, a tie where the rounds overlap.`,
    '',
    `| model | ${columns.map(([, name]) => name).join(' | ')} | WebGPU / CPU path | PyTorch CUDA / WebGPU |`,
    `| --- | ${columns.map(() => '---').join(' | ')} | --- | --- |`,
    ...models.map(
      (m) =>
        `| ${m} | ${columns.map(([b]) => cell(m, b)).join(' | ')} | ${ratio(m, 'webgpu', 'wasm')} | ${ratio(m, 'torch-cuda', 'webgpu')} |`,
    ),
    '',
    ...devices.map((d) => `- ${d}`),
  ];
}

// ── bench:input records ──

interface InputRecord {
  date: string;
  machine: string;
  loadAverageAtStart: number;
  batch: number;
  shape: number[];
  gatherMs: number;
  gatherAugmentedMs: number;
  steps: { model: string; stepMs: number; augmentedGatherShare: number }[];
}

function inputTables(r: InputRecord): string[] {
  const ms = (x: number) => x.toFixed(1);
  return [
    `${r.machine}; ${isoMinute(r.date)} UTC; load average ${r.loadAverageAtStart} at the start.`,
    '',
    `| gathering a batch of ${r.batch} (${r.shape.join('×')}) | ms |`,
    '| --- | --- |',
    `| plain (\`gatherExamples\`) | ${ms(r.gatherMs)} |`,
    `| random crop + horizontal flip (\`gatherAugmented\`) | ${ms(r.gatherAugmentedMs)} |`,
    '',
    "| model | step (ms) | augmented gathering's share |",
    '| --- | --- | --- |',
    ...r.steps.map(
      (s) =>
        `| ${s.model} | ${int(s.stepMs)} | ${(s.augmentedGatherShare * 100).toPrecision(2)}% |`,
    ),
  ];
}

// ── bench:cluster records ──

interface ClusterRecord {
  command: string;
  startedAt: string;
  machine: string;
  loadAtStart: number;
  loadAtEnd: number;
  slurm: string;
  singleSubmitMs: { all: number[] };
  sweep: {
    experiments: number;
    wallS: number;
    arraySubmitMsPerJob: number;
    tickets: number;
    reports: number;
    ingestMsPerTicket: number;
    /** the same sweep on the local worker pool (records from 2026-12-02 02:00 on) */
    localWallS?: number;
    localWorkers?: number;
  };
}

function clusterTable(r: ClusterRecord): string[] {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const single = r.singleSubmitMs.all;
  return [
    `${r.machine}, ${r.slurm}; ${isoMinute(r.startedAt)} UTC; load average ${r.loadAtStart} at the start, ${r.loadAtEnd} at the end; \`${r.command}\`.`,
    '',
    '| what | measured |',
    '| --- | --- |',
    `| submission of one job (\`sbatch\`, ${single.length} submissions) | median ${ms(median(single))} (${ms(Math.min(...single))} – ${ms(Math.max(...single))}) |`,
    `| submission of a sweep of ${r.sweep.experiments} as one job array | ${ms(r.sweep.arraySubmitMsPerJob)} per job |`,
    `| ingest per ticket (${r.sweep.tickets} tickets, ${r.sweep.reports} reports) | ${ms(r.sweep.ingestMsPerTicket)} |`,
    `| the sweep's wall time on Slurm (${r.sweep.experiments} experiments) | ${r.sweep.wallS.toFixed(1)} s |`,
    ...(r.sweep.localWallS === undefined
      ? []
      : [
          `| the same sweep on the local pool (${r.sweep.localWorkers} workers) | ${r.sweep.localWallS.toFixed(1)} s |`,
        ]),
  ];
}

// ── bench:grasp records ──

/** One masked θ0 as bench:grasp measured it (bench/grasp.ts). */
export interface GraspRow {
  model: string;
  batchNorm: boolean;
  /**
   * `grasp`, `grasp, dense re-drawn`, `snip` (batch norm on the sample's statistics), `grasp,
   * running statistics`, `snip, running statistics`, or the dense θ0
   */
  scoring: string;
  seed: number;
  /** scoring and ranking the mask, wall-clock (absent for the dense θ0 and in older records) */
  scoringSeconds?: number;
  /** on the record's training examples, in training mode */
  loss: number;
  /** the same in evaluation mode, batch norm on its running statistics (absent in older records) */
  evalLoss?: number;
  accuracy: number;
  logitStd: number;
  /** per prunable layer: the share kept, and of those kept the share positive (null: none kept) */
  layers: { layer: string; kept: number; positive: number | null }[];
}

/** What `npm run bench:grasp -- --record` writes. */
export interface GraspRecord {
  date: string;
  command: string;
  machine: Machine;
  versions: Versions;
  backend: string;
  dataset: { folder: string; examples: number };
  /** log10 of the compression every mask prunes to */
  compression: number;
  scoringExamples: number;
  rows: GraspRow[];
}

function graspTable(r: GraspRecord): string[] {
  const seeds = new Set(r.rows.map((x) => x.seed)).size;
  // ten thousand and more (a blown-up loss) as a power of ten: 4.7·10^12, 1.5·10^5
  const twoDigits = (x: number) => {
    if (Math.abs(x) < 1e4)
      return x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const exponent = Math.floor(Math.log10(Math.abs(x)));
    return `${(x / 10 ** exponent).toFixed(1)}·10^${exponent}`;
  };
  /** mean (min–max) over seeds */
  const over = (xs: number[]) => range(xs, twoDigits, mean);
  /** per layer in order, the mean over seeds in %; – for a layer no seed kept anything of */
  const perLayer = (group: GraspRow[], share: (l: GraspRow['layers'][number]) => number | null) =>
    group[0]!.layers
      .map((_, i) => {
        const xs = group.flatMap((g) => share(g.layers[i]!) ?? []);
        if (!xs.length) return '–';
        // whole percents, but two significant digits below 10: a layer at 10^2 keeps 0.28%
        const percent = mean(xs) * 100;
        return percent >= 9.5 || percent === 0 ? percent.toFixed(0) : percent.toPrecision(2);
      })
      .join(' / ') || '–';
  const timed = r.rows.some((x) => x.scoringSeconds !== undefined);
  const evaluated = r.rows.some((x) => x.evalLoss !== undefined);
  const evalLoss = (group: GraspRow[]) => {
    const xs = group.flatMap((g) => g.evalLoss ?? []);
    return xs.length ? over(xs) : '–';
  };
  const scoring = (group: GraspRow[]) => {
    const xs = group.flatMap((g) => g.scoringSeconds ?? []);
    return xs.length ? range(xs, (x) => x.toFixed(1), mean) : '–';
  };
  const lines = [
    `${describeMachine(r.machine)}; ${isoMinute(r.date)} UTC; ${r.backend}; ${commitOf(r.versions)}; \`${r.command}\`.`,
    '',
    `θ0 pruned to 10^−${r.compression} of its prunable weights (global; scores on ${r.scoringExamples} training examples), then measured on ${r.dataset.examples} training images of \`${r.dataset.folder}\` in training mode, in batches of the model's training batch size (batch norm on each batch's statistics, as the first step sees them), before any training; mean (min–max) over ${seeds} seed${seeds === 1 ? '' : 's'}. Per layer, in order, mean over seeds: the share of its weights kept, and the share of those kept that are positive.${evaluated ? ' "Loss, evaluation mode": the same images with batch norm on its running statistics (the identity at θ0, as a running-statistics score sees the network).' : ''}${timed ? ' Scoring: wall-clock seconds to score and rank the mask.' : ''}`,
    '',
    `| model | mask | loss |${evaluated ? ' loss, evaluation mode |' : ''} logits, s.d. | kept, % per layer | kept weights positive, % per layer |${timed ? ' scoring, s |' : ''}`,
    `| --- | --- | --- |${evaluated ? ' --- |' : ''} --- | --- | --- |${timed ? ' --- |' : ''}`,
  ];
  const groups = new Map<string, GraspRow[]>();
  for (const row of r.rows) {
    const key = `${row.model}|${row.scoring}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  for (const group of groups.values()) {
    const first = group[0]!;
    lines.push(
      `| ${first.model}${first.batchNorm ? ' (batch norm)' : ''} | ${first.scoring} | ${over(group.map((g) => g.loss))} |${evaluated ? ` ${evalLoss(group)} |` : ''} ${over(group.map((g) => g.logitStd))} | ${perLayer(group, (l) => l.kept)} | ${perLayer(group, (l) => l.positive)} |${timed ? ` ${scoring(group)} |` : ''}`,
    );
  }
  return lines;
}

// ── bench:collapse records ──

/** One mask of bench:collapse: a score at a compression, for one seed's θ0. */
export interface CollapseRow {
  score: string;
  seed: number;
  /** log10 of the compression: the mask keeps 10^−compression of the prunable weights */
  compression: number;
  /** weights kept per prunable layer, in the order of the model's `layers` */
  kept: number[];
  /** whether a path from the input to the output is left (no layer on it emptied) */
  connected: boolean;
}

export interface CollapseModel {
  model: string;
  /** the prunable layers (their kernels) and their weights */
  layers: { name: string; weights: number }[];
  rows: CollapseRow[];
}

/** What `npm run bench:collapse -- --record` writes (bench/collapse.ts). */
export interface CollapseRecord {
  date: string;
  command: string;
  machine: Machine;
  versions: Versions;
  backend: string;
  dataset: string;
  /** SNIP's and GraSP's scoring examples per class */
  samplesPerClass: number;
  /** SynFlow's rounds, and SNIP's and GraSP's where `iterative` */
  rounds: number;
  /**
   * how SNIP and GraSP pruned over `rounds` for each c; `true` in the records made before
   * `revive` existed means `keep-pruned`, and records before those have none (`off`)
   */
  iterative?: boolean | ScoringIteration;
  /** batch norm's statistics while SNIP and GraSP scored (absent: `batch`) */
  statistics?: ScoringStatistics;
  /** the log10 compressions every score was cut at */
  grid: number[];
  wallSeconds: number;
  models: CollapseModel[];
}

/**
 * One or more bench:collapse records as one table: each record's masks join their model's
 * (a later record may extend some scores' grid), and each score says how far its grid went.
 */
function collapseTable(records: CollapseRecord[]): string[] {
  const power = (c: number) => `10^${c}`;
  const steps = (grid: number[]) =>
    grid.length < 2
      ? `c = ${grid[0]}`
      : `c from ${grid[0]} to ${grid.at(-1)} in steps of ${(grid[1]! - grid[0]!).toFixed(2)}`;
  /** Over seeds: the first compression where `failed` holds, or none up to the rows' last. */
  const first = (rows: CollapseRow[], failed: (x: CollapseRow) => boolean) => {
    const top = Math.max(...rows.map((x) => x.compression));
    const bySeed = [...new Set(rows.map((x) => x.seed))].map(
      (seed) =>
        rows
          .filter((x) => x.seed === seed && failed(x))
          .map((x) => x.compression)
          .sort((a, b) => a - b)[0] ?? null,
    );
    const found = bySeed.filter((c): c is number => c !== null);
    const none = bySeed.length - found.length;
    if (found.length === 0) return { text: `none up to ${power(top)}`, lowest: null };
    const [lo, hi] = [Math.min(...found), Math.max(...found)];
    const span = lo === hi ? power(lo) : `${power(lo)}–${power(hi)}`;
    const text =
      none === 0
        ? span
        : `${span} (${found.length} of ${bySeed.length} seeds; none up to ${power(top)} in the others)`;
    return { text, lowest: lo };
  };
  const models = new Map<string, CollapseModel>();
  for (const r of records)
    for (const m of r.models) {
      const known = models.get(m.model);
      models.set(m.model, known ? { ...known, rows: [...known.rows, ...m.rows] } : m);
    }
  const seeds = new Set(records.flatMap((r) => r.models.flatMap((m) => m.rows.map((x) => x.seed))))
    .size;
  const [r] = records;
  const lines = [
    ...records.map((x) => {
      const scores = [...new Set(x.models.flatMap((m) => m.rows.map((row) => row.score)))];
      return `${describeMachine(x.machine)}; ${isoMinute(x.date)} UTC; ${x.backend}; ${commitOf(x.versions)}; ${Math.round(x.wallSeconds / 60)} min; \`${x.command}\`: ${scores.join(', ')} on ${x.models.map((m) => m.model).join(', ')}, ${steps(x.grid)}.`;
    }),
    '',
    `Masks only, no training: θ0 of each of ${seeds} seed${seeds === 1 ? '' : 's'} (where a score names fewer, of those) pruned globally to 10^−c of its prunable weights for each c of the grid above (SynFlow: ${r!.rounds} rounds for each c; SNIP and GraSP: one ranking per seed on ${r!.samplesPerClass} examples per class of \`${r!.dataset}\`, cut at each c, with batch norm on the sample's statistics; a row labelled "${r!.rounds} rounds" re-scores over that many rounds for each c, as SynFlow, ranking the weights still kept each round, or, where also "reviving", every weight, so that a pruned one can return; "running statistics": batch norm on its running statistics, the identity at θ0). "A layer emptied": the first c at which the mask keeps none of some layer's weights, over seeds; "which": the layers empty there, in any seed; "cut through": the first c at which no path from the input to the output is left (a residual block passes where its body or its shortcut does); "none up to" names the end of that score's grid. The bound: with fewer weights than prunable layers some layer must be empty, from 10^(log10 of weights per layer).`,
    '',
    '| model | score | a layer emptied at | which | cut through at |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const m of models.values()) {
    const total = m.layers.reduce((a, l) => a + l.weights, 0);
    const bound = Math.log10(total / m.layers.length);
    const label = `${m.model} (${m.layers.length} layers, ${total.toLocaleString('en-US')} weights; bound 10^${bound.toFixed(2)})`;
    for (const score of [...new Set(m.rows.map((x) => x.score))]) {
      const rows = m.rows.filter((x) => x.score === score);
      const emptied = first(rows, (x) => x.kept.some((k) => k === 0));
      const cut = first(rows, (x) => !x.connected);
      const names = new Set(
        rows
          .filter((x) => x.compression === emptied.lowest)
          .flatMap((x) =>
            x.kept.flatMap((k, i) => (k === 0 ? [m.layers[i]!.name.replace(/\.kernel$/, '')] : [])),
          ),
      );
      const rowSeeds = new Set(rows.map((x) => x.seed)).size;
      const scoreLabel =
        rowSeeds === seeds ? score : `${score}; ${rowSeeds} seed${rowSeeds === 1 ? '' : 's'}`;
      lines.push(
        `| ${label} | ${scoreLabel} | ${emptied.text} | ${[...names].join(', ') || '–'} | ${cut.text} |`,
      );
    }
  }
  return lines;
}

// ── bench:ui records ──

/** What `npm run bench:ui -- --record` writes (bench/ui.ts). Times in ms. */
export interface UiRecord {
  date: string;
  command: string;
  machine: Machine;
  versions: Versions;
  browser: string;
  viewport: { width: number; height: number };
  /** every experiment and ticket written straight into the store, not trained */
  synthetic: true;
  experiments: number;
  tickets: number;
  seedMs: number;
  firstPaintMs: number[];
  listLoadMs: number[];
  scrollFrameMs: number[];
  searchMs: number[];
  searchMatches: number;
  pickerOpenMs: number[];
  pickerSearchMs: number[];
  lineage: {
    tickets: number;
    firstRenderMs: number[];
    panFrameMs: number[];
    zoomFrameMs: number[];
  };
  compare: { experiments: number; renderMs: number[]; reducerFrameMs: number[] };
}

function uiTable(r: UiRecord): string[] {
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const times = (xs: number[]) => `${range(xs, ms)}, n=${xs.length}`;
  const frames = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)]!;
    return `median ${median(xs).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (${xs.length} frames)`;
  };
  const m = r.machine;
  return [
    `${describeMachine(m)}, ${r.browser}, ${r.viewport.width}×${r.viewport.height}; ${isoMinute(r.date)} UTC; ${commitOf(r.versions)}; \`${r.command}\`. Synthetic records: ${int(r.experiments)} experiments and ${int(r.tickets)} tickets written into the store in ${(r.seedMs / 1000).toFixed(1)} s, not trained.`,
    '',
    '| what | median (min–max) or frame times |',
    '| --- | --- |',
    `| first contentful paint | ${times(r.firstPaintMs)} |`,
    `| experiments list loaded (${int(r.experiments)} rows reachable), from navigation | ${times(r.listLoadMs)} |`,
    `| scrolling the list to its last row (40 steps) | ${frames(r.scrollFrameMs)} |`,
    `| search filter (${int(r.searchMatches)} left) | ${times(r.searchMs)} |`,
    `| compare picker open | ${times(r.pickerOpenMs)} |`,
    `| compare picker search to one experiment | ${times(r.pickerSearchMs)} |`,
    `| lineage of ${int(r.lineage.tickets)} tickets drawn | ${times(r.lineage.firstRenderMs)} |`,
    `| lineage panning | ${frames(r.lineage.panFrameMs)} |`,
    `| lineage zooming | ${frames(r.lineage.zoomFrameMs)} |`,
    `| compare of ${r.compare.experiments} experiments: plot and table | ${times(r.compare.renderMs)} |`,
    `| compare: switching the reducer | ${frames(r.compare.reducerFrameMs)} |`,
  ];
}

// ── command line ──

if (import.meta.filename === process.argv[1]) {
  const file = BENCHMARKS;
  const current = readFileSync(file, 'utf8');
  const next = await renderBenchmarks(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write(
        'BENCHMARKS.md differs from what bench/records gives: run `npm run bench:report`\n',
      );
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(file, next);
    process.stdout.write('BENCHMARKS.md: generated blocks rewritten\n');
  } else process.stdout.write('BENCHMARKS.md: up to date\n');
}
