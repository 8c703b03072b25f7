// The store's simulator sweep from the command line (by hand, for sweeps larger than CI's):
//   npm run sim -w @shoal/store -- --seeds N [--from SEED] [--nodes 3|5] [--verbose]
// Prints `store_sim_seeds_passed N`; exits 1 on the first failing seed with its replay command.
import { Command } from "commander";
import { StoreSimulator, storeSimNodesForSeed, storeSimReplayCommand } from "./sim/store-sim.js";

const o = new Command("store-sim")
  .option("--seeds <n>", "number of seeds to run", "100")
  .option("--from <seed>", "first seed", "1")
  .option("--nodes <n>", "cluster size (3 or 5); default rotates 3/3/5 by seed")
  .option("--verbose", "print one line per seed")
  .parse(process.argv)
  .opts<{ seeds: string; from: string; nodes?: string; verbose?: boolean }>();

const from = Number(o.from);
const started = Date.now();
let passed = 0;
for (let seed = from; seed < from + Number(o.seeds); seed++) {
  const nodes = o.nodes !== undefined ? Number(o.nodes) : storeSimNodesForSeed(seed);
  const r = await new StoreSimulator({ seed, nodes }).run();
  if (o.verbose)
    console.log(
      `seed ${seed} nodes ${nodes}: ok=${r.ok} acked=${r.acked} reads=${r.readsOk} rejected=${r.rejected} unknown=${r.unknown} watchEvents=${r.watchEvents} resyncs=${r.resyncs} added=${r.added} retired=${r.retired}`,
    );
  if (!r.ok) {
    console.log(`store_sim_seeds_passed ${passed}`);
    console.error(`seed ${seed} FAILED (${nodes} nodes): ${r.violation}`);
    console.error(`replay: ${storeSimReplayCommand(seed, nodes)}`);
    process.exit(1);
  }
  passed++;
  if (!o.verbose && passed % 100 === 0)
    console.error(`${passed} seeds passed (${((Date.now() - started) / 1000).toFixed(0)}s)`);
}
console.log(`store_sim_seeds_passed ${passed}`);
console.error(`${passed} seeds in ${((Date.now() - started) / 1000).toFixed(1)}s`);
