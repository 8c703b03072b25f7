#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh Debian machine (as root):
# install what is missing, build, lint, find unused code and dependencies, check generated code,
# type-check, run every test.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

step "lint (biome)"
npx biome check .

step "no unused files, dependencies or exports (knip)"
npx knip --no-progress --no-config-hints

step "generated code is up to date (proto:check)"
npm run --silent proto:check

step "type-check"
npx turbo run typecheck --output-logs=errors-only

step "tests"
report=$(mktemp --suffix=.json)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
# One closing line in the plain form CI tools read: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$report" || echo "tests: the test runner wrote no report (exit code $status)"
exit "$status"
