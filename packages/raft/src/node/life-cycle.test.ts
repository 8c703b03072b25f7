import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import type { Transport, TransportHandler } from "../transport/transport.js";
import { MemoryDurableStorage } from "./durable-storage.js";
import { RaftNode } from "./raft-node.js";

/** A transport with GrpcTransport's attach rules, recording what the node does to it. */
function recordingTransport(calls: string[]): Transport {
  let handler: TransportHandler | undefined;
  return {
    attach: (h) => {
      if (handler !== undefined) throw new ShoalError("RAFT_TRANSPORT_ALREADY_ATTACHED", "already attached");
      handler = h;
      calls.push("attach");
    },
    detach: () => {
      handler = undefined;
      calls.push("detach");
    },
    send: () => {},
  };
}

const node = (transport: Transport) =>
  new RaftNode({
    id: 1,
    storage: MemoryDurableStorage.bootstrap([1]),
    transport,
    apply: () => {},
    tickMs: 10,
  });

describe("RaftNode life cycle", () => {
  it("attaches to the transport in run(), detaches in stop(), and never closes it", async () => {
    const calls: string[] = [];
    const transport = recordingTransport(calls);
    const a = node(transport);
    const running = a.run();
    await expect(a.run()).rejects.toMatchObject({ code: "RAFT_NODE_ALREADY_RUNNING" });
    // A second node on the same transport fails to start, and its stop() leaves the first attached.
    const b = node(transport);
    await expect(b.run()).rejects.toMatchObject({ code: "RAFT_TRANSPORT_ALREADY_ATTACHED" });
    await b.stop();
    expect(calls).toEqual(["attach"]);
    const changes = a.leadershipChanges();
    await a.stop();
    await expect(running).resolves.toBeUndefined();
    expect(calls).toEqual(["attach", "detach"]);
    // The leadership iteration ends with the node.
    const seen: unknown[] = [];
    for await (const s of changes) seen.push(s);
    expect(seen.length).toBeGreaterThan(0); // the state at subscription, then whatever changed
  });

  it("run(signal) resolves when the signal aborts", async () => {
    const calls: string[] = [];
    const a = node(recordingTransport(calls));
    const ac = new AbortController();
    const running = a.run(ac.signal);
    ac.abort();
    await expect(running).resolves.toBeUndefined();
    expect(calls).toEqual(["attach", "detach"]);
  });
});
