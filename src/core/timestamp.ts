/**
 * An ISO 8601 timestamp cut to the minute, as tables and provenance lines show one:
 * `2026-12-07T14:55:12.345Z` → `2026-12-07 14:55`. The time stays UTC; callers that show it
 * beside local times say so.
 */
export const isoMinute = (iso: string): string => iso.slice(0, 16).replace('T', ' ');
