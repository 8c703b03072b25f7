#!/usr/bin/env bash
# Quick start: install what is missing, build, then run Shoal on a local cluster —
# three test hosts on this machine (network namespaces on a private switch), one manager and two
# workers each running `shoal daemon`, and a registry host with a busybox-based demo image. It
# deploys deploy/examples/web.yml, shows the services and tasks, and fetches the published port.
#
#   ./deploy/quickstart.sh        # start (or show) the local cluster
#   ./deploy/quickstart.sh down   # stop it and remove everything it made
#
# Idempotent: a second run reuses a running cluster and redeploys the stack (nothing changes).
set -euo pipefail

STATE_DIR=/run/shoal-quickstart
STATE="$STATE_DIR/cluster.json"
LOG="$STATE_DIR/cluster.log"

cluster_pid() { [ -f "$STATE" ] && node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).pid)' "$STATE"; }
alive() { local pid; pid=$(cluster_pid 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
state() { node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(eval(process.argv[2]))' "$STATE" "$1"; }

down() {
  if alive; then
    local pid
    pid=$(cluster_pid)
    echo "==> stopping the local cluster (pid $pid): daemons, containers, hosts, registry"
    kill -USR2 "$pid"
    for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "error: the local cluster (pid $pid) did not stop within 120 s; see $LOG" >&2
      exit 1
    fi
    if grep -q '^error:' "$LOG"; then
      grep '^error:' "$LOG" >&2
      echo "error: the local cluster did not stop cleanly; its log is $LOG" >&2
      exit 1
    fi
  else
    echo "==> no local cluster is running"
  fi
  rm -rf "$STATE_DIR"
}

if [ "${1:-}" = "down" ]; then
  down
  exit 0
fi
if [ $# -gt 0 ]; then
  echo "error: unknown argument \"$1\"; usage: $0 [down]" >&2
  exit 2
fi

source "$(dirname "$0")/setup.sh"

if alive; then
  step "the local cluster is already running (pid $(cluster_pid))"
else
  step "starting a local cluster: 3 test hosts (1 manager, 2 workers) and a registry host"
  mkdir -p "$STATE_DIR"
  rm -f "$STATE"
  setsid node --import tsx test/support/local-cluster-main.ts "$STATE" >"$LOG" 2>&1 </dev/null &
  starter=$!
  for _ in $(seq 1 900); do
    [ -f "$STATE" ] && break
    if ! kill -0 "$starter" 2>/dev/null; then
      echo "error: the local cluster did not start:" >&2
      tail -40 "$LOG" >&2
      exit 1
    fi
    sleep 0.2
  done
  [ -f "$STATE" ] || { echo "error: the local cluster was not ready after 180 s; see $LOG" >&2; exit 1; }
fi

export SHOAL_SOCKET
SHOAL_SOCKET=$(state s.socket)
REGISTRY=$(state s.registry)
WORKER=$(state 's.nodes.find((n) => n.role === "worker").address')
shoal() {
  echo "\$ shoal $*"
  node packages/cli/bin/shoal.js "$@"
}

step "the nodes"
shoal node ls

step "deploy the example stack (deploy/examples/web.yml), waiting for it to converge"
REGISTRY="$REGISTRY" shoal stack deploy -c deploy/examples/web.yml demo

step "services and tasks"
shoal service ls
shoal service ps demo_web

step "the published port 8080, fetched from a worker ($WORKER)"
node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(`error: ${e.cause ?? e}`); process.exit(1); })' "http://$WORKER:8080/"

cat <<TXT

==> the cluster is running
Use it (the manager's admin socket; any shoal command works):
  SHOAL_SOCKET=$SHOAL_SOCKET npx shoal node ls
  SHOAL_SOCKET=$SHOAL_SOCKET npx shoal service scale demo_web=6
  SHOAL_SOCKET=$SHOAL_SOCKET npx shoal service ps demo_web
Stop it (removes every daemon, container, namespace and file it made):
  ./deploy/quickstart.sh down
TXT
