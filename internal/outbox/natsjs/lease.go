package natsjs

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The fleet-wide rate: --outbox-rate is the whole fleet's, because only one
// resender sends at a time. The resenders race for a lease, a key in a
// JetStream key-value bucket whose entries expire LeaseTTL after their last
// write; the holder renews it every LeaseTTL/3 with a compare-and-set on its
// revision, so two holders at once need a renewal lost for a whole TTL. A
// holder that dies stops renewing: another resender takes the lease within
// LeaseTTL and the dead one's un-acknowledged messages come back after AckWait.

const leaseKey = "resender"

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal.
const DefaultLeaseTTL = 5 * time.Second

type lease struct {
	kv     jetstream.KeyValue
	ttl    time.Duration
	holder string
	held   atomic.Bool
	rev    uint64
}

func (s *Store) newLease(ctx context.Context) (*lease, error) {
	ttl := s.o.LeaseTTL
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: s.o.Stream + "_LEASE", TTL: ttl, Replicas: s.o.Replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: lease bucket %s_LEASE: %w", s.o.Stream, err)
	}
	host, _ := os.Hostname()
	return &lease{kv: kv, ttl: ttl, holder: fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano())}, nil
}

// keep takes or renews the lease until ctx ends; held says whether this
// process may send.
func (l *lease) keep(ctx context.Context, timeout time.Duration) {
	defer l.held.Store(false)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		l.try(ctx, timeout)
		select {
		case <-ctx.Done():
			if l.held.Load() {
				// Hand over at once rather than after the TTL.
				dctx, cancel := context.WithTimeout(context.Background(), timeout)
				_ = l.kv.Delete(dctx, leaseKey, jetstream.LastRevision(l.rev))
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

func (l *lease) try(ctx context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rev uint64
	var err error
	if l.held.Load() {
		rev, err = l.kv.Update(ctx, leaseKey, []byte(l.holder), l.rev)
	} else {
		rev, err = l.kv.Create(ctx, leaseKey, []byte(l.holder))
	}
	if err != nil {
		// Another holder (ErrKeyExists, or a revision that moved on), or
		// unsure (a timeout): stop sending, the lease may be someone's.
		l.held.Store(false)
		return
	}
	l.rev = rev
	l.held.Store(true)
}
