import { gunzipSync } from 'node:zlib';
import { TicketLabError } from '../core/errors.ts';

/** Returns the bytes, gunzipped when they start with the gzip magic number. */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw new TicketLabError(
        'INVALID_DATASET',
        `${file}: gzip data is damaged or truncated (${(e as Error).message}); download the file again.`,
      );
    }
  }
  return bytes;
}
