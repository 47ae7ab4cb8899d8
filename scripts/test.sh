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
