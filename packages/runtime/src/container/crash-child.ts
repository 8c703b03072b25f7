// Test helper: runs testdata/runtime-main.ts as a child process and reports how it ended.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RuntimeMainArgs } from "./testdata/runtime-main.js";

const MAIN = fileURLToPath(new URL("./testdata/runtime-main.ts", import.meta.url));

export interface ChildRuntime {
  pid: number;
  /** Lines the child printed, parsed. */
  lines: Record<string, unknown>[];
  /** Resolves with the signal that ended the child (null if it exited by itself). */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once the child printed a line matching `pred` (rejects if it ends first). */
  until(pred: (line: Record<string, unknown>) => boolean): Promise<void>;
  kill(): void;
}

export function startChildRuntime(args: RuntimeMainArgs): ChildRuntime {
  const child = spawn(
    process.execPath,
    ["--conditions=shoal-source", "--import", "tsx", MAIN, JSON.stringify(args)],
    { stdio: ["ignore", "pipe", "pipe"], cwd: fileURLToPath(new URL("../..", import.meta.url)) },
  );
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let out = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf("\n"); nl !== -1; nl = out.indexOf("\n")) {
      lines.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      out = out.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    pid: child.pid as number,
    lines,
    ended,
    async until(pred) {
      let done = false;
      void ended.then(() => {
        done = true;
        for (const w of waiters.splice(0)) w();
      });
      for (;;) {
        if (lines.some(pred)) return;
        if (done) throw new Error(`child runtime ended before the expected line: ${stderr}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    kill() {
      child.kill("SIGKILL");
    },
  };
}
