import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalImageStore } from "../image/image-store.js";
import { buildBusyboxImage, writeOciLayout } from "./busybox-image.js";
import { startRegistry, type TestRegistry } from "./registry.js";

// startRegistry inside a network namespace ("a test host"), here one of our own joined to the root
// namespace by a veth pair on a random /30, torn down afterwards.

const suffix = randomBytes(3).toString("hex");
const netns = `shoal-imgreg-${suffix}`;
const vethRoot = `sir${suffix}`;
const vethNs = `sin${suffix}`;
const octet = 1 + (Number.parseInt(suffix.slice(0, 2), 16) % 250);
const rootAddress = `10.254.${octet}.1`;
const nsAddress = `10.254.${octet}.2`;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

let work: string;
let registry: TestRegistry | undefined;

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error("namespace registry test needs root to create a network namespace");
  work = await mkdtemp(join(tmpdir(), "shoal-registry-netns-"));
  ip("netns", "add", netns);
  ip("link", "add", vethRoot, "type", "veth", "peer", "name", vethNs);
  ip("link", "set", vethNs, "netns", netns);
  ip("addr", "add", `${rootAddress}/30`, "dev", vethRoot);
  ip("link", "set", vethRoot, "up");
  ip("-n", netns, "addr", "add", `${nsAddress}/30`, "dev", vethNs);
  ip("-n", netns, "link", "set", vethNs, "up");
  ip("-n", netns, "link", "set", "lo", "up");
});

afterAll(async () => {
  await registry?.stop();
  try {
    ip("link", "del", vethRoot);
  } catch {
    // gone with the namespace already
  }
  ip("netns", "del", netns);
  await rm(work, { recursive: true, force: true });
});

describe("startRegistry in a network namespace", () => {
  it("serves pushes and pulls with bearer tokens from a token server inside the namespace", async () => {
    registry = await startRegistry({
      auth: "token",
      netnsPath: `/run/netns/${netns}`,
      listenAddress: nsAddress,
    });
    expect(registry.host).toBe(`${nsAddress}:5000`);
    expect(registry.tokenRealm).toBe(`http://${nsAddress}:5001/token`);
    const image = await buildBusyboxImage("one-layer");
    await writeOciLayout(image, join(work, "layout"));
    const registries = { [registry.host]: registry.hostConfig() };
    const source = new LocalImageStore({ root: join(work, "source"), registries });
    await source.open();
    const ref = `${registry.host}/fixtures/one:1`;
    await source.importImage(join(work, "layout"), { ref });
    expect((await source.push(ref)).digest).toBe(image.manifestDigest);
    const target = new LocalImageStore({ root: join(work, "target"), registries });
    await target.open();
    expect((await target.pull(ref)).id).toBe(image.configDigest);
  });
});
