#!/usr/bin/env bash
# Builds servers/ferretdb/bin/ferretdb-molt: an embedded FerretDB v1.24.2
# (SQLite backend) MongoDB-wire test server. Only needs the Go module proxy.
#
# Idempotent: does nothing when the binary is newer than its sources.
# Set FORCE=1 to rebuild anyway.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/bin/ferretdb-molt"

if [[ "${FORCE:-0}" != 1 && -x "$out" ]]; then
  stale=0
  for src in "$here/main.go" "$here/go.mod" "$here/go.sum" "$here/build.sh"; do
    if [[ "$src" -nt "$out" ]]; then stale=1; fi
  done
  if [[ $stale == 0 ]]; then
    echo "ferretdb-molt is up to date: $out" >&2
    exit 0
  fi
fi

command -v go >/dev/null || { echo "build.sh: go not found on PATH" >&2; exit 1; }

# The machine's own Go (1.24 or newer; tested with 1.26.8) builds this module.
# Never auto-download a toolchain unless the caller asks for one.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
# modernc.org/sqlite is pure Go: no C compiler needed, static binary.
export CGO_ENABLED=0
# -buildvcs=false: the enclosing git repo may have no commits yet, which makes
# VCS stamping fail; -mod=readonly: go.sum must already be complete.
export GOFLAGS="-buildvcs=false -mod=readonly -trimpath"

mkdir -p "$here/bin"
cd "$here"
start=$SECONDS
go build -ldflags="-s -w" -o "$out.tmp" .
mv -f "$out.tmp" "$out"
echo "built $out in $((SECONDS - start))s ($(go version))" >&2
