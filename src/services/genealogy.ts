import type { z } from 'zod';
import type { Genealogy, GenealogyFilter, GenealogyNode } from '../api/contract.ts';
import { METHOD_SPECS } from '../api/methods.ts';
import { replicateSeed, resolveSpec } from '../api/spec.ts';
import { TicketLabError } from '../core/errors.ts';
import type { ExperimentRow, Store, TicketRow } from '../store/store.ts';
import { lineage } from './experiments.ts';

type GenealogyView = z.output<typeof Genealogy>;
type NodeView = z.output<typeof GenealogyNode>;
export type GenealogyFilterArgs = z.output<typeof GenealogyFilter>;

/**
 * θ0 is identified by what the store holds, not by the spec: each dense network (level 0)
 * stores the weights its training started from as a content-addressed blob, so two
 * experiments started from the same θ0 exactly when those hashes are equal. That covers
 * every spec field that shapes θ0 (model, dataset shape and classes, `init`, the replicate's
 * seed) and nothing that does not (training length, rewind point, method). The dataset is
 * compared too: the same shapes on another dataset are another family, met as a transfer.
 */
function familyRoot(store: Store, experimentId: string): ExperimentRow {
  let experiment = store.getExperiment(experimentId);
  if (!experiment)
    throw new TicketLabError(
      'NOT_FOUND',
      `No experiment ${experimentId}; \`ticketlab ls\` lists them.`,
    );
  // a transfer's θ0 is its source's: walk back to the experiment the ticket was found in
  for (const seen = new Set<string>(); experiment.method === 'transfer';) {
    seen.add(experiment.id);
    const sourceId: string | null | undefined = store
      .listTickets(experiment.id)
      .find((t) => t.sourceTicketId)?.sourceTicketId;
    const source: TicketRow | undefined = sourceId ? store.getTicket(sourceId) : undefined;
    if (!source || seen.has(source.experimentId)) break;
    experiment = store.getExperiment(source.experimentId)!;
  }
  return experiment;
}

function branchOf(experiment: ExperimentRow, datasetName: (id: string) => string): string {
  const spec = resolveSpec(JSON.parse(experiment.specJson));
  if (spec.method === 'transfer') return `transfer to ${datasetName(experiment.datasetId)}`;
  const label = METHOD_SPECS[spec.method].label(spec);
  if (spec.method !== 'imp' && spec.method !== 'oneshot') return label;
  return spec.pruning.rewind === '0it'
    ? `${label}, reset to θ0`
    : `${label}, rewind to ${spec.pruning.rewind}`;
}

function passes(n: NodeView, f: GenealogyFilterArgs): boolean {
  if (f.methods && !f.methods.includes(n.method)) return false;
  if (f.datasets && !f.datasets.includes(n.dataset)) return false;
  if (f.minAccuracy !== undefined && (n.testAccuracy === null || n.testAccuracy < f.minAccuracy))
    return false;
  // remaining fractions are stored from counts (0.64 as 0.6400000001): compare at 1e-9
  if (f.minRemaining !== undefined && n.remainingWeights < f.minRemaining - 1e-9) return false;
  if (f.maxRemaining !== undefined && n.remainingWeights > f.maxRemaining + 1e-9) return false;
  return true;
}

/**
 * The genealogy of an experiment's θ0 (README "Genealogy"): every experiment started from
 * it, their tickets under their parents and their dense networks under θ0, and every
 * transfer of those tickets (and of transferred ones) under the ticket it came from. The
 * filters keep the nodes that pass and the ancestors that connect them to θ0.
 */
export function genealogy(
  store: Store,
  experimentId: string,
  filter: GenealogyFilterArgs = {},
): GenealogyView {
  const root = familyRoot(store, experimentId);
  const dense = store.findTicket(root.id, 0, 'dense');
  if (!dense?.initBlob)
    throw new TicketLabError(
      'NOT_FOUND',
      `Experiment ${root.id} has no dense network yet: its θ0 is stored when its training starts (\`ticketlab run\` or Start).`,
    );
  const names = new Map<string, string>();
  const datasetName = (id: string) => {
    if (!names.has(id)) names.set(id, store.getDataset(id)?.name ?? id);
    return names.get(id)!;
  };

  const family = store.experimentsFromInit(dense.initBlob, root.datasetId);
  const included = new Set(family);
  const order = [...family];
  // transfers, then transfers of transferred tickets, each experiment once
  for (let i = 0; i < order.length; i++) {
    for (const t of store.ticketsTransferredFrom(order[i]!)) {
      if (included.has(t.experimentId)) continue;
      included.add(t.experimentId);
      order.push(t.experimentId);
    }
  }

  const thetaId = `theta0:${dense.initBlob}`;
  const rootSpec = resolveSpec(JSON.parse(root.specJson));
  const all: NodeView[] = [
    {
      id: thetaId,
      parentId: null,
      kind: 'theta0',
      experimentId: null,
      branch: 'θ0',
      method: 'θ0',
      level: 0,
      dataset: root.datasetId,
      datasetName: datasetName(root.datasetId),
      remainingWeights: 1,
      testAccuracy: null,
      trained: false,
      match: true,
    },
  ];
  const experiments: GenealogyView['experiments'] = [];
  const branches = new Map<string, string>();
  for (const id of order) {
    const e = store.getExperiment(id)!;
    branches.set(id, branchOf(e, datasetName));
  }
  // two experiments on the same branch (another training length, another scope): named
  const counts = new Map<string, number>();
  for (const b of branches.values()) counts.set(b, (counts.get(b) ?? 0) + 1);

  for (const id of order) {
    const e = store.getExperiment(id)!;
    const plain = branches.get(id)!;
    const branch = counts.get(plain)! > 1 ? `${plain} (${e.name})` : plain;
    experiments.push({ id, name: e.name, method: e.method, dataset: e.datasetId, branch });
    const tickets = lineage(store, id);
    const ids = new Set(tickets.map((t) => t.id));
    // a parentless ticket hangs under its source (a transfer), else the experiment's first
    // root (a transfer's control), else θ0 (a dense network)
    const firstRoot = tickets.find((t) => t.parentId === null)?.id;
    for (const t of tickets) {
      const parentId =
        t.parentId && ids.has(t.parentId)
          ? t.parentId
          : t.sourceTicketId
            ? t.sourceTicketId
            : firstRoot && firstRoot !== t.id
              ? firstRoot
              : thetaId;
      all.push({
        id: t.id,
        parentId,
        kind: 'ticket',
        experimentId: id,
        branch,
        method: t.method,
        level: t.level,
        dataset: e.datasetId,
        datasetName: datasetName(e.datasetId),
        remainingWeights: t.remainingWeights,
        testAccuracy: t.testAccuracy,
        trained: t.trained,
        match: true,
      });
    }
  }

  // keep what passes and its ancestors; θ0 always
  const byId = new Map(all.map((n) => [n.id, n]));
  const kept = new Set<string>([thetaId]);
  for (const n of all) {
    if (n.kind === 'theta0' || !passes(n, filter)) continue;
    for (let p: NodeView | undefined = n; p && !kept.has(p.id); p = byId.get(p.parentId ?? ''))
      kept.add(p.id);
  }
  const nodes = all
    .filter((n) => kept.has(n.id))
    .map((n) => (n.kind === 'theta0' ? n : { ...n, match: passes(n, filter) }));

  return {
    theta0: {
      blob: dense.initBlob,
      model: root.model,
      dataset: root.datasetId,
      datasetName: datasetName(root.datasetId),
      seed: replicateSeed(rootSpec, root.replicate),
      init: rootSpec.init,
    },
    experiments,
    nodes,
    methods: [...new Set(all.slice(1).map((n) => n.method))].sort(),
    datasets: [...new Set(all.map((n) => n.dataset))].map((id) => ({ id, name: datasetName(id) })),
    total: all.length,
  };
}
