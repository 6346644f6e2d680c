package outbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAdminAPI(t *testing.T) {
	s, _ := openTemp(t, Options{})
	a, _, _ := s.Add(order("orderV2", "ADM-1", `{"orderId":"ADM-1"}`))
	b, _, _ := s.Add(order("orderV3", "ADM-2", `{"orderId":"ADM-2"}`))
	s.markDead(b, 400, "upstream answered 400", []byte(`{"status":"failed"}`), true)
	srv := httptest.NewServer(NewAdmin(s))
	defer srv.Close()

	tests := []struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}{
		{"GET", "/outbox", 200, "application/json", `"order_id": "ADM-1"`},
		{"GET", "/outbox/", 200, "application/json", `"dead_reason": "upstream answered 400"`},
		{"GET", "/admin/outbox/stats", 200, "application/json", `"pending": 1`},
		{"GET", "/outbox/list?state=dead&limit=5", 200, "application/json", `"order_id": "ADM-2"`},
		{"GET", "/outbox/list?state=delivered", 200, "application/json", `[]`},
		{"GET", "/outbox/list?limit=many", 400, "application/json", `limit \"many\": want a number`},
		{"GET", "/outbox/list?state=lost", 400, "application/json", `want pending, dead or delivered`},
		{"GET", "/outbox/export", 200, "application/x-ndjson", `"body":{"orderId":"ADM-2"}`},
		{"GET", "/outbox/retry/1", 405, "application/json", "use POST"},
		{"POST", "/outbox/retry/x", 400, "application/json", "want a number"},
		{"POST", "/outbox/drop/999", 404, "application/json", "no such request: 999"},
		{"GET", "/outbox/nothing", 404, "application/json", "unknown outbox route"},
		{"GET", "/elsewhere", 404, "application/json", "not an outbox path"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.ctype || !strings.Contains(string(body), tt.contains) {
				t.Errorf("got %d %s\n%s\nwant %d %s containing %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status, tt.ctype, tt.contains)
			}
		})
	}

	post := func(path string) map[string]any {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, m)
		}
		return m
	}
	if m := post("/outbox/retry/all"); m["retried"] != float64(1) {
		t.Errorf("retry all = %v", m)
	}
	post("/outbox/drop/1")
	if _, err := s.Get(a); !errors.Is(err, ErrNotFound) {
		t.Errorf("entry %d still there after drop: %v", a, err)
	}
	if st := stats(t, s); st.Pending != 1 || st.Dead != 0 {
		t.Errorf("stats after retry and drop = %+v", st)
	}
}

func TestWritePrometheus(t *testing.T) {
	st := Stats{Pending: 3, Dead: 1, OldestAgeSec: 12.5, Delivered: 7, DeadLettered: 2, Paused: true}
	var buf bytes.Buffer
	if err := st.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"orderguard_outbox_depth 3",
		"orderguard_outbox_dead 1",
		"orderguard_outbox_oldest_age_seconds 12.5",
		"orderguard_outbox_delivered_total 7",
		"orderguard_outbox_dead_lettered_total 2",
		"orderguard_outbox_paused 1",
		"# TYPE orderguard_outbox_delivered_total counter",
	} {
		if !strings.Contains(buf.String(), line+"\n") {
			t.Errorf("missing %q in\n%s", line, buf.String())
		}
	}
}

func TestReady(t *testing.T) {
	s, _ := openTemp(t, Options{})
	if err := s.Ready(); err != nil {
		t.Errorf("Ready on an open store: %v", err)
	}
	s.Close()
	if err := s.Ready(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready after Close = %v, want ErrClosed", err)
	}
}
