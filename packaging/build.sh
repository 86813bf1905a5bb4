#!/usr/bin/env bash
# Build a release of decnet: the static binary with its version, commit and
# build date, its manual pages, and the .deb (nfpm).
#   packaging/build.sh [OUTDIR]      (default dist/)
# VERSION overrides the version (default: git describe, else 0.0.0-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# A release tag v1.2.3 gives 1.2.3; an untagged tree 0.0.0~git<commit>
# (Debian versions start with a digit and sort ~ before anything).
version=${VERSION:-$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' || true)}
[[ -n $version ]] || version="0.0.0~git$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/decnet/decnet/internal/cli
arch=$(go env GOARCH)

echo "building decnet $version ($commit) for linux/$arch"
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.BuildDate=$date" \
  -o "$stage/decnet" ./cmd/decnet
cp "$stage/decnet" "$out/decnet"

"$stage/decnet" man --dir "$stage/man" >/dev/null
gzip -9n "$stage"/man/*.1

sed -e "s|@ARCH@|$arch|g" -e "s|@VERSION@|$version|g" -e "s|@STAGE@|$stage|g" packaging/nfpm.yaml >"$stage/nfpm.yaml"
go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0 package \
  --config "$stage/nfpm.yaml" --packager deb --target "$out/"
ls -1 "$out"/*.deb
