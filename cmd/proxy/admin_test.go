package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nonLoopbackIPv4 is an address of this machine's own that is not loopback,
// so that a client connecting to it arrives from it.
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address; internal/proxy's TestPrivateAdmin covers the rule without one")
	return ""
}

// TestAdminTokenProcess runs serve with its admin listener on a non-loopback
// address and an admin token: probes and metrics answer anyone, the outbox
// API only a client that sends the token, and `orderguard outbox` sends it
// from --admin-token-file. The token never reaches the log.
func TestAdminTokenProcess(t *testing.T) {
	ip := nonLoopbackIPv4(t)
	dir := t.TempDir()
	const token = "adm1n-t0ken-for-the-test"
	sp := startServe(t, dir, "--listen 127.0.0.1:0 --admin-listen "+ip+":0 --outbox "+filepath.Join(dir, "outbox.db"),
		"ORDERGUARD_ADMIN_TOKEN="+token)
	admin := "http://" + sp.serving(t).Admin
	if !strings.HasPrefix(admin, "http://"+ip+":") {
		t.Fatalf("admin listener at %s, want %s", admin, ip)
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz from %s: %d, want 200 (probes need no token)", ip, code)
	}
	if code, body := get("/outbox/export"); code != 401 || !strings.Contains(body, "admin token") {
		t.Errorf("/outbox/export without the token: %d %s, want 401", code, body)
	}

	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong-token")
	if err := os.WriteFile(wrongFile, []byte("not-the-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, "stats", "--admin", admin, "--admin-token-file", tokenFile); code != 0 || !strings.Contains(out, "pending") {
		t.Errorf("outbox stats with the token: code %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "stats", "--admin", admin, "--admin-token-file", wrongFile); code != 1 || !strings.Contains(errs, "admin token") {
		t.Errorf("outbox stats with a wrong token: code %d, stderr %q", code, errs)
	}
	t.Setenv("ORDERGUARD_ADMIN_TOKEN", "")
	if code, _, errs := runCLI(t, "export", "--admin", admin); code != 1 || !strings.Contains(errs, "admin token") {
		t.Errorf("outbox export without a token: code %d, stderr %q", code, errs)
	}

	_, metrics := get("/metrics")
	if m := regexp.MustCompile(`(?m)^orderguard_admin_refused_total (\d+)$`).FindStringSubmatch(metrics); m == nil || m[1] != "3" {
		t.Errorf("orderguard_admin_refused_total: %v, want 3 (no token, wrong token, no token)", m)
	}
	// The log is written in batches; wait for the refusals' lines.
	for deadline := time.Now().Add(5 * time.Second); strings.Count(sp.raw.String(), "admin request refused") < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines for the 3 refused admin requests within 5s", strings.Count(sp.raw.String(), "admin request refused"))
		}
	}
	if strings.Contains(sp.raw.String(), token) {
		t.Error("the admin token appears in serve's log")
	}
}
