/**
 * Axis helpers for the SVG charts, kept free of the DOM so they can be tested alone.
 */

const lead = (t: number) => Math.round(t / 10 ** Math.floor(Math.log10(t) + 1e-9));

/** Sets of leading digits to label, tried from the sparsest: a wide span labels only powers of ten. */
const LEADS = [[1], [1, 2, 5], [1, 2, 3, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];

/**
 * Ticks of a log axis over [x0, x1] and which of them carry a label: the sparsest labelling
 * that names at least three values. `logTicks` is d3's scaleLog().ticks() for the domain;
 * within less than a decade it can hold one or two ticks, and then evenly spaced round values
 * (`linearTicks`) are used instead, all labelled, so the reader always has three to go by.
 */
export function logAxisTicks(
  logTicks: number[],
  linearTicks: number[],
): { value: number; label: boolean }[] {
  const ticks = logTicks.filter((t) => t > 0);
  for (const leads of LEADS) {
    const labelled = ticks.filter((t) => leads.includes(lead(t)));
    if (labelled.length >= 3)
      return ticks.map((t) => ({ value: t, label: leads.includes(lead(t)) }));
  }
  const linear = linearTicks.filter((t) => t > 0);
  return (linear.length >= ticks.length ? linear : ticks).map((t) => ({ value: t, label: true }));
}

/**
 * Splits a label into lines of at most `max` characters at spaces (a word longer than a
 * line is cut at the line length, never dropped), so a legend shows every name in full.
 */
export function wrapText(text: string, max: number): string[] {
  const width = Math.max(4, Math.floor(max));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= width) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    let rest = word;
    while (rest.length > width) {
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    line = rest;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}
