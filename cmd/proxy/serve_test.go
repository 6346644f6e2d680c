package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary act as `orderguard` itself, so that serve
// runs as a real process that can be sent SIGTERM.
const childEnv = "ORDERGUARD_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestServeProcess runs `orderguard serve` with no upstream as a process: the
// first log line announces the embedded sandbox; orders go through; SIGTERM
// lets a request in flight finish and the process exit 0.
func TestServeProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		childEnv + "=serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --outbox " + filepath.Join(dir, "outbox.db"),
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	type line struct {
		Msg, URL, Listen, Admin string
	}
	lines := make(chan line, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				lines <- l
			} else {
				lines <- line{Msg: "not JSON: " + sc.Text()}
			}
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	next := func() line {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited early")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no log line within 10s")
		}
		return line{}
	}
	first := next()
	if !strings.Contains(first.Msg, "embedded sandbox") || !strings.HasPrefix(first.URL, "https://127.0.0.1:") {
		t.Fatalf("first log line = %+v, want the embedded sandbox's URL", first)
	}
	var serving line
	for serving.Listen == "" {
		serving = next()
	}
	base, admin := "http://"+serving.Listen, "http://"+serving.Admin

	order, err := os.ReadFile("../../internal/proxy/testdata/corpus/order-workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(id string, body []byte, hdr ...string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/v2/orders/"+id, strings.NewReader(string(body)))
		req.Header.Set("api-version", "2.3")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("POST %s: %v", id, err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("p1", order); code != 200 || !strings.Contains(body, `"action":"approve"`) {
		t.Fatalf("valid order through the embedded sandbox: %d %s", code, body)
	}
	if code, body := post("p2", []byte(`{"orderId":"p2"}`)); code != 400 || !strings.Contains(body, "Malformed request") {
		t.Fatalf("invalid order: %d %s", code, body)
	}
	resp, err := http.Get(admin + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()

	inflight := make(chan string, 1)
	go func() {
		code, body := post("p3", order, "X-Sandbox-Fault", "slow:600")
		inflight <- strings.Join([]string{http.StatusText(code), body}, " ")
	}()
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := <-inflight; !strings.HasPrefix(got, "OK ") || !strings.Contains(got, `"transaction":"p3"`) {
		t.Fatalf("request in flight at SIGTERM: %s", got)
	}
	for range lines {
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10s of SIGTERM")
	}
	exited <- nil // for the deferred check
}
