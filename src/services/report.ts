import { arch, release, totalmem, type } from 'node:os';
import { machineDescription } from '../core/cpu.ts';
import { reportHtml, type ReportExperiment } from '../export/report-html.ts';
import type { Store } from '../store/store.ts';
import { showExperiment } from './experiments.ts';

export interface Report {
  /** a name to save it under */
  fileName: string;
  html: string;
}

/**
 * The offline report of one experiment or a selection (README "Offline report"): spec,
 * levels, lineage and the accuracy chart with the machine and versions that made it, as one
 * self-contained HTML file. `versions` are the host's (TicketLab, Node, tfjs, SQLite).
 */
export function buildReport(
  store: Store,
  ids: string[],
  versions: Record<string, string>,
  now: Date = new Date(),
): Report {
  const unique = [...new Set(ids)];
  const experiments: ReportExperiment[] = unique.map((id) => {
    const experiment = showExperiment(store, id);
    const runs = store.listRunsOfExperiment(id);
    return {
      experiment,
      datasetName: store.getDataset(experiment.dataset)?.name ?? experiment.dataset,
      iterations: new Map(runs.map((r) => [r.ticketId, r.iterations])),
    };
  });
  const backends = [
    ...new Set(experiments.flatMap((e) => e.experiment.tickets.map((t) => t.backend))),
  ].filter((b): b is string => b !== null);
  const machine: [string, string][] = [
    ['Operating system', `${type()} ${release()} (${arch()})`],
    ['CPU', machineDescription()],
    ['Memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['Backends of these runs', backends.join(', ') || 'none yet'],
    ...Object.entries(versions).map(([k, v]): [string, string] => [k, v]),
  ];
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    fileName:
      unique.length === 1
        ? `ticketlab-report-${unique[0]}.html`
        : `ticketlab-report-${unique.length}-experiments-${stamp.slice(0, 10)}.html`,
    html: reportHtml({ experiments, generatedAt: stamp.replace('T', ' '), machine }),
  };
}
