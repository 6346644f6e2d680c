package outbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "outbox.db")
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func order(op, id, body string) Request {
	method, path := "POST", "/v2/orders/"+id
	switch op {
	case "orderV3":
		path = "/v3/orders/" + id
	case "statusPost":
		path = "/v2/status/" + id
	case "statusPut":
		method, path = "PUT", "/v2/status/"+id
	}
	return Request{
		Operation: op, OrderID: id, Method: method, Path: path,
		Header:   map[string]string{"Content-Type": "application/json", "api-version": "2.36"},
		Body:     []byte(body),
		FirstTry: time.Now().Add(-time.Second),
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	s, path := openTemp(t, Options{})
	reqs := []Request{
		order("orderV2", "A1", `{"orderId":"A1","totalAmount":{"amountUSD":"10.00"}}`),
		order("orderV3", "B2", `{"orderId":"B2"}`),
		order("statusPut", "A1", `{"orderId":"A1","updatedStatus":"COMPLETED"}`),
	}
	for _, r := range reqs {
		if err := s.Enqueue(r); err != nil {
			t.Fatalf("Enqueue(%s %s): %v", r.Operation, r.OrderID, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Enqueue(reqs[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: got %v, want ErrClosed", err)
	}

	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	got, err := s2.List(StatePending, 0)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(reqs) {
		t.Fatalf("after reopen: %d pending, want %d", len(got), len(reqs))
	}
	for i, e := range got {
		full, err := s2.Get(e.ID)
		if err != nil {
			t.Fatalf("Get(%d): %v", e.ID, err)
		}
		r := reqs[i]
		if full.Operation != r.Operation || full.OrderID != r.OrderID || full.Method != r.Method || full.Path != r.Path || !bytes.Equal(full.Body, r.Body) {
			t.Errorf("entry %d = %s %s %s %s %q, want %s %s %s %s %q", i, full.Operation, full.OrderID, full.Method, full.Path, full.Body, r.Operation, r.OrderID, r.Method, r.Path, r.Body)
		}
		if !full.FirstTry.Equal(r.FirstTry) {
			t.Errorf("entry %d first try %v, want %v", i, full.FirstTry, r.FirstTry)
		}
		if e.Body != nil || e.BodySize != len(r.Body) {
			t.Errorf("List entry %d: body %q size %d, want no body and size %d", i, e.Body, e.BodySize, len(r.Body))
		}
		if full.Header["api-version"] != "2.36" {
			t.Errorf("entry %d header %v lost api-version", i, full.Header)
		}
	}
	st, err := s2.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Pending != 3 || st.Enqueued != 3 || st.OldestAgeSec <= 0 {
		t.Errorf("Stats = %+v, want 3 pending, 3 enqueued, an oldest age", st)
	}
}

func TestDedupe(t *testing.T) {
	s, _ := openTemp(t, Options{})
	r := order("orderV2", "D1", `{"orderId":"D1"}`)
	id1, dup1, err := s.Add(r)
	if err != nil || dup1 {
		t.Fatalf("first Add = %d, %v, %v; want a new entry", id1, dup1, err)
	}
	r.FirstTry = r.FirstTry.Add(time.Second) // a second fallback of the same request
	id2, dup2, err := s.Add(r)
	if err != nil || !dup2 || id2 != id1 {
		t.Fatalf("second Add = %d, %v, %v; want duplicate of %d", id2, dup2, err, id1)
	}
	tests := []struct {
		name string
		req  Request
	}{
		{"other body", order("orderV2", "D1", `{"orderId":"D1","x":1}`)},
		{"other operation", order("orderV3", "D1", `{"orderId":"D1"}`)},
		{"other order id", order("orderV2", "D2", `{"orderId":"D1"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, dup, err := s.Add(tt.req)
			if err != nil || dup || id == id1 {
				t.Errorf("Add = %d, %v, %v; want a new entry", id, dup, err)
			}
		})
	}
	st, _ := s.Stats()
	if st.Pending != 4 || st.Deduplicated != 1 {
		t.Errorf("pending %d deduplicated %d, want 4 and 1", st.Pending, st.Deduplicated)
	}
	// A dropped request is no longer a duplicate: enqueuing it keeps it again.
	if err := s.Drop(id1); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if _, dup, err := s.Add(r); err != nil || dup {
		t.Errorf("Add after Drop: dup %v err %v, want a new entry", dup, err)
	}
}

func TestDueKeepsOrderPerOrderID(t *testing.T) {
	s, path := openTemp(t, Options{})
	add := func(r Request) uint64 {
		t.Helper()
		id, _, err := s.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := add(order("orderV2", "A", `{"orderId":"A"}`))
	aStatus := add(order("statusPost", "A", `{"orderId":"A","s":1}`))
	aStatus2 := add(order("statusPut", "A", `{"orderId":"A","s":2}`))
	b := add(order("orderV3", "B", `{"orderId":"B"}`))

	ids, _ := s.due(time.Now(), 10)
	if want := []uint64{a, b}; !equalIDs(ids, want) {
		t.Fatalf("due = %v, want the heads %v", ids, want)
	}
	var line OrderLine = s
	if !line.HasPending("A") || !line.HasPending("B") || line.HasPending("Z") {
		t.Errorf("HasPending A, B, Z = %v %v %v, want true true false", line.HasPending("A"), line.HasPending("B"), line.HasPending("Z"))
	}
	if _, ok, _ := s.head(aStatus); ok {
		t.Errorf("status update %d is head while its order %d waits", aStatus, a)
	}
	if err := s.markDelivered(a, 200, []byte(`{"status":"success","action":"approve"}`), 1); err != nil {
		t.Fatal(err)
	}
	ids, _ = s.due(time.Now(), 10)
	if want := []uint64{aStatus, b}; !equalIDs(ids, want) {
		t.Fatalf("after delivering the order, due = %v, want %v", ids, want)
	}
	// A failed head holds its line until its next try.
	next := time.Now().Add(time.Hour)
	if err := s.markFailed(aStatus, 503, "", nil, next); err != nil {
		t.Fatal(err)
	}
	if err := s.markDelivered(b, 200, nil, 1); err != nil {
		t.Fatal(err)
	}
	if line.HasPending("B") {
		t.Errorf("HasPending(B) after its only request was delivered")
	}
	ids, earliest := s.due(time.Now(), 10)
	if len(ids) != 0 {
		t.Fatalf("after a failure, due = %v, want none (status %d must wait, %d behind it too)", ids, aStatus, aStatus2)
	}
	if !earliest.Equal(next) {
		t.Errorf("next try = %v, want %v", earliest, next)
	}
	ds, err := s.Decisions(0)
	if err != nil || len(ds) != 2 || ds[1].ID != a || ds[1].Status != 200 || string(ds[1].Response) != `{"status":"success","action":"approve"}` {
		t.Errorf("Decisions = %+v, %v; want the decision for %d", ds, err, a)
	}

	// The lines survive a restart: the index is rebuilt from the file.
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if ids, earliest := s2.due(time.Now(), 10); len(ids) != 0 || !earliest.Equal(next) {
		t.Errorf("after reopen, due = %v next %v, want none until %v", ids, earliest, next)
	}
	if ids, _ := s2.due(next, 10); !equalIDs(ids, []uint64{aStatus}) {
		t.Errorf("after reopen, due at the next try = %v, want %v (not %d)", ids, []uint64{aStatus}, aStatus2)
	}
	if !s2.HasPending("A") || s2.HasPending("B") {
		t.Errorf("after reopen HasPending A, B = %v %v, want true false", s2.HasPending("A"), s2.HasPending("B"))
	}
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeadLetterCascadeAndRetry(t *testing.T) {
	s, _ := openTemp(t, Options{})
	o, _, _ := s.Add(order("orderV2", "C", `{"orderId":"C"}`))
	st, _, _ := s.Add(order("statusPut", "C", `{"orderId":"C"}`))
	other, _, _ := s.Add(order("orderV2", "E", `{"orderId":"E"}`))

	if err := s.markDead(o, 400, "upstream answered 400", []byte(`{"status":"failed","message":"Malformed request"}`), true); err != nil {
		t.Fatal(err)
	}
	dead, err := s.List(StateDead, 0)
	if err != nil || len(dead) != 2 {
		t.Fatalf("dead = %+v, %v; want the order and its status update", dead, err)
	}
	if dead[0].ID != o || dead[0].LastStatus != 400 || dead[0].Attempts != 1 || !strings.Contains(string(dead[0].LastResponse), "Malformed") {
		t.Errorf("dead order = %+v", dead[0])
	}
	if dead[1].ID != st || dead[1].BlockedBy != o || !strings.Contains(dead[1].DeadReason, "was dead-lettered") {
		t.Errorf("dead status update = %+v, want blocked by %d", dead[1], o)
	}
	if ids, _ := s.due(time.Now(), 10); !equalIDs(ids, []uint64{other}) {
		t.Errorf("due = %v, want only %d", ids, other)
	}
	stats, _ := s.Stats()
	if stats.Dead != 2 || stats.DeadLettered != 2 || stats.Pending != 1 {
		t.Errorf("stats = %+v", stats)
	}

	// An operator retries the order: its status update comes back behind it.
	if err := s.Retry(o); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if ids, _ := s.due(time.Now(), 10); !equalIDs(ids, []uint64{o, other}) {
		t.Errorf("after Retry, due = %v, want %v", ids, []uint64{o, other})
	}
	pending, _ := s.List(StatePending, 0)
	if len(pending) != 3 {
		t.Errorf("after Retry, %d pending, want 3", len(pending))
	}
	if err := s.Retry(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Retry(999) = %v, want ErrNotFound", err)
	}
	if err := s.Drop(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Drop(999) = %v, want ErrNotFound", err)
	}
	if err := s.Drop(st); err != nil {
		t.Errorf("Drop(%d) = %v", st, err)
	}
	if _, err := s.Get(st); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Drop = %v, want ErrNotFound", err)
	}
}

func TestCredentialsNeverKept(t *testing.T) {
	s, path := openTemp(t, Options{})
	r := order("orderV2", "K", `{"orderId":"K"}`)
	r.Header["Authorization"] = "Basic c2VjcmV0LWtleTo="
	r.Header["cookie"] = "session=abc"
	id, _, err := s.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := s.Get(id)
	if _, ok := e.Header["Authorization"]; ok {
		t.Errorf("kept Authorization: %v", e.Header)
	}
	s.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"c2VjcmV0LWtleTo", "session=abc"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the file holds %q", secret)
		}
	}
}

func TestInvalidRequest(t *testing.T) {
	s, _ := openTemp(t, Options{})
	for _, r := range []Request{
		{OrderID: "x", Method: "POST", Path: "/v2/orders/x"},
		{Operation: "orderV2", OrderID: "x", Path: "/v2/orders/x"},
		{Operation: "orderV2", OrderID: "x", Method: "POST", Path: "v2/orders/x"},
	} {
		if err := s.Enqueue(r); !errors.Is(err, ErrInvalid) {
			t.Errorf("Enqueue(%+v) = %v, want ErrInvalid", r, err)
		}
	}
}

func TestDecisionsPruned(t *testing.T) {
	s, path := openTemp(t, Options{KeepDecisions: 2})
	for _, id := range []string{"P1", "P2", "P3"} {
		n, _, err := s.Add(order("orderV2", id, `{"orderId":"`+id+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.markDelivered(n, 200, []byte(`{"status":"success"}`), 1); err != nil {
			t.Fatal(err)
		}
	}
	ds, _ := s.Decisions(0)
	if len(ds) != 2 || ds[0].OrderID != "P3" || ds[1].OrderID != "P2" {
		t.Errorf("decisions = %+v, want P3 then P2", ds)
	}
	st, _ := s.Stats()
	if st.Delivered != 3 || st.Decisions != 2 || st.Pending != 0 {
		t.Errorf("stats = %+v, want 3 delivered, 2 kept, none pending", st)
	}
	s.Close()
	s2, err := Open(path, Options{KeepDecisions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st, _ := s2.Stats(); st.Delivered != 3 || st.Decisions != 2 {
		t.Errorf("after reopen stats = %+v", st)
	}
}

// TestOpenRefuses covers files that must not be opened: each gives a clear
// error at start and is left as it was.
func TestOpenRefuses(t *testing.T) {
	foreign := func(t *testing.T, path string) {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("someone-else"))
			return err
		})
		db.Close()
	}
	truncated := func(t *testing.T, path string) {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Enqueue(order("orderV2", "T", `{"orderId":"T"}`))
		s.Close()
		if err := os.Truncate(path, 100); err != nil {
			t.Fatal(err)
		}
	}
	scribbled := func(t *testing.T, path string) {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Enqueue(order("orderV2", "T", `{"orderId":"T"}`))
		s.Close()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Both meta pages (the first two 4 KiB pages) overwritten.
		f.WriteAt(bytes.Repeat([]byte{0xAB}, 8192), 0)
		f.Close()
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  error
		say   string
	}{
		{"text file", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("this is not a database\n"), 400), 0o600)
		}, ErrCorrupt, "corrupt"},
		{"truncated outbox", truncated, ErrCorrupt, "move the file aside"},
		{"meta pages overwritten", scribbled, ErrCorrupt, "corrupt"},
		{"another program's bbolt file", foreign, ErrCorrupt, "another program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			tt.setup(t, path)
			before, _ := os.ReadFile(path)
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want %v", tt.want)
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.say) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open = %v, want %v naming %s and saying %q", err, tt.want, path, tt.say)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) && tt.name != "another program's bbolt file" {
				t.Errorf("Open changed the refused file")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("Open(dir) = %v, want a directory error", err)
		}
	})
}

func TestOpenLocked(t *testing.T) {
	s, path := openTemp(t, Options{})
	start := time.Now()
	s2, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		s2.Close()
		t.Fatal("second Open of the same file succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--admin") {
		t.Errorf("second Open = %v, want ErrLocked naming the file and the way out", err)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("second Open waited %v: the lock timeout did not apply", waited)
	}
	// Once the owner closes, the file opens with everything in it.
	s.Enqueue(order("orderV2", "L", `{"orderId":"L"}`))
	s.Close()
	s3, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after the owner closed: %v", err)
	}
	defer s3.Close()
	if st, _ := s3.Stats(); st.Pending != 1 {
		t.Errorf("pending %d, want 1", st.Pending)
	}
}

func TestExport(t *testing.T) {
	s, _ := openTemp(t, Options{})
	a, _, _ := s.Add(order("orderV2", "X1", "{\n  \"orderId\": \"X1\"\n}"))
	b, _, _ := s.Add(order("statusPut", "X2", "not json \x00"))
	s.markDead(b, 400, "upstream answered 400", nil, true)
	var buf bytes.Buffer
	if err := s.Export(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("export has %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var got []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, m)
	}
	if got[0]["id"] != float64(a) || got[0]["state"] != "pending" {
		t.Errorf("line 1 = %v", got[0])
	}
	if body, ok := got[0]["body"].(map[string]any); !ok || body["orderId"] != "X1" {
		t.Errorf("line 1 body = %#v, want the JSON object", got[0]["body"])
	}
	if got[1]["state"] != "dead" || got[1]["body_base64"] == nil || got[1]["body"] != nil {
		t.Errorf("line 2 = %v, want a dead entry with a base64 body", got[1])
	}
}
