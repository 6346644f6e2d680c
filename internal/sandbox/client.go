package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxReceivedBytes bounds an answer of GET /_sandbox/received that
// FetchReceived reads: ReceivedMax orders and arrivals fit many times over.
const maxReceivedBytes = 16 << 20

// FetchReceived reads GET /_sandbox/received of the sandbox at base, over
// HTTP as any client reads it (tests that count what "Forter" got from other
// processes); client nil means http.DefaultClient.
func FetchReceived(client *http.Client, base string) (Received, error) {
	if client == nil {
		client = http.DefaultClient
	}
	var r Received
	resp, err := client.Get(base + "/_sandbox/received")
	if err != nil {
		return r, fmt.Errorf("GET /_sandbox/received: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET /_sandbox/received: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxReceivedBytes)).Decode(&r); err != nil {
		return r, fmt.Errorf("GET /_sandbox/received: %w", err)
	}
	return r, nil
}
