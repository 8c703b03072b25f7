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

/**
 * Runs every `*.bench.ts` beside `runnerUrl` in name order (each exports `run()`), or only those
 * whose name contains `only`: the body of each package's `bench/run.ts`.
 */
export async function runBenchFiles(runnerUrl: string, only?: string): Promise<void> {
  const { readdirSync } = await import("node:fs");
  const { dirname, join } = await import("node:path");
  const { fileURLToPath, pathToFileURL } = await import("node:url");
  const dir = dirname(fileURLToPath(runnerUrl));
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".bench.ts"))
    .sort()) {
    if (only !== undefined && !file.includes(only)) continue;
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { run: () => Promise<void> };
    await mod.run();
  }
}
