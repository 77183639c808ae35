import { TicketLabError } from './errors.ts';

/** Training length or a step, as OpenLTH writes them: `500it`, `2ep`, `1ep50it`. */
export const DURATION_PATTERN = /^(?:(\d+)ep)?(?:(\d+)it)?$/;

export function durationToIterations(d: string, iterationsPerEpoch: number): number {
  const m = DURATION_PATTERN.exec(d);
  if (!m || d.length === 0) throw new TicketLabError('INVALID_SPEC', `invalid duration "${d}"`);
  return Number(m[1] ?? 0) * iterationsPerEpoch + Number(m[2] ?? 0);
}
