/**
 * Benchmarks print one line per figure: `name value unit`. Every package's bench/run.ts uses this
 * so that `npm run bench` output can be collected by a script.
 */
export function reportFigure(name: string, value: number, unit: string): void {
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(value >= 100 ? 1 : 3);
  process.stdout.write(`${name} ${shown} ${unit}\n`);
}

/** The p-th percentile (0..100) of `samples` by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
