import { describe, expect, it } from 'vitest';
import type { TensorBundle } from '../../src/core/tensorfile.ts';
import {
  buildArchitecture,
  describeParams,
  type ModelName,
  type Shape3,
} from '../../src/engine/architectures.ts';
import {
  inputPixelMap,
  layerMaskViews,
  MAX_HEATMAP_CELLS,
  maskOverlap,
} from '../../src/pruning/mask-views.ts';

/**
 * The layouts the views read, on masks whose pattern is known (the tests of real IMP masks
 * are in test/services/masks.test.ts): kernels are [in, out] and [kh, kw, in, out], and the
 * input is flattened row-major over height × width × channels.
 */
function maskOf(
  model: ModelName,
  inputShape: Shape3,
  keep: (name: string, index: number[]) => boolean,
) {
  const params = describeParams(buildArchitecture(model, inputShape, 2));
  const bundle: TensorBundle = new Map();
  for (const p of params.filter((q) => q.prunable)) {
    const data = new Uint8Array(p.shape.reduce((a, b) => a * b, 1));
    data.forEach((_, i) => {
      // the multi-index of flat index i, last axis fastest
      const index: number[] = [];
      let rest = i;
      for (const d of [...p.shape].reverse()) {
        index.unshift(rest % d);
        rest = Math.floor(rest / d);
      }
      data[i] = keep(p.name, index) ? 1 : 0;
    });
    bundle.set(p.name, { dtype: 'U8', shape: p.shape, data });
  }
  return { params, bundle };
}

describe('mask views', () => {
  it('counts the first dense layer per input pixel over a non-square colour input, channels summed', () => {
    const [H, W, C] = [4, 5, 3];
    // fc1 input i = (y·W + x)·C + c: keep a weight when its unit o is below y + 2x + c
    const { params, bundle } = maskOf('lenet-300-100', [H, W, C], (name, [i, o]) => {
      if (name !== 'fc1.kernel') return true;
      const c = i! % C;
      const pixel = Math.floor(i! / C);
      return o! < Math.floor(pixel / W) + 2 * (pixel % W) + c;
    });
    const map = inputPixelMap(bundle, params, [H, W, C])!;
    expect(map).toMatchObject({ layer: 'fc1.kernel', height: H, width: W, channels: C });
    expect(map.perPixel).toBe(300 * C);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        expect(map.kept[y * W + x]).toBe([0, 1, 2].reduce((s, c) => s + y + 2 * x + c, 0));
  });

  it('draws conv layers per filter × input channel, and per filter past the cell limit', () => {
    // LeNet-5's conv2 (5×5×20×50): filter f keeps only its weights from input channel f mod 20
    const { params, bundle } = maskOf('lenet-5', [28, 28, 1], (name, index) =>
      name === 'conv2.kernel' ? index[2] === index[3]! % 20 : true,
    );
    const conv2 = layerMaskViews(bundle, params).find((l) => l.layer === 'conv2.kernel')!;
    expect(conv2).toMatchObject({ rows: 50, cols: 20, cellTotal: 25, kept: 50 * 25 });
    for (let f = 0; f < 50; f++)
      for (let c = 0; c < 20; c++) expect(conv2.cells[f * 20 + c]).toBe(c === f % 20 ? 25 : 0);
    const fc1 = layerMaskViews(bundle, params).find((l) => l.layer === 'fc1.kernel')!;
    expect(fc1).toMatchObject({ kind: 'dense', rows: 500, cols: 1, cellTotal: 800 });
    expect(inputPixelMap(bundle, params, [28, 28, 1])).toBeNull(); // first layer is a conv

    // VGG-16's 512 × 512 filter × channel layers exceed the limit: drawn per filter
    const vgg = describeParams(buildArchitecture('vgg-16', [32, 32, 3], 10));
    const dense: TensorBundle = new Map(
      vgg
        .filter((p) => p.prunable)
        .map((p) => [
          p.name,
          {
            dtype: 'U8',
            shape: p.shape,
            data: new Uint8Array(p.shape.reduce((a, b) => a * b, 1)).fill(1),
          },
        ]),
    );
    const views = layerMaskViews(dense, vgg);
    const big = views.find((l) => l.shape[2]! * l.shape[3]! > MAX_HEATMAP_CELLS)!;
    expect(big).toMatchObject({ rows: 512, cols: 1, cellTotal: 9 * big.shape[2]! });
    expect(views.find((l) => l.layer === 'conv1.kernel')).toMatchObject({ rows: 64, cols: 3 });
  });

  it('overlaps two masks per layer and over the network', () => {
    const a = maskOf('lenet-300-100', [28, 28, 1], (_, [i]) => i! % 2 === 0);
    const b = maskOf('lenet-300-100', [28, 28, 1], (_, [i]) => i! % 3 === 0);
    const { layers, whole } = maskOverlap(a.bundle, b.bundle, a.params);
    const fc2 = layers.find((l) => l.layer === 'fc2.kernel')!;
    // fc2 is 300×100: rows i = 0…299, each of 100 weights
    expect(fc2).toMatchObject({ both: 50 * 100, onlyHere: 100 * 100, onlyThere: 50 * 100 });
    expect(fc2.jaccard).toBeCloseTo(1 / 4, 12);
    expect(whole.both).toBe(layers.reduce((s, l) => s + l.both, 0));
  });
});
