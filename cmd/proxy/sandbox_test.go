package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/sandbox"
	"github.com/orderguard/orderguard/internal/testlog"
)

// syncBuffer is written by the sandbox goroutine and read by the test.
type syncBuffer = testlog.Buffer

func TestSandboxHelpListsEveryFlagWithDefault(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runSandbox([]string{"--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help: exit %d, stderr %s", code, errOut.String())
	}
	var f sandboxFlags
	fs := newSandboxFlagSet(&f, &errOut)
	n := 0
	fs.VisitAll(func(fl *flag.Flag) {
		n++
		re := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(fl.Name) + `\b.*\n\s+.*\(default [^)]*\)$`)
		if !re.MatchString(out.String()) {
			t.Errorf("--help does not document --%s with its default", fl.Name)
		}
	})
	if n < 15 {
		t.Errorf("only %d flags", n)
	}
}

func TestSandboxBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"},
		{"--cert", "x.pem"},
		{"--cert-out", "c.pem"},
		{"--error-rate", "2"},
		{"--latency-p50", "5ms"},
		{"--latency", "5ms", "--latency-p50", "5ms", "--latency-p99", "9ms"},
		{"--rate-limit", "-1"},
		{"--cert", "/nonexistent.pem", "--key", "/nonexistent.key"},
		{"extra"},
	} {
		var out, errOut bytes.Buffer
		if code := runSandbox(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("%v: no message on stderr", args)
		}
	}
}

// The subcommand end to end: HTTPS with a generated certificate written to
// --cert-out, a Go client trusting that file, a graceful stop.
func TestSandboxServesTLS(t *testing.T) {
	certPath := filepath.Join(t.TempDir(), "sandbox.pem")
	url, stop := startSandboxCmd(t, "--listen", "127.0.0.1:0", "--tls", "--cert-out", certPath, "--rate-limit", "0")
	defer stop()
	if got := statusUpdate(t, url, certPath); got != 200 {
		t.Errorf("status update: %d, want 200", got)
	}
}

// startSandboxCmd runs `orderguard sandbox args...` in-process until stop,
// which checks that it exits 0 after a graceful shutdown.
func startSandboxCmd(t *testing.T, args ...string) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- serveSandbox(ctx, args, &out, &errOut) }()
	stop = func() {
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("exit %d after stop: %s", code, errOut.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("sandbox did not stop within 10s")
		}
	}
	listening := regexp.MustCompile(`listening on (https?://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			return m[1], stop
		}
		select {
		case code := <-exit:
			cancel()
			t.Fatalf("exited %d before listening: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("not listening after 10s: %s %s", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// statusUpdate sends one status update trusting only the certificate in
// certPath, and checks Forter's answer shape.
func statusUpdate(t *testing.T, url, certPath string) int {
	t.Helper()
	pem, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", certPath)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", url+"/v2/status/cli-1", strings.NewReader(`{"orderId":"cli-1","updatedStatus":"COMPLETED"}`))
	req.SetBasicAuth("key", "")
	req.Header.Set("api-version", "2.3")
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == 200 && got["message"] != "Transaction #cli-1 status recieved" {
		t.Errorf("answer %v", got)
	}
	return resp.StatusCode
}

// --cert and --key serve the caller's own certificate.
func TestSandboxServesGivenCert(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := sandbox.SelfSignedPEM("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	url, stop := startSandboxCmd(t, "--listen", "127.0.0.1:0", "--cert", certPath, "--key", keyPath)
	defer stop()
	if got := statusUpdate(t, url, certPath); got != 200 {
		t.Errorf("status update: %d, want 200", got)
	}
}
