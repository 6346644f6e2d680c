package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

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
	select {
	case s.retried <- struct{}{}:
	default:
	}
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
