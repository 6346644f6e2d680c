package proxy

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/testlog"
)

// TestPrivateAdmin: the outbox API and profiles answer loopback peers, and
// others only with the admin token as a bearer token; refusals are counted
// and logged without the token.
func TestPrivateAdmin(t *testing.T) {
	const token = "s3cret-admin-token"
	withToken := secret.FromValue("admin token", secret.New(token))
	tests := []struct {
		name   string
		token  *secret.Key
		remote string
		auth   string
		want   int
	}{
		{"loopback v4", nil, "127.0.0.1:5000", "", 200},
		{"loopback v4, any 127/8", nil, "127.8.9.10:5000", "", 200},
		{"loopback v6", nil, "[::1]:5000", "", 200},
		{"loopback, IPv4-mapped", nil, "[::ffff:127.0.0.1]:5000", "", 200},
		{"remote, no token configured", nil, "10.1.2.3:5000", "", 403},
		{"remote, a bearer but no token configured", nil, "10.1.2.3:5000", "Bearer " + token, 403},
		{"remote v6", nil, "[fd00::7]:5000", "", 403},
		{"no address", nil, "", "", 403},
		{"remote with the token", withToken, "10.1.2.3:5000", "Bearer " + token, 200},
		{"remote with a wrong token", withToken, "10.1.2.3:5000", "Bearer " + token + "x", 401},
		{"remote with a prefix of the token", withToken, "10.1.2.3:5000", "Bearer s3cret", 401},
		{"remote with the token as Basic", withToken, "10.1.2.3:5000", "Basic " + token, 401},
		{"remote with an empty bearer", withToken, "10.1.2.3:5000", "Bearer ", 401},
		{"remote without a header", withToken, "10.1.2.3:5000", "", 401},
		{"loopback needs no token when one is configured", withToken, "127.0.0.1:5000", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logged testlog.Buffer
			refused := prometheus.NewCounter(prometheus.CounterOpts{Name: "refused"})
			a := &privateAdmin{token: tc.token, log: slog.New(slog.NewJSONHandler(&logged, nil)), refused: refused}
			h := a.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("outbox")) }))
			req := httptest.NewRequest("GET", "/outbox/export", nil)
			req.RemoteAddr = tc.remote
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body)
			}
			var m dto.Metric
			if err := refused.Write(&m); err != nil {
				t.Fatal(err)
			}
			if got := m.GetCounter().GetValue(); (tc.want == 200) != (got == 0) {
				t.Errorf("refused counter %v for status %d", got, rec.Code)
			}
			if tc.want == 200 {
				return
			}
			if rec.Body.String() == "outbox" || !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("refusal body %q", rec.Body)
			}
			if (tc.want == 401) != (rec.Header().Get("WWW-Authenticate") != "") {
				t.Errorf("WWW-Authenticate %q with status %d", rec.Header().Get("WWW-Authenticate"), rec.Code)
			}
			if !strings.Contains(logged.String(), "admin request refused") {
				t.Errorf("no log line for the refusal: %q", logged.String())
			}
			if strings.Contains(logged.String()+rec.Body.String(), token) {
				t.Error("the token appears in the log or the answer")
			}
		})
	}
}
