module github.com/orderguard/orderguard

go 1.26.0

tool github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen

// Dependencies are chosen, not collected:
//   - fasthttp: the proxy, the sandbox, the load generator. Pinned at v1.74.0: v1.75
//     and later need a dependency version the module proxy refuses (403).
//   - kin-openapi: loads the specs; the oracle the generated validators are tested against.
//   - oapi-codegen (tool) and its runtime: the types in gen/.
//   - bbolt: the outbox, a crash-safe single-file B+tree with fsync'd transactions.
//   - client_golang (and client_model in tests): Prometheus metrics.
//   - hdrhistogram-go: latency percentiles in the benchmark.
//   - fastjson: only the benchmark's parse floor and the sandbox's light reads.
//   - yaml.v3: the proxy's and the linter's config files.
//   - nats.go (its jetstream package): the fleet outbox (internal/outbox/natsjs),
//     the official client of NATS JetStream, a replicated log with acknowledged
//     publishes, per-message de-duplication and shared durable consumers: the
//     fleet's store-and-forward without a distributed log of our own.
//   - nats-server (tests only): a real JetStream server started in-process on
//     127.0.0.1, so that the outbox contract suite runs against the real thing.
//     It raises x/sys, x/crypto, x/text and klauspost/compress to the versions
//     it needs (minor updates).
//   - x/sys (already in the build through fasthttp and bbolt): timerfd, the load
//     generator's sub-millisecond clock; the standard library does not expose it.
require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/getkin/kin-openapi v0.152.0
	github.com/oapi-codegen/runtime v1.8.0
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3
	github.com/valyala/fasthttp v1.74.0
	github.com/valyala/fastjson v1.6.10
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.50.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/nats-io/nats-server/v2 v2.15.3
	github.com/nats-io/nats.go v1.56.0
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.9.0-default-no-op // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dprotaso/go-yit v0.0.0-20220510233725-9ba8df137936 // indirect
	github.com/go-openapi/jsonpointer v0.23.1 // indirect
	github.com/go-openapi/swag/jsonname v0.26.0 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/molecule-man/go-brrr v1.0.1 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/jwt/v2 v2.8.3 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/oapi-codegen/oapi-codegen/v2 v2.8.2 // indirect
	github.com/oasdiff/yaml v0.1.1 // indirect
	github.com/oasdiff/yaml3 v0.0.14 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	github.com/speakeasy-api/jsonpath v0.6.3 // indirect
	github.com/speakeasy-api/openapi v1.24.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/vmware-labs/yaml-jsonpath v0.3.2 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/mod v0.41.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
