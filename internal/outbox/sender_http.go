package outbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HTTPSender is a Sender over net/http, for tools and tests that have no
// proxy pool at hand. The proxy uses its own Sender (warm TLS, its
// credentials, its circuit breaker).
type HTTPSender struct {
	BaseURL string            // e.g. http://127.0.0.1:8081, no trailing slash needed
	Client  *http.Client      // nil: http.DefaultClient
	Header  map[string]string // added to every request, e.g. Authorization
}

// maxSenderResponse bounds what HTTPSender reads of an answer.
const maxSenderResponse = 1 << 20

// Send implements Sender.
func (h HTTPSender) Send(ctx context.Context, r Request) (int, []byte, error) {
	url := strings.TrimSuffix(h.BaseURL, "/") + r.Path
	req, err := http.NewRequestWithContext(ctx, r.Method, url, bytes.NewReader(r.Body))
	if err != nil {
		return 0, nil, fmt.Errorf("build request for %s: %w", r.Path, err)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	for k, v := range h.Header {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("send %s %s: %w", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSenderResponse))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("read answer to %s %s: %w", r.Method, r.Path, err)
	}
	return resp.StatusCode, body, nil
}
