package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/outbox"
)

// seedOutbox writes a file with two pending requests and one dead one and
// returns its path and their ids.
func seedOutbox(t *testing.T) (string, []uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := outbox.Open(path, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []uint64
	for _, r := range []outbox.Request{
		// First, so that the resender reaches it before its first failure holds it back.
		{Operation: "orderV3", OrderID: "CLI-2", Method: "POST", Path: "/v3/orders/CLI-2", Body: []byte(`{"orderId":"CLI-2"}`), FirstTry: time.Now().Add(-8 * 24 * time.Hour)},
		{Operation: "orderV2", OrderID: "CLI-1", Method: "POST", Path: "/v2/orders/CLI-1", Body: []byte(`{"orderId":"CLI-1"}`), FirstTry: time.Now().Add(-time.Minute)},
		{Operation: "statusPut", OrderID: "CLI-1", Method: "PUT", Path: "/v2/status/CLI-1", Body: []byte(`{"orderId":"CLI-1","updatedStatus":"COMPLETED"}`)},
	} {
		id, _, err := s.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Dead-letter the old one the way the resender would: past max age.
	ctx, cancel := context.WithCancel(context.Background())
	r := s.Resender(outbox.HTTPSender{BaseURL: "http://127.0.0.1:1"}, outbox.ResendOptions{Paused: func() bool { return false }, MaxAge: 7 * 24 * time.Hour, Rate: 1000, BackoffMin: time.Hour})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, _ := s.Stats(); st.Dead == 1 && st.Failures >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("seed: the old order was not dead-lettered")
		}
	}
	cancel()
	<-done
	return path, ids
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runOutbox(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestOutboxCLI runs each command against the file and against a running
// admin API serving the same store; both must say the same things.
func TestOutboxCLI(t *testing.T) {
	path, ids := seedOutbox(t)

	backends := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"file", func(t *testing.T) []string { return []string{"--file", path} }},
		{"admin", func(t *testing.T) []string {
			s, err := outbox.Open(path, outbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(outbox.NewAdmin(s))
			t.Cleanup(func() { srv.Close(); s.Close() })
			return []string{"--admin", srv.URL}
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			where := be.args(t)
			code, out, errs := runCLI(t, append([]string{"stats"}, where...)...)
			if code != 0 || !strings.Contains(out, "pending              2") || !strings.Contains(out, "dead                 1") {
				t.Errorf("stats: code %d\n%s%s", code, out, errs)
			}
			code, out, _ = runCLI(t, append([]string{"list", "--json"}, where...)...)
			var pending []outbox.Entry
			if code != 0 || json.Unmarshal([]byte(out), &pending) != nil || len(pending) != 2 || pending[0].OrderID != "CLI-1" || pending[0].Attempts != 1 || pending[0].Body != nil {
				t.Errorf("list --json: code %d, %+v", code, pending)
			}
			code, out, _ = runCLI(t, append(where, "list", "--state", "dead")...)
			if code != 0 || !strings.Contains(out, "older than the maximum age") || !strings.Contains(out, "CLI-2") {
				t.Errorf("list --state dead: code %d\n%s", code, out)
			}
			code, out, _ = runCLI(t, append([]string{"export"}, where...)...)
			if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 3 || !strings.Contains(out, `"body":{"orderId":"CLI-1"}`) {
				t.Errorf("export: code %d\n%s", code, out)
			}
			code, _, errs = runCLI(t, append([]string{"drop", "999"}, where...)...)
			if code != 1 || !strings.Contains(errs, "no such request: 999") {
				t.Errorf("drop 999: code %d, stderr %q", code, errs)
			}
		})
	}

	// Mutations, on the file: retry brings the dead one back, drop deletes.
	if code, out, errs := runCLI(t, "retry", "all", "--file", path); code != 0 || !strings.Contains(out, "retried 1") {
		t.Errorf("retry all: code %d %s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "--file", path, "drop", strconv.FormatUint(ids[2], 10)); code != 0 {
		t.Errorf("drop: code %d %s", code, errs)
	}
	code, out, _ := runCLI(t, "list", "--file", path, "--json")
	var pending []outbox.Entry
	json.Unmarshal([]byte(out), &pending)
	if code != 0 || len(pending) != 2 || pending[0].ID != ids[0] || pending[1].ID != ids[1] {
		t.Errorf("after retry and drop: %+v, want %d and %d pending", pending, ids[0], ids[1])
	}
}

func TestOutboxCLIErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.db")
	os.WriteFile(corrupt, bytes.Repeat([]byte("garbage "), 1000), 0o600)
	locked := filepath.Join(dir, "locked.db")
	s, err := outbox.Open(locked, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	empty := filepath.Join(dir, "empty.db")
	e, err := outbox.Open(empty, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()

	tests := []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"no command", nil, 2, "usage"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"retry without id", []string{"retry"}, 2, "want exactly one ID"},
		{"id not a number", []string{"drop", "abc"}, 2, "want a number"},
		{"missing file", []string{"stats", "--file", filepath.Join(dir, "none.db")}, 1, "no outbox file"},
		{"corrupt file", []string{"stats", "--file", corrupt}, 1, "corrupt"},
		{"locked file", []string{"list", "--file", locked}, 1, "locked by another process"},
		{"bad admin URL", []string{"stats", "--admin", "127.0.0.1:9090"}, 2, "want a URL"},
		{"unknown state", []string{"list", "--state", "lost", "--file", empty}, 1, `unknown state "lost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.say) {
				t.Errorf("code %d stderr %q, want %d and %q", code, errs, tt.code, tt.say)
			}
		})
	}
}
