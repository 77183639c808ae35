import {
  describeParams,
  type Activation,
  type Architecture,
  type LayerDef,
} from '../engine/architectures.ts';
import type { ExportModel } from './model.ts';

/**
 * A ticket in PyTorch's conventions: NCHW activations, `Linear.weight` as [out, in],
 * `Conv2d.weight` as [out, in, kh, kw], batch norm as weight/bias/running_mean/running_var.
 * The architecture description names every padding explicitly because TensorFlow's
 * "same" padding is asymmetric for even totals (stride 2), which `nn.Conv2d(padding=…)`
 * cannot express; a rebuild applies `F.pad(x, (left, right, top, bottom))` first.
 * The ONNX export is generated from this same description.
 */
export type TorchLayer =
  | { type: 'Flatten' }
  /**
   * x[:, indices]: the features of the flat input the network reads, indices in C×H×W order
   * stored as the int32 tensor `<name>.indices` (torch.index_select on dimension 1)
   */
  | { type: 'Select'; name: string; in_features: number; out_features: number }
  | {
      type: 'Linear';
      name: string;
      in_features: number;
      out_features: number;
      activation: Activation;
    }
  | {
      type: 'Conv2d';
      name: string;
      in_channels: number;
      out_channels: number;
      kernel_size: number;
      stride: number;
      /** [top, bottom, left, right] zero padding applied before the convolution */
      padding: [number, number, number, number];
      bias: boolean;
      activation: Activation;
    }
  | { type: 'BatchNorm2d'; name: string; num_features: number; eps: number; activation: Activation }
  | { type: 'MaxPool2d'; kernel_size: number; stride: number }
  /** mean over H and W: [N, C, H, W] → [N, C] */
  | { type: 'GlobalAvgPool2d' }
  /** relu(body(x) + shortcut(x)); an empty shortcut is the identity */
  | { type: 'Residual'; body: TorchLayer[]; shortcut: TorchLayer[] };

export interface TorchArchitecture {
  format: 'ticketlab-torch-v1';
  model: string;
  /** [C, H, W] of one example; inputs are NCHW pixels / 255 */
  inputShape: [number, number, number];
  /** applied first, per channel: (x − mean[c]) / std[c] */
  inputNormalisation: { mean: number[]; std: number[] };
  classes: number;
  layers: TorchLayer[];
}

/** Batch-norm ε used by the engine (model.ts), stated in the description. */
const BN_EPSILON = 1e-5;

type Shape = { c: number; h: number; w: number } | { features: number };

function samePadding(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/**
 * How each kernel's rows map from the engine's layout to PyTorch's: dense layers that
 * follow a flatten of an H×W×C map read their inputs in C×H×W order in PyTorch.
 */
export interface FlattenOrigin {
  c: number;
  h: number;
  w: number;
}

export interface LoweredArchitecture {
  description: TorchArchitecture;
  /** dense or select layer name → the feature map its inputs were flattened from */
  flattenOrigins: Map<string, FlattenOrigin>;
}

export function lowerArchitecture(
  arch: Architecture,
  normalisation: ExportModel['normalisation'],
): LoweredArchitecture {
  const flattenOrigins = new Map<string, FlattenOrigin>();
  let pending: FlattenOrigin | null = null;
  const walk = (layers: LayerDef[], input: Shape): [TorchLayer[], Shape] => {
    const out: TorchLayer[] = [];
    let shape = input;
    for (const layer of layers) {
      switch (layer.kind) {
        case 'flatten':
          if ('c' in shape) {
            pending = shape.c > 1 && shape.h * shape.w > 1 ? { ...shape } : null;
            shape = { features: shape.c * shape.h * shape.w };
          }
          out.push({ type: 'Flatten' });
          break;
        case 'select': {
          // its indices are converted to C×H×W order: the rows after it stay in its order
          if (pending) flattenOrigins.set(layer.name, pending);
          pending = null;
          out.push({
            type: 'Select',
            name: layer.name,
            in_features: (shape as { features: number }).features,
            out_features: layer.indices.length,
          });
          shape = { features: layer.indices.length };
          break;
        }
        case 'dense': {
          const inFeatures = 'features' in shape ? shape.features : shape.c * shape.h * shape.w;
          if (pending) flattenOrigins.set(layer.name, pending);
          pending = null;
          out.push({
            type: 'Linear',
            name: layer.name,
            in_features: inFeatures,
            out_features: layer.units,
            activation: layer.activation,
          });
          shape = { features: layer.units };
          break;
        }
        case 'conv2d': {
          const s = shape as { c: number; h: number; w: number };
          const [top, bottom] =
            layer.padding === 'same' ? samePadding(s.h, layer.kernel, layer.stride) : [0, 0];
          const [left, right] =
            layer.padding === 'same' ? samePadding(s.w, layer.kernel, layer.stride) : [0, 0];
          out.push({
            type: 'Conv2d',
            name: layer.name,
            in_channels: s.c,
            out_channels: layer.filters,
            kernel_size: layer.kernel,
            stride: layer.stride,
            padding: [top, bottom, left, right],
            bias: layer.bias,
            activation: layer.activation,
          });
          shape = {
            c: layer.filters,
            h: Math.floor((s.h + top + bottom - layer.kernel) / layer.stride) + 1,
            w: Math.floor((s.w + left + right - layer.kernel) / layer.stride) + 1,
          };
          break;
        }
        case 'batchnorm':
          out.push({
            type: 'BatchNorm2d',
            name: layer.name,
            num_features: 'c' in shape ? shape.c : shape.features,
            eps: BN_EPSILON,
            activation: layer.activation,
          });
          break;
        case 'maxpool': {
          const s = shape as { c: number; h: number; w: number };
          out.push({ type: 'MaxPool2d', kernel_size: layer.size, stride: layer.size });
          shape = { c: s.c, h: Math.floor(s.h / layer.size), w: Math.floor(s.w / layer.size) };
          break;
        }
        case 'globalavgpool':
          out.push({ type: 'GlobalAvgPool2d' });
          shape = { features: (shape as { c: number }).c };
          break;
        case 'residual': {
          const [body, bodyShape] = walk(layer.body, shape);
          const [shortcut] = walk(layer.shortcut, shape);
          out.push({ type: 'Residual', body, shortcut });
          shape = bodyShape;
          break;
        }
      }
    }
    return [out, shape];
  };
  const [h, w, c] = arch.inputShape;
  const [layers] = walk(arch.layers, { c, h, w });
  return {
    description: {
      format: 'ticketlab-torch-v1',
      model: arch.model,
      inputShape: [c, h, w],
      inputNormalisation: normalisation,
      classes: arch.classes,
      layers,
    },
    flattenOrigins,
  };
}

export interface TorchTensor {
  shape: number[];
  data: Float32Array;
}

/** A flat feature's index in the engine's H×W×C order as PyTorch's C×H×W order has it. */
function torchFeature(i: number, origin?: FlattenOrigin): number {
  if (!origin) return i;
  // engine feature i = (y·w + x)·c + ch  →  PyTorch feature ch·h·w + y·w + x
  const ch = i % origin.c;
  const pixel = (i - ch) / origin.c;
  return ch * origin.h * origin.w + pixel;
}

/** A dense kernel [in, out] as a PyTorch Linear weight [out, in], rows in C×H×W order. */
function linearWeight(kernel: Float32Array, shape: number[], origin?: FlattenOrigin): TorchTensor {
  const [inUnits, outUnits] = shape as [number, number];
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < inUnits; i++) {
    const j = torchFeature(i, origin);
    for (let o = 0; o < outUnits; o++) out[o * inUnits + j] = kernel[i * outUnits + o]!;
  }
  return { shape: [outUnits, inUnits], data: out };
}

/** A conv kernel [kh, kw, in, out] as a PyTorch Conv2d weight [out, in, kh, kw]. */
function convWeight(kernel: Float32Array, shape: number[]): TorchTensor {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = kernel[((y * kw + x) * cin + i) * cout + o]!;
  return { shape: [cout, cin, kh, kw], data: out };
}

const BN_NAMES = {
  gamma: 'weight',
  beta: 'bias',
  movingMean: 'running_mean',
  movingVariance: 'running_var',
} as const;

export interface TorchParams {
  /** PyTorch parameter name (e.g. `conv1.weight`) → masked tensor in PyTorch layout */
  weights: Map<string, TorchTensor>;
  /** `<layer>.weight` → its 0/1 mask in the same layout, for every prunable kernel */
  masks: Map<string, TorchTensor>;
  /** `<layer>.indices` → an input selection's features, in C×H×W order */
  indices: Map<string, Int32Array>;
}

/**
 * The engine's parameters in PyTorch's names and layouts, pruned weights set to zero.
 * Layer names are kept (`block1.1.conv1` is module `block1.1.conv1`).
 */
export function toTorchParams({ arch, weights, mask, normalisation }: ExportModel): TorchParams {
  const { flattenOrigins } = lowerArchitecture(arch, normalisation);
  const shapes = new Map(describeParams(arch).map((p) => [p.name, p.shape]));
  const out: TorchParams = { weights: new Map(), masks: new Map(), indices: new Map() };
  const convert = (layer: string, kind: 'dense' | 'conv2d', data: Float32Array, shape: number[]) =>
    kind === 'dense'
      ? linearWeight(data, shape, flattenOrigins.get(layer))
      : convWeight(data, shape);
  const visit = (layers: LayerDef[]) => {
    for (const layer of layers) {
      if (layer.kind === 'residual') {
        visit(layer.body);
        visit(layer.shortcut);
      } else if (layer.kind === 'select') {
        const origin = flattenOrigins.get(layer.name);
        out.indices.set(
          `${layer.name}.indices`,
          Int32Array.from(layer.indices, (i) => torchFeature(i, origin)),
        );
      } else if (layer.kind === 'dense' || layer.kind === 'conv2d') {
        const name = `${layer.name}.kernel`;
        const kernel = weights.get(name)!;
        const m = mask.get(name);
        const shape = shapes.get(name)!;
        const masked = m ? kernel.map((v, i) => (m[i] ? v : 0)) : kernel;
        out.weights.set(`${layer.name}.weight`, convert(layer.name, layer.kind, masked, shape));
        const maskData = m ? Float32Array.from(m) : new Float32Array(kernel.length).fill(1);
        out.masks.set(`${layer.name}.weight`, convert(layer.name, layer.kind, maskData, shape));
        const hasBias = layer.kind === 'dense' || layer.bias;
        if (hasBias) {
          const bias = weights.get(`${layer.name}.bias`)!;
          out.weights.set(`${layer.name}.bias`, { shape: [bias.length], data: bias });
        }
      } else if (layer.kind === 'batchnorm') {
        for (const [role, torchName] of Object.entries(BN_NAMES)) {
          const data = weights.get(`${layer.name}.${role}`)!;
          out.weights.set(`${layer.name}.${torchName}`, { shape: [data.length], data });
        }
      }
    }
  };
  visit(arch.layers);
  return out;
}
