#!/usr/bin/env bash
# Measures a one-node Docker Swarm on the workloads Shoal's cluster bench runs, printing one
# `name value unit` line per figure (the same names as Shoal's, so bench/compare-swarm.sh can put
# them side by side). Progress goes to stderr.
#
# It starts its own dockerd (Debian's docker.io, installed when missing) on a socket and data root
# of its own, imports a busybox image made from Debian's busybox-static, and stops that dockerd and
# removes what it made when it ends, also after a failure. Docker's iptables rules are left to
# dockerd's own clean-up; the FORWARD policy is put back as it was.
set -euo pipefail

SOCK=/run/shoal-bench-docker.sock
ROOT=/var/lib/shoal-bench-docker
PIDFILE=/run/shoal-bench-docker.pid
IMAGE=shoal-bench-busybox:local
# Kills of the replace figure (its median), as Shoal's cluster bench's SHOAL_BENCH_KILLS.
KILLS=${KILLS:-5}
export DOCKER_HOST="unix://$SOCK"

log() { printf '[swarm %s] %s\n' "$(date +%T)" "$*" >&2; }
fig() { printf '%s %s %s\n' "$1" "$2" "$3"; }
now_us() { echo "${EPOCHREALTIME/./}"; }
secs_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }

install_docker() {
  command -v dockerd >/dev/null && command -v busybox >/dev/null && return
  log "installing docker.io and busybox-static"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io busybox-static >/dev/null
}

FORWARD_POLICY=""
start_dockerd() {
  FORWARD_POLICY=$(iptables -S FORWARD | awk '$1 == "-P" { print $3 }')
  mkdir -p "$ROOT"
  setsid dockerd --data-root "$ROOT" --host "$DOCKER_HOST" --pidfile "$PIDFILE" \
    --exec-root /run/shoal-bench-docker-exec >"$ROOT.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see $ROOT.log"; exit 1; }
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    local d
    d=$(mktemp -d)
    mkdir -p "$d/bin" "$d/proc" "$d/dev" "$d/sys" "$d/tmp" "$d/etc"
    cp "$(command -v busybox)" "$d/bin/busybox"
    for a in sh sleep true httpd; do ln -s busybox "$d/bin/$a"; done
    tar -C "$d" -c . | docker import - "$IMAGE" >/dev/null
    rm -rf "$d"
  fi
  [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ] ||
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
}

stop_dockerd() {
  trap - EXIT
  if [ -f "$PIDFILE" ]; then
    docker service rm $(docker service ls -q) >/dev/null 2>&1 || true
    docker swarm leave --force >/dev/null 2>&1 || true
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
    for _ in $(seq 1 60); do [ -f "$PIDFILE" ] || break; sleep 0.5; done
  fi
  [ -n "$FORWARD_POLICY" ] && iptables -P FORWARD "$FORWARD_POLICY"
  rm -rf "$ROOT" /run/shoal-bench-docker-exec
}

running() { docker service ps --filter desired-state=running --format '{{.CurrentState}}' "$1" | grep -c '^Running' || true; }
wait_running() { # service count
  while [ "$(running "$1")" -lt "$2" ]; do sleep 0.1; done
}
create() { # name replicas [flags]
  local name=$1 n=$2
  shift 2
  docker service create --detach --quiet --no-resolve-image --name "$name" --replicas "$n" \
    --stop-grace-period 1s "$@" "$IMAGE" sleep 1000000 >/dev/null
}
remove() { docker service rm "$1" >/dev/null; while [ -n "$(docker ps -q --filter "label=com.docker.swarm.service.name=$1")" ]; do sleep 0.2; done; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

install_docker
trap stop_dockerd EXIT
start_dockerd

log "idle memory"
sleep 5
dockerd_pid=$(cat "$PIDFILE")
# dockerd names the containerd it started in its log.
containerd_pid=$(sed -n 's/.*started new containerd process.*pid=\([0-9]*\).*/\1/p' "$ROOT.log" | tail -1)
idle=$(rss_mib "$dockerd_pid")
[ -n "$containerd_pid" ] || log "warning: no containerd pid in $ROOT.log; the figure is dockerd alone"
[ -n "$containerd_pid" ] && idle=$(awk -v a="$idle" -v b="$(rss_mib "$containerd_pid")" 'BEGIN { printf "%.1f", a + b }')
fig daemon_rss_mib_idle "$idle" MiB

log "converge 100 replicas"
t0=$(now_us)
create conv 100
wait_running conv 100
fig converge_100_replicas_s "$(secs_since "$t0")" s
remove conv

log "scale 10 -> 100"
create scale 10
wait_running scale 10
t0=$(now_us)
docker service scale --detach scale=100 >/dev/null 2>&1
wait_running scale 100
fig scale_10_to_100_s "$(secs_since "$t0")" s
remove scale

log "replace a killed task ($KILLS kills, the median)"
create kill 1 --restart-delay 0s
wait_running kill 1
times=()
for ((k = 1; k <= KILLS; k++)); do
  cid=$(docker ps -q --filter label=com.docker.swarm.service.name=kill --filter status=running | head -1)
  t0=$(now_us)
  docker kill "$cid" >/dev/null
  while :; do
    other=$(docker ps -q --filter label=com.docker.swarm.service.name=kill --filter status=running | grep -v "^${cid:0:12}" || true)
    [ -n "$other" ] && break
    sleep 0.02
  done
  times+=("$(secs_since "$t0")")
  log "kill $k: ${times[-1]} s"
done
fig replace_killed_task_s "$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" s
remove kill

log "rolling update of 20 tasks, parallelism 5, start-first, 5 s monitor"
create roll 20 --update-parallelism 5 --update-order start-first --update-monitor 5s --update-delay 0s
wait_running roll 20
t0=$(now_us)
docker service update --detach --env-add V=2 roll >/dev/null
while [ "$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' roll)" != completed ]; do sleep 0.1; done
fig rolling_update_20_p5_startfirst_s "$(secs_since "$t0")" s
remove roll
