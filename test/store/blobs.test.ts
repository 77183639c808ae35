import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeBundle, encodeBundle, type TensorBundle } from '../../src/core/tensorfile.ts';
import { BlobStore } from '../../src/store/blobs.ts';
import { isTicketLabError } from '../../src/core/errors.ts';
import { canMountTmpfs, fillDisk, mountTmpfs, tempDir, unmount } from '../helpers.ts';

const bundle: TensorBundle = new Map([
  [
    'fc1.kernel',
    { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]) },
  ],
  ['fc1.mask', { dtype: 'U8', shape: [2, 3], data: Uint8Array.from([1, 0, 1, 0, 1, 1]) }],
]);

describe('blob store', () => {
  it('round-trips tensors through content-addressed files, leaving no temp files', () => {
    const blobs = new BlobStore(tempDir());
    const sha = blobs.putTensors(bundle);
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(blobs.putTensors(bundle)).toBe(sha); // same content, same address
    const back = blobs.getTensors(sha);
    expect([...back.keys()]).toEqual(['fc1.kernel', 'fc1.mask']);
    expect(Array.from(back.get('fc1.kernel')!.data)).toEqual(
      Array.from(bundle.get('fc1.kernel')!.data),
    );
    expect(back.get('fc1.mask')!.shape).toEqual([2, 3]);
    expect(readdirSync(blobs.root).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('reports corruption and missing blobs clearly', () => {
    const blobs = new BlobStore(tempDir());
    const sha = blobs.putTensors(bundle);
    writeFileSync(blobs.pathOf(sha), 'garbage');
    expect(() => blobs.get(sha)).toThrowError(/is corrupted: its content hashes to/);
    expect(() => blobs.get('0'.repeat(64))).toThrowError(/missing/);
  });

  it('writes safetensors: 8-byte header length, JSON header with offsets, raw data', () => {
    const bytes = encodeBundle(bundle);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
    expect(header['fc1.kernel']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header['fc1.mask']).toEqual({ dtype: 'U8', shape: [2, 3], data_offsets: [24, 30] });
    expect(() => decodeBundle(bytes.subarray(0, bytes.length - 3), 'cut.safetensors')).toThrowError(
      /cut\.safetensors.*past the end/,
    );
  });
});

describe.skipIf(!canMountTmpfs())('blob store on a full disk', () => {
  it('refuses a write with DISK_FULL naming the free space and the folder, leaves no temp file, and writes once space is back', () => {
    const root = tempDir();
    expect(mountTmpfs(root, '1m')).toBe(true);
    try {
      const blobs = new BlobStore(root);
      const filler = fillDisk(root);
      const big = new Uint8Array(64 * 1024).fill(3);
      let error: unknown;
      try {
        blobs.put(big);
      } catch (e) {
        error = e;
      }
      expect(isTicketLabError(error, 'DISK_FULL')).toBe(true);
      expect((error as Error).message).toBe(
        `disk full: 0 MB free in ${root}; free space and resume`,
      );
      expect(readdirSync(root).filter((f) => f.startsWith('.tmp'))).toEqual([]);
      rmSync(filler);
      expect(blobs.get(blobs.put(big))).toEqual(Buffer.from(big));
    } finally {
      unmount(root);
    }
  });
});
