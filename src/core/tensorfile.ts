import { TicketLabError } from './errors.ts';

/**
 * Named host tensors and their on-disk form, safetensors
 * (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a
 * JSON header, then the raw little-endian data. The same bytes serve as blob content
 * and as the safetensors export, and names are sorted so equal bundles hash equally.
 */
export type HostTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'U8'; shape: number[]; data: Uint8Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array };

export type TensorBundle = Map<string, HostTensor>;

const BYTES_PER = { F32: 4, U8: 1, I32: 4 } as const;

export function encodeBundle(bundle: TensorBundle, metadata: Record<string, string> = {}): Buffer {
  return Buffer.concat(encodeBundleParts(bundle, metadata));
}

/**
 * The encoded file as its pieces, in order (header, then each tensor's bytes as a view of
 * its data, not a copy): for writing and hashing a large bundle piece by piece.
 */
export function encodeBundleParts(
  bundle: TensorBundle,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const names = [...bundle.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = bundle.get(name)!;
    const size = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(8 + headerBytes.length);
  head.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(head, 8);
  return [
    head,
    ...names.map((name) => {
      const { data } = bundle.get(name)!;
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }),
  ];
}

export function decodeBundle(bytes: Uint8Array, what = 'tensor file'): TensorBundle {
  const fail = (why: string): never => {
    throw new TicketLabError('BLOB_CORRUPT', `${what}: not a valid safetensors file (${why})`);
  };
  if (bytes.byteLength < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength) fail('header runs past the end of the file');
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString());
  } catch {
    return fail('header is not JSON');
  }
  const dataStart = 8 + headerLength;
  const bundle: TensorBundle = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = entry;
    if (!(dtype in BYTES_PER)) fail(`tensor ${name} has unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES_PER[dtype as keyof typeof BYTES_PER]) {
      fail(`tensor ${name}: shape [${shape}] does not match its ${end - begin} bytes`);
    }
    if (dataStart + end > bytes.byteLength) fail(`tensor ${name} runs past the end of the file`);
    // Copy out so the result is aligned and independent of the file buffer.
    // (Uint8Array's slice, not Buffer's, which would return a view into the pool.)
    const raw = Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end);
    if (dtype === 'F32') bundle.set(name, { dtype, shape, data: new Float32Array(raw.buffer) });
    else if (dtype === 'I32') bundle.set(name, { dtype, shape, data: new Int32Array(raw.buffer) });
    else bundle.set(name, { dtype: 'U8', shape, data: raw });
  }
  return bundle;
}

/** The `__metadata__` string map of a safetensors file (empty when it has none). */
export function decodeMetadata(bytes: Uint8Array): Record<string, string> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(
    Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString(),
  );
  return (header.__metadata__ ?? {}) as Record<string, string>;
}
