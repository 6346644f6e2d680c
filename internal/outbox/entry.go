package outbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/orderguard/orderguard/gen"
)

// State is where an entry is.
type State string

const (
	StatePending   State = "pending"
	StateDead      State = "dead"
	StateDelivered State = "delivered"
)

// Entry is one kept request with its delivery history. List returns it
// without Body (BodySize and BodySHA256 say what it was); Export includes it.
type Entry struct {
	ID         uint64            `json:"id"`
	State      State             `json:"state"`
	Operation  string            `json:"operation"`
	OrderID    string            `json:"order_id"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	Header     map[string]string `json:"header,omitempty"`
	Body       []byte            `json:"body,omitempty"`
	BodySize   int               `json:"body_size"`
	BodySHA256 string            `json:"body_sha256"`
	FirstTry   time.Time         `json:"first_try"`
	Enqueued   time.Time         `json:"enqueued"`
	// AgeFrom is when the max-age clock started: FirstTry, or the time an
	// operator last retried the entry by hand.
	AgeFrom      time.Time       `json:"age_from"`
	Attempts     int             `json:"attempts"`
	NextTry      time.Time       `json:"next_try,omitzero"`
	LastStatus   int             `json:"last_status,omitempty"`
	LastError    string          `json:"last_error,omitempty"`
	LastResponse json.RawMessage `json:"last_response,omitempty"`
	DeadReason   string          `json:"dead_reason,omitempty"`
	DeadAt       time.Time       `json:"dead_at,omitzero"`
	// BlockedBy is the id of the order request whose dead-lettering took this
	// one (a later request for the same order id) with it.
	BlockedBy uint64 `json:"blocked_by,omitempty"`
	// Traceparent is Request.Traceparent. Files written before it existed
	// decode with none; older binaries ignore it.
	Traceparent string `json:"traceparent,omitempty"`
}

// Request returns the request to resend.
func (e *Entry) Request() Request {
	h := make(map[string]string, len(e.Header))
	for k, v := range e.Header {
		h[k] = v
	}
	return Request{
		Operation: e.Operation, OrderID: e.OrderID, Method: e.Method, Path: e.Path,
		Header: h, Body: e.Body, FirstTry: e.FirstTry, ID: e.ID, Attempt: e.Attempts + 1,
		Traceparent: e.Traceparent,
	}
}

// Decision is what Forter answered to a delivered request.
type Decision struct {
	ID          uint64          `json:"id"`
	Operation   string          `json:"operation"`
	OrderID     string          `json:"order_id"`
	Path        string          `json:"path"`
	Status      int             `json:"status"`
	Response    json.RawMessage `json:"response,omitempty"`
	Attempts    int             `json:"attempts"`
	FirstTry    time.Time       `json:"first_try"`
	DeliveredAt time.Time       `json:"delivered_at"`
}

// Stats are the outbox's numbers, for metrics and the admin view.
type Stats struct {
	Path          string    `json:"path"`
	Pending       int       `json:"pending"` // the depth
	Dead          int       `json:"dead"`
	Decisions     int       `json:"decisions_kept"`
	Oldest        time.Time `json:"oldest_first_try,omitzero"`
	OldestAgeSec  float64   `json:"oldest_age_seconds"`
	Enqueued      uint64    `json:"enqueued_total"`
	Deduplicated  uint64    `json:"deduplicated_total"`
	Delivered     uint64    `json:"delivered_total"`
	DeadLettered  uint64    `json:"dead_lettered_total"`
	Resender      bool      `json:"resender_running"`
	Paused        bool      `json:"resender_paused"`
	Attempts      uint64    `json:"attempts"` // this process
	Failures      uint64    `json:"failures"` // this process: 429, 5xx, transport
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
}

// isOrderOp reports whether the operation id names an order (v2 or v3) in
// the operation table (validate.Operation.IsOrder); an id the table does not
// hold is no order.
func isOrderOp(id string) bool {
	op, ok := gen.OperationByID(id)
	return ok && op.IsOrder()
}

// dedupeKey identifies a request: the same operation, order id and body bytes
// are the same request, however many times the proxy fell back on it.
func dedupeKey(op, orderID string, body []byte) []byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, part := range [][]byte{[]byte(op), []byte(orderID)} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(part)))])
		h.Write(part)
	}
	h.Write(body)
	return h.Sum(nil)
}

// maxResponse bounds what is kept of an upstream answer: enough for Forter's
// decision or error message, not a place to store whatever a broken upstream sends.
const maxResponse = 4096

// responseJSON keeps an upstream answer for the admin view: as JSON when it is
// JSON, otherwise as a JSON string of its (truncated) text.
func responseJSON(body []byte) json.RawMessage {
	if len(body) == 0 {
		return nil
	}
	if len(body) <= maxResponse && json.Valid(body) {
		var buf bytes.Buffer
		if json.Compact(&buf, body) == nil {
			return buf.Bytes()
		}
	}
	text := body
	if len(text) > maxResponse {
		text = text[:maxResponse]
	}
	data, _ := json.Marshal(strings.ToValidUTF8(string(text), "\uFFFD"))
	return data
}

// The helpers below are the record's rules for backends outside this package
// (internal/outbox/natsjs): one definition of each.

// DedupeID is the request's identity as text: the same operation, order id
// and body are the same request (JetStream's Nats-Msg-Id).
func DedupeID(op, orderID string, body []byte) string {
	return hex.EncodeToString(dedupeKey(op, orderID, body))
}

// IsOrderOp reports whether op creates an order (v2 or v3): its
// dead-lettering takes the order's later requests with it.
func IsOrderOp(op string) bool { return isOrderOp(op) }

// ResponseJSON keeps an upstream answer for the admin view, bounded.
func ResponseJSON(body []byte) json.RawMessage { return responseJSON(body) }

// BodySHA256 is Entry.BodySHA256 of a body.
func BodySHA256(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// NewEntry checks r and makes the pending entry every backend keeps for it
// (ID unset: the backend assigns it). now is the enqueue time; a request
// with no FirstTry was first tried now.
func NewEntry(r Request, now time.Time) (Entry, error) {
	if r.Operation == "" || r.Method == "" || !strings.HasPrefix(r.Path, "/") {
		return Entry{}, fmt.Errorf("%w: operation %q, method %q, path %q: want all three, path starting with /", ErrInvalid, r.Operation, r.Method, r.Path)
	}
	first := r.FirstTry
	if first.IsZero() {
		first = now
	}
	return Entry{
		State:     StatePending,
		Operation: r.Operation, OrderID: r.OrderID, Method: r.Method, Path: r.Path,
		Header: KeptHeaders(r.Header), Body: r.Body, BodySize: len(r.Body),
		BodySHA256: BodySHA256(r.Body),
		FirstTry:   first.UTC(), AgeFrom: first.UTC(), Enqueued: now, NextTry: now,
		Traceparent: validTraceparent(r.Traceparent),
	}, nil
}

// validTraceparent keeps a W3C traceparent (version 00: 55 bytes, lower-case
// hex and dashes) and drops anything else: the field is written into the file
// and later parsed, so it is bounded and shaped here.
func validTraceparent(s string) string {
	if len(s) != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return s
}
