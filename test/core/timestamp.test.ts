import { describe, expect, it } from 'vitest';
import { isoMinute } from '../../src/core/timestamp.ts';

describe('isoMinute', () => {
  it('cuts an ISO timestamp to the minute, keeping its date and UTC time', () => {
    expect(isoMinute('2026-12-07T14:55:12.345Z')).toBe('2026-12-07 14:55');
    expect(isoMinute('2026-01-31T00:00:59Z')).toBe('2026-01-31 00:00');
  });
});
