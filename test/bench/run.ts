// Runs every bench/*.bench.ts of this package in turn (or those matching the first argument);
// each prints `name value unit` lines.
import { runBenchFiles } from "@shoal/base";

await runBenchFiles(import.meta.url, process.argv[2]);
