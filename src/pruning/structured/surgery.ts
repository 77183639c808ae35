import { TicketLabError } from '../../core/errors.ts';
import {
  describeParams,
  type Architecture,
  type LayerDef,
  type ParamSpec,
} from '../../engine/architectures.ts';
import type { Weights } from '../../engine/weights.ts';

/**
 * Structured pruning's surgery: removing a neuron or a channel everywhere it flows, so the
 * result is an ordinary, smaller dense model. A unit mask keeps or drops the output units
 * of dense layers (neurons), conv layers (filters) and input selections (input features);
 * removal then propagates to the next layer's inputs, to batch-norm parameters, and through
 * flatten to the dense rows that read the removed channel at every position (NHWC order:
 * row = pixel·C + channel).
 */

/** Layer name → keep flag per output unit (neuron, filter or selected input feature). Absent layers keep all. */
export type UnitMask = Map<string, Uint8Array>;

type Shape = { h: number; w: number; c: number } | { features: number };

/**
 * Layers whose output channels are added together by skip connections (a ResNet stage's
 * stem or first shortcut and every block's last conv): they are one set of channels and are
 * pruned together, with one mask. Sequential networks have none.
 */
export function couplingGroups(arch: Architecture): string[][] {
  const groups: string[][] = [];
  let stream: string[] | null = null; // the group producing the current residual stream
  let last: string | null = null; // the last conv/dense layer on the main path
  const lastConv = (layers: LayerDef[]) =>
    [...layers].reverse().find((l) => l.kind === 'conv2d' || l.kind === 'dense')?.name ?? null;
  for (const layer of arch.layers) {
    if (layer.kind === 'residual') {
      const body = lastConv(layer.body)!;
      if (layer.shortcut.length > 0) {
        stream = [body, lastConv(layer.shortcut)!];
        groups.push(stream);
      } else {
        if (!stream) {
          stream = [last!];
          groups.push(stream);
        }
        stream.push(body);
      }
    } else if (layer.kind === 'conv2d' || layer.kind === 'dense') {
      last = layer.name;
      stream = null;
    }
  }
  return groups;
}

/** Refuses a unit mask that would cut channels joined by a skip connection apart. */
function checkCoupling(arch: Architecture, units: UnitMask): void {
  for (const group of couplingGroups(arch)) {
    const masks = group.map((name) => units.get(name));
    const first = masks.find((m) => m !== undefined);
    if (!first) continue;
    group.forEach((name, i) => {
      const m = masks[i];
      if (!m || m.length !== first.length || m.some((k, u) => k !== first[u]))
        throw new TicketLabError(
          'INVALID_INPUT',
          `${name} shares its output channels with ${group.filter((g) => g !== name).join(', ')} through skip connections: they must be pruned with one mask.`,
        );
    });
  }
}

const all = (n: number) => new Uint8Array(n).fill(1);
const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);

/** Copies the kept rows/columns of a row-major [rows, cols] block. */
function select2d(
  data: Float32Array,
  rows: number,
  cols: number,
  keepRows: Uint8Array,
  keepCols: Uint8Array,
) {
  const out = new Float32Array(count(keepRows) * count(keepCols));
  let at = 0;
  for (let r = 0; r < rows; r++) {
    if (!keepRows[r]) continue;
    for (let c = 0; c < cols; c++) if (keepCols[c]) out[at++] = data[r * cols + c]!;
  }
  return out;
}

const select1d = (data: Float32Array, keep: Uint8Array) => data.filter((_, i) => keep[i] === 1);

/** Expands a channel keep-vector over the positions of an H×W×C map (NHWC flatten order). */
function expandChannels(keep: Uint8Array, positions: number): Uint8Array {
  const c = keep.length;
  const out = new Uint8Array(positions * c);
  for (let p = 0; p < positions; p++) out.set(keep, p * c);
  return out;
}

export interface Compacted {
  arch: Architecture;
  weights: Weights;
}

function checkMask(layer: string, keep: Uint8Array, units: number): void {
  if (keep.length !== units)
    throw new TicketLabError(
      'INVALID_INPUT',
      `${layer}: unit mask has ${keep.length} entries for ${units} units`,
    );
  if (count(keep) === 0)
    throw new TicketLabError(
      'LAYER_COLLAPSE',
      `${layer}: every unit removed; the network would be disconnected`,
    );
}

interface Flow {
  /** the tensor's shape in the original model */
  shape: Shape;
  /** which of its channels/features are kept */
  incoming: Uint8Array;
}

/**
 * The physically smaller model: every removed unit gone from every tensor it touches.
 * Channels joined by skip connections must share one mask (`couplingGroups`).
 */
export function compact(arch: Architecture, weights: Weights, units: UnitMask): Compacted {
  checkCoupling(arch, units);
  const out: Weights = new Map();
  const outputLayer = describeParams(arch).find((p) => p.isOutput)?.layer;
  const walk = (defs: LayerDef[], flow: Flow): { layers: LayerDef[]; flow: Flow } => {
    let { shape, incoming } = flow;
    const layers: LayerDef[] = [];
    for (const layer of defs) {
      switch (layer.kind) {
        case 'flatten':
          if ('c' in shape) {
            incoming = expandChannels(incoming, shape.h * shape.w);
            shape = { features: shape.h * shape.w * shape.c };
          }
          layers.push(layer);
          break;
        case 'select': {
          // the flat input's features: the kept ones stay selected, in their order
          const keep = units.get(layer.name) ?? all(layer.indices.length);
          checkMask(layer.name, keep, layer.indices.length);
          layers.push({ ...layer, indices: layer.indices.filter((_, i) => keep[i]) });
          shape = { features: layer.indices.length };
          incoming = keep;
          break;
        }
        case 'dense': {
          const keep =
            layer.name === outputLayer
              ? all(layer.units)
              : (units.get(layer.name) ?? all(layer.units));
          checkMask(layer.name, keep, layer.units);
          const inUnits = (shape as { features: number }).features;
          out.set(
            `${layer.name}.kernel`,
            select2d(weights.get(`${layer.name}.kernel`)!, inUnits, layer.units, incoming, keep),
          );
          out.set(`${layer.name}.bias`, select1d(weights.get(`${layer.name}.bias`)!, keep));
          layers.push({ ...layer, units: count(keep) });
          shape = { features: layer.units };
          incoming = keep;
          break;
        }
        case 'conv2d': {
          const keep = units.get(layer.name) ?? all(layer.filters);
          checkMask(layer.name, keep, layer.filters);
          const s = shape as { h: number; w: number; c: number };
          const k2 = layer.kernel * layer.kernel;
          // [kh, kw, cin, cout] = [k² · cin rows, cout columns] with input channels repeating per position
          out.set(
            `${layer.name}.kernel`,
            select2d(
              weights.get(`${layer.name}.kernel`)!,
              k2 * s.c,
              layer.filters,
              expandChannels(incoming, k2),
              keep,
            ),
          );
          if (layer.bias)
            out.set(`${layer.name}.bias`, select1d(weights.get(`${layer.name}.bias`)!, keep));
          layers.push({ ...layer, filters: count(keep) });
          const size = (n: number) =>
            layer.padding === 'same'
              ? Math.ceil(n / layer.stride)
              : Math.floor((n - layer.kernel) / layer.stride) + 1;
          shape = { h: size(s.h), w: size(s.w), c: layer.filters };
          incoming = keep;
          break;
        }
        case 'batchnorm':
          for (const role of ['gamma', 'beta', 'movingMean', 'movingVariance'])
            out.set(
              `${layer.name}.${role}`,
              select1d(weights.get(`${layer.name}.${role}`)!, incoming),
            );
          layers.push(layer);
          break;
        case 'maxpool': {
          const s = shape as { h: number; w: number; c: number };
          shape = { h: Math.floor(s.h / layer.size), w: Math.floor(s.w / layer.size), c: s.c };
          layers.push(layer);
          break;
        }
        case 'globalavgpool':
          shape = { features: (shape as { c: number }).c };
          layers.push(layer);
          break;
        case 'residual': {
          // both branches read the block's input; coupling makes them keep the same channels
          const body = walk(layer.body, { shape, incoming });
          const shortcut = walk(layer.shortcut, { shape, incoming });
          layers.push({ kind: 'residual', body: body.layers, shortcut: shortcut.layers });
          ({ shape, incoming } = body.flow);
          break;
        }
      }
    }
    return { layers, flow: { shape, incoming } };
  };
  const [h, w, c] = arch.inputShape;
  const { layers } = walk(arch.layers, { shape: { h, w, c }, incoming: all(c) });
  return { arch: { ...arch, layers }, weights: out };
}

/**
 * The same model with removed units zeroed in place (kernel slices, biases, batch-norm
 * scale and shift), so each removed unit outputs exactly 0: what `compact` must reproduce.
 */
export function zeroUnits(arch: Architecture, weights: Weights, units: UnitMask): Weights {
  checkCoupling(arch, units);
  const out: Weights = new Map([...weights].map(([k, v]) => [k, v.slice()]));
  const specs: ParamSpec[] = describeParams(arch);
  const zero = (defs: LayerDef[]) => {
    let lastUnits: Uint8Array | null = null;
    /** a selection's kept features: the next dense layer's rows for the others are zeroed */
    let selected: Uint8Array | null = null;
    for (const layer of defs) {
      if (layer.kind === 'select') selected = units.get(layer.name) ?? null;
      if (layer.kind === 'dense' && selected) {
        const kernel = out.get(`${layer.name}.kernel`)!;
        selected.forEach((k, row) => {
          if (!k) kernel.fill(0, row * layer.units, (row + 1) * layer.units);
        });
        selected = null;
      }
      if (layer.kind === 'residual') {
        zero(layer.body);
        zero(layer.shortcut);
        lastUnits = null;
      } else if (layer.kind === 'dense' || layer.kind === 'conv2d') {
        const keep = units.get(layer.name);
        const p = specs.find((s) => s.name === `${layer.name}.kernel`)!;
        lastUnits = keep && !p.isOutput ? keep : null;
        if (!lastUnits) continue;
        const kernel = out.get(`${layer.name}.kernel`)!;
        const n = lastUnits.length;
        for (let i = 0; i < kernel.length; i++) if (!lastUnits[i % n]) kernel[i] = 0;
        const bias = out.get(`${layer.name}.bias`);
        if (bias) for (let u = 0; u < n; u++) if (!lastUnits[u]) bias[u] = 0;
      } else if (layer.kind === 'batchnorm' && lastUnits) {
        for (const role of ['gamma', 'beta']) {
          const t = out.get(`${layer.name}.${role}`)!;
          for (let u = 0; u < t.length; u++) if (!lastUnits[u]) t[u] = 0;
        }
      }
    }
  };
  zero(arch.layers);
  return out;
}
