import type { LayerDef } from '../src/engine/architectures.ts';

/**
 * Whether some path from the input still reaches the output, layer by layer: no weighted
 * layer on it kept empty. A residual block passes where its body or its shortcut does (an
 * identity shortcut always does). `kept` counts the weights a layer's kernel keeps
 * (`<layer>.kernel`, as masks and tickets name them), undefined where it is not pruned.
 * Tanaka et al. 2020 call a mask that fails this one that has collapsed.
 */
export function inputReachesOutput(
  layers: LayerDef[],
  kept: (kernel: string) => number | undefined,
): boolean {
  return layers.every((l) => {
    if (l.kind === 'residual')
      return (
        inputReachesOutput(l.body, kept) ||
        l.shortcut.length === 0 ||
        inputReachesOutput(l.shortcut, kept)
      );
    if (l.kind !== 'dense' && l.kind !== 'conv2d') return true;
    const count = kept(`${l.name}.kernel`);
    return count === undefined || count > 0;
  });
}

/**
 * Whether some path of kept weights still leads from an input feature to an output unit,
 * unit by unit: a dense unit or a convolution's output channel carries the input where a
 * kept weight links it to a unit of the layer before that does. A layer can keep weights and
 * still carry nothing, when every weight it keeps starts at a unit that carries nothing (a
 * bias or batch norm's shift adds a constant, not the input). `mask` gives a kernel's kept
 * weights in its stored layout (`[k, k, in, out]` or `[in, out]`), undefined where the layer
 * is not pruned. Where this is false, the network's outputs do not depend on its input.
 */
export function unitsReachOutput(
  layers: LayerDef[],
  inputShape: [number, number, number],
  mask: (kernel: string) => Uint8Array | undefined,
): boolean {
  const [height, width, channels] = inputShape;
  const input = { height, width, units: Array<boolean>(channels).fill(true) };
  return layers.reduce((x, l) => through(l, x, mask), input).units.some(Boolean);
}

/** A tensor's spatial size and which of its channels (features, once flat) carry the input. */
interface Carried {
  height: number;
  width: number;
  units: boolean[];
}

function through(
  l: LayerDef,
  x: Carried,
  mask: (kernel: string) => Uint8Array | undefined,
): Carried {
  switch (l.kind) {
    case 'dense':
      return { height: 1, width: 1, units: linked(x.units, l.units, mask(`${l.name}.kernel`)) };
    case 'conv2d': {
      const size = (n: number) =>
        l.padding === 'same' ? Math.ceil(n / l.stride) : Math.floor((n - l.kernel) / l.stride) + 1;
      return {
        height: size(x.height),
        width: size(x.width),
        units: linked(x.units, l.filters, mask(`${l.name}.kernel`)),
      };
    }
    case 'maxpool':
      return {
        height: Math.floor(x.height / l.size),
        width: Math.floor(x.width / l.size),
        units: x.units,
      };
    case 'globalavgpool':
      return { height: 1, width: 1, units: x.units };
    case 'flatten': {
      // NHWC: feature pixel·C + channel
      const pixels = x.height * x.width;
      const units = Array.from(
        { length: pixels * x.units.length },
        (_, f) => x.units[f % x.units.length]!,
      );
      return { height: 1, width: 1, units };
    }
    case 'select':
      return { height: 1, width: 1, units: l.indices.map((i) => x.units[i]!) };
    case 'batchnorm':
      return x;
    case 'residual': {
      const body = l.body.reduce((y, m) => through(m, y, mask), x);
      const shortcut = l.shortcut.reduce((y, m) => through(m, y, mask), x);
      return { ...body, units: body.units.map((u, c) => u || shortcut.units[c]!) };
    }
  }
}

/**
 * The output units a kernel links to some carrying input unit. A kernel's last axis is its
 * output, the one before its input; the axes before those (a convolution's window) repeat.
 */
function linked(inputs: boolean[], outputs: number, kept: Uint8Array | undefined): boolean[] {
  if (!kept) return Array<boolean>(outputs).fill(inputs.some(Boolean));
  const stride = inputs.length * outputs;
  if (kept.length % stride !== 0)
    throw new Error(`a mask of ${kept.length} weights does not fit ${inputs.length} × ${outputs}`);
  const units = Array<boolean>(outputs).fill(false);
  for (let offset = 0; offset < kept.length; offset += stride)
    for (let i = 0; i < inputs.length; i++) {
      if (!inputs[i]) continue;
      const row = offset + i * outputs;
      for (let o = 0; o < outputs; o++) if (kept[row + o]) units[o] = true;
    }
  return units;
}
