# Sourced by scripts/test.sh and scripts/quickstart.sh: installs what is missing and nothing
# else, so both commands are idempotent and work on a fresh Debian machine with Node 20.
# Everything it installs comes from Debian's packages or the npm registry.

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

require_node() {
  if ! command -v node >/dev/null 2>&1; then
    echo "sluice needs Node.js 20 or newer on PATH (see README.md)" >&2
    exit 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "sluice needs Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
  fi
}

# ensure_debian_packages CMD_OR_FILE:PACKAGE ... installs PACKAGE when CMD_OR_FILE is missing.
ensure_debian_packages() {
  local missing=() item probe pkg
  for item in "$@"; do
    probe=${item%%:*}
    pkg=${item#*:}
    if [ "${probe#/}" != "$probe" ]; then
      [ -e "$probe" ] || missing+=("$pkg")
    else
      command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# What the product and its tests run on: MariaDB, ZooKeeper (and Java for it), a C++
# toolchain for the native ZooKeeper client, git for the generated-code check, haproxy (the
# load balancer in front of two gateways in test/gateway), openssl (the throwaway CA and
# certificates of the quickstart and the TLS tests).
ensure_runtime_packages() {
  ensure_debian_packages \
    /usr/sbin/mariadbd:mariadb-server \
    mariadb:mariadb-client \
    mariadb-binlog:mariadb-client \
    /usr/share/java/zookeeper.jar:zookeeper \
    java:default-jre-headless \
    make:make \
    g++:g++ \
    python3:python3 \
    git:git \
    curl:curl \
    openssl:openssl \
    /usr/sbin/haproxy:haproxy
}

# The generated Go and Python clients (scripts/generate-clients.sh) and their example
# consumers, which the tests build and run (scripts/test.sh; the quickstart does not need them): Debian's Go 1.19 (a module
# vendoring Debian's gRPC and protobuf packages) and protoc plugins, and /usr/bin/python3 with
# grpcio and grpc-tools, and pip, setuptools and wheel to install the Python client offline.
ensure_client_toolchains() {
  ensure_debian_packages \
    /usr/lib/python3/dist-packages/grpc/__init__.py:python3-grpcio \
    /usr/lib/python3/dist-packages/grpc_tools/protoc.py:python3-grpc-tools \
    /usr/lib/python3/dist-packages/pip/__init__.py:python3-pip \
    /usr/lib/python3/dist-packages/setuptools/__init__.py:python3-setuptools \
    /usr/lib/python3/dist-packages/wheel/__init__.py:python3-wheel \
    /usr/bin/go:golang-go \
    /usr/share/gocode/src/google.golang.org/grpc/server.go:golang-google-grpc-dev \
    /usr/share/gocode/src/google.golang.org/protobuf/proto/encode.go:golang-google-protobuf-dev \
    /usr/share/gocode/src/github.com/golang/protobuf/proto/wire.go:golang-github-golang-protobuf-1-5-dev \
    /usr/bin/protoc-gen-go:protoc-gen-go \
    /usr/bin/protoc-gen-go-grpc:protoc-gen-go-grpc
}

# The status page's tests drive Debian's chromium headless through playwright-core (which
# downloads no browser of its own). Tests only: the quickstart does not need it.
ensure_test_browser() {
  ensure_debian_packages /usr/bin/chromium:chromium
}

# Installs the locked npm dependencies when node_modules is missing or older than the lockfile.
ensure_node_modules() {
  # The native ZooKeeper client builds with node-gyp; point it at the installed Node
  # headers so it needs no download.
  if [ -d /usr/include/node ] && [ -z "${npm_config_nodedir:-}" ]; then
    export npm_config_nodedir=/usr
  fi
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
    || [ ! -e node_modules/zookeeper/build/Release/zookeeper.node ]; then
    say "installing npm dependencies"
    # `npm install` rather than `npm ci`: it installs the lockfile's versions just the same,
    # but npm 11 here writes lockfiles without the other platforms' optional packages
    # (biome, buf), which `npm ci` then rejects as out of sync.
    npm install --no-audit --no-fund --loglevel=error
  fi
}

build() {
  say "compiling TypeScript"
  rm -rf dist
  npx --no-install tsc -p tsconfig.json
  # The status page's browser code has the DOM's types, not Node's: its own project.
  npx --no-install tsc -p src/status-page/browser/tsconfig.json
}
