import type { TensorBundle } from '../../src/core/tensorfile.ts';
import type { TorchArchitecture, TorchLayer } from '../../src/export/torch-layout.ts';

/**
 * An independent forward pass over a safetensors export, written from PyTorch's
 * definitions with plain loops (NCHW, weight = weight_orig × weight_mask), so the
 * test does not reuse the engine or the exporter.
 */
type T = { shape: number[]; data: Float32Array };

export function torchReferenceForward(
  arch: TorchArchitecture,
  tensors: TensorBundle,
  input: Float32Array,
  batch: number,
): Float32Array {
  const get = (name: string): Float32Array => {
    const orig = tensors.get(`${name}_orig`);
    if (orig) {
      const m = tensors.get(`${name}_mask`)!.data as Float32Array;
      return (orig.data as Float32Array).map((v, i) => v * m[i]!);
    }
    const t = tensors.get(name);
    if (!t) throw new Error(`missing tensor ${name}`);
    return t.data as Float32Array;
  };
  const act = (x: T, a: string): T =>
    a === 'relu' ? { ...x, data: x.data.map((v) => Math.max(v, 0)) } : x;
  const run = (layers: TorchLayer[], x: T): T => {
    for (const l of layers) {
      switch (l.type) {
        case 'Flatten':
          x = { shape: [batch, x.data.length / batch], data: x.data };
          break;
        case 'Select': {
          const indices = tensors.get(`${l.name}.indices`)!.data as Int32Array;
          const out = new Float32Array(batch * l.out_features);
          for (let n = 0; n < batch; n++)
            indices.forEach(
              (i, j) => (out[n * l.out_features + j] = x.data[n * l.in_features + i]!),
            );
          x = { shape: [batch, l.out_features], data: out };
          break;
        }
        case 'Linear': {
          const w = get(`${l.name}.weight`);
          const b = get(`${l.name}.bias`);
          const out = new Float32Array(batch * l.out_features);
          for (let n = 0; n < batch; n++)
            for (let o = 0; o < l.out_features; o++) {
              let s = b[o]!;
              for (let i = 0; i < l.in_features; i++)
                s += w[o * l.in_features + i]! * x.data[n * l.in_features + i]!;
              out[n * l.out_features + o] = s;
            }
          x = act({ shape: [batch, l.out_features], data: out }, l.activation);
          break;
        }
        case 'Conv2d': {
          const [, c, h, wd] = x.shape as [number, number, number, number];
          const [top, bottom, left, right] = l.padding;
          const k = l.kernel_size;
          const oh = Math.floor((h + top + bottom - k) / l.stride) + 1;
          const ow = Math.floor((wd + left + right - k) / l.stride) + 1;
          const w = get(`${l.name}.weight`);
          const b = l.bias ? get(`${l.name}.bias`) : null;
          const out = new Float32Array(batch * l.out_channels * oh * ow);
          for (let n = 0; n < batch; n++)
            for (let o = 0; o < l.out_channels; o++)
              for (let y = 0; y < oh; y++)
                for (let xx = 0; xx < ow; xx++) {
                  let s = b ? b[o]! : 0;
                  for (let i = 0; i < c; i++)
                    for (let ky = 0; ky < k; ky++) {
                      const iy = y * l.stride + ky - top;
                      if (iy < 0 || iy >= h) continue;
                      for (let kx = 0; kx < k; kx++) {
                        const ix = xx * l.stride + kx - left;
                        if (ix < 0 || ix >= wd) continue;
                        s +=
                          w[((o * c + i) * k + ky) * k + kx]! *
                          x.data[((n * c + i) * h + iy) * wd + ix]!;
                      }
                    }
                  out[((n * l.out_channels + o) * oh + y) * ow + xx] = s;
                }
          x = act({ shape: [batch, l.out_channels, oh, ow], data: out }, l.activation);
          break;
        }
        case 'BatchNorm2d': {
          const [, c, h, wd] = x.shape as [number, number, number, number];
          const [g, beta, mean, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((r) =>
            get(`${l.name}.${r}`),
          ) as [Float32Array, Float32Array, Float32Array, Float32Array];
          const out = x.data.map((val, idx) => {
            const ch = Math.floor(idx / (h * wd)) % c;
            return ((val - mean[ch]!) / Math.sqrt(v[ch]! + l.eps)) * g[ch]! + beta[ch]!;
          });
          x = act({ shape: x.shape, data: out }, l.activation);
          break;
        }
        case 'MaxPool2d': {
          const [, c, h, wd] = x.shape as [number, number, number, number];
          const oh = Math.floor((h - l.kernel_size) / l.stride) + 1;
          const ow = Math.floor((wd - l.kernel_size) / l.stride) + 1;
          const out = new Float32Array(batch * c * oh * ow).fill(-Infinity);
          for (let n = 0; n < batch; n++)
            for (let ch = 0; ch < c; ch++)
              for (let y = 0; y < oh; y++)
                for (let xx = 0; xx < ow; xx++)
                  for (let ky = 0; ky < l.kernel_size; ky++)
                    for (let kx = 0; kx < l.kernel_size; kx++) {
                      const o = ((n * c + ch) * oh + y) * ow + xx;
                      const v =
                        x.data[((n * c + ch) * h + y * l.stride + ky) * wd + xx * l.stride + kx]!;
                      out[o] = Math.max(out[o]!, v);
                    }
          x = { shape: [batch, c, oh, ow], data: out };
          break;
        }
        case 'GlobalAvgPool2d': {
          const [, c, h, wd] = x.shape as [number, number, number, number];
          const out = new Float32Array(batch * c);
          for (let i = 0; i < batch * c; i++) {
            let s = 0;
            for (let j = 0; j < h * wd; j++) s += x.data[i * h * wd + j]!;
            out[i] = s / (h * wd);
          }
          x = { shape: [batch, c], data: out };
          break;
        }
        case 'Residual': {
          const body = run(l.body, x);
          const skip = l.shortcut.length > 0 ? run(l.shortcut, x) : x;
          x = { shape: body.shape, data: body.data.map((v, i) => Math.max(v + skip.data[i]!, 0)) };
          break;
        }
      }
    }
    return x;
  };
  const [c, h, w] = arch.inputShape;
  const { mean, std } = arch.inputNormalisation;
  const normalised = input.map((v, i) => {
    const ch = Math.floor(i / (h * w)) % c;
    return (v - mean[ch]!) / std[ch]!;
  });
  return run(arch.layers, { shape: [batch, c, h, w], data: normalised }).data;
}
