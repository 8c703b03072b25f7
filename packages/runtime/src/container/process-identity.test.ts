import { describe, expect, it } from "vitest";
import { currentBootId, identify, isAlive } from "./process-identity.js";

describe("process identity", () => {
  it("knows this process by pid, start time and boot", async () => {
    const me = await identify(process.pid);
    expect(me).toMatchObject({ pid: process.pid, bootId: await currentBootId() });
    expect(await isAlive(me as NonNullable<typeof me>)).toBe(true);
  });

  it("does not take a live pid of another start time or another boot for the recorded process", async () => {
    const me = (await identify(process.pid)) as NonNullable<Awaited<ReturnType<typeof identify>>>;
    expect(await isAlive({ ...me, startTicks: me.startTicks + 1 })).toBe(false);
    expect(await isAlive({ ...me, bootId: "another-boot" })).toBe(false);
  });

  it("reports a pid nobody has as gone", async () => {
    expect(await identify(2 ** 22 + 1)).toBeUndefined();
    expect(await isAlive(2 ** 22 + 1)).toBe(false);
  });
});
