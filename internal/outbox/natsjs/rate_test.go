package natsjs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/outbox"
)

// Three pods resend one backlog: together they stay at --outbox-rate (the
// fleet's), measured per second at the upstream.
func TestFleetRate(t *testing.T) {
	const rate, backlog = 10.0, 60
	url := startServer(t).ClientURL()
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		_, _ = w.Write([]byte(`{"status":"success"}`))
	}))
	defer srv.Close()
	pods := []*Store{openTest(t, url), openTest(t, url), openTest(t, url)}
	for i := range backlog {
		if err := pods[i%3].Enqueue(request("orderV2", fmt.Sprint("RATE-", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range pods {
		r := p.NewResender(outbox.HTTPSender{BaseURL: srv.URL}, outbox.ResendOptions{Rate: rate})
		wg.Go(func() { _ = r.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	waitFor(t, "the backlog delivered", 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(at) >= backlog
	})
	mu.Lock()
	defer mu.Unlock()
	// Sends per one-second window, sliding over every send.
	worst := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		worst = max(worst, n)
	}
	if limit := int(rate*1.1) + 1; worst > limit {
		t.Errorf("up to %d sends in one second from 3 pods, want at most %d (rate %v for the fleet)", worst, limit, rate)
	}
	span := at[len(at)-1].Sub(at[0]).Seconds()
	got := float64(len(at)-1) / span
	t.Logf("%d sends in %.2fs: %.1f/s, worst second %d", len(at), span, got, worst)
	// Above is what Forter's per-site limit cares about and is held to 10%;
	// below is held loosely here (a loaded test machine, -race) and
	// measured on a quiet one (the log line above).
	if got > rate*1.1 || got < rate*0.75 {
		t.Errorf("fleet rate %.1f/s, want %v (at most 10%% above)", got, rate)
	}
}
