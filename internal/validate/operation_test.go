package validate_test

import (
	"testing"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// The path's shape agrees with x-orderguard-fallback for every operation of
// the spec, so a table without the extension behaves as the generated one.
func TestShapeFromPathAgreesWithSpec(t *testing.T) {
	for _, op := range gen.Operations {
		if got := op.Shape(); got != op.Fallback {
			t.Errorf("%s: Shape = %q, want %q", op.ID, got, op.Fallback)
		}
		bare := validate.Operation{ID: op.ID, Method: op.Method, Path: op.Path}
		if got := bare.Shape(); got != op.Fallback {
			t.Errorf("%s without Fallback: Shape = %q, want %q", op.ID, got, op.Fallback)
		}
	}
}

func TestIsOrder(t *testing.T) {
	orders := map[string]bool{gen.OpOrderV2: true, gen.OpOrderV3: true}
	for _, op := range gen.Operations {
		if got := op.IsOrder(); got != orders[op.ID] {
			t.Errorf("%s: IsOrder = %v, want %v", op.ID, got, orders[op.ID])
		}
	}
}

func TestShapeOfUnknownFallback(t *testing.T) {
	for _, tt := range []struct{ fallback, path, want string }{
		{"", "/v2/orders/{id}", validate.FallbackOrderV2},
		{"", "/v3/orders/{id}", validate.FallbackOrderV3},
		{"", "/v2/status/{id}", validate.FallbackStatus},
		{"", "/v2/accounts/login/{id}", validate.FallbackAccount},
		{"", "/v2/claims", validate.FallbackClaim},
		{"bogus", "/v2/claims", validate.FallbackClaim},
		{validate.FallbackStatus, "/v2/orders/{id}", validate.FallbackStatus},
	} {
		op := validate.Operation{Path: tt.path, Fallback: tt.fallback}
		if got := op.Shape(); got != tt.want {
			t.Errorf("Shape(%q, %q) = %q, want %q", tt.fallback, tt.path, got, tt.want)
		}
	}
}
