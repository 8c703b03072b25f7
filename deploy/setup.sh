#!/usr/bin/env bash
# Shared set-up for quickstart.sh and test.sh: system packages, npm packages, build.
# Sourced, not run: it leaves the caller in the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
./deploy/install-deps.sh

step "npm packages (npm ci)"
# The lockfile pins every version; ci refuses to run when package.json and the lock disagree.
npm ci --no-audit --no-fund --loglevel=error

step "build"
npx turbo run build --output-logs=errors-only
