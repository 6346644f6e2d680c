# orderguard — every task a developer or CI needs. `make run` and `make test`
# work on a clean clone: Go modules come from the module proxy.
GO       ?= go
BIN      := bin/orderguard
FUZZTIME ?= 20s
export GOTOOLCHAIN := local

.PHONY: all build generate check-generate vet test test-short run bench bench-micro fuzz clean

all: build

# -buildvcs=true: `orderguard version` and orderguard_build_info name the commit
# even where GOFLAGS turns VCS stamping off.
build:
	$(GO) build -buildvcs=true -o $(BIN) ./cmd/proxy

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
bench: build
	$(GO) run ./bench --out bench/results

# Validator micro-benchmarks: generated vs kin-openapi vs fastjson vs encoding/json.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./bench/

# Short runs of every fuzz target (FUZZTIME each).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
