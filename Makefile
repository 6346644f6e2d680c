# orderguard — every task a developer or CI needs. `make run` and `make test`
# work on a clean clone: Go modules come from the module proxy.
GO       ?= go
BIN      := bin/orderguard
FUZZTIME ?= 20s
export GOTOOLCHAIN := local
# make bench-peers installs Prism here (npm ci).
PRISM    := bench/peers/prism/node_modules/.package-lock.json

.PHONY: all build generate check-generate vet test test-short run bench bench-peers bench-micro fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/proxy

# Regenerates everything in gen/ from openapi/ alone.
generate:
	$(GO) generate ./gen/...
	gofmt -w gen/

# Fails when gen/ differs from what `make generate` produces (in a scratch copy of the tree).
check-generate:
	./scripts/check-generate.sh

vet:
	$(GO) vet ./...

test: vet check-generate
	$(GO) test -race -count=1 ./...

test-short:
	$(GO) test -short -count=1 ./...

# The proxy in front of the embedded sandbox, with every default.
run: build
	./$(BIN) serve

# The standard latency suite (about 7 minutes): writes bench/results/latest.{txt,json,svg}.
# Refused from a tree with uncommitted changes (published figures name their commit);
# `make bench BENCHFLAGS=--allow-dirty` writes them anyway, marked +modified.
# PEERS=1 (= make bench-peers, about 10 minutes) measures the kin-openapi proxy and
# Stoplight Prism in the same run, installing Prism first (see below).
BENCHFLAGS ?=
bench: build $(if $(PEERS),$(PRISM))
	$(GO) run ./bench --out bench/results $(if $(PEERS),--peers) $(BENCHFLAGS)
bench-peers:
	$(MAKE) bench PEERS=1

# Prism, pinned by bench/peers/prism/package-lock.json, installed there (git-ignored).
# Without npm the prism target is skipped and the report says why.
$(PRISM): bench/peers/prism/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd bench/peers/prism && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm is not on PATH: the prism target will be skipped (the report says so)"; fi

# Validator micro-benchmarks: generated vs kin-openapi vs fastjson vs encoding/json.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./bench/

# Short runs of every fuzz target (FUZZTIME each).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
