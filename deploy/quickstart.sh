#!/usr/bin/env bash
# Quick start: install what is missing, build, then show what Shoal can do so far.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

step "shoal"
node packages/cli/dist/main.js --version
node packages/cli/dist/main.js --help
