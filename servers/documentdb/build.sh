#!/usr/bin/env bash
# Provisions the DocumentDB-backed test server: PostgreSQL 15 with the DocumentDB extension (and
# the extensions it requires, pg_cron and pgvector) from Debian's packages and the archived sources,
# and FerretDB 2.7.0 (the MongoDB wire protocol in front of it) from the Go module proxy.
#
# Every step is skipped when its result is already there, so a second run takes a second.
# Needs root (or passwordless sudo) for the Debian packages and `make install` into PostgreSQL.
#
# Sources: ../shared/vendor/ beside the checkout (or MOLT_VENDOR_DIR), sha256-checked; on a machine
# without that folder, the same tags are cloned from their repositories.
# Build tree: servers/documentdb/.build/ (never inside the vendor folder, which may be read-only).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
vendor="${MOLT_VENDOR_DIR:-$root/../shared/vendor}"
build="$here/.build"
bin="$here/bin"
pg_config=/usr/lib/postgresql/15/bin/pg_config
ferretdb_version=v2.7.0

log() { printf '[documentdb] %s\n' "$*" >&2; }
elapsed() { printf '%ss' "$((SECONDS - $1))"; }

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"; else sudo -n "$@"; fi
}

# --- Debian packages -------------------------------------------------------------------------
packages=(postgresql-15 postgresql-server-dev-15 postgresql-15-rum postgresql-15-postgis-3
  libbson-dev libintelrdfpmath-dev libpcre2-dev libkrb5-dev libicu-dev pkg-config git)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  t=$SECONDS
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "packages installed in $(elapsed "$t")"
fi
# Debian's pg_cron (1.4.2) is too old: CREATE EXTENSION documentdb fails with "invalid schedule: 2 seconds".
if dpkg-query -W -f='${Status}' postgresql-15-cron 2>/dev/null | grep -q 'install ok installed'; then
  log "removing Debian's postgresql-15-cron (too old for DocumentDB)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq postgresql-15-cron >/dev/null
fi

pkglibdir="$("$pg_config" --pkglibdir)"
sharedir="$("$pg_config" --sharedir)"

# --- Sources ---------------------------------------------------------------------------------
# name|archive|sha256|repository|tag
sources=(
  "pg_cron|pg_cron-v1.6.3.tar.gz|c525dbe88dc22c2a58fe82565bb9602690e1c05c4ffd3d2ccee971ac52d59904|https://github.com/citusdata/pg_cron.git|v1.6.3"
  "pgvector|pgvector-v0.8.0.tar.gz|958aa543a05a60c3696f7fc3bc5722be5a1c413b0ee0e1811f898128526b9c8a|https://github.com/pgvector/pgvector.git|v0.8.0"
  "documentdb|documentdb-v0.106.0-ferretdb-2.5.0.tar.gz|3eea614fe7f1f0db001ca6d35e258842f880bd19e2283f8fa3a87b1361c4715c|https://github.com/FerretDB/documentdb.git|v0.106.0-ferretdb-2.5.0"
)
patch_file=documentdb-libbson-1.23.patch
patch_sha=bfbbb66ff9aa9721f47fe0097b01382edfad915a349a4df74f262e237ffa4e23

# Extracts (or clones) a source tree into $build/<name>, once.
fetch_source() {
  local name=$1 archive=$2 sha=$3 repo=$4 tag=$5 dir="$build/$1"
  [[ -d $dir ]] && return 0
  mkdir -p "$build"
  if [[ -f $vendor/$archive ]]; then
    echo "$sha  $vendor/$archive" | sha256sum --check --status \
      || { log "sha256 mismatch for $vendor/$archive: refusing to build it"; exit 1; }
    mkdir -p "$dir.tmp"
    tar -xzf "$vendor/$archive" -C "$dir.tmp"
    # A git archive may or may not carry a top-level folder.
    local entries=("$dir.tmp"/*)
    if [[ ${#entries[@]} == 1 && -d ${entries[0]} ]]; then mv "${entries[0]}" "$dir"; rm -rf "$dir.tmp"; else mv "$dir.tmp" "$dir"; fi
  else
    log "$vendor/$archive not found: cloning $repo at $tag"
    git clone -q --depth 1 --branch "$tag" "$repo" "$dir"
  fi
}

installed_cron_version() {
  sed -n "s/^default_version = '\(.*\)'/\1/p" "$sharedir/extension/pg_cron.control" 2>/dev/null || true
}

# --- pg_cron 1.6.3 ---------------------------------------------------------------------------
if [[ ! -f $pkglibdir/pg_cron.so || "$(installed_cron_version)" != 1.6 ]]; then
  t=$SECONDS
  fetch_source ${sources[0]//|/ }
  (cd "$build/pg_cron" && make -s PG_CONFIG="$pg_config" >/dev/null && as_root make -s install PG_CONFIG="$pg_config" >/dev/null)
  log "pg_cron built and installed in $(elapsed "$t")"
fi

# --- pgvector 0.8.0 --------------------------------------------------------------------------
if [[ ! -f $pkglibdir/vector.so ]]; then
  t=$SECONDS
  fetch_source ${sources[1]//|/ }
  # OPTFLAGS="": no -march=native, so the library runs on any machine of this kind.
  (cd "$build/pgvector" && make -s OPTFLAGS="" PG_CONFIG="$pg_config" >/dev/null && as_root make -s install OPTFLAGS="" PG_CONFIG="$pg_config" >/dev/null)
  log "pgvector built and installed in $(elapsed "$t")"
fi

# --- DocumentDB 0.106.0 ----------------------------------------------------------------------
if [[ ! -f $pkglibdir/pg_documentdb.so || ! -f $pkglibdir/pg_documentdb_core.so ]]; then
  t=$SECONDS
  fetch_source ${sources[2]//|/ }
  src="$build/documentdb"
  if [[ ! -f $src/.molt-patched ]]; then
    patch_path="$vendor/$patch_file"
    [[ -f $patch_path ]] || patch_path="$here/$patch_file"
    echo "$patch_sha  $patch_path" | sha256sum --check --status \
      || { log "sha256 mismatch for $patch_path"; exit 1; }
    (cd "$src" && patch -s -p1 < "$patch_path")
    touch "$src/.molt-patched"
  fi
  # Debian ships the Intel decimal math library without the pkg-config entry DocumentDB asks for.
  mkdir -p "$build/pkgconfig"
  cat > "$build/pkgconfig/intelmathlib.pc" <<'PC'
Name: intelmathlib
Description: Intel Decimal Floating-Point Math Library (Debian's static archive)
Version: 2.0
Cflags: -I/usr/include
Libs: -L/usr/lib/x86_64-linux-gnu -l:libbidgcc000.a
PC
  for part in pg_documentdb_core pg_documentdb; do
    (cd "$src/$part" \
      && PKG_CONFIG_PATH="$build/pkgconfig" make -s -j"$(nproc)" PG_CONFIG="$pg_config" >/dev/null \
      && as_root env PKG_CONFIG_PATH="$build/pkgconfig" make -s install PG_CONFIG="$pg_config" >/dev/null)
  done
  log "DocumentDB built and installed in $(elapsed "$t")"
fi

# --- FerretDB 2.7.0 --------------------------------------------------------------------------
if [[ ! -x $bin/ferretdb ]] || ! "$bin/ferretdb" --version 2>/dev/null | grep -q "${ferretdb_version#v}"; then
  t=$SECONDS
  command -v go >/dev/null || { log "go not found on PATH: FerretDB cannot be built"; exit 1; }
  mkdir -p "$bin" "$build"
  # The machine's own Go builds it; never download a toolchain unless the caller asks for one.
  GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOBIN="$bin" GOFLAGS="-trimpath" \
    go install "github.com/FerretDB/FerretDB/v2/cmd/ferretdb@$ferretdb_version" >"$build/ferretdb-build.log" 2>&1 \
    || { tail -n 30 "$build/ferretdb-build.log" >&2; log "FerretDB build failed (log: $build/ferretdb-build.log)"; exit 1; }
  log "FerretDB $ferretdb_version built in $(elapsed "$t")"
fi

log "ready: PostgreSQL 15 with DocumentDB, $bin/ferretdb"
