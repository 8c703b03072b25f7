// Leader-only components: driven by a scripted leadership stream (exact order of starts and
// stops), then by three real RaftNodes over the in-process network, where leadership moves by
// transfer and the old leader's components must stop while the new leader's start.
import { ManualClock, seededRandom, silentLogger } from "@shoal/base";
import { type LeadershipState, MemoryDurableStorage, RaftNode } from "@shoal/raft/node";
import { LocalNetwork } from "@shoal/raft/transport";
import { afterEach, describe, expect, it } from "vitest";
import { type LeaderComponent, LeaderComponents, type LeadershipSource } from "./leader-components.js";

/** A leadership stream the test pushes states into. */
class ScriptedLeadership implements LeadershipSource {
  private queue: LeadershipState[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(term: number, isLeader: boolean): void {
    this.queue.push({
      term,
      leaderId: isLeader ? 1 : 2,
      role: isLeader ? "leader" : "follower",
      isLeader,
      removed: false,
    } as LeadershipState);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *leadershipChanges(signal?: AbortSignal): AsyncIterable<LeadershipState> {
    while (!signal?.aborted) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }
}

/** A component that records its life: "start:<term>" and "stop:<term>". */
function recorder(name: string, log: string[], leaderTerm: () => number | undefined): LeaderComponent {
  return {
    name,
    run: (signal) =>
      new Promise<void>((resolve) => {
        const term = leaderTerm();
        log.push(`${name} start:${term}`);
        signal.addEventListener(
          "abort",
          () => {
            log.push(`${name} stop:${term}`);
            resolve();
          },
          { once: true },
        );
      }),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe("LeaderComponents on a scripted leadership stream", () => {
  it("runs components exactly while this manager leads, one signal per term", async () => {
    const components = new LeaderComponents({ logger: silentLogger() });
    const log: string[] = [];
    components.register(recorder("a", log, () => components.leaderTerm));
    components.register(recorder("b", log, () => components.leaderTerm));
    const source = new ScriptedLeadership();
    const stop = new AbortController();
    const running = components.run(source, stop.signal);

    source.push(1, false);
    await settle();
    expect(log).toEqual([]);
    source.push(2, true);
    await settle();
    expect(components.runningNames()).toEqual(["a", "b"]);
    source.push(2, true); // the same leadership again: no restart
    source.push(3, true); // re-elected in a new term: a new leadership
    await settle();
    source.push(3, false);
    await settle();
    expect(components.runningNames()).toEqual([]);
    expect(log).toEqual([
      "a start:2",
      "b start:2",
      "a stop:2",
      "b stop:2",
      "a start:3",
      "b start:3",
      "a stop:3",
      "b stop:3",
    ]);

    // A component registered while leading starts at once.
    source.push(4, true);
    await settle();
    components.register(recorder("late", log, () => components.leaderTerm));
    expect(components.runningNames()).toEqual(["a", "b", "late"]);
    stop.abort();
    await running;
    expect(components.runningNames()).toEqual([]);
    expect(log.slice(-3).sort()).toEqual(["a stop:4", "b stop:4", "late stop:4"]);
  });

  it("stops everything when the leadership stream ends", async () => {
    const components = new LeaderComponents();
    const log: string[] = [];
    components.register(recorder("a", log, () => components.leaderTerm));
    const source = new ScriptedLeadership();
    const running = components.run(source, new AbortController().signal);
    source.push(5, true);
    await settle();
    source.end();
    await running;
    expect(log).toEqual(["a start:5", "a stop:5"]);
  });

  it("restarts a failing component after the delay, and not after the term ended", async () => {
    const clock = new ManualClock();
    const components = new LeaderComponents({ clock, restartDelayMs: 1_000 });
    let runs = 0;
    components.register({
      name: "flaky",
      run: async () => {
        runs++;
        throw new Error("boom");
      },
    });
    const source = new ScriptedLeadership();
    const stop = new AbortController();
    const running = components.run(source, stop.signal);
    source.push(1, true);
    await settle();
    expect(runs).toBe(1);
    clock.advance(999);
    await settle();
    expect(runs).toBe(1);
    clock.advance(1);
    await settle();
    expect(runs).toBe(2);
    source.push(1, false);
    await settle();
    clock.advance(5_000);
    await settle();
    expect(runs).toBe(2);
    stop.abort();
    await running;
  });

  it("refuses two components of the same name", () => {
    const components = new LeaderComponents();
    components.register({ name: "x", run: async () => {} });
    expect(() => components.register({ name: "x", run: async () => {} })).toThrow(/already registered/);
  });
});

describe("LeaderComponents on real RaftNodes", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("moves the components with the leadership: the old leader's stop, the new leader's start", async () => {
    const net = new LocalNetwork();
    const ids = [1, 2, 3];
    const members = ids.map((id) => {
      const node = new RaftNode({
        id,
        storage: MemoryDurableStorage.bootstrap(ids),
        transport: net.transport(id),
        apply: () => {},
        snapshot: () => new Uint8Array(),
        restore: () => {},
        random: seededRandom(id),
        tickMs: 10,
      });
      const components = new LeaderComponents();
      let active = 0;
      components.register({
        name: "orchestrator",
        run: (signal) =>
          new Promise<void>((resolve) => {
            active++;
            signal.addEventListener(
              "abort",
              () => {
                active--;
                resolve();
              },
              { once: true },
            );
          }),
      });
      const stop = new AbortController();
      const nodeRun = node.run(stop.signal);
      const componentsRun = components.run(node, stop.signal);
      stops.push(async () => {
        stop.abort();
        await Promise.all([nodeRun, componentsRun]);
      });
      return { id, node, components, active: () => active };
    });
    const activeIds = () => members.filter((m) => m.active() > 0).map((m) => m.id);
    const waitFor = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; active on ${activeIds()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitFor(
      "a leader with its components",
      () => activeIds().length === 1 && members.some((m) => m.node.isLeader()),
    );
    const leader = members.find((m) => m.node.isLeader());
    expect(activeIds()).toEqual([leader?.id]);
    const target = members.find((m) => m !== leader);
    if (leader === undefined || target === undefined) throw new Error("no leader");
    leader.node.transferLeadership(target.id);
    await waitFor(
      "the components on the new leader only",
      () => activeIds().length === 1 && activeIds()[0] === target.id,
    );
    expect(leader.components.runningNames()).toEqual([]);
    expect(target.components.leaderTerm).toBeGreaterThan(0);
  });
});
