import { MemoryStorage } from "../../src/index.js";
import type { SimNode } from "./sim-node.js";
import type { Simulator } from "./simulator.js";

// The fault schedule of a randomized run: partitions, leader isolation, transfers, crashes and
// restarts, and membership churn — every choice from the simulator's seeded Random.

export function nemesis(sim: Simulator, until: number): void {
  sim.queue.schedule(sim.random.intBetween(100, 600), () => {
    if (sim.queue.now >= until) return;
    const f = sim.faults;
    const ids = [...sim.nodes.keys()];
    const roll = sim.random.next();
    if (f.partitions && roll < 0.3) {
      if (sim.random.chance(0.5)) {
        const shuffled = sim.random.shuffle(ids.slice());
        const cut = sim.random.intBetween(1, ids.length - 1);
        sim.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      } else {
        const l = sim.leader();
        if (l !== undefined) sim.isolate(l);
      }
    } else if (f.partitions && roll < 0.5) {
      sim.heal();
    } else if (f.partitions && roll < 0.55) {
      const l = sim.leader();
      if (l !== undefined) sim.nodes.get(l)?.act((rn) => rn.transferLeadership(sim.random.pick(ids)));
    } else if (f.membership && roll < 0.7) {
      changeMembership(sim);
    } else if (f.crashes && roll < 0.9) {
      const alive = ids.filter((id) => sim.nodes.get(id)?.alive);
      // Usually keep a majority up so the workload makes progress; sometimes crash anyway.
      if (alive.length > Math.floor(ids.length / 2) + 1 || sim.random.chance(0.1)) {
        const victim = sim.random.pick(alive.length > 0 ? alive : ids);
        sim.crash(victim);
      }
    }
    // Crashed nodes come back after a while.
    if (f.crashes) {
      for (const id of ids) {
        const n = sim.nodes.get(id);
        if (n !== undefined && !n.alive && sim.random.chance(0.5)) sim.restart(id);
      }
    }
    nemesis(sim, until);
  });
}

/**
 * One step of membership churn, driven from the leader's view: retire nodes whose removal it
 * applied, promote a caught-up learner, add a fresh node as a learner, or remove a voter.
 */
function changeMembership(sim: Simulator): void {
  const l = sim.leader();
  if (l === undefined) return;
  const leader = sim.nodes.get(l) as SimNode;
  const cs = leader.rn.confState();
  for (const id of sim.nodes.keys()) {
    if (id !== sim.joining && !cs.voters.includes(id) && !cs.learners.includes(id) && !sim.retired.has(id)) {
      sim.retired.add(id);
      sim.crash(id);
    }
  }
  if (sim.joining !== undefined) {
    const j = sim.joining;
    if (cs.voters.includes(j)) sim.joining = undefined;
    else if (cs.learners.includes(j)) leader.proposeConfChange({ type: "addVoter", nodeId: j });
    else leader.proposeConfChange({ type: "addLearner", nodeId: j });
    return;
  }
  if (cs.voters.length > 3 || (cs.voters.length === 3 && sim.random.chance(0.3))) {
    const victim = sim.random.pick(cs.voters);
    leader.proposeConfChange({ type: "removeNode", nodeId: victim });
  } else {
    if (sim.nextNodeId === 0) sim.nextNodeId = Math.max(...sim.nodes.keys()) + 1;
    const id = sim.nextNodeId++;
    sim.addNode(id, new MemoryStorage());
    sim.joining = id;
    leader.proposeConfChange({ type: "addLearner", nodeId: id });
  }
}
