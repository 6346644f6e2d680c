package outbox

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// The bbolt index and encoding.

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
