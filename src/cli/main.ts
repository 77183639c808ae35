import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { MODEL_FORMATS, RESULT_FORMATS } from '../api/contract.ts';
import { describeTrainingRecipe, TrainingSpec } from '../api/spec.ts';
import { Lab } from '../services/lab.ts';
import { TicketLabError } from '../core/errors.ts';
import { writeFilesAtomically } from '../core/files.ts';
import { isoMinute } from '../core/timestamp.ts';
import { parseArgs } from './args.ts';
import { bar, formatDuration, formatRow, percent, table } from './format.ts';

const USAGE = `ticketlab — lottery tickets and pruning experiments

Usage:
  ticketlab run <spec.json> [--data-dir DIR] [--new-replicate]
      Validate the spec, run (or continue) its experiment, print a table per level.
      Ctrl-C pauses with a checkpoint; continue with \`ticketlab resume <job-id>\`.
  ticketlab resume <job-id> [--data-dir DIR]
  ticketlab jobs [--json] [--data-dir DIR]
  ticketlab serve [--port N] [--concurrency N] [--data-dir DIR]
      Browser mode: the UI and the API on 127.0.0.1, with a token in the printed URL.
      Runs N compute jobs at a time (default 1), each in its own worker process.
  ticketlab ls [--json] [--data-dir DIR]
  ticketlab show <experiment-id> [--json] [--data-dir DIR]
  ticketlab datasets ls [--json] [--data-dir DIR]
  ticketlab datasets import <folder> [--name NAME] [--classes N] [--data-dir DIR]
  ticketlab transfer <ticket-id> --to DATASET[,DATASET…] [--duration D] [--data-dir DIR]
      Train a ticket on other datasets (same input shape; another class count
      re-initialises the output layer), each beside a random ticket of the same sparsity.
      --duration (e.g. 2000it) defaults to the source experiment's training length.
  ticketlab transfer matrix [--json] [--data-dir DIR]
      Transferred minus random ticket, and minus the ticket found on the target.
  ticketlab instability <ticket-id> --rewind 0it,100it,500it [--points 30] [--json]
                        [--target <slurm-target.json>]
      Instability analysis (Frankle et al. 2020): per rewind point k, two copies trained
      from θ_k with different data orders, the test error on the line between them and
      the error barrier (highest error minus the mean of the ends). \`show\` lists them.
      --target runs the analysis as a job on a Slurm cluster (as \`ticketlab target\`).
  ticketlab masks <ticket-id> [--against <ticket-id>] [--json] [--data-dir DIR]
      A ticket's mask per layer (kept weights, units left with none), the first layer's
      kept weights per input pixel when it is dense over the image, and with --against
      the overlap with another ticket of the same architecture (any experiment): kept in
      both, only here, only there, Jaccard.
  ticketlab export <ticket-id> --format onnx|tfjs|safetensors --out PATH
                   [--weights trained|initial] [--force] [--data-dir DIR]
      A ticket's model, pruned weights zero: onnx and safetensors write a file
      (safetensors also <name>.architecture.json), tfjs a folder.
  ticketlab export <experiment-id> --format csv|json|lineage --out PATH [--force]
      An experiment's results: csv writes a folder (tickets, runs, metrics),
      json and lineage a file. Existing files are only replaced with --force.
  ticketlab report <experiment-id>… [--out FILE] [--force] [--data-dir DIR]
      One self-contained HTML file (spec, levels, lineage, accuracy chart, machine)
      that opens in any browser offline; default ./ticketlab-report-<id>.html
      (./ticketlab-report-<N>-experiments-<date>.html for several).

  ticketlab sweep <sweep.json> [--dry-run] [--concurrency N] [--data-dir DIR]
      A base spec and axes ({"base": {...}, "axes": {"seed": [0, 1, 2]}}): prints what it
      costs, then runs (or continues) every experiment it expands to, on its target
      (this machine's workers, or Slurm: "target": {"kind": "slurm", ...}).
  ticketlab sweeps [--json] [--data-dir DIR]
  ticketlab target [local | <slurm-target.json>] [--data-dir DIR]
      Shows, or sets, where sweeps without a "target" of their own run, e.g.
      {"kind": "slurm", "partition": "gpu", "timeLimit": "04:00:00", "gpus": 1}.
  ticketlab worker --job <folder>
      The compute worker of one cluster job (run by its Slurm batch script on a node):
      trains from the job folder's start.json and appends its reports to messages.jsonl.
      Never opens the database.

  ticketlab doctor [--json] [--data-dir DIR]
      What this machine gives TicketLab: backend, native kernels and their libraries,
      threads, Electron, Chromium, GPU, the data folder and its free disk.

Data folder: --data-dir, else $TICKETLAB_HOME, else ~/.ticketlab.
Backend: $TICKETLAB_BACKEND (tensorflow-gpu, webgpu, tensorflow, wasm, cpu) forces one.`;

const VALUED = [
  'data-dir',
  'name',
  'classes',
  'port',
  'concurrency',
  'format',
  'out',
  'weights',
  'to',
  'duration',
  'job',
  'rewind',
  'points',
  'against',
  'target',
] as const;
/** the options that take no value */
const FLAGS = ['dry-run', 'force', 'help', 'json', 'new-replicate'] as const;
type OptionName = (typeof VALUED)[number] | (typeof FLAGS)[number];

/**
 * Each command's options, as USAGE gives them (every command but `worker` also takes
 * --data-dir, and all take --help): one given to a command that does not read it would
 * otherwise run as if it were absent.
 */
const COMMAND_OPTIONS: Record<string, readonly OptionName[]> = {
  run: ['new-replicate'],
  resume: [],
  jobs: ['json'],
  ls: ['json'],
  show: ['json'],
  datasets: ['json', 'name', 'classes'],
  transfer: ['to', 'duration', 'json'],
  instability: ['rewind', 'points', 'target', 'json'],
  masks: ['against', 'json'],
  export: ['format', 'out', 'weights', 'force'],
  report: ['out', 'force'],
  serve: ['port', 'concurrency'],
  doctor: ['json'],
  sweep: ['dry-run', 'concurrency'],
  sweeps: ['json'],
  worker: ['job'],
  target: [],
};
const COMMANDS = Object.keys(COMMAND_OPTIONS);

/** Rows are printed as tickets finish, so the level table has fixed column widths. */
const RUN_WIDTHS = [5, 13, 8, 9, 10, 9];

function dataDir(options: Map<string, string | true>): string {
  const flag = options.get('data-dir');
  if (typeof flag === 'string') return resolve(flag);
  return process.env.TICKETLAB_HOME
    ? resolve(process.env.TICKETLAB_HOME)
    : join(homedir(), '.ticketlab');
}

const out = (s: string) => process.stdout.write(s + '\n');

/** Prints a job's progress and its tickets as they come, until it ends or pauses. */
async function watchJob(
  lab: Lab,
  jobId: string,
  experimentId: string,
  /** what to print once the job is done, instead of the tickets it trained */
  onDone?: () => Promise<void>,
): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let tickets = 0;
  let lastDraw = 0;
  let pausing = false;
  const onSigint = () => {
    if (pausing) process.exit(130);
    pausing = true;
    process.stderr.write(
      '\nPausing after the current step (a checkpoint keeps it; Ctrl-C again to quit at once)…\n',
    );
    lab.scheduler.pause(jobId);
  };
  process.on('SIGINT', onSigint);
  const unsubscribe = lab.subscribe((e) => {
    if (e.jobId !== jobId) return;
    if (e.type === 'job.progress' && e.loss !== null && tty && Date.now() - lastDraw > 200) {
      lastDraw = Date.now();
      process.stderr.write(
        `\r${bar(e.progress)} ${percent(e.progress, 0).padStart(4)}  ${e.phase}  it ${e.step}/${e.steps}  loss ${e.loss?.toFixed(4) ?? '-'}  ETA ${formatDuration(e.etaMs ?? NaN)}   `,
      );
    } else if (e.type === 'ticket.created') {
      tickets++;
      if (tty) process.stderr.write('\r\x1b[2K');
      out(
        formatRow(
          [
            String(e.level),
            e.method,
            percent(e.remainingWeights),
            percent(e.testAccuracy, 2),
            String(e.earlyStopIteration ?? '-'),
            formatDuration(e.wallTimeMs ?? NaN),
          ],
          RUN_WIDTHS,
        ),
      );
    } else if (e.type === 'log') {
      process.stderr.write(`${e.level}: ${e.message}\n`);
    }
  });
  try {
    const job = await lab.scheduler.wait(jobId);
    if (tty) process.stderr.write('\r\x1b[2K');
    out('');
    if (job.state === 'done' && onDone) {
      await onDone();
      return 0;
    }
    if (job.state === 'done') {
      out(
        `Done: ${tickets} tickets trained in ${formatDuration(Date.now() - started)}. Stored in ${join(lab.store.dataDir, 'ticketlab.db')}`,
      );
      out(`See them with: ticketlab show ${experimentId}`);
      return 0;
    }
    if (job.state === 'paused' && job.error) {
      // paused by the host, not by the user: a full disk
      process.stderr.write(`Paused job ${jobId}: ${job.error}\n`);
      out(`Continue with: ticketlab resume ${jobId}`);
      return 1;
    }
    if (job.state === 'paused') {
      out(
        `Paused job ${jobId}${job.checkpointIteration !== null ? ` at iteration ${job.checkpointIteration} of ${job.phase}` : ''}; ${tickets} tickets from this session are stored.`,
      );
      out(`Continue with: ticketlab resume ${jobId}`);
      return 130;
    }
    process.stderr.write(`Job ${jobId} ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
    return 1;
  } finally {
    unsubscribe();
    process.off('SIGINT', onSigint);
  }
}

function printLevelHeader(lab: Lab, experiment: { id: string; name: string }) {
  out(`Experiment ${experiment.id}: ${experiment.name}`);
  out(`Data folder: ${lab.store.dataDir}`);
  out('');
  out(formatRow(['level', 'method', 'weights', 'test acc', 'early stop', 'wall time'], RUN_WIDTHS));
  out(
    formatRow(
      RUN_WIDTHS.map((w) => '-'.repeat(w)),
      RUN_WIDTHS,
    ),
  );
}

function readJson(path: string): unknown {
  try {
    // Editors on Windows (Notepad, PowerShell's Out-File) start UTF-8 files with a byte
    // order mark, which JSON.parse refuses; it carries no content, so it is dropped.
    return JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

async function cmdRun(
  lab: Lab,
  specPath: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  if (!specPath) throw new Error('run needs a spec file: ticketlab run <spec.json>');
  const spec = readJson(specPath);
  const { experiment, created } = await lab.invoke('experiments.create', {
    spec,
    newReplicate: options.has('new-replicate'),
  });
  if (!created && experiment.status === 'done') {
    out(
      `Experiment ${experiment.id} with this spec (hash ${experiment.specHash.slice(0, 12)}…) is already done.`,
    );
    out(`See it with: ticketlab show ${experiment.id}   (or run again with --new-replicate)`);
    return 0;
  }
  // Refused (JOB_RUNNING_ELSEWHERE) when another live process runs this experiment.
  const job = await lab.invoke('jobs.start', { experimentId: experiment.id });
  if (!created)
    out(
      `Continuing experiment ${experiment.id} (same spec hash ${experiment.specHash.slice(0, 12)}…; ${experiment.levels} levels already stored).`,
    );
  printLevelHeader(lab, experiment);
  return watchJob(lab, job.id, experiment.id);
}

async function cmdSweep(
  lab: Lab,
  path: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  if (!path) throw new Error('sweep needs a sweep file: ticketlab sweep <sweep.json>');
  const spec = readJson(path);
  const plan = await lab.invoke('sweeps.plan', { spec });
  const c = plan.cost;
  out(
    `Sweep of ${c.experiments} experiments (${c.stored} already stored): ${c.runs} trainings, ${c.runsLeft} left.`,
  );
  out(
    `Training iterations: ${c.iterationsLeft} left of ${c.iterations}${c.iterationsAreUpperBound ? ' (at most: a slimming search stops at its Early-Bird ticket)' : ''}.`,
  );
  if (options.has('dry-run')) {
    out('');
    out(
      table(
        ['experiment', 'spec hash', 'stored as'],
        plan.experiments.map((e) => [
          Object.entries(e.point)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(' ') || e.name,
          e.specHash.slice(0, 12),
          e.existingId ?? '-',
        ]),
      ),
    );
    out('Dry run: nothing was stored or started.');
    return 0;
  }
  const { sweep, jobs } = await lab.invoke('sweeps.create', { spec, start: true });
  out(`Sweep ${sweep.id}: ${sweep.name} — on ${sweep.target.kind}`);
  out(`Data folder: ${lab.store.dataDir}`);
  if (jobs.length === 0) {
    out('Every experiment of it is done. See it with: ticketlab sweeps');
    return 0;
  }
  let pausing = false;
  const onSigint = () => {
    if (pausing) process.exit(130);
    pausing = true;
    process.stderr.write(
      '\nPausing the local jobs (checkpoints keep them); cluster jobs run on — run the sweep again to follow them. Ctrl-C again to quit at once.\n',
    );
    for (const j of jobs) if (!j.cluster) lab.scheduler.pause(j.id);
  };
  process.on('SIGINT', onSigint);
  const unsubscribe = lab.subscribe((e) => {
    if (e.type === 'ticket.created')
      out(
        `${e.experimentId}  level ${e.level} ${e.method}  ${percent(e.remainingWeights)} weights  test ${percent(e.testAccuracy, 2)}`,
      );
    else if (e.type === 'job.state' && e.state !== 'running' && e.state !== 'queued')
      out(`${e.experimentId}  ${e.state}${e.error ? `: ${e.error}` : ''}`);
    else if (e.type === 'job.cluster')
      out(
        `${e.experimentId}  Slurm ${e.clusterJobId ?? '–'} ${e.state ?? '–'}${e.reason ? ` (${e.reason})` : ''}`,
      );
  });
  try {
    const ended = await Promise.all(jobs.map((j) => lab.scheduler.wait(j.id)));
    const view = await lab.invoke('sweeps.get', { id: sweep.id });
    out(
      `Sweep ${sweep.id}: ${view.runsDone}/${view.runs} trainings stored; ${Object.entries(
        view.statusCounts,
      )
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}.`,
    );
    return ended.every((j) => j.state === 'done') ? 0 : pausing ? 130 : 1;
  } finally {
    unsubscribe();
    process.off('SIGINT', onSigint);
  }
}

async function cmdSweeps(lab: Lab, options: Map<string, string | true>): Promise<number> {
  const sweeps = await lab.invoke('sweeps.list', {});
  if (options.has('json')) out(JSON.stringify(sweeps, null, 2));
  else if (sweeps.length === 0) out('No sweeps.');
  else
    out(
      table(
        ['sweep', 'name', 'target', 'experiments', 'status', 'progress'],
        sweeps.map((s) => [
          s.id,
          s.name,
          s.target.kind,
          String(s.experiments.length),
          Object.entries(s.statusCounts)
            .map(([k, n]) => `${n} ${k}`)
            .join(', '),
          `${percent(s.progress, 0)} (${s.runsDone}/${s.runs})`,
        ]),
      ),
    );
  return 0;
}

/** A compute target as the command line names it: `local`, or a Slurm target's JSON file. */
function targetOption(value: string | true | undefined): unknown {
  if (value === undefined) return undefined;
  if (value === true) throw new Error('--target needs `local` or a Slurm target file');
  return value === 'local' ? { kind: 'local' } : readJson(value);
}

async function cmdTarget(lab: Lab, value: string | undefined): Promise<number> {
  const { computeTarget } =
    value === undefined
      ? await lab.invoke('settings.get', {})
      : await lab.invoke('settings.set', { computeTarget: targetOption(value) });
  out(JSON.stringify(computeTarget, null, 2));
  return 0;
}

async function cmdResume(lab: Lab, jobId: string | undefined): Promise<number> {
  if (!jobId)
    throw new Error('resume needs a job id: ticketlab resume <job-id> (ticketlab jobs lists them)');
  const job = await lab.invoke('jobs.resume', { jobId });
  const experiment = await lab.invoke('experiments.get', { id: job.experimentId });
  printLevelHeader(lab, experiment);
  return watchJob(lab, job.id, experiment.id);
}

async function cmdJobs(lab: Lab, options: Map<string, string | true>): Promise<number> {
  const jobs = await lab.invoke('jobs.list', {});
  if (options.has('json')) out(JSON.stringify(jobs, null, 2));
  else if (jobs.length === 0) out('No jobs.');
  else
    out(
      table(
        ['job', 'experiment', 'state', 'progress', 'phase', 'attempt', 'updated', 'error'],
        jobs.map((j) => [
          j.id,
          j.experimentId,
          // shown, never changed: `resume` takes over a job whose process is gone
          (j.state === 'running' && lab.scheduler.isOrphaned(j.id)
            ? 'running (its process is gone: resume it)'
            : j.state) +
            (j.cluster
              ? ` — Slurm ${j.cluster.jobId ?? '(not submitted)'} ${j.cluster.state ?? ''}${j.cluster.reason ? ` (${j.cluster.reason})` : ''}`
              : ''),
          percent(j.progress, 0),
          j.phase ?? '-',
          String(j.attempt),
          j.updatedAt.slice(0, 19).replace('T', ' '),
          j.error ?? '',
        ]),
      ),
    );
  return 0;
}

async function cmdLs(lab: Lab, options: Map<string, string | true>): Promise<number> {
  const { items } = await lab.invoke('experiments.list', { limit: 1000 });
  if (options.has('json')) {
    out(JSON.stringify(items, null, 2));
    return 0;
  }
  if (items.length === 0) {
    out('No experiments yet. Start one with: ticketlab run examples/quickstart.json');
    return 0;
  }
  out(
    table(
      ['id', 'status', 'model', 'dataset', 'levels', 'min weights', 'created', 'name'],
      items.map((e) => [
        e.id,
        e.status,
        e.model,
        e.dataset,
        String(e.levels),
        percent(e.minRemainingWeights),
        isoMinute(e.createdAt),
        e.name,
      ]),
    ),
  );
  return 0;
}

async function cmdShow(
  lab: Lab,
  id: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  if (!id) throw new Error('show needs an experiment id: ticketlab show <experiment-id>');
  const view = await lab.invoke('experiments.get', { id });
  if (options.has('json')) {
    out(JSON.stringify(view, null, 2));
    return 0;
  }
  out(`${view.name}  (${view.id}, ${view.status}, spec ${view.specHash.slice(0, 12)}…)`);
  // stored specs are resolved; one stored before a field existed gets its default
  const training = TrainingSpec.safeParse(view.spec.training ?? {});
  if (training.success) out(`training: ${describeTrainingRecipe(training.data)}`);
  if (view.error) out(`note: ${view.error}`);
  out('');
  // structured tickets are smaller models: show what they cost and what they gained
  const structured = view.tickets.some((t) => t.speedup);
  const times = (x: number) => `${x.toFixed(2)}×`;
  out(
    table(
      [
        'level',
        'method',
        'weights',
        'test acc',
        'early stop',
        ...(structured ? ['widths', 'MFLOPs', 'speed-up b1', 'speed-up b64'] : []),
        'ticket',
        'parent',
      ],
      view.tickets.map((t) => [
        String(t.level),
        t.method,
        percent(t.remainingWeights),
        t.trained ? percent(t.testAccuracy, 2) : 'training',
        t.earlyStopNote
          ? `${t.earlyStopIteration} (untrained)`
          : String(t.earlyStopIteration ?? '-'),
        ...(structured
          ? [
              t.widths ?? '-',
              (t.flops / 1e6).toFixed(2),
              t.speedup ? times(t.speedup.batch1) : '-',
              t.speedup ? times(t.speedup.batch64) : '-',
            ]
          : []),
        t.id,
        t.parentId ?? '-',
      ]),
    ),
  );
  const backends = [
    ...new Set(view.tickets.flatMap((t) => (t.speedup ? [t.speedup.backend] : []))),
  ];
  if (backends.length > 0)
    out(
      `speed-up: the dense model's median inference latency over the compacted one's, at batch 1 and 64, measured on ${backends.join(', ')}`,
    );
  for (const t of view.tickets)
    if (t.earlyStopNote) out(`note: level ${t.level} ${t.method} (${t.id}): ${t.earlyStopNote}`);
  // a slimming search keeps every ratio's Early-Bird record on its dense network
  const search = structured ? view.tickets.find((t) => t.level === 0) : undefined;
  const birds = search
    ? ((await lab.invoke('tickets.get', { id: search.id })).structure?.earlyBird ?? [])
    : [];
  if (birds.length > 0) {
    out('');
    const stops = (view.spec.structured as { earlyBird?: { enabled?: boolean } } | undefined)
      ?.earlyBird?.enabled;
    out(
      `Early-Bird (You et al. 2020): per pruning ratio, the epoch its rule fired and the epoch pruned${stops === false ? ' (earlyBird.enabled is false: the search trained to its end)' : ''}`,
    );
    for (const bird of birds)
      out(
        `  ${percent(bird.ratio)} of the channels: ${bird.detectedEpoch === null ? 'the rule never fired' : `the rule fired at epoch ${bird.detectedEpoch}`}; pruned at epoch ${Number(bird.prunedEpoch.toFixed(2))}`,
      );
  }
  const analyses = (
    await Promise.all(
      view.tickets.map((t) => lab.invoke('tickets.instabilityResults', { ticketId: t.id })),
    )
  ).flat();
  if (analyses.length > 0) {
    out('');
    out('Instability (Frankle et al. 2020): error barrier along the line between two copies');
    printInstability(analyses);
  }
  return 0;
}

function printInstability(
  analyses: {
    ticketId: string;
    rewind: string;
    rewindIteration: number;
    points: number;
    thetaK: string | null;
    curve: { alpha: number; testError: number }[] | null;
    barrier: number | null;
  }[],
) {
  out(
    table(
      [
        'ticket',
        'rewind',
        'iteration',
        'θ_k',
        'points',
        'error A',
        'error B',
        'max error',
        'barrier',
      ],
      analyses.map((a) => {
        const ends = a.curve ? [a.curve[0]!, a.curve[a.curve.length - 1]!] : null;
        return [
          a.ticketId,
          a.rewind,
          String(a.rewindIteration),
          a.thetaK ?? '-',
          String(a.points),
          ends ? percent(ends[0]!.testError, 2) : '-',
          ends ? percent(ends[1]!.testError, 2) : '-',
          a.curve ? percent(Math.max(...a.curve.map((p) => p.testError)), 2) : '-',
          a.barrier === null ? 'training' : percent(a.barrier, 2),
        ];
      }),
    ),
  );
}

async function cmdInstability(
  lab: Lab,
  id: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  const rewind = options.get('rewind');
  if (!id || typeof rewind !== 'string') {
    throw new Error(
      'instability needs a ticket and rewind points: ticketlab instability <ticket-id> --rewind 0it,100it,500it',
    );
  }
  const points = options.get('points');
  if (points !== undefined && !/^\d+$/.test(String(points))) {
    throw new TicketLabError(
      'INVALID_INPUT',
      `--points: expected a whole number of points on the line, such as 30 (got "${String(points)}")`,
    );
  }
  const started = await lab.invoke('tickets.instability', {
    ticketId: id,
    rewinds: rewind.split(',').filter(Boolean),
    points: typeof points === 'string' ? Number(points) : undefined,
    target: targetOption(options.get('target')),
  });
  const report = async () => {
    const all = await lab.invoke('tickets.instabilityResults', { ticketId: id });
    const asked = all.filter((a) => started.analyses.some((s) => s.id === a.id));
    if (options.has('json')) out(JSON.stringify(asked, null, 2));
    else printInstability(asked);
  };
  if (!started.job) {
    await report();
    return 0;
  }
  const ticket = await lab.invoke('tickets.get', { id });
  out(
    `Instability of ticket ${id} (${ticket.ticket.method}, level ${ticket.ticket.level}), job ${started.job.id}`,
  );
  return await watchJob(lab, started.job.id, ticket.experiment.id, report);
}

async function cmdDatasets(
  lab: Lab,
  args: string[],
  options: Map<string, string | true>,
): Promise<number> {
  const sub = args[0] ?? 'ls';
  if (sub === 'import') {
    const folder = args[1];
    if (!folder) throw new Error('datasets import needs a folder');
    const classes = options.get('classes');
    const name = options.get('name');
    const row = await lab.invoke('datasets.import', {
      path: resolve(folder),
      name: typeof name === 'string' ? name : undefined,
      classes: typeof classes === 'string' ? Number(classes) : undefined,
    });
    out(
      `Imported ${row.name} as ${row.id}: ${row.trainCount} train / ${row.testCount} test, ${row.inputShape.join('×')}, ${row.classNames.length} classes.`,
    );
    return 0;
  }
  if (sub !== 'ls') throw new Error(`unknown datasets command "${sub}" (ls, import)`);
  const list = await lab.invoke('datasets.list', {});
  if (options.has('json')) out(JSON.stringify(list, null, 2));
  else
    out(
      table(
        ['id', 'name', 'format', 'shape', 'classes', 'train', 'test'],
        list.map((d) => [
          d.id,
          d.name,
          d.format,
          d.inputShape.join('×'),
          String(d.classNames.length),
          String(d.trainCount),
          String(d.testCount),
        ]),
      ),
    );
  return 0;
}

const signed = (x: number | null) =>
  x === null ? '-' : `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;

async function cmdTransfer(
  lab: Lab,
  id: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  if (id === 'matrix') {
    const matrix = await lab.invoke('transfer.matrix', {});
    if (options.has('json')) {
      out(JSON.stringify(matrix, null, 2));
      return 0;
    }
    out(
      table(
        [
          'source',
          'target',
          'weights',
          'transfer',
          'random',
          'target ticket',
          'vs random',
          'vs target',
        ],
        matrix.rows.map((r) => [
          r.sourceDataset,
          r.targetDataset,
          percent(r.remainingWeights),
          percent(r.transferAccuracy, 2),
          percent(r.randomAccuracy, 2),
          r.targetTicketAccuracy === null
            ? '-'
            : `${percent(r.targetTicketAccuracy, 2)} at ${percent(r.targetTicketRemainingWeights)}`,
          signed(r.vsRandom),
          signed(r.vsTargetTicket),
        ]),
      ),
    );
    return 0;
  }
  const to = options.get('to');
  if (!id || typeof to !== 'string') {
    throw new Error(
      'transfer needs a ticket and targets: ticketlab transfer <ticket-id> --to fashion',
    );
  }
  const duration = options.get('duration');
  const made = await lab.invoke('transfer.create', {
    ticketId: id,
    targets: to.split(',').filter(Boolean),
    duration: typeof duration === 'string' ? duration : undefined,
  });
  let code = 0;
  for (const [i, experiment] of made.experiments.entries()) {
    const job = made.jobs[i];
    if (!job) {
      out(`Experiment ${experiment.id} (${experiment.name}) is already done.`);
      continue;
    }
    printLevelHeader(lab, experiment);
    code = Math.max(code, await watchJob(lab, job.id, experiment.id));
  }
  return code;
}

/** Darker characters for more kept weights: a pixel map readable in a terminal. */
const SHADES = ' .:-=+*#%@';

async function cmdMasks(
  lab: Lab,
  id: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  const against = options.get('against');
  if (!id || against === true) {
    throw new Error(
      'masks needs a ticket (and --against a ticket): ticketlab masks <ticket-id> [--against <ticket-id>]',
    );
  }
  const m = await lab.invoke('tickets.masks', { ticketId: id, againstId: against });
  if (options.has('json')) {
    out(JSON.stringify(m, null, 2));
    return 0;
  }
  const name = (t: typeof m.ticket) =>
    `${t.experimentName}, ${t.method} level ${t.level}, ${percent(t.remainingWeights)} of weights (${t.model} on ${t.datasetName}, ticket ${t.id})`;
  out(name(m.ticket));
  const overlap = new Map(m.overlap?.layers.map((l) => [l.layer, l]));
  const compared = (l: {
    both: number;
    onlyHere: number;
    onlyThere: number;
    jaccard: number | null;
  }) => [
    l.both.toLocaleString('en'),
    l.onlyHere.toLocaleString('en'),
    l.onlyThere.toLocaleString('en'),
    l.jaccard === null ? '-' : l.jaccard.toFixed(3),
  ];
  out(
    table(
      [
        'layer',
        'shape',
        'kept',
        'of',
        'kept %',
        'units with none kept',
        ...(m.overlap ? ['in both', 'only here', 'only there', 'Jaccard'] : []),
      ],
      [
        ...m.layers.map((l) => [
          l.layer,
          l.shape.join('×'),
          l.kept.toLocaleString('en'),
          l.total.toLocaleString('en'),
          percent(l.kept / l.total),
          `${unitsWithNoneKept(l)} of ${l.rows}`,
          ...(m.overlap ? compared(overlap.get(l.layer)!) : []),
        ]),
        ...(m.overlap
          ? [
              [
                m.overlap.whole.layer,
                '',
                '',
                m.overlap.whole.total.toLocaleString('en'),
                '',
                '',
                ...compared(m.overlap.whole),
              ],
            ]
          : []),
      ],
    ),
  );
  if (m.overlap) out(`against: ${name(m.overlap.against)}`);
  const map = m.inputMap;
  if (map) {
    out(
      `\n${map.layer}: kept weights per input pixel (of ${map.perPixel}; ' ' under 10% … '@' 90% or more, in tenths):`,
    );
    for (let y = 0; y < map.height; y++) {
      const row = map.kept.slice(y * map.width, (y + 1) * map.width);
      out(
        row
          .map(
            (k) =>
              SHADES[Math.min(SHADES.length - 1, Math.floor((k / map.perPixel) * SHADES.length))],
          )
          .join(''),
      );
    }
  }
  return 0;
}

/** Output units (rows) of a layer's heat-map whose every cell is empty. */
function unitsWithNoneKept(l: { rows: number; cols: number; cells: number[] }): number {
  let n = 0;
  for (let r = 0; r < l.rows; r++)
    if (l.cells.slice(r * l.cols, (r + 1) * l.cols).every((c) => c === 0)) n++;
  return n;
}

async function cmdExport(
  lab: Lab,
  id: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  const format = options.get('format');
  const outPath = options.get('out');
  if (!id || typeof format !== 'string' || typeof outPath !== 'string') {
    throw new Error(
      'export needs an id, --format and --out: ticketlab export <ticket-id> --format onnx --out model.onnx',
    );
  }
  const path = resolve(outPath);
  const force = options.has('force');
  const isModel = (MODEL_FORMATS as readonly string[]).includes(format);
  if (!isModel && !(RESULT_FORMATS as readonly string[]).includes(format)) {
    throw new Error(
      `unknown export format "${format}" (models: ${MODEL_FORMATS.join(', ')}; results: ${RESULT_FORMATS.join(', ')})`,
    );
  }
  const weights = options.get('weights');
  const { files } = isModel
    ? await lab.invoke('tickets.export', {
        ticketId: id,
        format,
        path,
        force,
        weights: typeof weights === 'string' ? weights : undefined,
      })
    : await lab.invoke('experiments.export', { id, format, path, force });
  for (const f of files) out(`${f.path}  ${f.bytes} bytes  sha256 ${f.checksum}`);
  return 0;
}

async function cmdReport(
  lab: Lab,
  ids: string[],
  options: Map<string, string | true>,
): Promise<number> {
  if (!ids.length)
    throw new Error('report needs experiments: ticketlab report <experiment-id>… [--out FILE]');
  const { fileName, html } = await lab.invoke('experiments.report', { ids });
  const given = options.get('out');
  const path = resolve(typeof given === 'string' ? given : fileName);
  writeFilesAtomically([{ path, bytes: new TextEncoder().encode(html) }], options.has('force'));
  out(`${path}  ${Buffer.byteLength(html)} bytes`);
  return 0;
}

async function cmdServe(openLab: () => Lab, options: Map<string, string | true>): Promise<number> {
  const { startServer } = await import('../server/http.ts');
  const given = options.get('port');
  const port = typeof given === 'string' ? Number(given) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TicketLabError('INVALID_INPUT', `--port ${given}: expected a port number 0-65535`);
  const server = await startServer(openLab, { port });
  out(`TicketLab is serving ${server.lab.store.dataDir}`);
  out(`Open: ${server.url}`);
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  out('Stopping: pausing running jobs…');
  try {
    await server.close();
  } finally {
    await server.lab.close({ pauseRunning: true });
  }
  return 0;
}

/** Reads the machine only: it opens no database, so it also works when one cannot open. */
async function cmdDoctor(dir: string, options: Map<string, string | true>): Promise<number> {
  const { diagnose } = await import('../services/doctor.ts');
  const findings = await diagnose(dir);
  if (options.has('json')) {
    out(JSON.stringify(findings, null, 2));
    return 0;
  }
  const width = Math.max(...findings.map((f) => f.name.length));
  for (const f of findings) {
    out(`${f.ok ? 'ok ' : ' - '} ${f.name.padEnd(width)}  ${f.detail}`);
    if (f.fix) out(`    ${' '.repeat(width)}  add it: ${f.fix}`);
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, options } = parseArgs(argv, VALUED);
  const [command, ...rest] = positionals;
  if (!command || options.has('help') || command === 'help') {
    out(USAGE);
    return command || options.has('help') ? 0 : 1;
  }
  if (!COMMANDS.includes(command)) {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
    return 1;
  }
  // a mistyped option (--concurency), or one this command does not read, would otherwise
  // run as if it were absent
  const accepted: readonly string[] = [
    ...COMMAND_OPTIONS[command]!,
    'help',
    ...(command === 'worker' ? [] : ['data-dir']),
  ];
  const known: readonly string[] = [...VALUED, ...FLAGS];
  const refused = [...options.keys()].filter((k) => !accepted.includes(k));
  if (refused.length > 0) {
    const names = (keys: string[]) => keys.map((k) => `--${k}`).join(', ');
    const unknown = refused.filter((k) => !known.includes(k));
    const elsewhere = refused.filter((k) => known.includes(k));
    const sentences = [
      unknown.length > 0 && `Unknown option${unknown.length > 1 ? 's' : ''} ${names(unknown)}.`,
      elsewhere.length > 0 &&
        `\`ticketlab ${command}\` does not take ${names(elsewhere)} (it takes ${names(accepted.filter((k) => k !== 'help'))}).`,
    ].filter(Boolean);
    process.stderr.write(`${sentences.join(' ')}\n\n${USAGE}\n`);
    return 1;
  }
  // `serve` is a long-lived host: it runs every queued job and resumes interrupted ones.
  const concurrency = options.get('concurrency');
  const openLab = () =>
    Lab.open({
      dataDir: dataDir(options),
      runAll: command === 'serve',
      concurrency: typeof concurrency === 'string' ? Math.max(1, Number(concurrency) || 1) : 1,
    });
  if (command === 'serve') return await cmdServe(openLab, options);
  if (command === 'doctor') return await cmdDoctor(dataDir(options), options);
  if (command === 'worker') {
    const folder = options.get('job');
    if (typeof folder !== 'string')
      throw new Error('worker needs its job folder: ticketlab worker --job <folder>');
    // Imported here: a node's worker loads the engine, never the store or the app.
    const { runNodeWorker } = await import('../cluster/node-worker.ts');
    return await runNodeWorker(resolve(folder));
  }
  const lab = openLab();
  try {
    switch (command) {
      case 'run':
        return await cmdRun(lab, rest[0], options);
      case 'resume':
        return await cmdResume(lab, rest[0]);
      case 'jobs':
        return await cmdJobs(lab, options);
      case 'ls':
        return await cmdLs(lab, options);
      case 'show':
        return await cmdShow(lab, rest[0], options);
      case 'datasets':
        return await cmdDatasets(lab, rest, options);
      case 'transfer':
        return await cmdTransfer(lab, rest[0], options);
      case 'instability':
        return await cmdInstability(lab, rest[0], options);
      case 'masks':
        return await cmdMasks(lab, rest[0], options);
      case 'export':
        return await cmdExport(lab, rest[0], options);
      case 'report':
        return await cmdReport(lab, rest, options);
      case 'sweep':
        return await cmdSweep(lab, rest[0], options);
      case 'sweeps':
        return await cmdSweeps(lab, options);
      case 'target':
        return await cmdTarget(lab, rest[0]);
      default:
        throw new Error(`command "${command}" has no handler`);
    }
  } finally {
    await lab.close({ pauseRunning: true });
  }
}
