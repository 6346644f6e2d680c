package load

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWithOrderID(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"first field", `{"orderId": "x1", "a": 1}`, `{"orderId": "new", "a": 1}`, true},
		{"later field, nested decoy", `{"a": {"orderId": "no"}, "orderId":"x"}`, `{"a": {"orderId": "no"}, "orderId":"new"}`, true},
		{"pretty", "{\n  \"orderId\" :\n    \"abc\"\n}", "{\n  \"orderId\" :\n    \"new\"\n}", true},
		{"number id", `{"orderId": 12}`, "", false},
		{"no id", `{"a": 1}`, "", false},
		{"not json", `{"orderId": `, "", false},
		{"array", `[1]`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := withOrderID([]byte(tc.in), "new")
			if ok != tc.ok || string(got) != tc.want {
				t.Errorf("withOrderID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"order-a.json":         `{"orderId":"A","x":1}`,
		"status-b.json":        `{"orderId":"B"}`,
		"invalid-order-c.json": `{"orderId":"C",`,
		"v3order-d.json":       `{"orderId":"D"}`,
		"README.md":            "ignored",
		"something-else.json":  "{}",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reqs, mix, err := ReadDir(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if mix.Files != 4 || mix.Valid != 3 || mix.Invalid != 1 || len(reqs) != 12 {
		t.Fatalf("mix %+v, %d requests; want 4 files (3 valid, 1 invalid), 12 requests", mix, len(reqs))
	}
	ids := map[string]bool{}
	for _, r := range reqs {
		if ids[r.Path] {
			t.Errorf("path %s used twice; order ids should vary", r.Path)
		}
		ids[r.Path] = true
		var v struct{ OrderID string }
		if json.Unmarshal(r.Body, &v) == nil && !strings.HasSuffix(r.Path, "/"+v.OrderID) {
			t.Errorf("%s %s: body orderId %q does not match the path", r.Method, r.Path, v.OrderID)
		}
	}
	// invalid-order-c sorts first; its bytes are sent untouched.
	if reqs[0].Method != "POST" || !strings.HasPrefix(reqs[0].Path, "/v2/orders/") || !bytes.Equal(reqs[0].Body, []byte(`{"orderId":"C",`)) {
		t.Errorf("first request %s %s %q", reqs[0].Method, reqs[0].Path, reqs[0].Body)
	}
	if reqs[2].Method != "PUT" || !strings.HasPrefix(reqs[2].Path, "/v2/status/") {
		t.Errorf("status request %s %s", reqs[2].Method, reqs[2].Path)
	}
	if reqs[3].Method != "POST" || !strings.HasPrefix(reqs[3].Path, "/v3/orders/") {
		t.Errorf("v3 request %s %s", reqs[3].Method, reqs[3].Path)
	}
	if _, _, err := ReadDir(t.TempDir(), 1); err == nil {
		t.Error("ReadDir of an empty dir: want an error")
	}
}
