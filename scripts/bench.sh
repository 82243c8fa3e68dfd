#!/usr/bin/env bash
# Sets up and runs every benchmark (bench/all), then writes BENCHMARKS.md from their figures.
# Installs what the benches run, as scripts/test.sh does: MariaDB, ZooKeeper, haproxy, Go and
# Python's grpcio for the other-language consumers. Everything runs on 127.0.0.1 and stops
# by itself. Usage: npm run bench [-- --quick] [-- --parts decode,delivery] (see docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

require_node
ensure_runtime_packages
ensure_client_toolchains
ensure_node_modules
build

say "benchmarks (about 10 minutes on 2 cores; --quick about 3)"
exec node dist/bench/all/run.js "$@"
