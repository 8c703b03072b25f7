// Simulated agents on a worker thread of their own (fixtures/agents-thread-main.ts): a test can
// hold the event loop of the manager it tests while the agents keep heartbeating, so their
// heartbeats wait unread in the sockets as they do when a leader stalls under load. The thread
// loads the TypeScript sources through tsx, with the workspace's source condition.
import { Worker } from "node:worker_threads";
import type { SimulatedNode } from "../src/sim/simulated-agents.js";

const MAIN = new URL("./fixtures/agents-thread-main.ts", import.meta.url).href;

export interface AgentsThread {
  /** Resolves once the thread has paused the node's heartbeats. */
  pauseHeartbeats(nodeId: string): Promise<void>;
  close(): Promise<void>;
}

export async function startAgentsThread(options: {
  address: string;
  clusterId: string;
  nodes: readonly SimulatedNode[];
}): Promise<AgentsThread> {
  // A module that registers tsx's loader on the thread, then imports the thread's main.
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(MAIN)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(entry)}`), {
    workerData: { address: options.address, clusterId: options.clusterId, nodes: options.nodes },
    execArgv: ["--conditions=shoal-source"],
  });
  const next = (what: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (m !== what) return;
        worker.off("error", reject);
        worker.off("message", onMessage);
        resolve();
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
  await next("ready");
  return {
    pauseHeartbeats: async (nodeId) => {
      const paused = next("paused");
      worker.postMessage({ pause: nodeId });
      await paused;
    },
    close: async () => {
      const closed = next("closed");
      worker.postMessage({ close: true });
      await closed;
      await worker.terminate();
    },
  };
}
