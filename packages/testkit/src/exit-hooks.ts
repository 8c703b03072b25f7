/**
 * Last-resort teardown when a test process ends without calling `destroy()`: normal exit, an
 * uncaught exception or unhandled rejection (Node still emits "exit" for those), or SIGINT/SIGTERM/
 * SIGHUP. Teardowns here must be synchronous — nothing asynchronous runs after "exit". A SIGKILL or
 * a crash of the runtime itself skips all of this; the next harness's stale cleanup covers that.
 */
type SyncTeardown = () => void;

const live = new Set<SyncTeardown>();
let installed = false;

const SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function runAll(): void {
  for (const teardown of [...live]) {
    live.delete(teardown);
    try {
      teardown();
    } catch {
      // keep tearing down the others; the next run's stale cleanup gets what is left
    }
  }
}

function install(): void {
  installed = true;
  process.on("exit", runAll);
  for (const signal of SIGNALS) {
    const onSignal = (): void => {
      runAll();
      // Adding a listener disables the default action (terminate). When nobody else handles the
      // signal, restore that default and re-raise, so the process still dies as it would have.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** Registers a teardown to run if the process ends first; returns the function that unregisters it. */
export function registerTeardown(teardown: SyncTeardown): () => void {
  if (!installed) install();
  live.add(teardown);
  return () => {
    live.delete(teardown);
  };
}
