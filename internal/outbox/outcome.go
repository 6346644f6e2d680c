package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Outcomes, recorded by the resender.

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
