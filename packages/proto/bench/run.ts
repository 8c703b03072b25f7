// Runs every bench/*.bench.ts of this package in turn; each prints `name value unit` lines.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
for (const file of readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort()) {
  if (only !== undefined && !file.includes(only)) continue;
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run: () => Promise<void> };
  await mod.run();
}
