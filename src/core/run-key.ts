/** A run's name within its experiment, `level/method` (e.g. `3/random-reinit`): unique per experiment. */
export function runKey(r: { level: number; method: string }): string {
  return `${r.level}/${r.method}`;
}
