package outbox

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/orderguard/orderguard/internal/redact"
	"io"

	bolt "go.etcd.io/bbolt"
)

// exported is one line of Export: the entry with its body as JSON when it is
// JSON (Forter bodies are), or base64 otherwise, so that an operator can read
// and replay it with ordinary tools.
type exported struct {
	Entry
	Body       json.RawMessage `json:"body,omitempty"` // shadows Entry.Body
	BodyBase64 []byte          `json:"body_base64,omitempty"`
}

// Export writes every pending and then every dead entry as one JSON object a
// line (NDJSON), bodies included. The bodies are what the merchant sent to
// Forter: treat the export like the order data it is.
func (s *Store) Export(w io.Writer) error {
	bw := bufio.NewWriter(w)
	err := s.view(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketPending, bucketDead} {
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				var e Entry
				if err := json.Unmarshal(v, &e); err != nil {
					return fmt.Errorf("outbox: decode %s entry %x: %w", name, k, err)
				}
				return WriteExport(bw, &e)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("outbox: write export: %w", err)
	}
	return nil
}

// WriteExport writes one entry as a line of Export, for every backend.
func WriteExport(w io.Writer, e *Entry) error {
	x := exported{Entry: *e}
	// The body is the order as sent (export is order data); the order id and
	// path are shown masked, as in every listing.
	x.Entry.OrderID = redact.MaskString(x.Entry.OrderID)
	x.Entry.Path = redact.MaskString(x.Entry.Path)
	if json.Valid(e.Body) {
		x.Body = e.Body
	} else {
		x.BodyBase64 = e.Body
	}
	line, err := json.Marshal(&x)
	if err != nil {
		return fmt.Errorf("outbox: encode entry %d: %w", e.ID, err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("outbox: write export: %w", err)
	}
	return nil
}
