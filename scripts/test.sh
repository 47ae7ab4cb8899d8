#!/usr/bin/env bash
# Runs every tokengate test on this machine, installing what is missing.
#
#   ./scripts/test.sh            # everything: gofmt, go vet, go test -race
#   ./scripts/test.sh -run Foo   # extra arguments go to `go test` (and skip the fuzzing)
#
# After the tests, every fuzz target of FUZZ_TARGETS runs for
# TOKENGATE_FUZZTIME (default 15s; 0 skips them), one `go test -fuzz` call
# each. A crash fails the run, and Go keeps the failing input under the
# package's testdata/fuzz/FuzzX/: commit it, and it runs as a seed in
# every `go test` from then on.
#
# Tests that need a real service never skip silently when CI=true.
#
# PostgreSQL: the tests use the server TOKENGATE_TEST_POSTGRES names (a URL),
# else postgres://postgres@127.0.0.1:5432/test if that answers. When neither
# does, this script installs Debian's postgresql if its binaries are missing,
# starts a throwaway cluster on 127.0.0.1 on a free port as an unprivileged
# user, points TOKENGATE_TEST_POSTGRES at it, and stops it at exit. Each test
# makes (and drops) a schema of its own in that database.
#
# Sourcing this file (`. scripts/test.sh`) only defines the functions, so
# the PostgreSQL part can be run by hand (under set -euo pipefail, as here):
#
#   bash -euo pipefail -c '. scripts/test.sh; pg_start_cluster 55999; psql "$TOKENGATE_TEST_POSTGRES" -c "select 1"; pg_stop_cluster'

say() { printf '==> %s\n' "$*"; }

PG_DEFAULT_URL=postgres://postgres@127.0.0.1:5432/test

# as_root runs a command as root: directly when we are root, else with sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# pg_bindir prints the directory of the newest installed PostgreSQL
# server binaries (Debian keeps them in /usr/lib/postgresql/VERSION/bin).
pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
    echo "$d"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

# pg_answers URL: true when a PostgreSQL server accepts a connection to URL
# (with psql when it is installed; else when the host's port is open).
pg_answers() {
  local url=$1
  if command -v psql >/dev/null 2>&1; then
    PGCONNECT_TIMEOUT=5 psql -X -q -At "$url" -c 'SELECT 1' >/dev/null 2>&1
    return
  fi
  local hostport host port
  hostport=${url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
  host=${hostport%%:*}; port=${hostport##*:}
  [ "$port" = "$hostport" ] && port=5432
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# pg_install installs Debian's postgresql unless its server binaries are
# already there.
pg_install() {
  if pg_bindir >/dev/null; then
    return 0
  fi
  say "installing PostgreSQL (Debian package postgresql)"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "No PostgreSQL server found and no apt-get to install one: install PostgreSQL, or set TOKENGATE_TEST_POSTGRES to a server's URL" >&2
    return 1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
  pg_bindir >/dev/null
}

# pg_free_port prints a TCP port on 127.0.0.1 that nothing listens on,
# after the port given, below the kernel's ephemeral range (32768 and up on
# Linux), where outgoing connections would take ports a listener then cannot
# bind.
pg_free_port() {
  local p=${1:-15431}
  while [ "$p" -lt 15632 ]; do
    p=$((p + 1))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "no free port in 15432-15632" >&2
  return 1
}

PG_CLUSTER_DIR=
PG_CLUSTER_USER=
PG_BIN=

# pg_as_user runs a command as the cluster's owner.
pg_as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_CLUSTER_USER" -- "$@"
  else
    "$@"
  fi
}

# pg_start_cluster [PORT] installs PostgreSQL if needed and starts a
# throwaway cluster on 127.0.0.1:PORT (default: a free port) with trust
# authentication, owned by an unprivileged user (the current one, or the
# postgres system user when running as root, since the server refuses to
# run as root), in a new temporary directory. It creates the database test
# and exports TOKENGATE_TEST_POSTGRES. pg_stop_cluster stops it.
pg_start_cluster() {
  local port=${1:-} fixed=${1:+yes} tries=0
  pg_install
  PG_BIN=$(pg_bindir)
  if [ "$(id -u)" -eq 0 ]; then
    PG_CLUSTER_USER=postgres
    if ! id "$PG_CLUSTER_USER" >/dev/null 2>&1; then
      echo "Running as root, and there is no postgres user to run the PostgreSQL server as" >&2
      return 1
    fi
  else
    PG_CLUSTER_USER=$(id -un)
  fi
  PG_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tokengate-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    chown "$PG_CLUSTER_USER" "$PG_CLUSTER_DIR"
  fi
  pg_as_user "$PG_BIN/initdb" -D "$PG_CLUSTER_DIR/data" -U postgres --auth=trust --encoding=UTF8 \
    >"$PG_CLUSTER_DIR/initdb.log" 2>&1 || { cat "$PG_CLUSTER_DIR/initdb.log" >&2; return 1; }
  while :; do
    [ -n "$fixed" ] || port=$(pg_free_port "${port:-}")
    say "starting a PostgreSQL cluster on 127.0.0.1:$port as $PG_CLUSTER_USER in $PG_CLUSTER_DIR"
    # A throwaway cluster for tests: durability is not needed, speed is.
    if pg_as_user "$PG_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_CLUSTER_DIR -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    # Another process may have taken the port since it was found free.
    if [ -n "$fixed" ] || [ "$tries" -ge 5 ] || ! grep -q "could not create any TCP/IP sockets" "$PG_CLUSTER_DIR/server.log"; then
      cat "$PG_CLUSTER_DIR/server.log" >&2
      return 1
    fi
  done
  pg_as_user "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres test
  export TOKENGATE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/test"
}

# pg_stop_cluster stops the cluster pg_start_cluster started (only that
# one, through its own data directory) and removes its directory.
pg_stop_cluster() {
  if [ -n "$PG_CLUSTER_DIR" ] && [ -d "$PG_CLUSTER_DIR/data" ]; then
    pg_as_user "$PG_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_CLUSTER_DIR"
  fi
  PG_CLUSTER_DIR=
}

# pg_ensure_server makes TOKENGATE_TEST_POSTGRES name a server that answers.
pg_ensure_server() {
  if [ -n "${TOKENGATE_TEST_POSTGRES:-}" ]; then
    say "PostgreSQL: TOKENGATE_TEST_POSTGRES as given"
    return 0
  fi
  if pg_answers "$PG_DEFAULT_URL"; then
    say "PostgreSQL: the server on 127.0.0.1:5432"
    export TOKENGATE_TEST_POSTGRES=$PG_DEFAULT_URL
    return 0
  fi
  say "PostgreSQL: none answers on 127.0.0.1:5432"
  trap pg_stop_cluster EXIT
  trap 'exit 130' INT TERM
  pg_start_cluster
}

# web_test_deps installs what the web UI's browser tests need when it is
# missing (internal/web/browser_test.go): Debian's chromium, and axe-core
# from the npm registry into internal/web/testdata/node (npm ci, from its
# package-lock.json). Under CI=true the tests fail without them; elsewhere
# they skip and say why.
web_test_deps() {
  local updated=""
  apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "cannot install $*: no apt-get on this machine" >&2
      return 1
    fi
    if [ -z "$updated" ]; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  }
  if [ -z "${TOKENGATE_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    say "installing Chromium (Debian package chromium) for the web UI's browser tests"
    apt_install chromium fonts-dejavu-core || echo "Chromium is not installed: the browser tests will skip (and fail under CI=true)" >&2
  fi
  local axe=internal/web/testdata/node
  if [ ! -f "$axe/node_modules/axe-core/axe.min.js" ]; then
    say "installing axe-core (npm) for the web UI's accessibility check"
    command -v npm >/dev/null 2>&1 || apt_install npm || true
    if command -v npm >/dev/null 2>&1; then
      npm ci --prefix "$axe" --no-audit --no-fund --loglevel=error
    else
      echo "npm is not installed: the accessibility check will skip (and fail under CI=true)" >&2
    fi
  fi
}

# FUZZ_TARGETS lists every fuzz target as "PACKAGE TARGET" (docs/TESTING.md
# says what each one checks).
FUZZ_TARGETS=(
  "./internal/token FuzzVerifyAccess"
  "./internal/token FuzzVerifyRefresh"
  "./internal/token FuzzClaimsJSON"
  "./internal/dialect/oauth2 FuzzOAuth2"
  "./internal/dialect/core FuzzCore"
  "./internal/dialect/ags FuzzAGS"
  "./internal/dialect/syncgw FuzzSyncGW"
  "./internal/proxy FuzzCheckPath"
  "./internal/proxy FuzzProxyRequest"
  "./internal/config FuzzLoadFile"
)

# run_fuzz runs each target of FUZZ_TARGETS for TOKENGATE_FUZZTIME, with
# one worker (bounded load), and fails on the first crash, naming the
# input Go kept. Go's fuzzer has no per-input time-out, so each call is
# bounded by TOKENGATE_FUZZ_TIMEOUT (default 10m, far past a 15s run): an
# input that hangs fails the run with every goroutine's stack instead of
# holding it. Long runs by hand set it to 0 (no bound) or past -fuzztime.
run_fuzz() {
  local fuzztime=${TOKENGATE_FUZZTIME:-15s} bound=${TOKENGATE_FUZZ_TIMEOUT:-10m} entry pkg target out rc kept
  if [ "$fuzztime" = "0" ]; then
    say "fuzzing skipped (TOKENGATE_FUZZTIME=0)"
    return 0
  fi
  for entry in "${FUZZ_TARGETS[@]}"; do
    read -r pkg target <<<"$entry"
    say "fuzz $target ($pkg) for $fuzztime"
    out=$(mktemp)
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime="$fuzztime" -parallel=1 -timeout="$bound" "$pkg" >"$out" 2>&1; then
      rc=0
    else
      rc=$?
    fi
    cat "$out"
    if [ "$rc" -ne 0 ]; then
      kept=$(git status --porcelain --untracked-files=all -- "$pkg/testdata/fuzz/$target" || true)
      if [ -z "$kept" ] && fuzz_stop_race "$out"; then
        say "fuzz $target: Go's fuzzing coordinator failed on its own -fuzztime deadline (context deadline exceeded, no input kept): go.dev/issue/75804, a race of Go 1.26 under load, not a finding"
      else
        rm -f "$out"
        echo "fuzz target $target failed; the failing input Go kept (commit it as a regression seed):" >&2
        echo "${kept:-  (none kept: see the output above)}" >&2
        return 1
      fi
    fi
    rm -f "$out"
  done
}

# fuzz_stop_race FILE: true when a fuzz run's output shows only the race of
# Go's fuzzing coordinator at the end of -fuzztime (go.dev/issue/75804,
# fixed in Go 1.27): the bare error "context deadline exceeded", with no
# failing input, panic, time-out or test failure of its own.
fuzz_stop_race() {
  grep -qx '    context deadline exceeded' "$1" &&
    ! grep -q -e 'Failing input written' -e 'panic:' -e 'test timed out' -e 'fuzzing process hung' -e '_test.go:[0-9]' "$1"
}

main() {
  cd "$(dirname "$0")/.."

  if ! command -v go >/dev/null 2>&1; then
    echo "Go is not installed: install Go 1.26 or newer (https://go.dev/doc/install)" >&2
    exit 1
  fi

  say "Go modules"
  go mod download

  say "gofmt"
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './vendor/*'))
  if [ -n "$unformatted" ]; then
    echo "gofmt would change:" >&2
    echo "$unformatted" >&2
    exit 1
  fi

  say "go vet"
  go vet ./...

  pg_ensure_server
  web_test_deps

  say "go test -race"
  # -count=1: never report a cached pass; tests use real SQLite files, a real
  # PostgreSQL server and real HTTP on loopback, so a fresh run is the only
  # honest one.
  go test -race -count=1 -timeout 20m "$@" ./...

  if [ "$#" -eq 0 ]; then
    run_fuzz
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  main "$@"
fi
