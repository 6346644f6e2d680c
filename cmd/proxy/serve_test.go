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

	"github.com/orderguard/orderguard/internal/testlog"
)

// childEnv makes the test binary act as `orderguard` itself, so that serve
// runs as a real process that can be sent SIGTERM.
const childEnv = "GO_TEST_ORDERGUARD_CHILD_ARGS" // not ORDERGUARD_*: serve warns of those naming no setting

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// serveProcess is `orderguard serve` running as a child process, and its log.
type serveProcess struct {
	cmd    *exec.Cmd
	lines  chan serveLine // the JSON log lines of its stderr, closed at exit
	exited chan error
	raw    *testlog.Buffer // every byte of its stderr, for leak checks
}

// serveLine holds the log fields the tests read.
type serveLine struct {
	Msg, URL, Listen, Admin string
	Version, Revision       string
}

// startServe runs `orderguard serve ARGS` in dir with env added to a minimal
// environment; the process is killed at the end of the test if still running.
func startServe(t *testing.T, dir, args string, env ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, childEnv + "=serve " + args}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sp := &serveProcess{cmd: cmd, lines: make(chan serveLine, 64), exited: make(chan error, 1), raw: &testlog.Buffer{}}
	t.Cleanup(func() {
		select {
		case <-sp.exited:
		default:
			_ = cmd.Process.Kill()
			<-sp.exited
		}
	})
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, sp.raw))
		for sc.Scan() {
			var l serveLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				sp.lines <- l
			} else {
				sp.lines <- serveLine{Msg: "not JSON: " + sc.Text()}
			}
		}
		close(sp.lines)
		sp.exited <- cmd.Wait()
	}()
	return sp
}

// next is the process's next log line.
func (sp *serveProcess) next(t *testing.T) serveLine {
	t.Helper()
	select {
	case l, ok := <-sp.lines:
		if !ok {
			t.Fatal("serve exited early")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no log line within 10s")
	}
	return serveLine{}
}

// serving waits for the "orderguard serving" line, which holds the addresses.
func (sp *serveProcess) serving(t *testing.T) serveLine {
	t.Helper()
	for {
		if l := sp.next(t); l.Listen != "" {
			return l
		}
	}
}

// TestServeProcess runs `orderguard serve` with no upstream as a process: the
// first log line announces the embedded sandbox; orders go through; SIGTERM
// lets a request in flight finish and the process exit 0.
func TestServeProcess(t *testing.T) {
	dir := t.TempDir()
	sp := startServe(t, dir, "--listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --outbox "+filepath.Join(dir, "outbox.db"))
	cmd, lines, exited := sp.cmd, sp.lines, sp.exited
	next := func() serveLine { t.Helper(); return sp.next(t) }
	first := next()
	if !strings.Contains(first.Msg, "embedded sandbox") || !strings.HasPrefix(first.URL, "https://127.0.0.1:") {
		t.Fatalf("first log line = %+v, want the embedded sandbox's URL", first)
	}
	serving := sp.serving(t)
	base, admin := "http://"+serving.Listen, "http://"+serving.Admin
	if bi := build(); serving.Version != bi.Version || serving.Revision != bi.Revision {
		t.Errorf("serving line carries version %q revision %q, want %q %q", serving.Version, serving.Revision, bi.Version, bi.Revision)
	}

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
	resp, err = http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bi := build(); !strings.Contains(string(metrics), `orderguard_build_info{build_time="`+bi.Time+`",goversion="`+bi.GoVersion+`",modified="`+bi.ModifiedLabel()+`",revision="`+bi.Revision+`",version="`+bi.Version+`"} 1`) {
		t.Errorf("/metrics has no orderguard_build_info for %+v", bi)
	}

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
	exited <- nil // for the cleanup's check
}
