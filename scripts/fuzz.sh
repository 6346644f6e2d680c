#!/usr/bin/env bash
# Runs every native fuzz target for a short time each (default 20s). The seed
# corpora also run as plain tests in `make test`.
set -euo pipefail
t=${1:-20s}
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "== $pkg $f ($t)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
	done
done
