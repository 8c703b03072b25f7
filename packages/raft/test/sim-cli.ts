// The simulator from the command line:
//   npm run sim -w @shoal/raft -- --seeds N [--nodes 3|5|7] [--faults none|net|crash|all] [--from SEED]
//   npm run sim -w @shoal/raft -- --driver prod --seeds N [--nodes 3|5] [--from SEED] [--broken MUTATION]
// Prints `sim_seeds_passed N`; exits 1 on the first violation with the seed and a replay command.
import { Command } from "commander";
import { type Mutation, ProdSimulator, prodNodesForSeed, prodReplayCommand } from "./sim/prod-simulator.js";
import { type FaultLevel, nodesForSeed, replayCommand, Simulator } from "./sim/simulator.js";

const program = new Command("sim")
  .option("--seeds <n>", "number of seeds to run", "100")
  .option("--from <seed>", "first seed", "1")
  .option("--nodes <n>", "cluster size (3, 5 or 7); default rotates 3/5/7 by seed")
  .option("--faults <level>", "none | net | crash | all", "all")
  .option("--verbose", "print one line per seed")
  .option(
    "--broken <variant>",
    "run a deliberately broken core (commitPreviousTerm | voteIgnoringLog; with --driver prod also readIndexWithoutHeartbeat | acceptStaleAppendResp | neverReleaseParkedReads | voteBeforePersist | resolveIgnoringTerm)",
  )
  .option(
    "--driver <kind>",
    "core: the core over MemoryStorage; prod: RaftNode over WalStorage on a faulty disk",
    "core",
  )
  .parse(process.argv);

const o = program.opts<{
  seeds: string;
  from: string;
  nodes?: string;
  faults: string;
  verbose?: boolean;
  broken?: string;
  driver: string;
}>();
if (o.driver === "prod") await runProd();
const faults = o.faults as FaultLevel;
if (!["none", "net", "crash", "all"].includes(faults)) {
  console.error(`faults level "${o.faults}" is not one of none, net, crash, all`);
  process.exit(2);
}
const seeds = Number(o.seeds);
const from = Number(o.from);
const started = Date.now();
let passed = 0;
let ops = 0;
for (let seed = from; seed < from + seeds; seed++) {
  const nodes = o.nodes !== undefined ? Number(o.nodes) : nodesForSeed(seed);
  const r = new Simulator({
    seed,
    nodes,
    faults,
    ...(o.broken
      ? { raftConfig: { testingUnsafe: o.broken as "commitPreviousTerm" | "voteIgnoringLog" } }
      : {}),
  }).run();
  ops += r.ops;
  if (o.verbose)
    console.log(`seed ${seed} nodes ${nodes}: ok=${r.ok} ops=${r.ops} committed=${r.maxCommitted}`);
  if (!r.ok) {
    console.log(`sim_seeds_passed ${passed}`);
    console.error(`seed ${seed} FAILED (${nodes} nodes, faults ${faults}): ${r.violation}`);
    console.error(`replay: ${replayCommand(seed, nodes, faults)}`);
    process.exit(1);
  }
  passed++;
  if (!o.verbose && passed % 1000 === 0) {
    console.error(`${passed} seeds passed (${((Date.now() - started) / 1000).toFixed(0)}s)`);
  }
}
console.log(`sim_seeds_passed ${passed}`);
console.error(`${passed} seeds, ${ops} checked operations, ${((Date.now() - started) / 1000).toFixed(1)}s`);

/** The production-driver simulation: every fault at once (the --faults level does not apply). */
async function runProd(): Promise<never> {
  const seeds = Number(o.seeds);
  const from = Number(o.from);
  const mutation = o.broken as Mutation | undefined;
  const started = Date.now();
  let passed = 0;
  let ops = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    const nodes = o.nodes !== undefined ? Number(o.nodes) : prodNodesForSeed(seed);
    const r = await new ProdSimulator({ seed, nodes, ...(mutation ? { mutation } : {}) }).run();
    ops += r.ops;
    if (o.verbose)
      console.log(
        `seed ${seed} nodes ${nodes}: ok=${r.ok} ops=${r.ops} writes=${r.writesOk} reads=${r.readsOk} committed=${r.maxCommitted}`,
      );
    if (!r.ok) {
      console.log(`sim_seeds_passed ${passed}`);
      console.error(`seed ${seed} FAILED (${nodes} nodes, production driver): ${r.violation}`);
      console.error(`replay: ${prodReplayCommand(seed, nodes, mutation)}`);
      process.exit(1);
    }
    passed++;
    if (!o.verbose && passed % 100 === 0) {
      console.error(`${passed} seeds passed (${((Date.now() - started) / 1000).toFixed(0)}s)`);
    }
  }
  console.log(`sim_seeds_passed ${passed}`);
  console.error(`${passed} seeds, ${ops} checked operations, ${((Date.now() - started) / 1000).toFixed(1)}s`);
  process.exit(0);
}
