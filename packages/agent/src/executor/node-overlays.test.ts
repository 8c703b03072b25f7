// NodeOverlays' apply queue: calls that arrive while an apply runs share one next apply (it reads
// the state when it starts), so a burst of endpoints and payloads costs two passes, not one each,
// and every caller's change is in the pass it waits for.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { silentLogger } from "@shoal/base";
import { NodeOverlay } from "@shoal/proto";
import type { CommandRunner } from "@shoal/runtime";
import { tempDir } from "@shoal/testkit";
import { describe, expect, it } from "vitest";
import { NodeOverlays } from "./node-overlays.js";

/**
 * Answers every command with nothing (an `iptables -D` with "no such rule", as the delete loops
 * expect at the end); the first link listing waits until `release`.
 */
function gatedRunner() {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let passes = 0;
  const runner: CommandRunner = {
    async run(cmd, args) {
      if (cmd === "ip" && args.join(" ") === "-o -d link show") {
        passes++;
        if (passes === 1) await gate;
      }
      return { stdout: "", stderr: "", code: cmd === "iptables" && args.includes("-D") ? 1 : 0 };
    },
  };
  return { runner, release, passes: () => passes };
}

describe("NodeOverlays", () => {
  it("coalesces the calls made while an apply runs into one next apply", async () => {
    const dir = await tempDir("shoal-node-overlays-");
    try {
      const { runner, release, passes } = gatedRunner();
      const overlays = await NodeOverlays.open({
        dataDir: dir.path,
        localAddr: "10.231.0.2",
        upstreams: [],
        containerIds: [],
        runner,
        logger: silentLogger(),
      });
      const first = overlays.setOverlay(undefined);
      await new Promise((r) => setTimeout(r, 10)); // the first pass is in its link listing
      const burst = ["t1", "t2", "t3"].map((id) =>
        overlays.addEndpoint({
          taskId: id,
          netns: `ns-${id}`,
          networks: [{ networkId: "n", ip: "10.0.1.5" }],
        }),
      );
      release();
      await Promise.all([first, ...burst]);
      expect(passes()).toBe(2);
      const recorded = JSON.parse(await readFile(join(dir.path, "overlay-endpoints.json"), "utf8"));
      expect(recorded.map((e: { taskId: string }) => e.taskId)).toEqual(["t1", "t2", "t3"]);
      await overlays.addEndpoint({ taskId: "t4", netns: "ns-t4", networks: [] });
      expect(passes()).toBe(3);
      await overlays.close();
    } finally {
      await dir.remove();
    }
  });

  it("adopts an unrecorded endpoint of a listed task, but never one it removed", async () => {
    const dir = await tempDir("shoal-node-overlays-");
    try {
      const { runner, release } = gatedRunner();
      release();
      // t1's node-network lease is still held: its overlay detach runs before the lease goes.
      const overlays = await NodeOverlays.open({
        dataDir: dir.path,
        localAddr: "10.231.0.2",
        upstreams: [],
        containerIds: [],
        netnsOf: (id) => (id === "t1" ? "ns-t1" : undefined),
        runner,
        logger: silentLogger(),
      });
      const payload = NodeOverlay.fromPartial({
        services: [
          {
            id: "s",
            tasks: [{ id: "t1", nodeAddr: "10.231.0.2", addresses: [{ networkId: "n", addr: "10.0.1.5" }] }],
          },
        ],
      });
      const recorded = async () =>
        (
          JSON.parse(await readFile(join(dir.path, "overlay-endpoints.json"), "utf8")) as { taskId: string }[]
        ).map((e) => e.taskId);
      await overlays.setOverlay(payload);
      expect(await recorded()).toEqual(["t1"]);
      await overlays.removeEndpoint("t1");
      expect(await recorded()).toEqual([]);
      // A payload made before t1's end reached the manager still lists it.
      await overlays.setOverlay(payload);
      expect(await recorded()).toEqual([]);
      await overlays.close();
    } finally {
      await dir.remove();
    }
  });
});
