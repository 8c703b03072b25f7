// NodeOverlays' apply queue: calls that arrive while an apply runs share one next apply (it reads
// the state when it starts), so a burst of endpoints and payloads costs two passes, not one each,
// and every caller's change is in the pass it waits for.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { silentLogger } from "@shoal/base";
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
});
