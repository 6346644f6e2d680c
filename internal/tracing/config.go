package tracing

import "github.com/orderguard/orderguard/internal/settings"

// Settings binds --otlp-endpoint, the one tracing setting of orderguard
// serve (the rest is the standard OTEL_* variables, read by New), to
// s.Endpoint.
func (s *Settings) Settings() []settings.Setting {
	return []settings.Setting{
		{Name: "otlp-endpoint", Help: "OTLP collector URL for traces (http://host:4318, or http://host:4317 with OTEL_EXPORTER_OTLP_PROTOCOL=grpc); wins over $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then $OTEL_EXPORTER_OTLP_ENDPOINT; none of the three: tracing off. Sampling: $OTEL_TRACES_SAMPLER/_ARG (default parentbased_always_on); resource: $OTEL_SERVICE_NAME, $OTEL_RESOURCE_ATTRIBUTES", Value: settings.String(&s.Endpoint)},
	}
}
