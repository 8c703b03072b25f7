#!/usr/bin/env bash
# Quick start: install what is missing, build, then show what Shoal does so far.
# The cluster (daemon, cluster init/join, service and stack deploy) is not built yet; until it is,
# this runs the parts that are: the CLI and the stack-file loader on deploy/examples/.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

shoal() { node packages/cli/dist/main.js "$@"; }

step "shoal --version"
shoal --version

step "shoal --help"
shoal --help

step "shoal stack config -c deploy/examples/web.yml demo"
echo "(what 'shoal stack deploy' would create from the example stack, normalized and validated)"
shoal stack config -c deploy/examples/web.yml demo

cat <<'TXT'

==> what this build of Shoal has
- shoal stack config: loads Compose/stack files as docker stack deploy does and prints the
  services, networks, secrets and configs a deploy would create.
- Libraries with their tests and benchmarks (npm run bench): Raft consensus with a WAL and a
  deterministic simulator (packages/raft), the scheduler (packages/scheduler), the node runtime
  with images, registries, runc containers under conmon and node networking (packages/runtime).
- Not yet: the daemon, cluster, node, service, secret, config, image and events commands; they
  are listed by 'shoal --help' and refuse to run until their parts land.

Next: ./deploy/test.sh runs the whole test suite.
TXT
