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
 * of dense layers (neurons) and conv layers (filters); removal then propagates to the next
 * layer's inputs, to batch-norm parameters, and through flatten to the dense rows that
 * read the removed channel at every position (NHWC order: row = pixel·C + channel).
 */

/** Layer name → keep flag per output unit (neuron or filter). Absent layers keep all. */
export type UnitMask = Map<string, Uint8Array>;

type Shape = { h: number; w: number; c: number } | { features: number };

function sequentialLayers(arch: Architecture): LayerDef[] {
  if (arch.layers.some((l) => l.kind === 'residual')) {
    throw new TicketLabError(
      'INVALID_SPEC',
      `${arch.model}: structured surgery of residual networks (channels coupled by skip connections) is not available yet.`,
    );
  }
  return arch.layers;
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

/** The physically smaller model: every removed unit gone from every tensor it touches. */
export function compact(arch: Architecture, weights: Weights, units: UnitMask): Compacted {
  const out: Weights = new Map();
  const layers: LayerDef[] = [];
  const [h0, w0, c0] = arch.inputShape;
  let shape: Shape = { h: h0, w: w0, c: c0 };
  let incoming: Uint8Array = all(c0); // kept channels/features of the current tensor
  const specs = new Map(describeParams(arch).map((p) => [p.name, p]));
  const outputLayer = [...specs.values()].find((p) => p.isOutput)?.layer;
  for (const layer of sequentialLayers(arch)) {
    switch (layer.kind) {
      case 'flatten':
        if ('c' in shape) {
          incoming = expandChannels(incoming, shape.h * shape.w);
          shape = { features: shape.h * shape.w * shape.c };
        }
        layers.push(layer);
        break;
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
      case 'residual':
        break; // refused by sequentialLayers
    }
  }
  return { arch: { ...arch, layers }, weights: out };
}

/**
 * The same model with removed units zeroed in place (kernel slices, biases, batch-norm
 * scale and shift), so each removed unit outputs exactly 0: what `compact` must reproduce.
 */
export function zeroUnits(arch: Architecture, weights: Weights, units: UnitMask): Weights {
  const out: Weights = new Map([...weights].map(([k, v]) => [k, v.slice()]));
  const specs: ParamSpec[] = describeParams(arch);
  let lastUnits: Uint8Array | null = null;
  for (const layer of sequentialLayers(arch)) {
    if (layer.kind === 'dense' || layer.kind === 'conv2d') {
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
  return out;
}
