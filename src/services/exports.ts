import { isAbsolute, join } from 'node:path';
import type { RESULT_FORMATS } from '../api/contract.ts';
import { resolveSpec } from '../api/spec.ts';
import { TicketLabError } from '../core/errors.ts';
import { writeFilesAtomically, type OutputFile } from '../core/files.ts';
import { sha256Hex } from '../core/hash.ts';
import { bundleToWeights } from '../engine/weights.ts';
import { lineageTree, resultsCsv, resultsJson } from '../export/results.ts';
import { MODEL_EXPORTERS, type ModelFormat } from '../export/registry.ts';
import { bundleToMask } from '../pruning/mask.ts';
import { inputNormalisation } from '../data/split.ts';
import type { ExportModel } from '../export/model.ts';
import type { ExportRow, Store } from '../store/store.ts';
import { loadDataset } from './datasets.ts';
import { showExperiment } from './experiments.ts';
import { ticketArchitecture } from './ticket-architecture.ts';

export type { ModelFormat };
export type ResultFormat = (typeof RESULT_FORMATS)[number];

function requireAbsolute(path: string): void {
  if (!isAbsolute(path))
    throw new TicketLabError('INVALID_INPUT', `Export path must be absolute: "${path}".`);
}

function record(
  store: Store,
  files: OutputFile[],
  experimentId: string,
  ticketId: string | null,
  format: string,
): ExportRow[] {
  return store.transaction(() =>
    files.map((f) =>
      store.insertExport({
        experimentId,
        ticketId,
        format,
        path: f.path,
        bytes: f.bytes.byteLength,
        checksum: sha256Hex(f.bytes),
      }),
    ),
  );
}

const text = (s: string) => new TextEncoder().encode(s);

export interface TicketExportOptions {
  ticketId: string;
  format: ModelFormat;
  /** a file for onnx and safetensors, a folder for tfjs (model.json + weights.bin) */
  path: string;
  /** the trained weights, or the weights its training started from (θ0 or θk) */
  weights: 'trained' | 'initial';
  force: boolean;
  producer: string;
}

/** Exports one ticket's model, pruned weights zero, and records each file with its sha256. */
export function exportTicket(store: Store, o: TicketExportOptions): ExportRow[] {
  requireAbsolute(o.path);
  const ticket = store.getTicket(o.ticketId);
  if (!ticket) throw new TicketLabError('NOT_FOUND', `No ticket ${o.ticketId}.`);
  const experiment = store.getExperiment(ticket.experimentId)!;
  const spec = resolveSpec(JSON.parse(experiment.specJson));
  // a structured ticket's weights belong to its compacted architecture
  const { arch, dataset } = ticketArchitecture(store, ticket);
  const blob = o.weights === 'trained' ? ticket.trainedBlob : ticket.initBlob;
  if (!blob || !ticket.maskBlob) {
    throw new TicketLabError(
      'INVALID_INPUT',
      o.weights === 'trained'
        ? `Ticket ${ticket.id} has no trained weights yet (its run has not finished); export --weights initial for the weights its training starts from.`
        : `Ticket ${ticket.id} has no stored initial weights.`,
    );
  }
  const weights = bundleToWeights(store.getTensors(blob));
  const mask = bundleToMask(store.getTensors(ticket.maskBlob));
  const normalisation = inputNormalisation(loadDataset(store, dataset.id), spec.validationFraction);
  const model: ExportModel = { arch, weights, mask, normalisation };
  const shape = ticket.structure?.architecture ? 'compacted, ' : '';
  const about = `${arch.model} ticket ${ticket.id} (${ticket.method}, level ${ticket.level}, ${shape}${(ticket.remainingFraction * 100).toFixed(1)}% weights, ${o.weights} weights) on ${dataset.name}, exported by ${o.producer}`;
  const files = MODEL_EXPORTERS[o.format](model, {
    path: o.path,
    ticketId: ticket.id,
    weights: o.weights,
    producer: o.producer,
    about,
  });
  writeFilesAtomically(files, o.force);
  return record(store, files, ticket.experimentId, ticket.id, o.format);
}

export interface ResultsExportOptions {
  experimentId: string;
  format: ResultFormat;
  /** a folder for csv (tickets.csv, runs.csv, metrics.csv), a file for json and lineage */
  path: string;
  force: boolean;
}

export function exportResults(store: Store, o: ResultsExportOptions): ExportRow[] {
  requireAbsolute(o.path);
  const experiment = showExperiment(store, o.experimentId);
  let files: OutputFile[];
  if (o.format === 'lineage') {
    const tree = { experimentId: experiment.id, roots: lineageTree(experiment.tickets) };
    files = [{ path: o.path, bytes: text(JSON.stringify(tree, null, 2) + '\n') }];
  } else {
    const runs = store.listRunsOfExperiment(experiment.id);
    const results = { experiment, runs, metrics: runs.flatMap((r) => store.allMetrics(r.id)) };
    files =
      o.format === 'json'
        ? [{ path: o.path, bytes: text(resultsJson(results)) }]
        : Object.entries(resultsCsv(results)).map(([name, csv]) => ({
            path: join(o.path, name),
            bytes: text(csv),
          }));
  }
  writeFilesAtomically(files, o.force);
  return record(store, files, experiment.id, null, o.format);
}
