/**
 * Errors with stable codes. Boundaries (IPC, HTTP, worker messages) carry
 * `{name, code, message}` and rebuild the error on the other side, so callers test
 * `code`, never `instanceof` across a process boundary.
 */
export type ErrorCode =
  | 'INVALID_SPEC'
  | 'INVALID_INPUT'
  | 'INVALID_DATASET'
  | 'DATASET_NOT_FOUND'
  | 'MIGRATION_MISMATCH'
  | 'DATABASE_NEWER_THAN_APP'
  | 'MIGRATION_FAILED'
  | 'BLOB_CORRUPT'
  | 'BLOB_MISSING'
  | 'NOT_FOUND'
  | 'TRAINING_DIVERGED'
  | 'CANCELLED'
  | 'PAUSED'
  | 'LAYER_COLLAPSE'
  | 'BACKEND_UNAVAILABLE'
  | 'FILE_EXISTS'
  | 'WRITE_FAILED';

export class TicketLabError extends Error {
  override readonly name = 'TicketLabError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isTicketLabError(e: unknown, code?: ErrorCode): e is TicketLabError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === 'TicketLabError' &&
    (code === undefined || (e as { code?: unknown }).code === code)
  );
}
