package outbox

import (
	"maps"
	"testing"
)

func TestKeepHeader(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"api-version", true},
		{"API-Version", true},
		{"content-type", true},
		{"Content-Encoding", true},
		{"x-forter-siteid", true},
		{"X-Forter-Disable-Persistence", true},
		{"authorization", false},
		{"Proxy-Authorization", false},
		{"cookie", false},
		{"x-api-key", false},
		{"X-Orderguard-Secret", false},
		{"x-forter", false},
		{"content-length", false},
		{"user-agent", false},
		{"", false},
	} {
		if got := KeepHeader(tt.name); got != tt.want {
			t.Errorf("KeepHeader(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestKeptHeaders(t *testing.T) {
	got := KeptHeaders(map[string]string{
		"Content-Type": "application/json", "api-version": "2.36", "x-forter-siteid": "s",
		"Authorization": "Basic c2VjcmV0", "X-Orderguard-Secret": "in", "cookie": "a=b",
	})
	want := map[string]string{"Content-Type": "application/json", "api-version": "2.36", "x-forter-siteid": "s"}
	if !maps.Equal(got, want) {
		t.Errorf("KeptHeaders = %v, want %v", got, want)
	}
	if got := KeptHeaders(nil); got != nil {
		t.Errorf("KeptHeaders(nil) = %v, want nil", got)
	}
}
