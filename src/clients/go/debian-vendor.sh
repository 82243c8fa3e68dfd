#!/usr/bin/env bash
# Makes vendor/ from Debian's Go packages, so that this module builds with no network:
#   apt-get install golang-go golang-google-grpc-dev golang-google-protobuf-dev \
#     golang-github-golang-protobuf-1-5-dev
#   bash debian-vendor.sh && GOPROXY=off go build -o consumer ./example
# vendor/ links each module the client needs to its source under /usr/share/gocode/src (or
# $GOCODE); vendor/modules.txt names go.mod's requirements, as `go mod vendor` would.
set -euo pipefail
cd "$(dirname "$0")"
gocode=${GOCODE:-/usr/share/gocode/src}
modules=(
  google.golang.org/grpc
  google.golang.org/protobuf
  google.golang.org/genproto
  github.com/golang/protobuf
  golang.org/x/net
  golang.org/x/sys
  golang.org/x/text
)
rm -rf vendor
for m in "${modules[@]}"; do
  [ -d "$gocode/$m" ] || { echo "missing $gocode/$m: install the Debian packages above" >&2; exit 1; }
  mkdir -p "vendor/$(dirname "$m")"
  ln -s "$gocode/$m" "vendor/$m"
done
# go.mod's requirements, each "## explicit".
awk '/^require \(/ { inside = 1; next } inside && /^\)/ { inside = 0 }
     inside && NF >= 2 { printf "# %s %s\n## explicit\n", $1, $2 }' go.mod >vendor/modules.txt
