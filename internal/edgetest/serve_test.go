package edgetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The orderguard binary, built once for the tests that run it as a process.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

func orderguard(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "orderguard-edgetest-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "orderguard")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		binOut, binErr = exec.Command(gobin, "build", "-o", binPath, "github.com/orderguard/orderguard/cmd/proxy").CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("build orderguard: %v\n%s", binErr, binOut)
	}
	return binPath
}

// authRecorder is an upstream on 127.0.0.1 that answers every request 200
// and remembers the Authorization values it received.
type authRecorder struct {
	mu    sync.Mutex
	auths []string
	addr  string
}

func startAuthRecorder(t *testing.T) *authRecorder {
	t.Helper()
	r := &authRecorder{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		r.mu.Lock()
		r.auths = append(r.auths, string(ctx.Request.Header.Peek("Authorization")))
		r.mu.Unlock()
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"success","action":"approve"}`)
	}}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return r
}

func (r *authRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.auths) == 0 {
		return ""
	}
	return r.auths[len(r.auths)-1]
}

func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// Rotation end to end: a real orderguard process, its key file rewritten
// and SIGHUP sent; the next requests carry the new key upstream, and the
// inbound secret file is re-read the same way.
func TestServeRotatesSecretsOnSIGHUP(t *testing.T) {
	bin := orderguard(t)
	up := startAuthRecorder(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api-key")
	inFile := filepath.Join(dir, "inbound")
	sock := filepath.Join(dir, "og.sock")
	write := func(p, s string) {
		t.Helper()
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	write(keyFile, "first-api-key\n")
	write(inFile, "first-inbound\n")
	var logs syncBuffer
	cmd := exec.Command(bin, "serve", "--listen=unix:"+sock, "--admin-listen=",
		"--upstream=http://"+up.addr, "--api-key-file="+keyFile, "--inbound-secret-file="+inFile,
		"--outbox=", "--warm-conns=1", "--log-level=debug",
		"--passthrough-routes=GET /v2/other") // off the spec, the key goes only to an allowlisted route
	cmd.Env = append(os.Environ(), "ORDERGUARD_API_KEY=env-key-must-lose")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("orderguard output:\n%s", logs.Bytes())
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	do := func(secret string) int {
		req, _ := http.NewRequest("GET", "http://orderguard/v2/other", nil)
		req.Header.Set("X-Orderguard-Secret", secret)
		resp, err := client.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Wait for the socket; the bound keeps a broken start from hanging.
	for deadline := time.Now().Add(20 * time.Second); do("first-inbound") != 200; {
		if time.Now().After(deadline) {
			t.Fatal("orderguard never answered on its socket")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := up.last(); got != basic("first-api-key") {
		t.Fatalf("upstream got Authorization %q, want the key from the file", got)
	}
	if got := do("second-inbound"); got != 401 {
		t.Fatalf("a secret not yet configured: %d, want 401", got)
	}

	write(keyFile, "second-api-key\n")
	write(inFile, "second-inbound\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); do("second-inbound") != 200; {
		if time.Now().After(deadline) {
			t.Fatal("the new inbound secret was never accepted after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := up.last(); got != basic("second-api-key") {
		t.Fatalf("after SIGHUP upstream got Authorization %q, want the new key", got)
	}
	if got := do("first-inbound"); got != 401 {
		t.Fatalf("the old inbound secret after rotation: %d, want 401", got)
	}

	// A broken rotation keeps the key in use.
	write(keyFile, "")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !bytes.Contains(logs.Bytes(), []byte("secret reload failed")); {
		if time.Now().After(deadline) {
			t.Fatal("no warning for an empty key file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if do("second-inbound") != 200 || up.last() != basic("second-api-key") {
		t.Fatalf("after a failed reload: upstream got %q, want the key kept", up.last())
	}
	out := logs.Bytes()
	for _, s := range []string{"first-api-key", "second-api-key", "first-inbound", "second-inbound", "env-key-must-lose",
		strings.TrimPrefix(basic("second-api-key"), "Basic ")} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("orderguard logged a secret (%s)", s)
		}
	}
}

// A non-loopback --listen without inbound authentication: refused before
// anything starts, exit code 1, the error says how to proceed.
func TestServeRefusesExposedListen(t *testing.T) {
	bin := orderguard(t)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, "serve", "--listen="+addr, "--admin-listen=", "--outbox=").CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("--listen %s: err %v, want exit code 1\n%s", addr, err, out)
		}
		if !bytes.Contains(out, []byte("--insecure-listen")) || bytes.Contains(out, []byte("embedded sandbox started")) {
			t.Errorf("--listen %s: output does not refuse up front:\n%s", addr, out)
		}
	}
}
