import { readFile } from "node:fs/promises";

/** A process's resident memory (VmRSS) in MiB, for the benches' memory figures. */
export async function rssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+)/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`process ${pid} reports no VmRSS`);
  return Number(kib) / 1024;
}
