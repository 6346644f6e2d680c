#!/usr/bin/env bash
# Regenerates gen/ in a scratch copy of the tree and fails if it differs from the
# committed (or working) gen/: generated code must never be edited by hand or stale.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$top"
# Every file git knows or would add (tracked and untracked-not-ignored).
git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$scratch"/ 2>/dev/null || true
(cd "$scratch" && make -s generate >/dev/null)
if ! diff -ru gen "$scratch/gen"; then
	echo "gen/ is stale: run 'make generate' and commit gen/" >&2
	exit 1
fi
echo "gen/ is up to date"
