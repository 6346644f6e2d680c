# orderguard — every task a developer or CI needs. `make run` and `make test`
# work on a clean clone: Go modules come from the module proxy.
GO       ?= go
BIN      := bin/orderguard
FUZZTIME ?= 20s
export GOTOOLCHAIN := local
# make bench-peers installs Prism here (npm ci).
PRISM    := bench/peers/prism/node_modules/.package-lock.json

.PHONY: all build image generate check-generate vet test test-short run bench bench-peers bench-micro fuzz clean

all: build

# The build's identity, from git: `orderguard version`, orderguard_build_info,
# the image's labels and tag. Set with the linker because Go stamps no VCS
# information in a git worktree. VERSION is the tag on HEAD, else Go's
# pseudo-version (v0.0.0-<commit time UTC>-<12 hex>); -dirty for a modified tree.
REVISION    := $(shell git rev-parse HEAD 2>/dev/null)
COMMIT_TIME := $(shell git log -1 --format=%cI 2>/dev/null)
MODIFIED    := $(if $(shell git status --porcelain --untracked-files=no 2>/dev/null),true,false)
VERSION     ?= $(shell git describe --tags --exact-match 2>/dev/null || TZ=UTC git log -1 --abbrev=12 --date=format-local:%Y%m%d%H%M%S --format=v0.0.0-%cd-%h 2>/dev/null)$(if $(filter true,$(MODIFIED)),-dirty)
BUILDINFO   := github.com/orderguard/orderguard/internal/buildinfo
LDFLAGS     := $(if $(REVISION),-X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).revision=$(REVISION) -X $(BUILDINFO).commitTime=$(COMMIT_TIME) -X $(BUILDINFO).modified=$(MODIFIED))

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/proxy

# The OCI image, reproducibly, with no container daemon: bin/image/oci (an OCI
# layout) and bin/image/orderguard.tar (`docker load -i`); prints the digest.
# The same commit gives the same digest (internal/image says how).
image:
	$(GO) run ./cmd/imagebuild -version "$(VERSION)" -revision "$(REVISION)" -created "$(COMMIT_TIME)" -modified=$(MODIFIED) -out bin/image

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
