import { describeParams, type LayerDef } from '../engine/architectures.ts';
import type { ExportModel } from './model.ts';

/**
 * TF.js LayersModel export: a Keras functional-model topology (`model.json`) and one
 * weights file, loadable with `tf.loadLayersModel`. Layouts are the engine's own (NHWC,
 * TensorFlow "same" padding), so weights are copied as they are, pruned ones zero. The
 * model takes pixels / 255 and normalises them in its first layer.
 */
export interface TfjsArtifacts {
  modelJson: Record<string, unknown>;
  weightsBin: Uint8Array;
}

export const TFJS_WEIGHTS_FILE = 'weights.bin';

interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
  name: string;
  inbound_nodes: [string, number, number, Record<string, never>][][];
}

const KERAS_BN_WEIGHTS = {
  gamma: 'gamma',
  beta: 'beta',
  movingMean: 'moving_mean',
  movingVariance: 'moving_variance',
} as const;

export function toTfjs(
  { arch, weights, mask, normalisation }: ExportModel,
  generatedBy: string,
): TfjsArtifacts {
  const shapes = new Map(describeParams(arch).map((p) => [p.name, p.shape]));
  const layers: KerasLayer[] = [];
  const weightSpecs: { name: string; shape: number[]; dtype: 'float32' }[] = [];
  const chunks: Float32Array[] = [];
  const pushWeight = (name: string, shape: number[], data: Float32Array) => {
    chunks.push(data);
    weightSpecs.push({ name, shape, dtype: 'float32' });
  };
  const addWeight = (kerasName: string, paramName: string) => {
    const data = weights.get(paramName)!;
    const m = mask.get(paramName);
    pushWeight(kerasName, shapes.get(paramName)!, m ? data.map((v, i) => (m[i] ? v : 0)) : data);
  };
  let counter = 0;
  const add = (
    className: string,
    name: string,
    config: Record<string, unknown>,
    inputs: string[],
  ) => {
    layers.push({
      class_name: className,
      config: { name, trainable: true, dtype: 'float32', ...config },
      name,
      inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [],
    });
    return name;
  };
  const activation = (x: string, layerName: string, act: 'relu' | 'linear') =>
    act === 'relu' ? add('Activation', `${layerName}_relu`, { activation: 'relu' }, [x]) : x;

  const lower = (defs: LayerDef[], input: string): string => {
    let x = input;
    for (const l of defs) {
      switch (l.kind) {
        case 'flatten':
          x = add('Flatten', `flatten_${++counter}`, { data_format: 'channels_last' }, [x]);
          break;
        case 'select': {
          // Keras layers have no gather: a frozen dense layer whose kernel has one 1 per
          // column selects the features exactly (every other product is 0·x = 0)
          const features = arch.inputShape.reduce((a, b) => a * b, 1);
          const n = l.indices.length;
          const kernel = new Float32Array(features * n);
          l.indices.forEach((feature, j) => (kernel[feature * n + j] = 1));
          x = add(
            'Dense',
            l.name,
            { units: n, activation: 'linear', use_bias: false, trainable: false },
            [x],
          );
          pushWeight(`${l.name}/kernel`, [features, n], kernel);
          break;
        }
        case 'dense':
          x = add('Dense', l.name, { units: l.units, activation: l.activation, use_bias: true }, [
            x,
          ]);
          addWeight(`${l.name}/kernel`, `${l.name}.kernel`);
          addWeight(`${l.name}/bias`, `${l.name}.bias`);
          break;
        case 'conv2d':
          x = add(
            'Conv2D',
            l.name,
            {
              filters: l.filters,
              kernel_size: [l.kernel, l.kernel],
              strides: [l.stride, l.stride],
              padding: l.padding,
              data_format: 'channels_last',
              dilation_rate: [1, 1],
              activation: l.activation,
              use_bias: l.bias,
            },
            [x],
          );
          addWeight(`${l.name}/kernel`, `${l.name}.kernel`);
          if (l.bias) addWeight(`${l.name}/bias`, `${l.name}.bias`);
          break;
        case 'batchnorm':
          x = add(
            'BatchNormalization',
            l.name,
            { axis: -1, momentum: 0.9, epsilon: 1e-5, center: true, scale: true },
            [x],
          );
          for (const [role, kerasRole] of Object.entries(KERAS_BN_WEIGHTS))
            addWeight(`${l.name}/${kerasRole}`, `${l.name}.${role}`);
          x = activation(x, l.name, l.activation);
          break;
        case 'maxpool':
          x = add(
            'MaxPooling2D',
            `maxpool_${++counter}`,
            {
              pool_size: [l.size, l.size],
              strides: [l.size, l.size],
              padding: 'valid',
              data_format: 'channels_last',
            },
            [x],
          );
          break;
        case 'globalavgpool':
          x = add(
            'GlobalAveragePooling2D',
            `avgpool_${++counter}`,
            { data_format: 'channels_last' },
            [x],
          );
          break;
        case 'residual': {
          const body = lower(l.body, x);
          const skip = l.shortcut.length > 0 ? lower(l.shortcut, x) : x;
          const sum = add('Add', `add_${++counter}`, {}, [body, skip]);
          x = activation(sum, sum, 'relu');
          break;
        }
      }
    }
    return x;
  };
  const input = add(
    'InputLayer',
    'input',
    { batch_input_shape: [null, ...arch.inputShape], sparse: false },
    [],
  );
  // Input normalisation as a frozen batch norm: (x − mean) / sqrt(var + ε) with var = std² − ε.
  const channels = arch.inputShape[2];
  const normalised = add(
    'BatchNormalization',
    'input_normalisation',
    { axis: -1, momentum: 0.9, epsilon: 1e-5, center: true, scale: true, trainable: false },
    [input],
  );
  pushWeight(`${normalised}/gamma`, [channels], new Float32Array(channels).fill(1));
  pushWeight(`${normalised}/beta`, [channels], new Float32Array(channels));
  pushWeight(`${normalised}/moving_mean`, [channels], Float32Array.from(normalisation.mean));
  pushWeight(
    `${normalised}/moving_variance`,
    [channels],
    Float32Array.from(normalisation.std, (s) => Math.max(s * s - 1e-5, 0)),
  );
  const output = lower(arch.layers, normalised);

  const weightsBin = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    weightsBin.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy,
      convertedBy: null,
      modelTopology: {
        class_name: 'Model',
        config: {
          name: `${arch.model}-ticket`,
          layers,
          input_layers: [[input, 0, 0]],
          output_layers: [[output, 0, 0]],
        },
        keras_version: 'tfjs-layers 4.22.0',
        backend: 'tensor_flow.js',
      },
      weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: weightSpecs }],
    },
    weightsBin,
  };
}
