// Package natsjs is the outbox for a fleet: the outbox.Backend contract on a
// NATS JetStream stream that every proxy of the fleet shares, so that a
// request kept by a pod that then goes away is delivered by the others.
//
// Layout (names from Options.Stream, default ORDERGUARD_OUTBOX):
//
//	ORDERGUARD_OUTBOX            work-queue stream, subjects ORDERGUARD_OUTBOX.q.<order-hash>:
//	                             the pending requests; the stream sequence is the entry id
//	ORDERGUARD_OUTBOX_DEAD       subjects ORDERGUARD_OUTBOX.dead.<id>: dead letters with
//	                             Forter's status and answer
//	ORDERGUARD_OUTBOX_DELIVERED  subjects ORDERGUARD_OUTBOX.delivered.<id>: the newest decisions
//	                             (MaxMsgs = KeepDecisions, oldest discarded)
//	ORDERGUARD_OUTBOX_ATTEMPTS   key-value bucket, key <id>: a pending entry's attempts, last
//	                             status and error, and when its next try is due (attempts.go)
//	ORDERGUARD_OUTBOX_LEASE      key-value bucket, key "resender": which pod sends (lease.go)
//
// Enqueue returns nil only once JetStream acknowledged the publish, that is
// once the stream's replicas hold it. The Nats-Msg-Id is outbox.DedupeID
// (operation, order id, body hash), so the same request enqueued twice, by one
// pod or two, is kept once within the stream's duplicate window.
//
// Within the budget: the Store is an outbox.DeadlineEnqueuer. The proxy ends
// its upstream call --outbox-enqueue-reserve (default 250ms) before the
// request's budget and calls EnqueueBy with the budget's end: the publish
// waits for its ack until then and no longer, and a publish that fails or is
// not acknowledged in time gets the client the --fallback closed answer, all
// within the budget. Enqueue and Add (the CLI, tests) wait at most
// Options.EnqueueTimeout.
//
// Order per order id: every request of an order id goes to the same subject
// (a hash of the order id, so that any bytes an order id holds make a valid
// subject). A resender sends a message only when it is the first message left
// on its subject in the stream (an order's later status update waits, with a
// short NakWithDelay, until the order is acknowledged and so removed from the
// work queue); HasPending asks the stream for a message on the subject, so a
// live status update is queued behind an order that any pod of the fleet kept.
//
// Redelivery: one durable pull consumer (ORDERGUARD_OUTBOX_RESENDER) shared
// by the fleet, explicit acks. A message is acknowledged only after Forter's
// 2xx (or after it was moved to the dead-letter stream on a 4xx other than
// 429). A failure sets the entry's next try outbox.Backoff (1 s doubling to
// 1 min, jitter) ahead in its attempts record and NakWithDelay's the message
// for at most Options.Tick (5s); a message that comes back before its time is
// nak'd again for the rest, capped the same way. So Retry of a pending entry
// (orderguard outbox retry ID, POST /outbox/retry/ID) makes it due now and it
// is sent within a Tick, still behind its order's earlier requests; List and
// Get show its attempts, last status and last error. A resender that dies
// holding messages has them redelivered to another after AckWait
// (--outbox-ack-wait, default 30s; the consumer is the fleet's, so the last
// pod to start sets it: give every pod the same value).
//
// Rate: --outbox-rate is the fleet's, because only the resender holding a
// lease (a key in the ORDERGUARD_OUTBOX_LEASE key-value bucket, see lease.go)
// sends.
//
// Limits, said plainly: JetStream acknowledges a publish once a quorum of the
// replicas has written it, and by default fsyncs its files every two minutes,
// not per message: the promise rests on R3 replication (a quorum must lose
// power at once to lose a request), not on a per-request fsync as with bbolt;
// run the servers with sync_interval: always if that is not enough. A publish
// made while the connection is re-connecting waits in the client's reconnect
// buffer: if its ack does not come before the deadline the client gets the
// closed answer, yet the message may still be stored once the connection is
// back and then be delivered (the same request sent again by the client is
// de-duplicated). The de-duplication window is Options.Duplicates (24h); bbolt
// de-duplicates for as long as the entry is kept. Each failed entry comes back
// to the lease holder once per Tick while it waits (a key-value read and a
// nak each). A dead letter retried comes back under a new id.
package natsjs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderguard/orderguard/internal/outbox"
)

// DefaultStream is the stream's name when Options.Stream is empty.
const DefaultStream = "ORDERGUARD_OUTBOX"

// Options tune Open. The zero value is usable against a single test server
// except for Replicas, which defaults to 3.
type Options struct {
	Stream   string        // default DefaultStream
	Replicas int           // default 3
	Timeout  time.Duration // one JetStream call of the admin view or the resender; default 2s
	// EnqueueTimeout bounds the publish and its ack in Enqueue and Add. The
	// proxy calls EnqueueBy instead, bounded by the request's deadline.
	// Default 500ms (an R3 ack takes about a millisecond on a healthy cluster).
	EnqueueTimeout time.Duration
	// Duplicates is the stream's de-duplication window. Default 24h: longer
	// than any checkout retry, short enough for the server's memory.
	Duplicates    time.Duration
	KeepDecisions int           // default 10,000
	AckWait       time.Duration // a resender that dies: its messages come back after this; default 30s
	// Tick is the longest a failed message waits in the consumer before the
	// resender looks at it again (see attempts.go): a pending entry retried
	// by hand is sent within it. Default 5s.
	Tick time.Duration
	// LeaseTTL bounds how long the fleet waits for a new resender after the
	// one sending dies (see lease.go); default DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Attach binds to streams that serve created instead of creating or
	// updating them (the CLI: it must not change the replicas of the fleet's
	// streams, nor create empty ones where the operator mistyped the name).
	Attach bool
	// Conn are extra connection options (credentials, TLS), from Connect.
	Conn []nats.Option
}

func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Replicas <= 0 {
		o.Replicas = 3
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.EnqueueTimeout <= 0 {
		o.EnqueueTimeout = 500 * time.Millisecond
	}
	if o.Duplicates <= 0 {
		o.Duplicates = 24 * time.Hour
	}
	if o.KeepDecisions <= 0 {
		o.KeepDecisions = 10000
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = 5 * time.Second
	}
	return o
}

// Store is the outbox on JetStream. It is safe for concurrent use.
type Store struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	o    Options
	urls string

	pending, dead, delivered jetstream.Stream
	attempts                 jetstream.KeyValue // nil: attached to a fleet whose serve never made it

	closed       atomic.Bool
	deduplicated atomic.Uint64 // this process
	lastErr      atomic.Pointer[error]

	rmu      sync.Mutex
	resender *Resender
}

// Open connects to urls (comma-separated nats:// URLs) and creates or
// updates the three streams. It fails with a clear error when no server
// answers within Options.Timeout.
func Open(urls string, o Options) (*Store, error) {
	o = o.withDefaults()
	copts := append([]nats.Option{
		nats.Name("orderguard outbox"),
		nats.Timeout(o.Timeout),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(false),
	}, o.Conn...)
	// What errors, logs and Stats show: the URLs without any user:password.
	shown := redact(urls)
	nc, err := nats.Connect(urls, copts...)
	if err != nil {
		return nil, fmt.Errorf("outbox: connect to NATS %s: %w (is the NATS cluster up and --outbox right?)", shown, err)
	}
	s := &Store{nc: nc, o: o, urls: shown}
	s.js, err = jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("outbox: JetStream on %s: %w", shown, err)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	specs := []struct {
		dst *jetstream.Stream
		cfg jetstream.StreamConfig
	}{
		{&s.pending, jetstream.StreamConfig{Name: o.Stream, Subjects: []string{o.Stream + ".q.*"},
			Retention: jetstream.WorkQueuePolicy, Duplicates: o.Duplicates}},
		{&s.dead, jetstream.StreamConfig{Name: o.Stream + "_DEAD", Subjects: []string{o.Stream + ".dead.*"}}},
		{&s.delivered, jetstream.StreamConfig{Name: o.Stream + "_DELIVERED", Subjects: []string{o.Stream + ".delivered.*"},
			MaxMsgs: int64(o.KeepDecisions), Discard: jetstream.DiscardOld}},
	}
	for _, sp := range specs {
		sp.cfg.Storage, sp.cfg.Replicas, sp.cfg.AllowDirect = jetstream.FileStorage, o.Replicas, true
		var st jetstream.Stream
		if o.Attach {
			st, err = s.js.Stream(ctx, sp.cfg.Name)
		} else {
			st, err = s.js.CreateOrUpdateStream(ctx, sp.cfg)
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("outbox: create stream %s on %s (replicas %d): %w", sp.cfg.Name, shown, o.Replicas, err)
		}
		*sp.dst = st
	}
	if err := s.openAttempts(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w on %s", err, shown)
	}
	return s, nil
}

// redact drops the user information of each comma-separated URL: a
// credential in --outbox must not reach a log line or the admin view.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		} else if err != nil {
			parts[i] = "(unparsable URL)"
		}
	}
	return strings.Join(parts, ",")
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.o.Timeout)
}

// Close drains nothing and closes the connection; stop the resender first.
func (s *Store) Close() error {
	if !s.closed.Swap(true) {
		s.nc.Close()
	}
	return nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return outbox.ErrClosed
	}
	return nil
}

// subject is the pending subject of an order id.
func (s *Store) subject(orderID string) string {
	sum := sha256.Sum256([]byte(orderID))
	return s.o.Stream + ".q." + hex.EncodeToString(sum[:12])
}

func (s *Store) deadSubject(id uint64) string {
	return s.o.Stream + ".dead." + strconv.FormatUint(id, 10)
}

// Enqueue implements outbox.Enqueuer: it waits at most
// Options.EnqueueTimeout for the ack.
func (s *Store) Enqueue(r outbox.Request) error {
	_, _, err := s.Add(r)
	return err
}

// EnqueueBy implements outbox.DeadlineEnqueuer: the proxy passes the
// request's deadline, and the publish waits for the ack until then, no
// longer, so that the client's answer stays within its budget.
func (s *Store) EnqueueBy(r outbox.Request, deadline time.Time) error {
	_, _, err := s.add(r, deadline)
	return err
}

// Add publishes r and waits for JetStream's acknowledgement, at most
// Options.EnqueueTimeout.
func (s *Store) Add(r outbox.Request) (uint64, bool, error) {
	return s.add(r, time.Now().Add(s.o.EnqueueTimeout))
}

func (s *Store) add(r outbox.Request, deadline time.Time) (uint64, bool, error) {
	if err := s.check(); err != nil {
		return 0, false, err
	}
	e, err := outbox.NewEntry(r, time.Now().UTC())
	if err != nil {
		return 0, false, err
	}
	ack, err := s.publishBy(deadline, s.subject(r.OrderID), &e, outbox.DedupeID(r.Operation, r.OrderID, r.Body))
	s.note(err)
	if err != nil {
		return 0, false, fmt.Errorf("outbox: enqueue %s order %q on JetStream: %w", r.Operation, r.OrderID, err)
	}
	if ack.Duplicate {
		s.deduplicated.Add(1)
	}
	return ack.Sequence, ack.Duplicate, nil
}

func (s *Store) publish(subject string, e *outbox.Entry, msgID string) (*jetstream.PubAck, error) {
	return s.publishBy(time.Now().Add(s.o.Timeout), subject, e, msgID)
}

func (s *Store) publishBy(deadline time.Time, subject string, e *outbox.Entry, msgID string) (*jetstream.PubAck, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode entry: %w", err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	return s.js.Publish(ctx, subject, data, opts...)
}

func (s *Store) note(err error) {
	if err == nil {
		s.lastErr.Store(nil)
	} else {
		s.lastErr.Store(&err)
	}
}

// Ready is nil while the connection is up, the last publish succeeded (or a
// later check did) and the pending stream answers.
func (s *Store) Ready() error {
	if err := s.check(); err != nil {
		return err
	}
	if st := s.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("outbox: NATS %s: connection %s", s.urls, st)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.pending.Info(ctx); err != nil {
		err = fmt.Errorf("outbox: stream %s unreachable: %w", s.o.Stream, err)
		s.note(err)
		return err
	}
	if p := s.lastErr.Load(); p != nil {
		// The stream answers again: the next enqueue should succeed.
		s.lastErr.Store(nil)
	}
	return nil
}

// HasPending asks the stream whether a request for orderID waits, fleet-wide.
// When the stream cannot say, it answers true: the status update is then
// queued (and fails to enqueue, so the client gets the closed answer) rather
// than sent ahead of an order that may be waiting. It runs on a live status
// update's budget: it does not ask while the connection is down (a request
// would wait in the reconnect buffer), and waits at most EnqueueTimeout.
func (s *Store) HasPending(orderID string) bool {
	if s.closed.Load() || s.nc.Status() != nats.CONNECTED {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(s.o.Timeout, s.o.EnqueueTimeout))
	defer cancel()
	_, err := s.pending.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(s.subject(orderID)))
	return !errors.Is(err, jetstream.ErrMsgNotFound)
}

// first returns the first pending message on subject at or after seq.
func (s *Store) first(subject string, seq uint64) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.pending.GetMsg(ctx, max(seq, 1), jetstream.WithGetMsgSubject(subject))
}

func decode(m *jetstream.RawStreamMsg, state outbox.State) (outbox.Entry, error) {
	var e outbox.Entry
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return e, fmt.Errorf("outbox: decode message %d on %s: %w", m.Sequence, m.Subject, err)
	}
	if state == outbox.StatePending {
		e.ID = m.Sequence
	}
	e.State = state
	return e, nil
}

// Get implements outbox.Backend.
func (s *Store) Get(id uint64) (outbox.Entry, error) {
	if err := s.check(); err != nil {
		return outbox.Entry{}, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if m, err := s.pending.GetMsg(ctx, id); err == nil {
		e, err := decode(m, outbox.StatePending)
		if err == nil {
			s.withAttempts(&e)
		}
		return e, err
	} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return outbox.Entry{}, fmt.Errorf("outbox: get %d: %w", id, err)
	}
	m, err := s.dead.GetLastMsgForSubject(ctx, s.deadSubject(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return outbox.Entry{}, fmt.Errorf("%w: %d", outbox.ErrNotFound, id)
	} else if err != nil {
		return outbox.Entry{}, fmt.Errorf("outbox: get %d: %w", id, err)
	}
	return decode(m, outbox.StateDead)
}

// each calls fn for every message of st matching subject, in stream order,
// until fn returns false.
func (s *Store) each(st jetstream.Stream, subject string, state outbox.State, fn func(outbox.Entry) (bool, error)) error {
	for seq := uint64(1); ; {
		ctx, cancel := s.ctx()
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		cancel()
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("outbox: read %s: %w", subject, err)
		}
		e, err := decode(m, state)
		if err != nil {
			return err
		}
		if more, err := fn(e); err != nil || !more {
			return err
		}
		seq = m.Sequence + 1
	}
}

// List implements outbox.Backend.
func (s *Store) List(state outbox.State, limit int) ([]outbox.Entry, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []outbox.Entry
	collect := func(e outbox.Entry) (bool, error) {
		e.Body = nil
		if e.State == outbox.StatePending {
			s.withAttempts(&e)
		}
		out = append(out, e)
		return limit <= 0 || len(out) < limit, nil
	}
	switch state {
	case outbox.StatePending:
		return out, s.each(s.pending, s.o.Stream+".q.*", state, collect)
	case outbox.StateDead:
		return out, s.each(s.dead, s.o.Stream+".dead.*", state, collect)
	case outbox.StateDelivered:
		ds, err := s.Decisions(limit)
		for _, d := range ds {
			out = append(out, outbox.Entry{
				ID: d.ID, State: outbox.StateDelivered, Operation: d.Operation, OrderID: d.OrderID, Path: d.Path,
				FirstTry: d.FirstTry, Attempts: d.Attempts, LastStatus: d.Status, LastResponse: d.Response,
			})
		}
		return out, err
	default:
		return nil, fmt.Errorf("outbox: unknown state %q (want pending, dead or delivered)", state)
	}
}

// Decisions implements outbox.Backend: newest first, read backwards.
func (s *Store) Decisions(limit int) ([]outbox.Decision, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx()
	info, err := s.delivered.Info(ctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("outbox: read decisions: %w", err)
	}
	var out []outbox.Decision
	for seq := info.State.LastSeq; seq >= info.State.FirstSeq && seq > 0 && (limit <= 0 || len(out) < limit); seq-- {
		ctx, cancel := s.ctx()
		m, err := s.delivered.GetMsg(ctx, seq)
		cancel()
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		} else if err != nil {
			return out, fmt.Errorf("outbox: read decision %d: %w", seq, err)
		}
		var d outbox.Decision
		if err := json.Unmarshal(m.Data, &d); err != nil {
			return out, fmt.Errorf("outbox: decode decision %d: %w", seq, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Stats implements outbox.Backend. The lifetime counters are the streams'
// last sequences: the life of the stream, fleet-wide; Deduplicated and the
// resender's numbers are this process's.
func (s *Store) Stats() (outbox.Stats, error) {
	st := outbox.Stats{Path: s.urls + " stream " + s.o.Stream}
	if err := s.check(); err != nil {
		return st, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for _, x := range []struct {
		stream jetstream.Stream
		n      *int
		last   *uint64
	}{{s.pending, &st.Pending, &st.Enqueued}, {s.dead, &st.Dead, &st.DeadLettered}, {s.delivered, &st.Decisions, &st.Delivered}} {
		info, err := x.stream.Info(ctx)
		if err != nil {
			return st, fmt.Errorf("outbox: stats: %w", err)
		}
		*x.n, *x.last = int(info.State.Msgs), info.State.LastSeq
	}
	st.Deduplicated = s.deduplicated.Load()
	if st.Pending > 0 {
		if m, err := s.first(s.o.Stream+".q.*", 0); err == nil {
			if e, err := decode(m, outbox.StatePending); err == nil {
				st.Oldest = e.FirstTry
				st.OldestAgeSec = time.Since(e.FirstTry).Seconds()
			}
		}
	}
	s.rmu.Lock()
	r := s.resender
	s.rmu.Unlock()
	if r != nil {
		r.fill(&st)
	}
	return st, nil
}

// Retry implements outbox.Backend. A pending entry is made due now (its
// attempts record, see attempts.go): a resender sends it within Options.Tick,
// still behind the earlier requests of its order. A dead letter (and the
// later requests of its order dead-lettered with it) is published to the
// queue again, under new ids, and removed from the dead-letter stream.
func (s *Store) Retry(id uint64) error {
	e, err := s.Get(id)
	if err != nil {
		return err
	}
	if e.State == outbox.StatePending {
		return s.retryPending(id)
	}
	batch := []outbox.Entry{e}
	if outbox.IsOrderOp(e.Operation) {
		err := s.each(s.dead, s.o.Stream+".dead.*", outbox.StateDead, func(d outbox.Entry) (bool, error) {
			if d.BlockedBy == id {
				batch = append(batch, d)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	for _, d := range batch {
		old := d.ID
		d.ID, d.State, d.DeadReason, d.DeadAt, d.BlockedBy = 0, outbox.StatePending, "", time.Time{}, 0
		d.NextTry, d.AgeFrom = now, now
		// A new message id: the original is still in the duplicate window.
		if _, err := s.publish(s.subject(d.OrderID), &d, fmt.Sprintf("%s.retry.%d", outbox.DedupeID(d.Operation, d.OrderID, d.Body), old)); err != nil {
			return fmt.Errorf("outbox: retry %d: %w", old, err)
		}
		if err := s.purgeDead(old); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) purgeDead(id uint64) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.dead.Purge(ctx, jetstream.WithPurgeSubject(s.deadSubject(id))); err != nil {
		return fmt.Errorf("outbox: remove dead letter %d: %w", id, err)
	}
	return nil
}

// RetryAllDead implements outbox.Backend.
func (s *Store) RetryAllDead() (int, error) {
	dead, err := s.List(outbox.StateDead, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range dead {
		if err := s.Retry(e.ID); err != nil {
			if errors.Is(err, outbox.ErrNotFound) { // revived with its order
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// Drop implements outbox.Backend.
func (s *Store) Drop(id uint64) error {
	e, err := s.Get(id)
	if err != nil {
		return err
	}
	if e.State == outbox.StateDead {
		return s.purgeDead(id)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.pending.DeleteMsg(ctx, id); err != nil {
		return fmt.Errorf("outbox: drop %d: %w", id, err)
	}
	s.forgetAttempts(id)
	return nil
}

// Export implements outbox.Backend.
func (s *Store) Export(w io.Writer) error {
	if err := s.check(); err != nil {
		return err
	}
	write := func(e outbox.Entry) (bool, error) { return true, outbox.WriteExport(w, &e) }
	if err := s.each(s.pending, s.o.Stream+".q.*", outbox.StatePending, write); err != nil {
		return err
	}
	return s.each(s.dead, s.o.Stream+".dead.*", outbox.StateDead, write)
}

// markDead moves a pending message (and, for an order, the later requests of
// the same order id) to the dead-letter stream. The dead letter is written
// before the pending message is removed: a crash between the two leaves a
// copy in both, never in neither.
func (s *Store) markDead(e outbox.Entry, status int, reason string, body []byte, attempted bool) ([]uint64, error) {
	now := time.Now().UTC()
	if attempted {
		e.Attempts++
		e.LastStatus, e.LastResponse = status, outbox.ResponseJSON(body)
	}
	kill := []outbox.Entry{e}
	if outbox.IsOrderOp(e.Operation) {
		err := s.each(s.pending, s.subject(e.OrderID), outbox.StatePending, func(d outbox.Entry) (bool, error) {
			if d.ID > e.ID {
				d.BlockedBy = e.ID
				kill = append(kill, d)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	var moved []uint64
	for i, d := range kill {
		d.State, d.DeadAt, d.NextTry, d.DeadReason = outbox.StateDead, now, time.Time{}, reason
		if i > 0 {
			d.DeadReason = fmt.Sprintf("its order request #%d was dead-lettered (%s)", e.ID, reason)
		}
		if _, err := s.publish(s.deadSubject(d.ID), &d, ""); err != nil {
			return moved, fmt.Errorf("outbox: dead-letter %d: %w", d.ID, err)
		}
		if i > 0 {
			ctx, cancel := s.ctx()
			err := s.pending.DeleteMsg(ctx, d.ID)
			cancel()
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return moved, fmt.Errorf("outbox: remove dead-lettered %d: %w", d.ID, err)
			}
		}
		s.forgetAttempts(d.ID)
		moved = append(moved, d.ID)
	}
	return moved, nil
}

// recordDelivered keeps Forter's decision for the admin view.
func (s *Store) recordDelivered(e outbox.Entry, status int, body []byte, attempts int) error {
	d := outbox.Decision{
		ID: e.ID, Operation: e.Operation, OrderID: e.OrderID, Path: e.Path, Status: status,
		Response: outbox.ResponseJSON(body), Attempts: attempts, FirstTry: e.FirstTry, DeliveredAt: time.Now().UTC(),
	}
	data, err := json.Marshal(&d)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err = s.js.Publish(ctx, s.deliveredSubject(e.ID), data)
	return err
}

func (s *Store) deliveredSubject(id uint64) string {
	return s.o.Stream + ".delivered." + strconv.FormatUint(id, 10)
}

// wasDelivered reports whether a decision for id is kept: a redelivered
// message whose ack was lost after Forter's 2xx is acknowledged, not resent.
func (s *Store) wasDelivered(id uint64) bool {
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.delivered.GetLastMsgForSubject(ctx, s.deliveredSubject(id))
	return err == nil
}

var (
	_ outbox.Backend          = (*Store)(nil)
	_ outbox.DeadlineEnqueuer = (*Store)(nil)
)
