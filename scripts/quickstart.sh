#!/usr/bin/env bash
# Starts the whole thing locally (a private MariaDB and ZooKeeper on free loopback ports, and
# every Sluice part that exists so far), writes a little workload and shows the row changes
# as they flow. Stops everything on Ctrl-C. `--seconds N` stops by itself after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

require_node
ensure_runtime_packages
ensure_node_modules
build
exec node dist/scripts/quickstart.js "$@"
