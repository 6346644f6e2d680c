#!/usr/bin/env bash
# The check a release runs: clones the committed HEAD of this repository into an
# empty temporary folder, with nothing beside the clone (no sibling folder, no bin/, no
# data/, no uncommitted file), and runs `make test` there. It proves that
# everything the tests, examples and benchmarks read is inside the repository.
#
#   scripts/fresh-clone-test.sh            # HEAD
#   scripts/fresh-clone-test.sh v1.2.0     # a tag, branch or commit
#   KEEP=1 scripts/fresh-clone-test.sh     # keep the clone afterwards
#
# Go modules come from the Go module proxy (the module cache is shared, as on any
# machine). Takes a few minutes: it is the whole test suite with -race.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-HEAD}
commit=$(git -C "$top" rev-parse --verify "$rev^{commit}")
if [ "$rev" = HEAD ] && [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
	echo "note: the work tree has uncommitted changes; they are not tested (only commit $commit is)" >&2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/orderguard-fresh.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then
	echo "keeping $scratch" >&2
else
	trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
fi

# --no-local: a real clone through git's transport, not hard links into this
# repository; then the commit asked for, detached.
git clone --quiet --no-local --no-checkout "$top" "$scratch/orderguard"
cd "$scratch/orderguard"
git -c advice.detachedHead=false checkout --quiet "$commit"
if [ "$(ls -A "$scratch")" != orderguard ]; then
	echo "the clone's folder is not alone in $scratch" >&2
	exit 1
fi

echo "fresh clone of $commit in $scratch/orderguard: make test" >&2
start=$(date +%s)
if ! make test; then
	echo "FAIL: make test in a fresh clone of $commit (after $(( $(date +%s) - start ))s)" >&2
	exit 1
fi
echo "ok: make test passes in a fresh clone of $commit ($(( $(date +%s) - start ))s)" >&2
