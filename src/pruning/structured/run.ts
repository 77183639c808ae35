import { encodeBundle } from '../../core/tensorfile.ts';
import { runKey } from '../../core/run-key.ts';
import { isGateMethod } from '../../core/vocabulary.ts';
import {
  describeParams,
  measureSize,
  type Architecture,
  type ParamSpec,
  type Size,
} from '../../engine/architectures.ts';
import { measureLatency } from '../../engine/latency.ts';
import { initWeights, weightsToBundle, type Weights } from '../../engine/weights.ts';
import { ticketTrainer, type ImpHooks, type RunOptions, type TrainerConfig } from '../imp.ts';
import { denseMask } from '../mask.ts';
import { structuredLevels, type StructuredName } from '../methods.ts';
import { l1UnitMask } from './l1-filter.ts';
import type { EarlyBirdRecord, InferenceMeasurement, TicketStructure } from './record.ts';
import {
  EarlyBird,
  maskFromString,
  maskString,
  scaleFactors,
  slimmingMask,
  checkSlimmable,
} from './slimming.ts';
import { compact, type UnitMask } from './surgery.ts';
import { LOW_RANK_SUFFIX, lowRankApproximate } from './pca.ts';
import {
  foldUnitGates,
  gateMaskFromString,
  gatePenalty,
  gateSites,
  gateUnitMask,
  initGatedWeights,
  unitArchitecture,
  withUnitGates,
  type GateMethod,
} from './gates.ts';

export interface StructuredConfig extends TrainerConfig {
  method: StructuredName;
  /** share of units removed, one level each (l1-filter, slimming) */
  rates: number[];
  /** share of response variance kept, one level each (pca) */
  energies: number[];
  /** l0's λ */
  l0Lambda: number;
  /** bayesian: log α thresholds, one level each */
  logAlphaThresholds: number[];
  calibrationSamples: number;
  /** iterations of retraining each compacted model */
  fineTuneIterations: number;
  /** slimming's λ on |γ| */
  sparsity: number;
  earlyBird: { enabled: boolean; threshold: number; window: number };
  /** timed runs per latency median */
  latencyRuns: number;
  /** the backend measured on, as recorded */
  backend: string;
}

/** Where an interrupted structured experiment stands: its trained dense (or searched) network. */
export interface StructuredResume {
  denseTrained: Weights;
  structure: TicketStructure | null;
}

const LATENCY_BATCHES = [1, 64];
const WARMUP_RUNS = 5;

const numel = (p: ParamSpec) => p.shape.reduce((a, b) => a * b, 1);

/** A compacted model's size against the dense model it came from, from its real shapes. */
export function compactedSize(dense: ParamSpec[], small: ParamSpec[]): Size {
  const own = measureSize(small, (name) => numel(small.find((p) => p.name === name)!));
  // a low-rank pair's thin kernel counts toward the layer it replaced
  const kept = new Map<string, number>();
  for (const p of small.filter((q) => q.prunable)) {
    const name = p.name.replace(`${LOW_RANK_SUFFIX}.`, '.');
    kept.set(name, (kept.get(name) ?? 0) + numel(p));
  }
  const whole = measureSize(dense, (name) => numel(dense.find((p) => p.name === name)!));
  return {
    totalParams: whole.totalParams,
    remainingParams: own.totalParams,
    prunableTotal: whole.prunableTotal,
    prunableKept: own.prunableTotal,
    remainingFraction: own.prunableTotal / whole.prunableTotal,
    flops: own.flops,
    layers: whole.layers.map((l) => ({ ...l, kept: kept.get(l.layer) ?? 0 })),
  };
}

function fileBytes(arch: Architecture, weights: Weights): number {
  return encodeBundle(weightsToBundle(describeParams(arch), weights)).length;
}

/**
 * Structured pruning ending in a smaller model (issue 7). Level 0 trains the dense network:
 * plainly (l1-filter, pca), with the L1 penalty on scale factors stopping at the Early-Bird
 * tickets (slimming), or with learned unit gates (l0, bayesian). Each level then chooses
 * the units to remove and cuts them out of every tensor they flow through (or, for pca,
 * replaces layers by low-rank pairs), and retrains the smaller model from those weights.
 * Each ticket stores its compacted architecture, its size from the real shapes, and its
 * measured inference speed against the dense model. Runs already stored are skipped.
 */
export async function runStructured(
  config: StructuredConfig,
  hooks: ImpHooks,
  options: RunOptions & { completed?: Set<string>; resume?: StructuredResume } = {},
): Promise<void> {
  const { specs, trainTicket } = ticketTrainer(config, hooks, options);
  const done = options.completed ?? new Set<string>();
  if (config.method === 'slimming') checkSlimmable(config.arch);
  const gates = isGateMethod(config.method) ? config.method : null;
  const factors = config.method === 'slimming' ? scaleFactors(config.arch) : [];
  let { denseTrained, structure } = options.resume ?? {};
  if (!denseTrained) {
    const dense =
      config.method === 'slimming'
        ? await slimmingSearch(config, factors, trainTicket, hooks)
        : gates
          ? await gatedSearch(config, gates, trainTicket)
          : await trainTicket(
              0,
              'dense',
              null,
              denseMask(specs),
              initWeights(specs, config.init, config.seed),
            );
    denseTrained = dense.trainedWeights;
    structure = dense.structure ?? null;
  }

  let denseLatency: Map<number, { ms: number; throughput: number }> | undefined;
  const measure = async (arch: Architecture, weights: Weights): Promise<InferenceMeasurement> => {
    const time = async (a: Architecture, w: Weights) => {
      const out = new Map<number, { ms: number; throughput: number }>();
      for (const batch of LATENCY_BATCHES) {
        const l = await measureLatency(a, w, batch, {
          warmup: WARMUP_RUNS,
          runs: config.latencyRuns,
        });
        out.set(batch, { ms: l.medianMs, throughput: l.throughput });
      }
      return out;
    };
    denseLatency ??= await time(config.arch, denseTrained!);
    const own = await time(arch, weights);
    return {
      backend: config.backend,
      runs: config.latencyRuns,
      fileBytes: {
        dense: fileBytes(config.arch, denseTrained!),
        compact: fileBytes(arch, weights),
      },
      latency: LATENCY_BATCHES.map((batch) => ({
        batch,
        denseMs: denseLatency!.get(batch)!.ms,
        compactMs: own.get(batch)!.ms,
        denseThroughput: denseLatency!.get(batch)!.throughput,
        compactThroughput: own.get(batch)!.throughput,
      })),
    };
  };

  const unitsOf = (layer: string) => specs.find((p) => p.name === `${layer}.kernel`)!.shape.at(-1)!;
  const sizes = factors.map((f) => unitsOf(f.layer));
  const levels = structuredLevels({
    method: config.method,
    rates: config.rates,
    energies: config.energies,
    logAlphaThresholds: config.logAlphaThresholds,
  });
  for (let level = 1; level <= levels; level++) {
    if (done.has(runKey({ level, method: config.method }))) continue;
    let small: { arch: Architecture; weights: Weights };
    let shape: TicketStructure;
    if (config.method === 'pca') {
      const train = config.data.train;
      const count = Math.min(config.calibrationSamples, train.count);
      const size = train.shape[0] * train.shape[1] * train.shape[2];
      const replaced = await lowRankApproximate(
        config.arch,
        denseTrained,
        { x: train.x.subarray(0, count * size), count },
        config.energies[level - 1]!,
      );
      small = replaced;
      shape = { architecture: replaced.arch, ranks: replaced.ranks };
    } else {
      let units: UnitMask;
      let earlyBird: EarlyBirdRecord | undefined;
      if (config.method === 'slimming') {
        earlyBird = structure?.earlyBird?.[level - 1];
        units = maskFromString(factors, sizes, earlyBird!.mask);
      } else if (gates) {
        units = gateMaskFromString(config.arch, gates, structure!.levelMasks![level - 1]!);
      } else {
        units = l1UnitMask(config.arch, denseTrained, config.rates[level - 1]!);
      }
      // L0's input gates leave an input selection before the first dense layer
      const cut = gates ? unitArchitecture(config.arch, gates) : config.arch;
      small = compact(cut, denseTrained, units);
      shape = {
        architecture: small.arch,
        units: [...units].map(([layer, keep]) => ({
          layer,
          total: keep.length,
          kept: keep.reduce((a, b) => a + b, 0),
        })),
        ...(earlyBird ? { earlyBird: [earlyBird] } : {}),
      };
    }
    const smallSpecs = describeParams(small.arch);
    await trainTicket(
      level,
      config.method,
      { level: 0, method: 'dense' },
      denseMask(smallSpecs),
      small.weights,
      {
        arch: small.arch,
        size: compactedSize(specs, smallSpecs),
        structure: shape,
        iterations: config.fineTuneIterations,
        startIteration: 0,
        finish: async (trained) => ({
          trainedWeights: trained,
          inference: await measure(small.arch, trained),
        }),
      },
    );
  }
}

/**
 * Training with unit gates (level 0) for l0 and bayesian: the model with a gate before each
 * pruned unit's activation and the gates' regulariser added to the loss. The stored network
 * has its test-time gates folded into its weights; the units each level keeps are recorded.
 */
async function gatedSearch(
  config: StructuredConfig,
  method: GateMethod,
  trainTicket: ReturnType<typeof ticketTrainer>['trainTicket'],
) {
  const gatedArch = withUnitGates(config.arch, method);
  const sites = gateSites(config.arch, method);
  const thresholds = method === 'l0' ? [0] : config.logAlphaThresholds;
  return trainTicket(
    0,
    'dense',
    null,
    denseMask(describeParams(config.arch)),
    initGatedWeights(config.arch, method, config.init, config.seed),
    {
      arch: gatedArch,
      storedArch: config.arch,
      train: {
        penalty: gatePenalty(method, sites, config.l0Lambda, config.data.train.count),
      },
      finish: async (trained) => ({
        trainedWeights: foldUnitGates(method, sites, trained),
        structure: {
          levelMasks: thresholds.map((t) =>
            maskString(gateUnitMask(config.arch, method, trained, t)),
          ),
        },
      }),
    },
  );
}

/**
 * Network slimming's training (level 0): λ·sign(γ) added to the batch-norm scale factors'
 * gradients, and at every epoch's end the channel mask of each ratio recorded for
 * Early-Bird detection. With Early-Bird on, training stops once every ratio has drawn its
 * ticket; all ratios are then pruned from that state (with one ratio, exactly at its
 * detection).
 */
async function slimmingSearch(
  config: StructuredConfig,
  factors: ReturnType<typeof scaleFactors>,
  trainTicket: ReturnType<typeof ticketTrainer>['trainTicket'],
  hooks: ImpHooks,
) {
  const specs = describeParams(config.arch);
  const { window, threshold } = config.earlyBird;
  let birds = config.rates.map(() => new EarlyBird(window, threshold));
  return trainTicket(
    0,
    'dense',
    null,
    denseMask(specs),
    initWeights(specs, config.init, config.seed),
    {
      train: {
        sparsity: { params: factors.map((f) => f.param), lambda: config.sparsity },
        checkpointState: () => birds.map((b) => b.state()),
        onEpochEnd: async (epoch, model) => {
          const now: Weights = new Map();
          for (const f of factors)
            now.set(f.param, (await model.v(f.param).data()) as Float32Array);
          birds.forEach((bird, i) => {
            if (bird.push(maskString(slimmingMask(config.arch, factors, now, config.rates[i]!))))
              hooks.onInfo?.(
                `Early-Bird ticket at pruning ratio ${config.rates[i]} drawn at epoch ${epoch}.`,
              );
          });
          return config.earlyBird.enabled && birds.every((b) => b.detectedEpoch !== null);
        },
      },
      restore: (state) => {
        const saved = state as ReturnType<EarlyBird['state']>[] | undefined;
        if (saved) birds = saved.map((s) => new EarlyBird(window, threshold, s));
      },
      finish: async (trained, training) => {
        const missed = config.rates.filter((_, i) => birds[i]!.detectedEpoch === null);
        if (config.earlyBird.enabled && missed.length > 0)
          hooks.onWarning?.(
            `No Early-Bird ticket by the end of training at pruning ratio ${missed.join(', ')}: pruned the trained network instead.`,
          );
        const earlyBird: EarlyBirdRecord[] = config.rates.map((ratio, i) => ({
          ratio,
          detectedEpoch: birds[i]!.detectedEpoch,
          prunedEpoch: training.final.epoch,
          distances: birds[i]!.distances(),
          mask: maskString(slimmingMask(config.arch, factors, trained, ratio)),
        }));
        return { trainedWeights: trained, structure: { earlyBird } };
      },
    },
  );
}
