#!/usr/bin/env bash
# Generates the Go and Python clients from proto/ with Debian's toolchains (no downloads):
#  - Go: buf with the local plugins protoc-gen-go and protoc-gen-go-grpc (buf.gen.go.yaml),
#    into src/clients/go/sluice/v1 (import path "sluice/clients/go/sluice/v1");
#  - Python: /usr/bin/python3 -m grpc_tools.protoc (python3-grpc-tools), into
#    src/clients/python/sluice/v1 (import as `from sluice.v1 import canal_service_pb2`).
# The generated code is committed; scripts/test.sh runs this and fails when it is stale.
# The Debian packages are in scripts/setup.sh (ensure_client_toolchains).
set -euo pipefail
cd "$(dirname "$0")/.."

rm -rf src/clients/go/sluice src/clients/python/sluice
# Only sluice's API: proto/grpc (health, reflection) is for the gateway, not for clients.
npx --no-install buf generate --template buf.gen.go.yaml --path proto/sluice
# shellcheck disable=SC2046
/usr/bin/python3 -m grpc_tools.protoc -Iproto \
  --python_out=src/clients/python --grpc_python_out=src/clients/python \
  $(cd proto && find sluice -name '*.proto' | LC_ALL=C sort)
