import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isTicketLabError } from '../core/errors.ts';
import { Store } from '../store/store.ts';
import { parseArgs } from './args.ts';
import { bar, formatDuration, formatRow, percent, table } from './format.ts';

const USAGE = `ticketlab — lottery tickets and pruning experiments

Usage:
  ticketlab run <spec.json> [--data-dir DIR] [--new-replicate]
      Validate the spec, run (or continue) its experiment, print a table per level.
  ticketlab ls [--json] [--data-dir DIR]
  ticketlab show <experiment-id> [--json] [--data-dir DIR]
  ticketlab datasets ls [--json] [--data-dir DIR]
  ticketlab datasets import <folder> [--name NAME] [--classes N] [--data-dir DIR]

Data folder: --data-dir, else $TICKETLAB_HOME, else ~/.ticketlab.
Backend: $TICKETLAB_BACKEND (tensorflow-gpu, tensorflow, wasm, cpu) forces one.`;

const VALUED = ['data-dir', 'name', 'classes'] as const;
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

async function cmdRun(
  store: Store,
  specPath: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  if (!specPath) throw new Error('run needs a spec file: ticketlab run <spec.json>');
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(specPath, 'utf8'));
  } catch (e) {
    throw new Error(`${specPath}: ${(e as Error).message}`);
  }
  // Training code loads only for `run`, so ls/show start fast.
  const { createExperiment, runExperiment } = await import('../services/experiments.ts');
  const { experiment, created } = createExperiment(store, input, {
    newReplicate: options.has('new-replicate'),
  });
  if (!created && experiment.status === 'done') {
    out(
      `Experiment ${experiment.id} with this spec (hash ${experiment.specHash.slice(0, 12)}…) is already done.`,
    );
    out(`See it with: ticketlab show ${experiment.id}   (or run again with --new-replicate)`);
    return 0;
  }
  if (!created)
    out(
      `Continuing experiment ${experiment.id} (same spec hash ${experiment.specHash.slice(0, 12)}…).`,
    );

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(
      '\nStopping after saving what is finished (Ctrl-C again to quit at once)…\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);

  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let itersTotal = 0;
  let itersDone = 0;
  let itersAtStart = 0;
  let perRun = 0;
  let lastDraw = 0;
  const headers = ['level', 'method', 'weights', 'test acc', 'early stop', 'wall time'];
  const rows: string[][] = [];

  try {
    const final = await runExperiment(store, experiment.id, {
      signal: controller.signal,
      events: {
        onStart: (s) => {
          perRun = s.iterationsPerRun;
          itersTotal = s.runsTotal * perRun;
          itersDone = itersAtStart = s.runsDone * perRun;
          out(`Experiment ${s.experiment.id}: ${s.experiment.name}`);
          out(
            `Backend: ${s.backend} — ${s.device}; ${s.runsTotal} trainings of ${perRun} iterations (${s.runsDone} already done)`,
          );
          out(`Data folder: ${store.dataDir}`);
          out('');
          out(formatRow(headers, RUN_WIDTHS));
          out(
            formatRow(
              RUN_WIDTHS.map((w) => '-'.repeat(w)),
              RUN_WIDTHS,
            ),
          );
        },
        onProgress: (run, p) => {
          const now = Date.now();
          const done = itersDone + p.iteration;
          if (!tty || now - lastDraw < 200) return;
          lastDraw = now;
          const fraction = itersTotal ? done / itersTotal : 0;
          const rate = (done - itersAtStart) / (now - started);
          const eta = rate > 0 ? (itersTotal - done) / rate : NaN;
          process.stderr.write(
            `\r${bar(fraction)} ${percent(fraction, 0).padStart(4)}  level ${run.level} ${run.method} ${percent(run.remainingFraction)} weights  it ${p.iteration}/${p.iterations}  loss ${p.loss.toFixed(4)}  ETA ${formatDuration(eta)}   `,
          );
        },
        onTicket: (t, r) => {
          itersDone += perRun;
          const row = [
            String(t.level),
            t.method,
            percent(t.remainingFraction),
            percent(r.testAccuracy, 2),
            String(r.earlyStopIteration ?? '-'),
            formatDuration(r.wallTimeMs ?? NaN),
          ];
          rows.push(row);
          if (tty) process.stderr.write('\r\x1b[2K');
          out(formatRow(row, RUN_WIDTHS));
        },
      },
    });
    out('');
    out(
      `Done: ${rows.length} tickets trained in ${formatDuration(Date.now() - started)}. Stored in ${join(store.dataDir, 'ticketlab.db')}`,
    );
    out(`See them with: ticketlab show ${final.id}`);
    return 0;
  } catch (e) {
    if (isTicketLabError(e, 'CANCELLED')) {
      if (tty) process.stderr.write('\r\x1b[2K');
      out(
        `Stopped. ${rows.length} tickets from this session are stored; run the same spec again to continue.`,
      );
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function cmdLs(store: Store, options: Map<string, string | true>): Promise<number> {
  const { listExperiments } = await import('../services/experiments.ts');
  const list = listExperiments(store);
  if (options.has('json')) {
    out(JSON.stringify(list, null, 2));
    return 0;
  }
  if (list.length === 0) {
    out('No experiments yet. Start one with: ticketlab run examples/quickstart.json');
    return 0;
  }
  out(
    table(
      ['id', 'status', 'model', 'dataset', 'levels', 'min weights', 'created', 'name'],
      list.map((e) => [
        e.id,
        e.status,
        e.model,
        e.dataset,
        String(e.levels),
        percent(e.minRemainingWeights),
        e.createdAt.slice(0, 16).replace('T', ' '),
        e.name,
      ]),
    ),
  );
  return 0;
}

async function cmdShow(
  store: Store,
  id: string | undefined,
  options: Map<string, string | true>,
): Promise<number> {
  if (!id) throw new Error('show needs an experiment id: ticketlab show <experiment-id>');
  const { showExperiment } = await import('../services/experiments.ts');
  const view = showExperiment(store, id);
  if (options.has('json')) {
    out(JSON.stringify(view, null, 2));
    return 0;
  }
  out(`${view.name}  (${view.id}, ${view.status}, spec ${view.specHash.slice(0, 12)}…)`);
  if (view.error) out(`error: ${view.error}`);
  out('');
  out(
    table(
      ['level', 'method', 'weights', 'test acc', 'early stop', 'ticket', 'parent'],
      view.tickets.map((t) => [
        String(t.level),
        t.method,
        percent(t.remainingWeights),
        percent(t.testAccuracy, 2),
        String(t.earlyStopIteration ?? '-'),
        t.id,
        t.parentId ?? '-',
      ]),
    ),
  );
  return 0;
}

async function cmdDatasets(
  store: Store,
  args: string[],
  options: Map<string, string | true>,
): Promise<number> {
  const { ensureBuiltinDataset, importDataset } = await import('../services/datasets.ts');
  const sub = args[0] ?? 'ls';
  if (sub === 'import') {
    const folder = args[1];
    if (!folder) throw new Error('datasets import needs a folder');
    const classes = options.get('classes');
    const row = importDataset(store, resolve(folder), {
      name: typeof options.get('name') === 'string' ? (options.get('name') as string) : undefined,
      classes: typeof classes === 'string' ? Number(classes) : undefined,
    });
    out(
      `Imported ${row.name} as ${row.id}: ${row.trainCount} train / ${row.testCount} test, ${row.inputShape.join('×')}, ${row.classNames.length} classes.`,
    );
    return 0;
  }
  if (sub !== 'ls') throw new Error(`unknown datasets command "${sub}" (ls, import)`);
  ensureBuiltinDataset(store);
  const list = store.listDatasets();
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

export async function main(argv: string[]): Promise<number> {
  const { positionals, options } = parseArgs(argv, VALUED);
  const [command, ...rest] = positionals;
  if (!command || options.has('help') || command === 'help') {
    out(USAGE);
    return command || options.has('help') ? 0 : 1;
  }
  const store = Store.open(dataDir(options));
  try {
    switch (command) {
      case 'run':
        return await cmdRun(store, rest[0], options);
      case 'ls':
        return await cmdLs(store, options);
      case 'show':
        return await cmdShow(store, rest[0], options);
      case 'datasets':
        return await cmdDatasets(store, rest, options);
      default:
        process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
        return 1;
    }
  } finally {
    store.close();
  }
}
