package outbox

import (
	"encoding/json"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The traceparent of the span that queued a request survives a reopen and
// comes back with the request to resend; anything not shaped like a W3C
// traceparent is dropped; entries written before the field existed decode
// with none, and the new field is one an older binary's decoder ignores.
func TestTraceparentKept(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	s, path := openTemp(t, Options{})
	for _, tc := range []struct{ id, in, want string }{
		{"t1", tp, tp},
		{"t2", "", ""},
		{"t3", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", ""},
		{"t4", tp + "-and-more", ""},
		{"t5", "00-4111111111111111-card-number-in-disguise-----------", ""},
	} {
		r := order("orderV2", tc.id, `{"orderId":"`+tc.id+`"}`)
		r.Traceparent = tc.in
		id, _, err := s.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Request().Traceparent; got != tc.want {
			t.Errorf("%s: traceparent %q kept as %q, want %q", tc.id, tc.in, got, tc.want)
		}
	}
	s.Close()

	// An entry as an earlier version wrote it: no traceparent field.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := Entry{ID: 99, State: StatePending, Operation: "orderV2", OrderID: "old", Method: "POST", Path: "/v2/orders/old", Body: []byte(`{}`)}
	data, _ := json.Marshal(old)
	var fields map[string]any
	json.Unmarshal(data, &fields)
	if _, ok := fields["traceparent"]; ok {
		t.Fatal("an entry without a traceparent writes the field: older files and binaries would differ")
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketPending).Put(itob(99), data) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	e, err := s2.Get(99)
	if err != nil || e.Traceparent != "" || e.OrderID != "old" {
		t.Errorf("old entry: %+v %v", e, err)
	}
	e, err = s2.Get(1)
	if err != nil || e.Request().Traceparent != tp {
		t.Errorf("after reopen: %+v %v", e, err)
	}
	// An older binary's Entry (no Traceparent field) decodes a new entry.
	type olderEntry struct {
		ID      uint64 `json:"id"`
		OrderID string `json:"order_id"`
	}
	var o olderEntry
	newData, _ := json.Marshal(e)
	if err := json.Unmarshal(newData, &o); err != nil || o.OrderID != "t1" {
		t.Errorf("older decoder on a new entry: %+v %v", o, err)
	}
}
