import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scheduleInputArb } from "../test/arbitraries.js";
import { ClusterState } from "./cluster-state.js";
import { compileConstraints } from "./constraints.js";
import { FILTERS, firstRejection, passesDynamicFilters, REASONS } from "./filter-table.js";
import { GroupFilters, StaticFilterCache } from "./filters.js";
import { FilterReason } from "./types.js";

describe("the filter table", () => {
  it("lists every reason once, in Swarm's order", () => {
    expect(REASONS.map((r) => r.reason)).toEqual([
      FilterReason.NotReady,
      FilterReason.InsufficientCpuAndMemory,
      FilterReason.InsufficientMemory,
      FilterReason.InsufficientCpu,
      FilterReason.Constraints,
      FilterReason.Platform,
      FilterReason.HostPort,
      FilterReason.MaxReplicas,
    ]);
    expect(new Set(Object.values(FilterReason))).toEqual(new Set(REASONS.map((r) => r.reason)));
    expect(FILTERS.map((f) => `${f.name}:${f.kind}`)).toEqual([
      "ready:static",
      "resources:dynamic",
      "constraints:static",
      "platform:static",
      "host ports:dynamic",
      "max replicas:dynamic",
    ]);
  });

  // The hot path (fitsOneMore) is written out by hand; the table is the definition. They must
  // agree on every node, before and after tasks land (dynamic filters change as they do).
  it("passes a node in fitsOneMore exactly when firstRejection finds nothing (static filters passed)", () => {
    fc.assert(
      fc.property(scheduleInputArb, fc.array(fc.nat(), { maxLength: 30 }), (input, picks) => {
        const services = new Set(input.pending.map((g) => g.serviceId));
        const state = new ClusterState(input.nodes, input.placedTasks, [], 0, services);
        const cache = new StaticFilterCache(state);
        for (const group of input.pending) {
          const serviceCount = new Int32Array(state.size);
          for (const [n, c] of state.serviceCountsOf(group.serviceId)) serviceCount[n] = c;
          const filters = new GroupFilters(
            state,
            group,
            cache.constraintMask(compileConstraints(group.constraints)),
            cache.platformMask(group.platforms),
            serviceCount,
          );
          const check = () => {
            for (let n = 0; n < state.size; n++) {
              const fits = filters.fitsOneMore(n);
              expect(fits).toBe(passesDynamicFilters(state, filters, n));
              expect(filters.passesStatic(n) && fits).toBe(firstRejection(state, filters, n) === undefined);
            }
          };
          check();
          for (const p of picks) {
            const n = p % state.size;
            if (filters.passesStatic(n) && filters.fitsOneMore(n)) filters.assign(n);
            check();
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
