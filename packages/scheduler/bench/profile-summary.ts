// Prints the functions with the most self time in the newest .cpuprofile of a directory, counting
// only samples taken inside the named root function (default "schedule"), so that start-up and
// input building do not drown the hot path:
//   node --import tsx bench/profile-summary.ts /tmp/prof [rootFunction]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const dir = process.argv[2] ?? ".";
const newest = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
if (newest === undefined) throw new Error(`no .cpuprofile in "${dir}"`);
const profile = JSON.parse(readFileSync(newest, "utf8")) as Profile;
const root = process.argv[3] ?? "schedule";
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const insideRoot = (id: number): boolean => {
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    if ((byId.get(at) as ProfileNode).callFrame.functionName === root) return true;
  }
  return false;
};
const selfUs = new Map<string, number>();
let totalUs = 0;
profile.samples.forEach((id, i) => {
  if (!insideRoot(id)) return;
  const frame = (byId.get(id) as ProfileNode).callFrame;
  const where =
    frame.url === "" ? "" : ` ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
  const key = `${frame.functionName || "(anonymous)"}${where}`;
  const d = profile.timeDeltas[i] ?? 0;
  totalUs += d;
  selfUs.set(key, (selfUs.get(key) ?? 0) + d);
});
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  process.stdout.write(
    `${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)} %  ${key}\n`,
  );
}
process.stdout.write(`total inside ${root}(): ${(totalUs / 1000).toFixed(0)} ms\n`);
