import { TicketLabError } from '../core/errors.ts';
import type { ModelName } from '../core/vocabulary.ts';

/**
 * Model architectures from the lottery-ticket literature as plain data: a list of layers
 * (with residual blocks for ResNet-20). Shapes, parameters and FLOPs are derived from
 * this description; the forward pass in model.ts interprets it.
 */
export { MODEL_NAMES, type ModelName } from '../core/vocabulary.ts';

export type Activation = 'relu' | 'linear';

export type LayerDef =
  | {
      kind: 'dense';
      name: string;
      units: number;
      activation: Activation;
      unitGate?: UnitGate;
    }
  | {
      kind: 'conv2d';
      name: string;
      filters: number;
      kernel: number;
      stride: number;
      padding: 'same' | 'valid';
      activation: Activation;
      bias: boolean;
      unitGate?: UnitGate;
    }
  | { kind: 'batchnorm'; name: string; activation: Activation; unitGate?: UnitGate }
  /**
   * The features of the flattened input that the network reads, in this order (a gather on
   * axis 1 of the flat input, NHWC order: pixel·C + channel): what surgery leaves of an input
   * whose L0 gates closed (Louizos et al. 2018 gate LeNet-300-100's pixels). Comes right after
   * the first flatten; a unit gate on it gates each feature while searching.
   */
  | { kind: 'select'; name: string; indices: number[]; unitGate?: UnitGate }
  | { kind: 'maxpool'; size: number }
  | { kind: 'globalavgpool' }
  | { kind: 'flatten' }
  | { kind: 'residual'; body: LayerDef[]; shortcut: LayerDef[] };

export type Shape3 = [number, number, number];

/**
 * A learned per-unit gate before the activation, used while searching for units to remove:
 * L0 hard-concrete gates (Louizos, Welling, Kingma 2018: parameter log α) or multiplicative
 * Gaussian noise with a sparsity prior (Louizos, Ullrich, Welling 2017: mean and log σ²).
 */
export type UnitGate = 'hard-concrete' | 'gaussian';

export interface Architecture {
  model: ModelName;
  inputShape: Shape3;
  classes: number;
  layers: LayerDef[];
}

export type ParamRole =
  | 'kernel'
  | 'bias'
  | 'gamma'
  | 'beta'
  | 'movingMean'
  | 'movingVariance'
  | 'logAlpha'
  | 'noiseMean'
  | 'noiseLogVar';

export interface ParamSpec {
  /** `<layer>.<role>`, e.g. `fc1.kernel` */
  name: string;
  layer: string;
  role: ParamRole;
  shape: number[];
  /** Dense and conv kernels are pruned; biases and batch-norm never (Frankle & Carbin §2). */
  prunable: boolean;
  /** Updated by the optimiser (moving statistics are not). */
  trainable: boolean;
  fanIn: number;
  fanOut: number;
  /**
   * Kept inside [min, max] after every update: the parameter is clamped, never its use in
   * the forward pass or a penalty (a clip there zeroes the gradient at the bound).
   */
  bounds?: readonly [number, number];
  /** For kernels: output positions per example, to count FLOPs (1 for dense). */
  positions: number;
  isOutput: boolean;
}

/** Layer builders (exported for tests that build small networks of their own). */
export const dense = (
  name: string,
  units: number,
  activation: Activation = 'relu',
): Extract<LayerDef, { kind: 'dense' }> => ({
  kind: 'dense',
  name,
  units,
  activation,
});
export const conv = (
  name: string,
  filters: number,
  opts: Partial<{
    stride: number;
    kernel: number;
    padding: 'same' | 'valid';
    activation: Activation;
    bias: boolean;
  }> = {},
): LayerDef => ({
  kind: 'conv2d',
  name,
  filters,
  kernel: opts.kernel ?? 3,
  stride: opts.stride ?? 1,
  padding: opts.padding ?? 'same',
  activation: opts.activation ?? 'relu',
  bias: opts.bias ?? true,
});
const pool: LayerDef = { kind: 'maxpool', size: 2 };
export const flatten: LayerDef = { kind: 'flatten' };

/** Frankle & Carbin 2019 Conv-2/4/6: 3×3 same convs, 2×2 max-pool, FC 256-256-classes. */
function convNet(blocks: number[][], classes: number): LayerDef[] {
  const layers: LayerDef[] = [];
  let i = 0;
  for (const block of blocks) {
    for (const filters of block) layers.push(conv(`conv${++i}`, filters));
    layers.push(pool);
  }
  return [
    ...layers,
    flatten,
    dense('fc1', 256),
    dense('fc2', 256),
    dense('fc3', classes, 'linear'),
  ];
}

/**
 * VGG for CIFAR with batch norm, as OpenLTH's cifar_vgg: 3×3 convolutions without bias, each
 * followed by batch norm and ReLU, max pooling at 'M', global average pooling and one dense
 * layer. VGG-16 is the network of Tanaka et al. 2020's CIFAR experiments.
 */
const VGG_PLANS: Record<'vgg-11' | 'vgg-16', (number | 'M')[]> = {
  'vgg-11': [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512],
  'vgg-16': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512],
};

function vgg(plan: (number | 'M')[], classes: number): LayerDef[] {
  const layers: LayerDef[] = [];
  let i = 0;
  for (const p of plan) {
    if (p === 'M') layers.push(pool);
    else {
      i++;
      layers.push(conv(`conv${i}`, p, { activation: 'linear', bias: false }));
      layers.push({ kind: 'batchnorm', name: `bn${i}`, activation: 'relu' });
    }
  }
  return [...layers, { kind: 'globalavgpool' }, dense('fc', classes, 'linear')];
}

/** ResNet-20 for CIFAR (He et al. 2016 §4.2), 1×1 conv shortcuts where the shape changes (OpenLTH). */
function resnet20(classes: number): LayerDef[] {
  const layers: LayerDef[] = [
    conv('conv', 16, { activation: 'linear', bias: false }),
    { kind: 'batchnorm', name: 'bn', activation: 'relu' },
  ];
  let inFilters = 16;
  [16, 32, 64].forEach((filters, stage) => {
    for (let b = 0; b < 3; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const p = `block${stage + 1}.${b + 1}`;
      const body: LayerDef[] = [
        conv(`${p}.conv1`, filters, { stride, activation: 'linear', bias: false }),
        { kind: 'batchnorm', name: `${p}.bn1`, activation: 'relu' },
        conv(`${p}.conv2`, filters, { activation: 'linear', bias: false }),
        { kind: 'batchnorm', name: `${p}.bn2`, activation: 'linear' },
      ];
      const shortcut: LayerDef[] =
        stride !== 1 || inFilters !== filters
          ? [
              conv(`${p}.shortcut`, filters, {
                kernel: 1,
                stride,
                activation: 'linear',
                bias: false,
              }),
              { kind: 'batchnorm', name: `${p}.shortcut_bn`, activation: 'linear' },
            ]
          : [];
      layers.push({ kind: 'residual', body, shortcut });
      inFilters = filters;
    }
  });
  return [...layers, { kind: 'globalavgpool' }, dense('fc', classes, 'linear')];
}

/**
 * Each model's layers for a dataset's class count, one line per model (README: "Adding a
 * model"); its name goes in src/core/vocabulary.ts's MODEL_NAMES.
 */
const MODEL_LAYERS: Record<ModelName, (classes: number) => LayerDef[]> = {
  // Frankle & Carbin 2019 Figure 2: 784-300-100-10, ReLU.
  'lenet-300-100': (classes) => [
    flatten,
    dense('fc1', 300),
    dense('fc2', 100),
    dense('fc3', classes, 'linear'),
  ],
  // LeNet-5 as in Caffe (Han et al. 2015, Louizos et al. 2017): 20-50-500.
  'lenet-5': (classes) => [
    conv('conv1', 20, { kernel: 5, padding: 'valid' }),
    pool,
    conv('conv2', 50, { kernel: 5, padding: 'valid' }),
    pool,
    flatten,
    dense('fc1', 500),
    dense('fc2', classes, 'linear'),
  ],
  'conv-2': (classes) => convNet([[64, 64]], classes),
  'conv-4': (classes) =>
    convNet(
      [
        [64, 64],
        [128, 128],
      ],
      classes,
    ),
  'conv-6': (classes) =>
    convNet(
      [
        [64, 64],
        [128, 128],
        [256, 256],
      ],
      classes,
    ),
  'vgg-11': (classes) => vgg(VGG_PLANS['vgg-11'], classes),
  'vgg-16': (classes) => vgg(VGG_PLANS['vgg-16'], classes),
  'resnet-20': (classes) => resnet20(classes),
};

export function buildArchitecture(
  model: ModelName,
  inputShape: Shape3,
  classes: number,
): Architecture {
  const layers = MODEL_LAYERS[model](classes);
  const arch = { model, inputShape, classes, layers };
  describeParams(arch); // validates that the layers fit the input
  return arch;
}

function convOut(size: number, kernel: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - kernel) / stride) + 1;
}

type Shape = number[];

/**
 * log α of a hard-concrete gate stays in [log 0.01, log 100], as in Louizos, Welling and
 * Kingma's reference code (clamped after each step): beyond it the gate is shut or open
 * with certainty and its gradient vanishes.
 */
export const LOG_ALPHA_RANGE = [Math.log(1e-2), Math.log(1e2)] as const;

const unitGateParams = (layer: string, units: number, gate: UnitGate | undefined) =>
  gate === undefined
    ? []
    : gate === 'hard-concrete'
      ? [{ ...unitParam(layer, units, 'logAlpha'), bounds: LOG_ALPHA_RANGE }]
      : (['noiseMean', 'noiseLogVar'] as const).map((role) => unitParam(layer, units, role));

const unitParam = (layer: string, units: number, role: ParamRole): ParamSpec => ({
  name: `${layer}.${role}`,
  layer,
  role,
  shape: [units],
  prunable: false,
  trainable: true,
  fanIn: units,
  fanOut: units,
  positions: 1,
  isOutput: false,
});

/** Whether the parameters are of a network with batch norm (its moving statistics among them). */
export function hasBatchNorm(specs: ParamSpec[]): boolean {
  return specs.some((p) => p.role === 'movingMean');
}

/** Walks the layers, inferring shapes, and lists every parameter in forward order. */
export function describeParams(arch: Architecture): ParamSpec[] {
  const params: ParamSpec[] = [];
  const lastDense = [...arch.layers].reverse().find((l) => l.kind === 'dense');
  const walk = (layers: LayerDef[], input: Shape): Shape => {
    let shape = input;
    for (const layer of layers) {
      switch (layer.kind) {
        case 'flatten':
          shape = [shape.reduce((a, b) => a * b, 1)];
          break;
        case 'select': {
          const features = shape[0]!;
          if (layers !== arch.layers || layers[0]?.kind !== 'flatten' || layers[1] !== layer)
            throw new TicketLabError(
              'INVALID_SPEC',
              `${arch.model}: layer ${layer.name} selects input features, so it comes right after the first flatten`,
            );
          const bad = layer.indices.find((i) => !Number.isInteger(i) || i < 0 || i >= features);
          if (layer.indices.length === 0 || bad !== undefined)
            throw new TicketLabError(
              'INVALID_SPEC',
              `${arch.model}: layer ${layer.name} selects ${layer.indices.length === 0 ? 'no features' : `feature ${bad}`} of ${features}`,
            );
          params.push(...unitGateParams(layer.name, layer.indices.length, layer.unitGate));
          shape = [layer.indices.length];
          break;
        }
        case 'dense': {
          if (shape.length !== 1) {
            throw new TicketLabError(
              'INVALID_SPEC',
              `${arch.model}: layer ${layer.name} needs a flat input`,
            );
          }
          const inUnits = shape[0]!;
          const isOutput = layer === lastDense;
          params.push(
            {
              name: `${layer.name}.kernel`,
              layer: layer.name,
              role: 'kernel',
              shape: [inUnits, layer.units],
              prunable: true,
              trainable: true,
              fanIn: inUnits,
              fanOut: layer.units,
              positions: 1,
              isOutput,
            },
            {
              name: `${layer.name}.bias`,
              layer: layer.name,
              role: 'bias',
              shape: [layer.units],
              prunable: false,
              trainable: true,
              fanIn: inUnits,
              fanOut: layer.units,
              positions: 1,
              isOutput,
            },
          );
          params.push(...unitGateParams(layer.name, layer.units, layer.unitGate));
          shape = [layer.units];
          break;
        }
        case 'conv2d': {
          const [h, w, c] = shape as Shape3;
          const oh = convOut(h, layer.kernel, layer.stride, layer.padding);
          const ow = convOut(w, layer.kernel, layer.stride, layer.padding);
          if (shape.length !== 3 || oh < 1 || ow < 1) {
            throw new TicketLabError(
              'INVALID_SPEC',
              `${arch.model}: input ${arch.inputShape.join('×')} is too small or not an image for layer ${layer.name}`,
            );
          }
          const k2 = layer.kernel * layer.kernel;
          params.push({
            name: `${layer.name}.kernel`,
            layer: layer.name,
            role: 'kernel',
            shape: [layer.kernel, layer.kernel, c, layer.filters],
            prunable: true,
            trainable: true,
            fanIn: k2 * c,
            fanOut: k2 * layer.filters,
            positions: oh * ow,
            isOutput: false,
          });
          if (layer.bias) {
            params.push({
              name: `${layer.name}.bias`,
              layer: layer.name,
              role: 'bias',
              shape: [layer.filters],
              prunable: false,
              trainable: true,
              fanIn: k2 * c,
              fanOut: k2 * layer.filters,
              positions: oh * ow,
              isOutput: false,
            });
          }
          params.push(...unitGateParams(layer.name, layer.filters, layer.unitGate));
          shape = [oh, ow, layer.filters];
          break;
        }
        case 'batchnorm': {
          const c = shape[shape.length - 1]!;
          for (const role of ['gamma', 'beta', 'movingMean', 'movingVariance'] as const) {
            params.push({
              name: `${layer.name}.${role}`,
              layer: layer.name,
              role,
              shape: [c],
              prunable: false,
              trainable: role === 'gamma' || role === 'beta',
              fanIn: c,
              fanOut: c,
              positions: 1,
              isOutput: false,
            });
          }
          params.push(...unitGateParams(layer.name, c, layer.unitGate));
          break;
        }
        case 'maxpool': {
          const [h, w, c] = shape as Shape3;
          if (h < layer.size || w < layer.size) {
            throw new TicketLabError(
              'INVALID_SPEC',
              `${arch.model}: input ${arch.inputShape.join('×')} is too small to pool`,
            );
          }
          shape = [Math.floor(h / layer.size), Math.floor(w / layer.size), c];
          break;
        }
        case 'globalavgpool':
          shape = [shape[2]!];
          break;
        case 'residual': {
          const out = walk(layer.body, shape);
          const skip = layer.shortcut.length > 0 ? walk(layer.shortcut, shape) : shape;
          if (out.join() !== skip.join())
            throw new Error(`residual shapes differ: ${out} vs ${skip}`);
          shape = out;
          break;
        }
      }
    }
    return shape;
  };
  walk(arch.layers, arch.inputShape);
  return params;
}

/**
 * A model's widths as the papers write them (Louizos et al. 2018: LeNet-300-100 → 219-214-100):
 * the input features it reads (every pixel and channel, or those its input selection keeps),
 * then the units or filters of each dense and convolutional layer in forward order (a
 * residual block's body, then its shortcut), e.g. `784-300-100-10`.
 */
export function layerWidths(arch: Architecture): string {
  const select = arch.layers.find((l) => l.kind === 'select');
  const widths = [select ? select.indices.length : arch.inputShape.reduce((a, b) => a * b, 1)];
  const walk = (layers: LayerDef[]) => {
    for (const l of layers) {
      if (l.kind === 'dense') widths.push(l.units);
      else if (l.kind === 'conv2d') widths.push(l.filters);
      else if (l.kind === 'residual') {
        walk(l.body);
        walk(l.shortcut);
      }
    }
  };
  walk(arch.layers);
  return widths.join('-');
}

export interface LayerCount {
  /** the parameter's name, e.g. `fc1.kernel` */
  layer: string;
  total: number;
  kept: number;
}

export interface Size {
  totalParams: number;
  /** parameters left: kept prunable weights plus every non-prunable parameter */
  remainingParams: number;
  prunableTotal: number;
  prunableKept: number;
  /** prunableKept / prunableTotal */
  remainingFraction: number;
  /**
   * Forward FLOPs per example: 2 × multiply–accumulates of dense and conv layers with
   * only kept weights counted, plus one add per bias output. Pooling, normalisation and
   * activations are not counted.
   */
  flops: number;
  layers: LayerCount[];
}

/** Parameter and FLOP counts; `kept(name)` gives the number of unpruned weights of a kernel. */
export function measureSize(specs: ParamSpec[], kept: (name: string) => number): Size {
  let totalParams = 0;
  let remainingParams = 0;
  let prunableTotal = 0;
  let prunableKept = 0;
  let flops = 0;
  const layers: LayerCount[] = [];
  for (const p of specs) {
    const total = p.shape.reduce((a, b) => a * b, 1);
    totalParams += total;
    if (p.prunable) {
      const k = kept(p.name);
      prunableTotal += total;
      prunableKept += k;
      remainingParams += k;
      flops += 2 * k * p.positions;
      layers.push({ layer: p.name, total, kept: k });
    } else {
      remainingParams += total;
      if (p.role === 'bias') flops += total * p.positions;
    }
  }
  return {
    totalParams,
    remainingParams,
    prunableTotal,
    prunableKept,
    remainingFraction: prunableTotal === 0 ? 1 : prunableKept / prunableTotal,
    flops,
    layers,
  };
}
