package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderguard/orderguard/internal/outbox"
)

// A pending entry's delivery history lives beside the work queue, in a
// key-value bucket (<stream>_ATTEMPTS) keyed by the entry's stream sequence:
// how often it was tried, what the last try got, and when the next is due.
// The resender nak's a failed message with a delay capped at Options.Tick,
// whatever the backoff; when the message comes back before its due time it
// is nak'd again for the rest (capped again). So the due time, not the
// consumer's redelivery timer, decides when a request is resent, and Retry
// can make a pending entry due now: it is sent within one Tick. The price is
// one redelivery and one key-value read per waiting entry per Tick on the
// lease holder.
//
// A record outlives its last write by attemptsTTL at most: one left behind
// (a crash between an ack and the delete) goes away by itself, and one that
// expires under a waiting entry only makes that entry due now.

const attemptsTTL = 24 * time.Hour

// attempt is the record of one pending entry.
type attempt struct {
	Attempts   int       `json:"attempts"`
	NextTry    time.Time `json:"next_try"`
	LastStatus int       `json:"last_status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
}

// maxLastError bounds the error text kept per entry.
const maxLastError = 512

func (s *Store) attemptsBucket() string { return s.o.Stream + "_ATTEMPTS" }

// openAttempts creates the bucket, or binds to it under Attach (nil when
// serve never made it: no entry then has a record).
func (s *Store) openAttempts(ctx context.Context) error {
	var err error
	if s.o.Attach {
		s.attempts, err = s.js.KeyValue(ctx, s.attemptsBucket())
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			s.attempts, err = nil, nil
		}
	} else {
		s.attempts, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: s.attemptsBucket(), TTL: attemptsTTL, Replicas: s.o.Replicas, Storage: jetstream.FileStorage,
		})
	}
	if err != nil {
		return fmt.Errorf("outbox: attempts bucket %s: %w", s.attemptsBucket(), err)
	}
	return nil
}

// attemptOf returns the record of entry seq; the zero record when it has
// none (never failed) or the bucket cannot say (then the entry is treated as
// due: a resend too early beats one that never comes).
func (s *Store) attemptOf(seq uint64) (attempt, error) {
	var a attempt
	if s.attempts == nil {
		return a, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	kve, err := s.attempts.Get(ctx, strconv.FormatUint(seq, 10))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return a, nil
	} else if err != nil {
		return a, fmt.Errorf("outbox: read attempts of %d: %w", seq, err)
	}
	if err := json.Unmarshal(kve.Value(), &a); err != nil {
		return attempt{}, fmt.Errorf("outbox: decode attempts of %d: %w", seq, err)
	}
	return a, nil
}

func (s *Store) putAttempt(seq uint64, a attempt) error {
	if s.attempts == nil {
		return fmt.Errorf("outbox: no attempts bucket %s (is a serve of this version running?)", s.attemptsBucket())
	}
	if len(a.LastError) > maxLastError {
		a.LastError = a.LastError[:maxLastError]
	}
	data, err := json.Marshal(&a)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.attempts.Put(ctx, strconv.FormatUint(seq, 10), data); err != nil {
		return fmt.Errorf("outbox: record attempts of %d: %w", seq, err)
	}
	return nil
}

// forgetAttempts removes the record of an entry that left the queue; best
// effort, the TTL cleans up what a failure leaves.
func (s *Store) forgetAttempts(seq uint64) {
	if s.attempts == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_ = s.attempts.Purge(ctx, strconv.FormatUint(seq, 10))
}

// withAttempts fills a pending entry's history from its record.
func (s *Store) withAttempts(e *outbox.Entry) {
	if a, err := s.attemptOf(e.ID); err == nil && a.Attempts > 0 {
		e.Attempts, e.NextTry, e.LastStatus, e.LastError = a.Attempts, a.NextTry, a.LastStatus, a.LastError
	}
}

// retryPending makes a pending entry due now: the resender sends it the next
// time the consumer brings it back, within Options.Tick.
func (s *Store) retryPending(id uint64) error {
	if s.attempts == nil {
		// Attached to a fleet whose serve predates the records: its resenders
		// nak by the whole backoff, and nothing here can hurry them.
		return fmt.Errorf("outbox: retry %d: no attempts bucket %s (upgrade the fleet's serve first)", id, s.attemptsBucket())
	}
	a, err := s.attemptOf(id)
	if err != nil {
		return err
	}
	if a.Attempts == 0 && a.NextTry.IsZero() {
		return nil // never failed: due already
	}
	a.NextTry = time.Now().UTC()
	return s.putAttempt(id, a)
}
