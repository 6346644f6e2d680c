package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	retried  chan struct{} // Retry ends the resender's hold after a failure

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
		retried: make(chan struct{}, 1),
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
	now := time.Now().UTC()
	fresh, err := NewEntry(r, now)
	if err != nil {
		return 0, false, err
	}
	key := dedupeKey(r.Operation, r.OrderID, r.Body)
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
		e = fresh
		e.ID = n
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
