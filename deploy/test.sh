#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh Debian machine (as root):
# install what is missing, build, lint, check generated code, type-check, run every test.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

step "lint (biome)"
npx biome check .

step "generated code is up to date (proto:check)"
npm run --silent proto:check

step "type-check"
npx turbo run typecheck --output-logs=errors-only

step "tests"
npx vitest run
