package proxy

import (
	"crypto/subtle"
	"github.com/orderguard/orderguard/internal/redact"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderguard/orderguard/internal/secret"
)

// privateAdmin guards the admin routes that hold or change orders (the
// outbox's API: export returns kept bodies, drop deletes one) and the
// profiles. The admin listener is often bound to every interface so that
// probes and Prometheus reach /healthz, /readyz and /metrics, which stay open;
// these routes answer a loopback client (kubectl exec, a shell on the host),
// or one that sends the admin token as "Authorization: Bearer <token>".
type privateAdmin struct {
	token   *secret.Key // nil or unset: loopback clients only
	log     *slog.Logger
	refused prometheus.Counter
}

func (a *privateAdmin) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLoopbackPeer(r.RemoteAddr) || a.tokenMatches(r.Header.Get("Authorization")) {
			next.ServeHTTP(w, r)
			return
		}
		a.refused.Inc()
		a.log.Warn("admin request refused: not from loopback and no valid admin token",
			slog.String("path", redact.MaskString(r.URL.Path)), slog.String("remote", r.RemoteAddr))
		w.Header().Set("Content-Type", "application/json")
		if a.token.IsSet() {
			w.Header().Set("WWW-Authenticate", `Bearer realm="orderguard admin"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"this admin route needs the admin token as a bearer token, or a loopback client"}` + "\n"))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":"this admin route answers loopback clients only; set --admin-token-file (or ` + secret.EnvAdminToken + `) to allow others with a bearer token"}` + "\n"))
	})
}

func (a *privateAdmin) tokenMatches(header string) bool {
	if !a.token.IsSet() {
		return false
	}
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(a.token.Value().Reveal())) == 1
}

// isLoopbackPeer reports whether a net/http RemoteAddr is a loopback address
// (IPv4-mapped IPv6 included).
func isLoopbackPeer(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
