#!/usr/bin/env bash
# Installs what Shoal needs on a Debian host, and only what is missing.
# Idempotent: a second run changes nothing and asks no registry when all is there.
set -euo pipefail

# Debian package → a file that proves it is installed.
declare -A wanted=(
  [runc]=/usr/sbin/runc
  [conmon]=/usr/bin/conmon
  [iproute2]=/usr/sbin/ip
  [iptables]=/usr/sbin/iptables
  [nftables]=/usr/sbin/nft
  [conntrack]=/usr/sbin/conntrack
  [busybox-static]=/bin/busybox
  [docker-registry]=/usr/bin/docker-registry
  [openssl]=/usr/bin/openssl
  [nats-server]=/usr/sbin/nats-server
  [procps]=/usr/bin/pgrep
  [psmisc]=/usr/bin/fuser
  [ca-certificates]=/etc/ssl/certs/ca-certificates.crt
  [apache2-utils]=/usr/bin/htpasswd
  # The seccomp test builds a static probe (gcc -static needs libc6-dev's libc.a).
  [gcc]=/usr/bin/gcc
  [libc6-dev]=/usr/lib/x86_64-linux-gnu/libc.a
  # `init: true` runs tini-static as PID 1 (bind-mounted, so images need no libc).
  [tini]=/usr/bin/tini-static
)

missing=()
for pkg in "${!wanted[@]}"; do
  [ -e "${wanted[$pkg]}" ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "hint: run this script as root, or apt-get install them yourself" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # docker-registry's postinst starts a registry on :5000; we run our own per test, so keep the
  # packaged service from starting (policy-rc.d) and stop it if it did.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# The packaged registry service is not ours to run.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "error: Shoal needs Node.js 20 or newer (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
