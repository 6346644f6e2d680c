package outbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sentinel errors; the ones returned by Open are wrapped with the path and a
// hint for the operator.
var (
	ErrClosed   = errors.New("outbox: closed")
	ErrLocked   = errors.New("outbox: file is locked by another process")
	ErrCorrupt  = errors.New("outbox: file is corrupt or not an orderguard outbox")
	ErrNotFound = errors.New("outbox: no such request")
	ErrInvalid  = errors.New("outbox: invalid request")
)

// DefaultPath is where the outbox lives when --outbox is not given: under the
// working directory's data/.
const DefaultPath = "data/outbox.db"

// formatMarker is written once into a new file so that a bbolt file of some
// other program is refused instead of being filled with our buckets.
const formatMarker = "orderguard-outbox/1"

var (
	bucketPending   = []byte("pending")   // id → Entry (JSON); the queue
	bucketDead      = []byte("dead")      // id → Entry (JSON); never retried automatically
	bucketDelivered = []byte("delivered") // id → Decision (JSON); the newest KeepDecisions
	bucketDedupe    = []byte("dedupe")    // sha256(operation, order id, body) → id (pending or dead)
	bucketOrders    = []byte("orders")    // orderKey(order id, id) → nil: pending ids per order, in order
	bucketMeta      = []byte("meta")      // format marker and lifetime counters
	bucketProbe     = []byte("probe")     // the readiness probe's key (see Probe)

	allBuckets = [][]byte{bucketPending, bucketDead, bucketDelivered, bucketDedupe, bucketOrders, bucketMeta, bucketProbe}
)

// Counter names in the meta bucket (lifetime of the file, not of the process).
const (
	counterEnqueued     = "enqueued_total"
	counterDeduplicated = "deduplicated_total"
	counterDelivered    = "delivered_total"
	counterDeadLettered = "dead_lettered_total"
)

// Options tune Open. The zero value is the production default.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// file before failing with ErrLocked. Default 1s: a proxy restarting while
	// the old one still exits gets a moment, a second proxy on the same file
	// gets a clear error instead of hanging.
	LockTimeout time.Duration
	// MaxBatchDelay bounds how long concurrent enqueues wait to share one
	// fsync. Default 2ms (bbolt's own default, 10ms, is a fifth of a budget).
	MaxBatchDelay time.Duration
	// KeepDecisions is how many delivered decisions are kept for the admin
	// view; the oldest are pruned. Default 10,000.
	KeepDecisions int
	// SkipCheck skips the page-level consistency check at open (it reads
	// every page once; cheap for a queue, but a huge file may want to skip it).
	SkipCheck bool
	// ProbeEvery, when set, runs Probe in the background at this interval
	// (serve: every few seconds), and Ready reads its outcome without I/O.
	// Zero: no background probe; Ready probes when asked (the CLI's
	// short-lived stores never write unless they are asked to).
	ProbeEvery time.Duration
	// Headroom is how many bytes of disk blocks past the data the probe keeps
	// reserved (HeadroomFor(--max-body)); default DefaultHeadroom.
	Headroom int64
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.MaxBatchDelay <= 0 {
		o.MaxBatchDelay = 2 * time.Millisecond
	}
	if o.KeepDecisions <= 0 {
		o.KeepDecisions = 10000
	}
	if o.Headroom <= 0 {
		o.Headroom = DefaultHeadroom
	}
	return o
}

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

// slot is the in-memory view of a pending entry: enough to choose what is due
// without reading bodies. The file stays the source of truth: the resender
// re-reads the entry and re-checks its place in its order's line before sending.
type slot struct {
	id       uint64
	order    string
	op       string
	firstTry time.Time
	nextTry  time.Time
}

// Store is an open outbox file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opts Options

	closed   atomic.Bool
	inflight atomic.Int32  // enqueues under way
	wake     chan struct{} // Enqueue and Retry nudge the resender

	mu        sync.Mutex
	pending   map[uint64]*slot
	byOrder   map[string][]uint64 // pending ids per order id, ascending
	dead      int
	decisions int

	resender atomic.Pointer[Resender]
	health   writable // the last write's outcome, for Ready
}

// Open opens (creating if needed) the outbox file at path. A file held by
// another process fails with ErrLocked after Options.LockTimeout; a file that
// is not a valid outbox fails with ErrCorrupt. Neither is touched.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if path == "" {
		path = DefaultPath
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("outbox: create directory for %q: %w", path, err)
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("outbox: %q is a directory, want a file path such as %s", path, filepath.Join(path, "outbox.db"))
	}
	_, statErr := os.Stat(path)
	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// bbolt fsyncs the file, not the directory entry that names it: a
		// crash right after creating a new outbox could otherwise lose the
		// whole file, acknowledged requests included.
		if err := syncDir(filepath.Dir(path)); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("outbox: sync directory of %q: %w", path, err)
		}
	}
	s := &Store{
		db: db, path: path, opts: opts,
		wake:    make(chan struct{}, 1),
		pending: make(map[uint64]*slot),
		byOrder: make(map[string][]uint64),
	}
	if err := s.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.startProbes()
	return s, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openBolt turns bbolt's errors (and the panics it raises on some damaged
// pages) into the two errors an operator can act on.
func openBolt(path string, opts Options) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, corrupt(path, fmt.Errorf("%v", p))
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	switch {
	case err == nil:
		db.MaxBatchDelay = opts.MaxBatchDelay
		return db, nil
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (is another orderguard serve running on it? give each proxy its own --outbox file, or inspect this one through the running proxy with --admin URL)", ErrLocked, path)
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrChecksum), errors.Is(err, bolt.ErrVersionMismatch), errors.Is(err, bolt.ErrInvalidMapping):
		return nil, corrupt(path, err)
	default:
		return nil, fmt.Errorf("outbox: open %q: %w", path, err)
	}
}

func corrupt(path string, cause error) error {
	return fmt.Errorf("%w: %s: %v (move the file aside and keep it for recovery; the proxy then starts with an empty outbox)", ErrCorrupt, path, cause)
}

// load checks the file, creates the buckets of a new one and builds the
// in-memory index of pending entries.
func (s *Store) load() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corrupt(s.path, fmt.Errorf("%v", p))
		}
	}()
	err = s.db.Update(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if got := string(meta.Get([]byte("format"))); got != formatMarker {
				return corrupt(s.path, fmt.Errorf("format %q, want %q", got, formatMarker))
			}
		} else {
			foreign := false
			_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				foreign = true
				return nil
			})
			if foreign {
				return corrupt(s.path, errors.New("a bbolt database of another program"))
			}
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("outbox: create bucket %s: %w", name, err)
			}
		}
		return tx.Bucket(bucketMeta).Put([]byte("format"), []byte(formatMarker))
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		return fmt.Errorf("outbox: initialise %q: %w", s.path, err)
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if !s.opts.SkipCheck {
			// Read the channel to its end so the checker goroutine finishes.
			var first error
			for cerr := range tx.Check() {
				if first == nil {
					first = cerr
				}
			}
			if first != nil {
				return corrupt(s.path, first)
			}
		}
		err := tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil || len(k) != 8 {
				return corrupt(s.path, fmt.Errorf("pending entry %x: undecodable", k))
			}
			s.indexLocked(&e)
			return nil
		})
		if err != nil {
			return err
		}
		s.dead = tx.Bucket(bucketDead).Stats().KeyN
		s.decisions = tx.Bucket(bucketDelivered).Stats().KeyN
		return nil
	})
}

// Path is the file the store is open on.
func (s *Store) Path() string { return s.path }

// Close closes the file. Stop the resender first; calls after Close return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopProbes()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("outbox: close %q: %w", s.path, err)
	}
	return nil
}

func (s *Store) closedErr(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) || s.closed.Load() {
		return ErrClosed
	}
	return err
}

// Enqueue keeps r durably: it returns nil only once the write is committed and
// fsynced. The same request (operation, order id and body) enqueued again is
// kept once. It implements Enqueuer.
func (s *Store) Enqueue(r Request) error {
	_, _, err := s.Add(r)
	return err
}

// Add is Enqueue that also says which id the request has and whether it was
// already there.
func (s *Store) Add(r Request) (id uint64, duplicate bool, err error) {
	if s.closed.Load() {
		return 0, false, ErrClosed
	}
	if r.Operation == "" || r.Method == "" || !strings.HasPrefix(r.Path, "/") {
		return 0, false, fmt.Errorf("%w: operation %q, method %q, path %q: want all three, path starting with /", ErrInvalid, r.Operation, r.Method, r.Path)
	}
	now := time.Now().UTC()
	if r.FirstTry.IsZero() {
		r.FirstTry = now
	}
	key := dedupeKey(r.Operation, r.OrderID, r.Body)
	sum := sha256.Sum256(r.Body)
	var e Entry
	// Alone, commit at once; with others in flight, share their fsync
	// (Batch waits up to MaxBatchDelay to gather them).
	commit := s.db.Update
	if s.inflight.Add(1) > 1 {
		commit = s.db.Batch
	}
	defer s.inflight.Add(-1)
	err = commit(func(tx *bolt.Tx) error {
		// Batch may run this function more than once; it only writes in tx.
		duplicate = false
		if v := tx.Bucket(bucketDedupe).Get(key); v != nil {
			id, duplicate = btoi(v), true
			return incr(tx, counterDeduplicated)
		}
		pending := tx.Bucket(bucketPending)
		n, err := pending.NextSequence()
		if err != nil {
			return err
		}
		e = Entry{
			ID: n, State: StatePending,
			Operation: r.Operation, OrderID: r.OrderID, Method: r.Method, Path: r.Path,
			Header: keptHeaders(r.Header), Body: r.Body, BodySize: len(r.Body),
			BodySHA256: hex.EncodeToString(sum[:]),
			FirstTry:   r.FirstTry.UTC(), AgeFrom: r.FirstTry.UTC(), Enqueued: now, NextTry: now,
			Traceparent: validTraceparent(r.Traceparent),
		}
		if err := putEntry(pending, &e); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDedupe).Put(key, itob(n)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOrders).Put(orderKey(e.OrderID, n), nil); err != nil {
			return err
		}
		id = n
		return incr(tx, counterEnqueued)
	})
	s.noteEnqueue(err, len(r.Body))
	if err != nil {
		return 0, false, fmt.Errorf("outbox: enqueue %s order %q: %w", r.Operation, r.OrderID, s.closedErr(err))
	}
	if !duplicate {
		s.mu.Lock()
		s.indexLocked(&e)
		s.mu.Unlock()
		s.nudge()
	}
	return id, duplicate, nil
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

// keptHeaders copies the headers worth resending. Credentials are never kept:
// the sender injects the configured ones at delivery time.
func keptHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		switch strings.ToLower(k) {
		case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key":
			continue
		}
		out[k] = v
	}
	return out
}

func (s *Store) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// HasPending reports whether requests for orderID wait in the queue. It reads
// memory only (no transaction): cheap enough for the proxy's hot path.
func (s *Store) HasPending(orderID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byOrder[orderID]) > 0
}

// Get returns the entry with the given id, from the pending or dead bucket.
func (s *Store) Get(id uint64) (Entry, error) {
	var e Entry
	err := s.view(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPending, bucketDead} {
			if ok, err := getEntry(tx.Bucket(b), id, &e); ok || err != nil {
				return err
			}
		}
		return fmt.Errorf("%w: %d", ErrNotFound, id)
	})
	return e, err
}

// List returns up to limit entries in a state, without their bodies: pending
// and dead oldest first, delivered newest first (as Entries with State
// delivered and LastStatus/LastResponse from the decision). limit <= 0 means all.
func (s *Store) List(state State, limit int) ([]Entry, error) {
	var out []Entry
	err := s.view(func(tx *bolt.Tx) error {
		switch state {
		case StatePending, StateDead:
			name := bucketPending
			if state == StateDead {
				name = bucketDead
			}
			c := tx.Bucket(name).Cursor()
			for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
				var e Entry
				if err := json.Unmarshal(v, &e); err != nil {
					return fmt.Errorf("outbox: decode %s entry %x: %w", name, k, err)
				}
				e.Body = nil
				out = append(out, e)
			}
			return nil
		case StateDelivered:
			ds, err := decisions(tx, limit)
			for _, d := range ds {
				out = append(out, Entry{
					ID: d.ID, State: StateDelivered, Operation: d.Operation, OrderID: d.OrderID, Path: d.Path,
					FirstTry: d.FirstTry, Attempts: d.Attempts, LastStatus: d.Status, LastResponse: d.Response,
				})
			}
			return err
		default:
			return fmt.Errorf("outbox: unknown state %q (want pending, dead or delivered)", state)
		}
	})
	return out, err
}

// Decisions returns up to limit delivered decisions, newest first.
func (s *Store) Decisions(limit int) ([]Decision, error) {
	var out []Decision
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = decisions(tx, limit)
		return err
	})
	return out, err
}

func decisions(tx *bolt.Tx, limit int) ([]Decision, error) {
	var out []Decision
	c := tx.Bucket(bucketDelivered).Cursor()
	for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
		var d Decision
		if err := json.Unmarshal(v, &d); err != nil {
			return out, fmt.Errorf("outbox: decode decision %x: %w", k, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Stats returns the current numbers.
func (s *Store) Stats() (Stats, error) {
	st := Stats{Path: s.path}
	s.mu.Lock()
	st.Pending, st.Dead, st.Decisions = len(s.pending), s.dead, s.decisions
	for _, sl := range s.pending {
		if st.Oldest.IsZero() || sl.firstTry.Before(st.Oldest) {
			st.Oldest = sl.firstTry
		}
	}
	s.mu.Unlock()
	if !st.Oldest.IsZero() {
		st.OldestAgeSec = time.Since(st.Oldest).Seconds()
	}
	if r := s.resender.Load(); r != nil {
		st.Resender = r.running.Load()
		st.Paused = r.paused.Load()
		st.Attempts = r.attempts.Load()
		st.Failures = r.failures.Load()
		if ns := r.lastAttempt.Load(); ns != 0 {
			st.LastAttemptAt = time.Unix(0, ns).UTC()
		}
	}
	err := s.view(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		st.Enqueued = counter(m, counterEnqueued)
		st.Deduplicated = counter(m, counterDeduplicated)
		st.Delivered = counter(m, counterDelivered)
		st.DeadLettered = counter(m, counterDeadLettered)
		return nil
	})
	return st, err
}

// Retry makes an entry due now. A dead entry goes back to the queue with its
// max-age clock restarted; if it is an order, the later requests for the same
// order that were dead-lettered with it come back too.
func (s *Store) Retry(id uint64) error {
	now := time.Now().UTC()
	var revived []Entry
	var wasPending bool
	err := s.update(func(tx *bolt.Tx) error {
		revived, wasPending = nil, false
		pending, dead := tx.Bucket(bucketPending), tx.Bucket(bucketDead)
		var e Entry
		if ok, err := getEntry(pending, id, &e); err != nil {
			return err
		} else if ok {
			wasPending = true
			e.NextTry = now
			return putEntry(pending, &e)
		}
		if ok, err := getEntry(dead, id, &e); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: %d", ErrNotFound, id)
		}
		batch := []Entry{e}
		if isOrderOp(e.Operation) {
			err := dead.ForEach(func(k, v []byte) error {
				var d Entry
				if err := json.Unmarshal(v, &d); err != nil {
					return fmt.Errorf("outbox: decode dead entry %x: %w", k, err)
				}
				if d.BlockedBy == id {
					batch = append(batch, d)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, d := range batch {
			d.State, d.DeadReason, d.DeadAt, d.BlockedBy = StatePending, "", time.Time{}, 0
			d.NextTry, d.AgeFrom = now, now
			if err := dead.Delete(itob(d.ID)); err != nil {
				return err
			}
			if err := putEntry(pending, &d); err != nil {
				return err
			}
			if err := tx.Bucket(bucketOrders).Put(orderKey(d.OrderID, d.ID), nil); err != nil {
				return err
			}
			revived = append(revived, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if wasPending {
		if sl := s.pending[id]; sl != nil {
			sl.nextTry = now
		}
	}
	for i := range revived {
		s.indexLocked(&revived[i])
		s.dead--
	}
	s.mu.Unlock()
	s.nudge()
	return nil
}

// RetryAllDead puts every dead entry back in the queue; it returns how many.
func (s *Store) RetryAllDead() (int, error) {
	dead, err := s.List(StateDead, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range dead {
		if err := s.Retry(e.ID); err != nil {
			if errors.Is(err, ErrNotFound) { // revived with its order
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// Drop deletes a pending or dead entry for good.
func (s *Store) Drop(id uint64) error {
	var state State
	err := s.update(func(tx *bolt.Tx) error {
		for _, b := range []struct {
			name  []byte
			state State
		}{{bucketPending, StatePending}, {bucketDead, StateDead}} {
			var e Entry
			ok, err := getEntry(tx.Bucket(b.name), id, &e)
			if err != nil {
				return err
			}
			if ok {
				state = b.state
				return removeEntry(tx, b.name, &e)
			}
		}
		return fmt.Errorf("%w: %d", ErrNotFound, id)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if state == StatePending {
		s.unindexLocked(id)
	} else {
		s.dead--
	}
	s.mu.Unlock()
	return nil
}

// removeEntry deletes an entry and its dedupe and order keys.
func removeEntry(tx *bolt.Tx, bucket []byte, e *Entry) error {
	if err := tx.Bucket(bucket).Delete(itob(e.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketDedupe).Delete(dedupeKey(e.Operation, e.OrderID, e.Body)); err != nil {
		return err
	}
	return tx.Bucket(bucketOrders).Delete(orderKey(e.OrderID, e.ID))
}

// --- outcomes, recorded by the resender -------------------------------------

// head returns the pending entry id if it is the first pending request of its
// order id; ok is false if it is gone or must wait behind an earlier one.
func (s *Store) head(id uint64) (e Entry, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		found, err := getEntry(tx.Bucket(bucketPending), id, &e)
		if err != nil || !found {
			return err
		}
		prefix := orderPrefix(e.OrderID)
		k, _ := tx.Bucket(bucketOrders).Cursor().Seek(prefix)
		ok = k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 && btoi(k[len(prefix):]) == id
		return nil
	})
	return e, ok, err
}

// markDelivered removes a delivered entry and records the decision.
func (s *Store) markDelivered(id uint64, status int, body []byte, attempts int) error {
	now := time.Now().UTC()
	pruned := 0
	kept := false
	err := s.update(func(tx *bolt.Tx) error {
		pruned, kept = 0, false
		var e Entry
		found, err := getEntry(tx.Bucket(bucketPending), id, &e)
		if err != nil {
			return err
		}
		if found {
			if err := removeEntry(tx, bucketPending, &e); err != nil {
				return err
			}
		}
		// If an operator dropped it while in flight, the decision is kept anyway.
		d := Decision{
			ID: id, Operation: e.Operation, OrderID: e.OrderID, Path: e.Path, Status: status,
			Response: responseJSON(body), Attempts: attempts, FirstTry: e.FirstTry, DeliveredAt: now,
		}
		data, err := json.Marshal(&d)
		if err != nil {
			return err
		}
		delivered := tx.Bucket(bucketDelivered)
		if err := delivered.Put(itob(id), data); err != nil {
			return err
		}
		kept = true
		s.mu.Lock()
		excess := s.decisions + 1 - s.opts.KeepDecisions
		s.mu.Unlock()
		c := delivered.Cursor()
		for k, _ := c.First(); k != nil && pruned < excess; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			pruned++
		}
		return incr(tx, counterDelivered)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.unindexLocked(id)
	if kept {
		s.decisions += 1 - pruned
	}
	s.mu.Unlock()
	return nil
}

// markFailed records a failed attempt that will be retried at next.
func (s *Store) markFailed(id uint64, status int, errText string, body []byte, next time.Time) error {
	err := s.update(func(tx *bolt.Tx) error {
		pending := tx.Bucket(bucketPending)
		var e Entry
		if found, err := getEntry(pending, id, &e); err != nil || !found {
			return err
		}
		e.Attempts++
		e.LastStatus, e.LastError, e.LastResponse, e.NextTry = status, errText, responseJSON(body), next.UTC()
		return putEntry(pending, &e)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if sl := s.pending[id]; sl != nil {
		sl.nextTry = next
	}
	s.mu.Unlock()
	return nil
}

// markDead moves a pending entry to the dead-letter bucket. If it is an order
// (v2 or v3), the later pending requests for the same order id go with it:
// a status update for an order Forter never accepted must not be sent alone.
func (s *Store) markDead(id uint64, status int, reason string, body []byte, attempted bool) error {
	now := time.Now().UTC()
	var moved []uint64
	err := s.update(func(tx *bolt.Tx) error {
		moved = nil
		pending, dead := tx.Bucket(bucketPending), tx.Bucket(bucketDead)
		var e Entry
		if found, err := getEntry(pending, id, &e); err != nil || !found {
			return err
		}
		if attempted {
			e.Attempts++
			e.LastStatus, e.LastResponse = status, responseJSON(body)
		}
		kill := []Entry{e}
		if isOrderOp(e.Operation) {
			prefix := orderPrefix(e.OrderID)
			c := tx.Bucket(bucketOrders).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if len(k) != len(prefix)+8 {
					continue
				}
				later := btoi(k[len(prefix):])
				if later <= id {
					continue
				}
				var d Entry
				if found, err := getEntry(pending, later, &d); err != nil {
					return err
				} else if found {
					d.BlockedBy = id
					kill = append(kill, d)
				}
			}
		}
		for i, d := range kill {
			d.State, d.DeadAt, d.NextTry = StateDead, now, time.Time{}
			d.DeadReason = reason
			if i > 0 {
				d.DeadReason = fmt.Sprintf("its order request #%d was dead-lettered (%s)", id, reason)
			}
			if err := pending.Delete(itob(d.ID)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketOrders).Delete(orderKey(d.OrderID, d.ID)); err != nil {
				return err
			}
			if err := putEntry(dead, &d); err != nil {
				return err
			}
			if err := incr(tx, counterDeadLettered); err != nil {
				return err
			}
			moved = append(moved, d.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, m := range moved {
		s.unindexLocked(m)
		s.dead++
	}
	s.mu.Unlock()
	return nil
}

// due returns up to max ids that may be sent now: the first pending request of
// each order id whose next try has come, oldest first. next is the earliest
// future try among the others (zero if none).
func (s *Store) due(now time.Time, max int) (ids []uint64, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range s.byOrder {
		sl := s.pending[line[0]]
		if !sl.nextTry.After(now) {
			ids = append(ids, sl.id)
		} else if next.IsZero() || sl.nextTry.Before(next) {
			next = sl.nextTry
		}
	}
	slices.Sort(ids)
	if len(ids) > max {
		ids = ids[:max]
	}
	return ids, next
}

// --- index and encoding -------------------------------------------------------

func (s *Store) indexLocked(e *Entry) {
	if _, ok := s.pending[e.ID]; ok {
		return
	}
	s.pending[e.ID] = &slot{id: e.ID, order: e.OrderID, op: e.Operation, firstTry: e.FirstTry, nextTry: e.NextTry}
	line := s.byOrder[e.OrderID]
	i := sort.Search(len(line), func(i int) bool { return line[i] >= e.ID })
	s.byOrder[e.OrderID] = slices.Insert(line, i, e.ID)
}

func (s *Store) unindexLocked(id uint64) {
	sl, ok := s.pending[id]
	if !ok {
		return
	}
	delete(s.pending, id)
	line := s.byOrder[sl.order]
	if i := slices.Index(line, id); i >= 0 {
		line = slices.Delete(line, i, i+1)
	}
	if len(line) == 0 {
		delete(s.byOrder, sl.order)
	} else {
		s.byOrder[sl.order] = line
	}
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.closedErr(s.db.View(fn))
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.closedErr(s.db.Update(fn))
}

func getEntry(b *bolt.Bucket, id uint64, e *Entry) (bool, error) {
	v := b.Get(itob(id))
	if v == nil {
		return false, nil
	}
	if err := json.Unmarshal(v, e); err != nil {
		return false, fmt.Errorf("outbox: decode entry %d: %w", id, err)
	}
	return true, nil
}

func putEntry(b *bolt.Bucket, e *Entry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("outbox: encode entry %d: %w", e.ID, err)
	}
	return b.Put(itob(e.ID), data)
}

func isOrderOp(op string) bool { return op == "orderV2" || op == "orderV3" }

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

// orderKey sorts an order's pending ids together, in id order; the length
// prefix keeps "12" and "123" apart whatever bytes an order id holds.
func orderKey(orderID string, id uint64) []byte {
	return append(orderPrefix(orderID), itob(id)...)
}

func orderPrefix(orderID string) []byte {
	p := binary.AppendUvarint(nil, uint64(len(orderID)))
	return append(p, orderID...)
}

func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func btoi(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func incr(tx *bolt.Tx, name string) error {
	m := tx.Bucket(bucketMeta)
	return m.Put([]byte(name), itob(counter(m, name)+1))
}

func counter(m *bolt.Bucket, name string) uint64 { return btoi(m.Get([]byte(name))) }

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
