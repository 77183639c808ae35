import type { ExportModel } from './model.ts';
import * as pb from './protobuf.ts';
import {
  lowerArchitecture,
  toTorchParams,
  type TorchLayer,
  type TorchTensor,
} from './torch-layout.ts';

/**
 * ONNX export (opset 13) of a ticket, built from the same PyTorch-convention description
 * as the safetensors export: input `input` [N, C, H, W] float32 pixels / 255 (normalised
 * inside the graph), output `logits` [N, classes]. Pruned weights are stored as zeros; an
 * input selection is a Gather on axis 1 with constant int64 indices. Field numbers are those
 * of onnx.proto.
 */
const IR_VERSION = 8;
const OPSET = 13;
const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;

type Attr = { name: string } & ({ f: number } | { i: number } | { ints: number[] });

function attribute(a: Attr): pb.Field {
  const fields = [pb.string(1, a.name)];
  if ('f' in a) fields.push(pb.float(2, a.f), pb.int(20, ATTR.FLOAT));
  else if ('i' in a) fields.push(pb.int(3, a.i), pb.int(20, ATTR.INT));
  else fields.push(pb.ints(8, a.ints), pb.int(20, ATTR.INTS));
  return pb.message(5, fields);
}

function node(op: string, name: string, inputs: string[], outputs: string[], attrs: Attr[] = []) {
  return pb.message(1, [
    ...inputs.map((i) => pb.string(1, i)),
    ...outputs.map((o) => pb.string(2, o)),
    pb.string(3, name),
    pb.string(4, op),
    ...attrs.map(attribute),
  ]);
}

function initializer(name: string, t: TorchTensor): pb.Field {
  return pb.message(5, [
    pb.ints(1, t.shape),
    pb.int(2, FLOAT),
    pb.string(8, name),
    pb.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
  ]);
}

/** Constant int64 indices (a Gather's), little-endian as TensorProto's raw_data. */
function indicesInitializer(name: string, indices: Int32Array): pb.Field {
  const data = new BigInt64Array(indices.length);
  indices.forEach((v, i) => (data[i] = BigInt(v)));
  return pb.message(5, [
    pb.ints(1, [indices.length]),
    pb.int(2, INT64),
    pb.string(8, name),
    pb.bytes(9, new Uint8Array(data.buffer)),
  ]);
}

/** ValueInfoProto for a float tensor; string dims are symbolic (the batch size). */
function valueInfo(field: number, name: string, dims: (number | string)[]): pb.Field {
  const dim = (d: number | string) =>
    pb.message(1, [typeof d === 'number' ? pb.int(1, d) : pb.string(2, d)]);
  const tensorType = pb.message(1, [pb.int(1, FLOAT), pb.message(2, dims.map(dim))]);
  return pb.message(field, [pb.string(1, name), pb.message(2, [tensorType])]);
}

export interface OnnxOptions {
  producerVersion: string;
  docString: string;
}

export function toOnnx(model: ExportModel, options: OnnxOptions): Uint8Array {
  const { description } = lowerArchitecture(model.arch, model.normalisation);
  const params = toTorchParams(model);
  const nodes: pb.Field[] = [];
  const initializers: pb.Field[] = [];
  let counter = 0;
  const fresh = (hint: string) => `${hint}_${++counter}`;
  const param = (name: string): string => {
    initializers.push(initializer(name, params.weights.get(name)!));
    return name;
  };
  const emit = (op: string, inputs: string[], attrs: Attr[] = []): string => {
    const out = fresh(op.toLowerCase());
    nodes.push(node(op, out, inputs, [out], attrs));
    return out;
  };
  const activate = (x: string, activation: 'relu' | 'linear') =>
    activation === 'relu' ? emit('Relu', [x]) : x;

  const lower = (layers: TorchLayer[], input: string): string => {
    let x = input;
    for (const l of layers) {
      switch (l.type) {
        case 'Flatten':
          x = emit('Flatten', [x], [{ name: 'axis', i: 1 }]);
          break;
        case 'Select': {
          const name = `${l.name}.indices`;
          initializers.push(indicesInitializer(name, params.indices.get(name)!));
          x = emit('Gather', [x, name], [{ name: 'axis', i: 1 }]);
          break;
        }
        case 'Linear':
          x = emit(
            'Gemm',
            [x, param(`${l.name}.weight`), param(`${l.name}.bias`)],
            [{ name: 'transB', i: 1 }],
          );
          x = activate(x, l.activation);
          break;
        case 'Conv2d': {
          const [top, bottom, left, right] = l.padding;
          const inputs = [x, param(`${l.name}.weight`)];
          if (l.bias) inputs.push(param(`${l.name}.bias`));
          x = emit('Conv', inputs, [
            { name: 'kernel_shape', ints: [l.kernel_size, l.kernel_size] },
            { name: 'strides', ints: [l.stride, l.stride] },
            { name: 'pads', ints: [top, left, bottom, right] },
          ]);
          x = activate(x, l.activation);
          break;
        }
        case 'BatchNorm2d':
          x = emit(
            'BatchNormalization',
            ['weight', 'bias', 'running_mean', 'running_var'].reduce(
              (inputs, role) => [...inputs, param(`${l.name}.${role}`)],
              [x],
            ),
            [{ name: 'epsilon', f: l.eps }],
          );
          x = activate(x, l.activation);
          break;
        case 'MaxPool2d':
          x = emit(
            'MaxPool',
            [x],
            [
              { name: 'kernel_shape', ints: [l.kernel_size, l.kernel_size] },
              { name: 'strides', ints: [l.stride, l.stride] },
            ],
          );
          break;
        case 'GlobalAvgPool2d':
          x = emit('Flatten', [emit('GlobalAveragePool', [x])], [{ name: 'axis', i: 1 }]);
          break;
        case 'Residual': {
          const body = lower(l.body, x);
          const skip = l.shortcut.length > 0 ? lower(l.shortcut, x) : x;
          x = emit('Relu', [emit('Add', [body, skip])]);
          break;
        }
      }
    }
    return x;
  };
  const [c, h, w] = description.inputShape;
  const perChannel = (name: string, values: number[]) => {
    initializers.push(initializer(name, { shape: [1, c, 1, 1], data: Float32Array.from(values) }));
    return name;
  };
  const { mean, std } = description.inputNormalisation;
  const normalised = emit('Div', [
    emit('Sub', ['input', perChannel('input_mean', mean)]),
    perChannel('input_std', std),
  ]);
  const last = lower(description.layers, normalised);
  nodes.push(node('Identity', 'output', [last], ['logits']));

  const graph = pb.message(7, [
    ...nodes,
    pb.string(2, `${description.model}-ticket`),
    ...initializers,
    pb.string(10, options.docString),
    valueInfo(11, 'input', ['N', c, h, w]),
    valueInfo(12, 'logits', ['N', description.classes]),
  ]);
  return pb.concat([
    pb.int(1, IR_VERSION),
    pb.string(2, 'TicketLab'),
    pb.string(3, options.producerVersion),
    pb.string(6, options.docString),
    graph,
    pb.message(8, [pb.string(1, ''), pb.int(2, OPSET)]),
  ]);
}
