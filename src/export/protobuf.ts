/**
 * A minimal protocol-buffers writer: just enough wire format (varints, fixed32 floats,
 * length-delimited bytes) to serialise ONNX's ModelProto without a protobuf dependency.
 * A message is the concatenation of its encoded fields.
 */
export type Field = Uint8Array;

function varint(value: number | bigint): number[] {
  // int64 fields: negatives are encoded as their 64-bit two's complement (10 bytes).
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const key = (field: number, wireType: 0 | 2 | 5): number[] => varint((field << 3) | wireType);

export function int(field: number, value: number | bigint): Field {
  return Uint8Array.from([...key(field, 0), ...varint(value)]);
}

/** proto2 repeated scalars are written unpacked: one key per value. */
export function ints(field: number, values: readonly number[]): Field {
  return concat(values.map((v) => int(field, v)));
}

export function float(field: number, value: number): Field {
  const out = new Uint8Array([...key(field, 5), 0, 0, 0, 0]);
  new DataView(out.buffer).setFloat32(out.length - 4, value, true);
  return out;
}

export function bytes(field: number, data: Uint8Array): Field {
  const head = Uint8Array.from([...key(field, 2), ...varint(data.byteLength)]);
  return concat([head, data]);
}

export function string(field: number, value: string): Field {
  return bytes(field, new TextEncoder().encode(value));
}

/** An embedded message: its fields, length-delimited. */
export function message(field: number, fields: readonly Field[]): Field {
  return bytes(field, concat(fields));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
