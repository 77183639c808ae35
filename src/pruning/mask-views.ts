import { TicketLabError } from '../core/errors.ts';
import type { TensorBundle } from '../core/tensorfile.ts';
import type { ParamSpec, Shape3 } from '../engine/architectures.ts';

/**
 * What a ticket's mask looks like, counted from the stored 0/1 masks: per layer a heat-map
 * of kept weights, the first layer's kept weights per input pixel, and the overlap of two
 * masks. Kernels are laid out as the engine keeps them: dense [in, out], conv [kh, kw, in, out].
 */

/** Above this many filter × input-channel cells a conv layer is drawn per filter only. */
export const MAX_HEATMAP_CELLS = 65_536;

export interface LayerMaskView {
  /** the kernel's parameter name, e.g. `fc1.kernel` */
  layer: string;
  kind: 'dense' | 'conv2d';
  shape: number[];
  kept: number;
  total: number;
  /** heat-map rows: one per output unit (dense) or filter (conv) */
  rows: number;
  /** heat-map columns: one per input channel (conv), or 1 (dense, or conv drawn per filter) */
  cols: number;
  /** weights behind each cell, so kept / cellTotal is the cell's kept fraction */
  cellTotal: number;
  /** kept weights per cell, row-major (rows × cols) */
  cells: number[];
}

export interface InputPixelMap {
  /** the first layer's kernel, dense over the flattened input */
  layer: string;
  height: number;
  width: number;
  channels: number;
  /** weights from each pixel: the layer's units × the input's channels */
  perPixel: number;
  /** kept weights per pixel, row-major over height × width (channels summed) */
  kept: number[];
}

export interface LayerOverlap {
  layer: string;
  total: number;
  /** kept in both masks, only in the first (here), only in the second (there) */
  both: number;
  onlyHere: number;
  onlyThere: number;
  /** |here ∩ there| / |here ∪ there|; null when neither keeps a weight */
  jaccard: number | null;
}

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The prunable kernels of `params` present in the mask, in forward order, checked against it. */
function maskedKernels(mask: TensorBundle, params: ParamSpec[]): ParamSpec[] {
  const kernels = params.filter((p) => p.prunable && mask.has(p.name));
  for (const p of kernels) {
    const t = mask.get(p.name)!;
    if (t.dtype !== 'U8' || t.data.length !== product(p.shape)) {
      throw new TicketLabError(
        'BLOB_CORRUPT',
        `The mask of ${p.name} holds ${t.data.length} ${t.dtype} values; its ${p.shape.join('×')} kernel needs ${product(p.shape)} 0/1 values. Rerun the experiment that produced it.`,
      );
    }
  }
  return kernels;
}

function layerView(p: ParamSpec, m: ArrayLike<number>): LayerMaskView {
  const out = p.shape[p.shape.length - 1]!;
  let kept = 0;
  if (p.shape.length === 2) {
    const cells = new Array<number>(out).fill(0);
    for (let i = 0; i < m.length; i++) {
      if (m[i]) {
        cells[i % out]!++;
        kept++;
      }
    }
    return {
      layer: p.name,
      kind: 'dense',
      shape: p.shape,
      kept,
      total: m.length,
      rows: out,
      cols: 1,
      cellTotal: p.shape[0]!,
      cells,
    };
  }
  const [kh, kw, inC] = p.shape as [number, number, number, number];
  const byChannel = out * inC <= MAX_HEATMAP_CELLS;
  const cols = byChannel ? inC : 1;
  const cells = new Array<number>(out * cols).fill(0);
  // index ((y·kw + x)·in + c)·out + f  →  cell (f, c)
  for (let i = 0; i < m.length; i++) {
    if (!m[i]) continue;
    kept++;
    const f = i % out;
    const c = Math.floor(i / out) % inC;
    cells[f * cols + (byChannel ? c : 0)]!++;
  }
  return {
    layer: p.name,
    kind: 'conv2d',
    shape: p.shape,
    kept,
    total: m.length,
    rows: out,
    cols,
    cellTotal: byChannel ? kh * kw : kh * kw * inC,
    cells,
  };
}

/** Per prunable layer (forward order): kept weights per output unit or filter × input channel. */
export function layerMaskViews(mask: TensorBundle, params: ParamSpec[]): LayerMaskView[] {
  return maskedKernels(mask, params).map((p) => layerView(p, mask.get(p.name)!.data));
}

/**
 * Kept weights per input pixel of a first layer that is dense over the flattened image
 * (LeNet-300-100): on MNIST, IMP keeps the digits' region and prunes the empty border
 * (Frankle & Carbin 2019; Zhou et al. 2019). Null when the first layer is a convolution.
 * Flattening is row-major over height × width × channels, as the model's reshape does.
 */
export function inputPixelMap(
  mask: TensorBundle,
  params: ParamSpec[],
  inputShape: Shape3,
): InputPixelMap | null {
  const first = maskedKernels(mask, params)[0];
  const [height, width, channels] = inputShape;
  const pixels = height * width;
  if (!first || first.shape.length !== 2 || first.shape[0] !== pixels * channels) return null;
  const out = first.shape[1]!;
  const m = mask.get(first.name)!.data;
  const kept = new Array<number>(pixels).fill(0);
  const perPixel = channels * out;
  for (let p = 0; p < pixels; p++) {
    let n = 0;
    for (let i = p * perPixel; i < (p + 1) * perPixel; i++) n += m[i]!;
    kept[p] = n;
  }
  return { layer: first.name, height, width, channels, perPixel, kept };
}

/** `fc1.kernel 784×300, fc2.kernel 300×100, …`: a mask's layers and shapes, to name in errors. */
export function describeMaskShapes(mask: TensorBundle, params: ParamSpec[]): string {
  return maskedKernels(mask, params)
    .map((p) => `${p.name} ${p.shape.join('×')}`)
    .join(', ');
}

/** Whether two masks cover the same kernels with the same shapes. */
export function sameMaskShapes(a: TensorBundle, b: TensorBundle): boolean {
  if (a.size !== b.size) return false;
  for (const [name, t] of a) {
    const u = b.get(name);
    if (!u || u.shape.join() !== t.shape.join()) return false;
  }
  return true;
}

const jaccard = (both: number, union: number) => (union === 0 ? null : both / union);

/**
 * Per layer and over the whole network: the weights two masks of one architecture both keep,
 * and those only one keeps. A ticket's child keeps a subset of its parent's weights, so the
 * child has nothing "only here" against its parent.
 */
export function maskOverlap(
  here: TensorBundle,
  there: TensorBundle,
  params: ParamSpec[],
): { layers: LayerOverlap[]; whole: LayerOverlap } {
  if (!sameMaskShapes(here, there))
    throw new Error('maskOverlap: the masks differ in layers or shapes');
  const layers = maskedKernels(here, params).map((p): LayerOverlap => {
    const a = here.get(p.name)!.data;
    const b = there.get(p.name)!.data;
    let both = 0;
    let onlyHere = 0;
    let onlyThere = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] && b[i]) both++;
      else if (a[i]) onlyHere++;
      else if (b[i]) onlyThere++;
    }
    return {
      layer: p.name,
      total: a.length,
      both,
      onlyHere,
      onlyThere,
      jaccard: jaccard(both, both + onlyHere + onlyThere),
    };
  });
  const sum = (k: 'total' | 'both' | 'onlyHere' | 'onlyThere') =>
    layers.reduce((s, l) => s + l[k], 0);
  const both = sum('both');
  return {
    layers,
    whole: {
      layer: 'all prunable layers',
      total: sum('total'),
      both,
      onlyHere: sum('onlyHere'),
      onlyThere: sum('onlyThere'),
      jaccard: jaccard(both, both + sum('onlyHere') + sum('onlyThere')),
    },
  };
}
