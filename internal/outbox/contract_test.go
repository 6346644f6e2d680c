package outbox_test

import (
	"path/filepath"
	"testing"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/outbox/outboxtest"
)

func TestContract(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) outbox.Backend {
		s, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
