/**
 * Errors with stable codes. Boundaries (IPC, HTTP, worker messages) carry
 * `{name, code, message}` and rebuild the error on the other side, so callers test
 * `code`, never `instanceof` across a process boundary.
 */
export const ERROR_CODES = [
  'INVALID_SPEC',
  'INVALID_INPUT',
  'INVALID_DATASET',
  'DATASET_NOT_FOUND',
  'MIGRATION_MISMATCH',
  'DATABASE_NEWER_THAN_APP',
  'MIGRATION_FAILED',
  'BLOB_CORRUPT',
  'BLOB_MISSING',
  'NOT_FOUND',
  'TRAINING_DIVERGED',
  'CANCELLED',
  'PAUSED',
  'LAYER_COLLAPSE',
  'BACKEND_UNAVAILABLE',
  'FILE_EXISTS',
  'SCORE_NOT_FINITE',
  'DISK_FULL',
  'JOB_RUNNING_ELSEWHERE',
  'WRITE_FAILED',
  'DATA_FOLDER_UNWRITABLE',
  'GPU_LOST',
  'BACKEND_CRASHED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

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
