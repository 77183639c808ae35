/**
 * Small helpers for SVG and HTML built as text (the offline report): escaping, numbers, the
 * accuracy colour ramp. No DOM, so they run in the core and in tests alike.
 */

/** Text and attribute values for HTML and SVG: the five characters that could end them. */
export function esc(s: string | number): string {
  return String(s)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export const percent = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`;

/** Coordinates with two decimals: enough for a drawing, short in the file. */
export const num = (x: number): string => String(Math.round(x * 100) / 100);

/** The ramp's ends, readable on light and dark backgrounds alike. */
export const ACCURACY_LOW = [214, 69, 80] as const;
export const ACCURACY_HIGH = [38, 158, 110] as const;
export const UNTRAINED = '#8a8f98';

/** `share` (0…1) of the way from the low colour to the high one, as #rrggbb. */
export function rampColour(share: number): string {
  const s = Math.max(0, Math.min(1, share));
  return (
    '#' +
    ACCURACY_LOW.map((lo, i) =>
      Math.round(lo + (ACCURACY_HIGH[i]! - lo) * s)
        .toString(16)
        .padStart(2, '0'),
    ).join('')
  );
}

/**
 * Where each accuracy sits between the lowest and the highest shown (0…1): over 0–100% the
 * tickets of one run, all within a few points, would share one colour.
 */
export function accuracyRange(accuracies: (number | null)[]): { min: number; max: number } | null {
  const known = accuracies.filter((a): a is number => a !== null);
  return known.length ? { min: Math.min(...known), max: Math.max(...known) } : null;
}

export function accuracyColour(
  accuracy: number | null,
  range: { min: number; max: number } | null,
): string {
  if (accuracy === null || !range) return UNTRAINED;
  const span = range.max - range.min;
  return rampColour(span < 1e-12 ? 1 : (accuracy - range.min) / span);
}
