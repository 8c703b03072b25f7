import { seededRandom, silentLogger } from "@shoal/base";
import type { RaftConfig } from "./config.js";
import { RawNode } from "./raw-node.js";
import { MemoryStorage } from "./storage.js";

/** One core member of a unit test: the RawNode and the storage it reads. */
export interface TestMember {
  rn: RawNode;
  disk: MemoryStorage;
}

/**
 * The core unit tests' cluster: one RawNode per id over a bootstrapped MemoryStorage, 10 election
 * ticks, 1 heartbeat tick, each seeded by its id. `extra` overrides config for every member.
 */
export function bootstrapMembers(
  ids: readonly number[],
  extra: Partial<RaftConfig> = {},
): Map<number, TestMember> {
  const members = new Map<number, TestMember>();
  for (const id of ids) {
    const disk = MemoryStorage.bootstrap([...ids]);
    const rn = new RawNode({
      id,
      storage: disk,
      electionTicks: 10,
      heartbeatTicks: 1,
      random: seededRandom(id),
      logger: silentLogger(),
      ...extra,
    });
    members.set(id, { rn, disk });
  }
  return members;
}
