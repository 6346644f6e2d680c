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
//   - speakeasy-api/openapi (its overlay package only; already required, by the oapi-codegen
//     tool): OpenAPI Overlay 1.0.0/1.1.0 with RFC 9535 JSONPath for --overlay.
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
//   - go-containerregistry: `make image` (cmd/imagebuild, internal/image) writes
//     the OCI image, layout and tarball without a container daemon; not linked
//     into orderguard itself.
//   - x/crypto/x509roots/fallback: Mozilla's roots compiled into orderguard, used
//     only where the system has none (the image): pinned by go.sum, so the image
//     does not change with the build host's CA bundle.
//   - OpenTelemetry (otel, trace, sdk, the OTLP exporters over HTTP and gRPC):
//     traces of the request path (internal/tracing), the standard SDK so that
//     OTEL_* variables and collectors work as platform teams expect. The
//     exporters at v1.47 pull grpc-gateway v2.30, which lifts jsonpointer (of
//     kin-openapi) to v1.0.0, API-compatible. proto/otlp, protobuf and grpc
//     (already there through the exporters) are imported by the test receivers
//     (internal/tracing/otlptest over HTTP, a gRPC one in internal/tracing).
require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/getkin/kin-openapi v0.152.0
	github.com/google/go-containerregistry v0.22.1
	github.com/oapi-codegen/runtime v1.8.0
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3
	github.com/speakeasy-api/openapi v1.24.0
	github.com/valyala/fasthttp v1.74.0
	github.com/valyala/fastjson v1.6.10
	go.etcd.io/bbolt v1.5.0
	golang.org/x/crypto/x509roots/fallback v0.0.0-20261030153154-30a33513ff6d
	golang.org/x/sys v0.50.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/prometheus/common v0.72.0
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc v1.47.0
	go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/trace v1.47.0
	go.opentelemetry.io/proto/otlp v1.11.0
	google.golang.org/grpc v1.83.2
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/nats-io/nats-server/v2 v2.15.3
	github.com/nats-io/nats.go v1.56.0
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.9.0-default-no-op // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cenkalti/backoff/v5 v5.0.3 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dprotaso/go-yit v0.0.0-20220510233725-9ba8df137936 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/go-openapi/jsonpointer v1.0.0 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.30.0 // indirect
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
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	github.com/speakeasy-api/jsonpath v0.6.3 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/vmware-labs/yaml-jsonpath v0.3.2 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel/exporters/otlp/otlptrace v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/mod v0.41.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
)
