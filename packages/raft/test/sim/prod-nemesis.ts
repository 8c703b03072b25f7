import type { ProdNode } from "./prod-node.js";
import type { ProdSimulator } from "./prod-simulator.js";

// The fault schedule of a production-driver run, every choice from the simulator's Random:
// partitions, leader isolation, leadership transfers, process pauses (often of the leader, with
// or without isolating it), crashes (mostly power losses) and restarts, membership churn, and
// old append acknowledgements delivered again to a leader of a later term.

export function prodNemesis(sim: ProdSimulator, until: number): void {
  sim.queue.schedule(sim.random.intBetween(80, 400), () => {
    if (sim.queue.now >= until) return;
    step(sim);
    prodNemesis(sim, until);
  });
}

function step(sim: ProdSimulator): void {
  const f = sim.faults;
  const ids = sim.members();
  const roll = sim.random.next();
  if (f.net && roll < 0.25) {
    if (sim.random.chance(0.5)) {
      const shuffled = sim.random.shuffle(ids.slice());
      const cut = sim.random.intBetween(1, ids.length - 1);
      sim.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else {
      const l = sim.leader();
      if (l !== undefined) sim.isolate(l.id);
    }
  } else if (f.net && roll < 0.4) {
    sim.heal();
  } else if (f.net && roll < 0.45) {
    const l = sim.leader();
    if (l?.node !== undefined) {
      const to = sim.random.pick(ids);
      l.proc.schedule(0, () => l.node?.transferLeadership(to));
    }
  } else if (f.net && roll < 0.5) {
    const [a, b] = sim.random.shuffle(ids.slice());
    if (a !== undefined && b !== undefined)
      sim.slowLink(a, b, sim.queue.now + sim.random.intBetween(300, 1500));
  } else if (f.pauses && roll < 0.6) {
    // A frozen process keeps its state and resumes as if no time had passed: a deposed leader
    // that still believes it leads. Isolating it too keeps it from learning the new term.
    const l = sim.leader();
    const victim = l !== undefined && sim.random.chance(0.7) ? l : sim.nodes.get(sim.random.pick(ids));
    if (victim?.alive) {
      victim.proc.pause(sim.random.intBetween(300, 1500));
      if (sim.random.chance(0.5)) sim.isolate(victim.id);
    }
  } else if (f.membership && roll < 0.7) {
    changeMembership(sim);
  } else if (f.crashes && roll < 0.88) {
    const alive = ids.filter((id) => sim.nodes.get(id)?.alive);
    // Usually keep a majority up so the workload makes progress; sometimes crash anyway.
    if (alive.length > Math.floor(ids.length / 2) + 1 || sim.random.chance(0.1)) {
      sim.nodes.get(sim.random.pick(alive.length > 0 ? alive : ids))?.crash();
    }
  } else if (f.net) {
    sim.replayStaleAcks();
  }
  if (f.crashes) {
    for (const id of ids) {
      const n = sim.nodes.get(id);
      if (n !== undefined && !n.alive && sim.random.chance(0.5)) n.start();
    }
  }
}

/**
 * One step of membership churn from the leader's view: retire nodes whose removal it applied,
 * promote a caught-up learner, add a fresh node as a learner, or remove a voter.
 */
function changeMembership(sim: ProdSimulator): void {
  const l = sim.leader();
  const node = l?.node;
  const cs = node?.status()?.confState;
  if (l === undefined || node === undefined || cs === undefined) return;
  for (const n of sim.nodes.values()) {
    if (n.id !== sim.joining && !cs.voters.includes(n.id) && !cs.learners.includes(n.id) && !n.retired) {
      n.crash(false);
      n.retired = true;
    }
  }
  const propose = (change: Parameters<typeof node.proposeConfChange>[0]) =>
    (l as ProdNode).proc.schedule(0, () => void node.proposeConfChange(change).catch(() => {}));
  if (sim.joining !== undefined) {
    const j = sim.joining;
    if (cs.voters.includes(j)) sim.joining = undefined;
    else if (cs.learners.includes(j)) propose({ type: "addVoter", nodeId: j });
    else propose({ type: "addLearner", nodeId: j });
    return;
  }
  if (cs.voters.length > 3 || (cs.voters.length === 3 && sim.random.chance(0.3))) {
    propose({ type: "removeNode", nodeId: sim.random.pick(cs.voters) });
  } else {
    if (sim.nextNodeId === 0) sim.nextNodeId = Math.max(...sim.nodes.keys()) + 1;
    const id = sim.nextNodeId++;
    sim.addNode(id);
    sim.joining = id;
    propose({ type: "addLearner", nodeId: id });
  }
}
