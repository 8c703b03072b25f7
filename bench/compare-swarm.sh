#!/usr/bin/env bash
# Shoal and Docker Swarm side by side, in one run on this machine: the same workloads on a
# one-node Swarm (bench/swarm.sh, which installs Debian's docker.io when missing) and on a local
# Shoal cluster of three test hosts (test/bench/cluster-bench.ts, plus the orchestrator's simulated
# rolling update of 100 replicas), then each figure for both and
# the ratio Shoal / Swarm (below 1 is better for Shoal). Run as root after `npm run build`.
#
#   ./bench/compare-swarm.sh            # both, Swarm first
#   SKIP_SWARM=FILE ./bench/compare-swarm.sh   # reuse Swarm figures saved in FILE
#   KILLS=5 (the default): kills of the replace figure on each side, which reports their median
set -euo pipefail
cd "$(dirname "$0")/.."
export KILLS=${KILLS:-5}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "${SKIP_SWARM:-}" ]; then
  cp "$SKIP_SWARM" "$work/swarm.txt"
else
  echo "==> Docker Swarm (one node)" >&2
  ./bench/swarm.sh | tee "$work/swarm.txt"
fi
echo "==> Shoal (three test hosts: one manager, two workers)" >&2
(cd test && SHOAL_BENCH_KILLS=$KILLS node --import tsx bench/cluster-bench.ts) | tee "$work/shoal.txt"
# The rolling update of 100 replicas over simulated agents (the issue's second update figure; Swarm
# has no simulated counterpart, so its column stays empty).
(cd packages/orchestrator && node --conditions=shoal-source --import tsx bench/run.ts rolling-update) |
  grep '^rolling_update_100_p10_sim_s ' | tee -a "$work/shoal.txt"

echo
node - "$work/swarm.txt" "$work/shoal.txt" <<'JS'
const { readFileSync } = require("node:fs");
const read = (f) =>
  new Map(
    readFileSync(f, "utf8")
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((p) => p.length === 3 && !Number.isNaN(Number(p[1])))
      .map(([name, value, unit]) => [name, { value: Number(value), unit }]),
  );
const swarm = read(process.argv[2]);
const shoal = read(process.argv[3]);
const rows = [["figure", "swarm", "shoal", "shoal/swarm"]];
for (const [name, s] of shoal) {
  const w = swarm.get(name);
  rows.push([
    name,
    w === undefined ? "-" : `${w.value} ${w.unit}`,
    `${s.value} ${s.unit}`,
    w === undefined || w.value === 0 ? "-" : (s.value / w.value).toFixed(2),
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
JS
