#!/usr/bin/env bash
# Runs every tokengate test on this machine, installing what is missing.
#
#   ./scripts/test.sh            # everything: gofmt, go vet, go test -race
#   ./scripts/test.sh -run Foo   # extra arguments go to `go test`
#
# Tests that need a real service never skip silently when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

if ! command -v go >/dev/null 2>&1; then
  echo "Go is not installed: install Go 1.26 or newer (https://go.dev/doc/install)" >&2
  exit 1
fi

say "Go modules"
go mod download

# The web UI's browser tests drive Debian's Chromium and check each page
# with axe-core from the npm registry (internal/web/browser_test.go).
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "cannot install $*: no apt-get on this machine" >&2
    return 1
  fi
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && [ -z "${TOKENGATE_CHROMIUM:-}" ]; then
  say "Chromium (for the web UI's browser tests)"
  apt_install chromium fonts-dejavu-core || echo "Chromium is not installed: the browser tests will skip (and fail under CI=true)" >&2
fi
axe=internal/web/testdata/node
if [ ! -f "$axe/node_modules/axe-core/axe.min.js" ]; then
  say "axe-core (for the web UI's accessibility check)"
  if ! command -v npm >/dev/null 2>&1; then
    apt_install npm || true
  fi
  if command -v npm >/dev/null 2>&1; then
    npm ci --prefix "$axe" --no-audit --no-fund --loglevel=error
  else
    echo "npm is not installed: the accessibility check will skip (and fail under CI=true)" >&2
  fi
fi

say "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './vendor/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

say "go vet"
go vet ./...

say "go test -race"
# -count=1: never report a cached pass; tests use real SQLite files and real
# HTTP on loopback, so a fresh run is the only honest one.
go test -race -count=1 -timeout 20m "$@" ./...
