package natsjs

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/outbox/natsjs/natstest"
	"github.com/orderguard/orderguard/internal/outbox/outboxtest"
)

func startServer(t testing.TB) *server.Server { return natstest.Start(t) }

func startWith(t testing.TB, opts *server.Options) *server.Server { return natstest.StartWith(t, opts) }

func openTest(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(url, Options{Replicas: 1, Timeout: 2 * time.Second, AckWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) outbox.Backend {
		return openTest(t, startServer(t).ClientURL())
	})
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                    "nats://127.0.0.1:4222",
		"nats://og:s3cret@a:4222,tls://tok@b:4222": "nats://a:4222,tls://b:4222",
		"nats://a:4222, nats://u:p@b:4222":         "nats://a:4222,nats://b:4222",
		"nats://u:p@[::1]:4222":                    "nats://[::1]:4222",
	} {
		if got := redact(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	_, err := Open("nats://og:s3cret@127.0.0.1:1", Options{Replicas: 1, Timeout: 500 * time.Millisecond})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open error %v: want a failure without the password", err)
	}
}
