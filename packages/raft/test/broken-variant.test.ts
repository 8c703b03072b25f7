import { describe, expect, it } from "vitest";
import { type Mutation, ProdSimulator, prodNodesForSeed, prodReplayCommand } from "./sim/prod-simulator.js";
import { nodesForSeed, Simulator } from "./sim/simulator.js";

// Tests of the checkers: a deliberately broken core or driver must be caught within the CI
// sweep's seeds. (The Figure 8 commit bug, which needs a precise interleaving, is caught by the
// scripted scenario in scenarios/figure8.test.ts.)
describe("deliberately broken core", () => {
  it("voting without the log up-to-date check is caught within 2,000 seeds", { timeout: 600_000 }, () => {
    let caughtAt: number | undefined;
    let violation = "";
    for (let seed = 1; seed <= 2000 && caughtAt === undefined; seed++) {
      const r = new Simulator({
        seed,
        nodes: nodesForSeed(seed),
        faults: "all",
        raftConfig: { testingUnsafe: "voteIgnoringLog" },
      }).run();
      if (!r.ok) {
        caughtAt = seed;
        violation = r.violation ?? "";
      }
    }
    expect(caughtAt, "the broken core survived 2,000 seeds: the checkers are blind").toBeDefined();
    expect(violation).toMatch(
      /leader completeness|state machine safety|log matching|committed is durable|linearizability/,
    );
  });
});

/** Seeds of the production-driver CI sweep (prod-sweep.test.ts). */
const PROD_SWEEP_SEEDS = 1000;

const mutations: { mutation: Mutation; what: string; expected: RegExp }[] = [
  {
    mutation: "voteBeforePersist",
    what: "a vote response sent before its write is durable",
    expected:
      /election safety|leader completeness|state machine safety|log matching|committed is durable|linearizability/,
  },
  {
    mutation: "readIndexWithoutHeartbeat",
    what: "ReadIndex answered without a heartbeat round",
    expected: /linearizability/,
  },
  {
    mutation: "acceptStaleAppendResp",
    what: "append acknowledgements from an earlier term accepted",
    // The leader-progress check sees the counted ack at once; a wrong commit comes much later.
    expected: /leader progress/,
  },
  {
    mutation: "neverReleaseParkedReads",
    what: "reads parked before the leader's first commit never released",
    expected: /liveness|workload/,
  },
  {
    mutation: "resolveIgnoringTerm",
    what: "a proposal resolved whatever the term of the entry applied at its index",
    expected: /linearizability/,
  },
  {
    mutation: "voteIgnoringLog",
    what: "votes without the log up-to-date check",
    expected: /leader completeness|state machine safety|log matching|committed is durable|linearizability/,
  },
];

describe("deliberately broken production driver and core, under the production-driver simulator", () => {
  for (const { mutation, what, expected } of mutations) {
    it(`${what} (${mutation}) is caught within the CI sweep's ${PROD_SWEEP_SEEDS} seeds`, {
      timeout: 900_000,
    }, async () => {
      let caughtAt: number | undefined;
      let violation = "";
      for (let seed = 1; seed <= PROD_SWEEP_SEEDS && caughtAt === undefined; seed++) {
        const r = await new ProdSimulator({ seed, nodes: prodNodesForSeed(seed), mutation }).run();
        if (!r.ok) {
          caughtAt = seed;
          violation = r.violation ?? "";
        }
      }
      expect(
        caughtAt,
        `${mutation} survived ${PROD_SWEEP_SEEDS} seeds: the checkers are blind to it`,
      ).toBeDefined();
      expect(
        violation,
        `replay: ${prodReplayCommand(caughtAt ?? 0, prodNodesForSeed(caughtAt ?? 0), mutation)}`,
      ).toMatch(expected);
    });
  }
});
