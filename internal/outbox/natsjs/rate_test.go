package natsjs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// Three pods resend one backlog of 300: together they stay at --outbox-rate
// (the fleet's), measured per second at the sandbox from the arrival times
// GET /_sandbox/received reports. The rate is 20/s rather than a test site's
// 10 so that the whole backlog takes 15s, not 30.
func TestFleetRate(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15s backlog: not in -short mode")
	}
	const rate, backlog = 20.0, 300
	url := startServer(t).ClientURL()
	sb, err := sandbox.Start(sandbox.Options{Config: sandbox.Config{SkipValidation: true, ReceivedMax: 2 * backlog}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	pods := []*Store{openTest(t, url), openTest(t, url), openTest(t, url)}
	for i := range backlog {
		if err := pods[i%3].Enqueue(request("orderV2", fmt.Sprint("RATE-", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	sender := outbox.HTTPSender{BaseURL: sb.URL, Header: map[string]string{"Authorization": "Basic cmF0ZS10ZXN0Og==", "api-version": "2.36"}}
	for _, p := range pods {
		r := p.NewResender(sender, outbox.ResendOptions{Rate: rate})
		wg.Go(func() { _ = r.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	var got sandbox.Received
	waitFor(t, "the backlog delivered", 40*time.Second, func() bool {
		got = received(t, sb.URL)
		return got.Endpoints[sandbox.EndpointOrderV2].OK >= backlog
	})
	at := make([]time.Time, 0, backlog)
	for _, a := range got.Arrivals {
		if a.Endpoint == sandbox.EndpointOrderV2 {
			at = append(at, a.At)
		}
	}
	if len(at) != backlog {
		t.Fatalf("%d arrivals at the sandbox, want %d (each order once)", len(at), backlog)
	}
	// Arrivals per one-second window, sliding over every arrival.
	worst := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		worst = max(worst, n)
	}
	if limit := int(rate * 1.1); worst > limit {
		t.Errorf("up to %d arrivals in one second from 3 pods, want at most %d (rate %v for the fleet, +10%%)", worst, limit, rate)
	}
	span := at[len(at)-1].Sub(at[0]).Seconds()
	mean := float64(len(at)-1) / span
	t.Logf("%d arrivals at the sandbox in %.2fs: %.2f/s, worst one-second window %d", len(at), span, mean, worst)
	if mean > rate*1.1 || mean < rate*0.9 {
		t.Errorf("fleet rate %.2f/s at the sandbox, want %v within 10%%", mean, rate)
	}
}

// received is GET /_sandbox/received, over HTTP as any client reads it.
func received(t *testing.T, base string) sandbox.Received {
	t.Helper()
	r, err := sandbox.FetchReceived(nil, base)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
