package outbox_test

// End to end, with real processes: the orderguard binary built from
// cmd/proxy, `orderguard serve` with --outbox, and `orderguard sandbox` as
// Forter, all on 127.0.0.1. The proxy is killed with SIGKILL, the sandbox is
// taken down and brought back; what a client was told is checked against
// what the sandbox received.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/sandbox"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// orderguardBin builds the binary once per test run.
func orderguardBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		// make test runs these; make test-short is the quick loop.
		t.Skip("end-to-end with real processes: not in -short mode")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "orderguard-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "orderguard")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/orderguard/orderguard/cmd/proxy")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/proxy: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is a running orderguard process with its output collected.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, done: make(chan struct{})}
	p.cmd = exec.Command(orderguardBin(t), args...)
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.Write(sc.Bytes())
			p.out.WriteByte('\n')
			p.mu.Unlock()
		}
	}()
	go func() {
		p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits for a line matching re and returns its submatches.
func (p *proc) waitOutput(re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before printing %s:\n%s", p.name, p.cmd.ProcessState, re, p.output())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not print %s:\n%s", p.name, re, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown path runs, as in a crash or an OOM kill.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() int {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Errorf("%s did not exit within 30s of SIGTERM", p.name)
		p.kill()
	}
	return p.cmd.ProcessState.ExitCode()
}

var (
	servingRE = regexp.MustCompile(`"msg":"orderguard serving","listen":"([^"]+)","admin":"([^"]+)"`)
	sandboxRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)
)

// startSandbox runs `orderguard sandbox` (bodies checked only for being
// JSON: this is about delivery, not the schema) and returns its URL.
func startSandbox(t *testing.T, addr string) (*proc, string) {
	t.Helper()
	p := start(t, "sandbox", nil, "sandbox", "--listen", addr, "--no-validate")
	return p, p.waitOutput(sandboxRE)[1]
}

// startProxy runs `orderguard serve` on the outbox file in front of upstream
// and returns its listen and admin base URLs.
func startProxy(t *testing.T, upstream, file string, extra ...string) (*proc, string, string) {
	t.Helper()
	args := append([]string{"serve",
		"--upstream", upstream,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--outbox", file, "--outbox-rate", "8",
		"--mode", "report", "--budget", "1s", "--log-format", "json",
	}, extra...)
	p := start(t, "proxy", []string{"ORDERGUARD_API_KEY=e2e-test-key"}, args...)
	m := p.waitOutput(servingRE)
	return p, "http://" + m[1], "http://" + m[2]
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var client = &http.Client{Timeout: 10 * time.Second}

// sendOrder posts one order through the proxy and says whether the client
// was answered with the proxy's fallback (an acknowledgement the order will
// reach Forter later).
func sendOrder(proxyURL, id string) (fallback bool, err error) {
	body := fmt.Sprintf(`{"orderId":%q,"orderType":"WEB","checkoutTime":1700000000,"totalAmount":{"amountUSD":"12.50"}}`, id)
	req, _ := http.NewRequest("POST", proxyURL+"/v2/orders/"+id, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-version", "2.36")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("X-Orderguard-Fallback") == "" {
		return false, fmt.Errorf("order %s: %d %q, want the open fallback", id, resp.StatusCode, b)
	}
	if !bytes.Contains(b, []byte("not reviewed")) {
		return false, fmt.Errorf("order %s: fallback body %s", id, b)
	}
	return true, nil
}

// sendStatus puts one status update through the proxy; during an outage the
// proxy answers 202 with its fallback header.
func sendStatus(proxyURL, id string) error {
	body := fmt.Sprintf(`{"orderId":%q,"eventTime":1700000100000,"updatedStatus":"COMPLETED"}`, id)
	req, _ := http.NewRequest("PUT", proxyURL+"/v2/status/"+id, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-version", "2.36")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 || resp.Header.Get("X-Orderguard-Fallback") == "" {
		return fmt.Errorf("status %s: %d %q, want the open fallback (202)", id, resp.StatusCode, b)
	}
	return nil
}

func outboxStats(t *testing.T, adminURL string) outbox.Stats {
	t.Helper()
	var st outbox.Stats
	resp, err := client.Get(adminURL + "/outbox/stats")
	if err != nil {
		t.Fatalf("admin /outbox/stats: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin /outbox/stats: %d %v", resp.StatusCode, err)
	}
	return st
}

// sandboxReceived returns, per order id, how many orderV2 requests the
// sandbox answered 2xx, and the position of each (endpoint, id) in the order
// the sandbox first saw them.
func sandboxReceived(t *testing.T, sandboxURL string) (map[string]uint64, map[string]int) {
	t.Helper()
	r, err := sandbox.FetchReceived(client, sandboxURL)
	if err != nil {
		t.Fatal(err)
	}
	ok, pos := map[string]uint64{}, map[string]int{}
	for i, o := range r.Orders {
		if o.Endpoint == sandbox.EndpointOrderV2 {
			ok[o.ID] += o.OK
		}
		pos[o.Endpoint+" "+o.ID] = i
	}
	return ok, pos
}

// runCLI runs the binary to completion and returns its standard output.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(orderguardBin(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("orderguard %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2EOutage: Forter (the sandbox) is down, N orders go through the proxy
// and each client gets the fallback; the outbox holds N. The sandbox comes
// back: all N are delivered, the queue is empty.
func TestE2EOutage(t *testing.T) {
	dir := t.TempDir()
	sandboxAddr := freeAddr(t) // nothing listens there yet: Forter is down
	proxy, proxyURL, adminURL := startProxy(t, "http://"+sandboxAddr, filepath.Join(dir, "outbox.db"))

	const n, updates = 12, 4 // the first 4 orders also get a status update
	for i := range n {
		if _, err := sendOrder(proxyURL, fmt.Sprintf("OUT-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range updates {
		if err := sendStatus(proxyURL, fmt.Sprintf("OUT-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := outboxStats(t, adminURL); st.Pending != n+updates || st.Enqueued != n+updates {
		t.Fatalf("during the outage: %+v, want %d queued", st, n+updates)
	}
	// What an operator sees, with the CLI against the running proxy.
	var listed []outbox.Entry
	if out := runCLI(t, "outbox", "list", "--admin", adminURL, "--json"); json.Unmarshal([]byte(out), &listed) != nil || len(listed) != n+updates || listed[0].OrderID != "OUT-00" {
		t.Errorf("outbox list --admin: %d entries, want %d from OUT-00:\n%s", len(listed), n+updates, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "outbox.db")); err != nil {
		t.Errorf("outbox file: %v", err)
	}

	_, sandboxURL := startSandbox(t, sandboxAddr)
	eventually(t, "the outbox to drain", 60*time.Second, func() bool {
		st := outboxStats(t, adminURL)
		return st.Pending == 0 && st.Delivered == n+updates
	})
	got, pos := sandboxReceived(t, sandboxURL)
	for i := range n {
		id := fmt.Sprintf("OUT-%02d", i)
		if got[id] == 0 {
			t.Errorf("order %s acknowledged with a fallback never reached the sandbox", id)
		}
	}
	for i := range updates {
		id := fmt.Sprintf("OUT-%02d", i)
		o, okO := pos["orderV2 "+id]
		u, okU := pos["statusPut "+id]
		if !okO || !okU || u < o {
			t.Errorf("%s: order at %d (%v), status update at %d (%v): want the order first", id, o, okO, u, okU)
		}
	}
	if st := outboxStats(t, adminURL); st.Dead != 0 {
		t.Errorf("dead-lettered %d, want 0", st.Dead)
	}
	if out := runCLI(t, "outbox", "list", "--state", "delivered", "--admin", adminURL); strings.Count(out, "orderV2") != n || strings.Count(out, "statusPut") != updates {
		t.Errorf("outbox list --state delivered: want %d decisions:\n%s", n, out)
	}
	if code := proxy.stop(); code != 0 {
		t.Errorf("proxy exit code %d after SIGTERM, want 0", code)
	}
}

// TestE2ECrash: during an outage, orders flow from several clients; the proxy
// is SIGKILLed mid-stream, restarted on the same file, the sandbox comes
// back: every order whose client got a fallback is delivered.
func TestE2ECrash(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "outbox.db")
	sandboxAddr := freeAddr(t)
	proxy, proxyURL, _ := startProxy(t, "http://"+sandboxAddr, file)

	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("CRASH-%d-%03d", w, i)
				if ok, err := sendOrder(proxyURL, id); ok {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				} else if err != nil {
					return // the proxy is gone: this client got no promise
				}
				time.Sleep(25 * time.Millisecond) // a checkout's pace, and a bounded test

			}
		}()
	}
	eventually(t, "orders acknowledged before the crash", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 30
	})
	proxy.kill() // SIGKILL while clients are sending
	close(stop)
	wg.Wait()
	mu.Lock()
	promised := append([]string(nil), acked...)
	mu.Unlock()
	t.Logf("%d orders acknowledged with a fallback before SIGKILL", len(promised))

	// The file as SIGKILL left it: readable (the dead process's lock went
	// with it), every acknowledged order in it.
	var onDisk []outbox.Entry
	if out := runCLI(t, "outbox", "list", "--file", file, "--limit", "0", "--json"); json.Unmarshal([]byte(out), &onDisk) != nil {
		t.Fatalf("outbox list --file after SIGKILL:\n%s", out)
	}
	kept := map[string]bool{}
	for _, e := range onDisk {
		kept[e.OrderID] = true
	}
	for _, id := range promised {
		if !kept[id] {
			t.Errorf("order %s: client got a fallback, not in the outbox file after SIGKILL", id)
		}
	}

	// Same file, new process.
	_, _, adminURL := startProxy(t, "http://"+sandboxAddr, file)
	if st := outboxStats(t, adminURL); st.Pending < len(promised) {
		t.Fatalf("after restart %d pending, want at least the %d acknowledged", st.Pending, len(promised))
	}
	_, sandboxURL := startSandbox(t, sandboxAddr)
	eventually(t, "the outbox to drain", 90*time.Second, func() bool { return outboxStats(t, adminURL).Pending == 0 })

	got, _ := sandboxReceived(t, sandboxURL)
	lost := 0
	for _, id := range promised {
		if got[id] == 0 {
			lost++
			t.Errorf("order %s: client got a fallback, the sandbox never got the order", id)
		}
	}
	if st := outboxStats(t, adminURL); st.Dead != 0 {
		t.Errorf("dead-lettered %d after the crash, want 0", st.Dead)
	}
	t.Logf("%d acknowledged, %d delivered to the sandbox, %d lost", len(promised), len(got), lost)
}

// TestE2ELockedOutbox: a second proxy on the same file refuses to start,
// saying why, instead of sharing (and corrupting) it.
func TestE2ELockedOutbox(t *testing.T) {
	file := filepath.Join(t.TempDir(), "outbox.db")
	upstream := "http://" + freeAddr(t)
	startProxy(t, upstream, file)
	second := start(t, "second proxy", []string{"ORDERGUARD_API_KEY=k"}, "serve", "--upstream", upstream,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--outbox", file)
	select {
	case <-second.done:
	case <-time.After(30 * time.Second):
		t.Fatal("a second proxy on the same outbox file is still running")
	}
	if code := second.cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(second.output(), "locked by another process") {
		t.Errorf("second proxy: exit %d, output:\n%s\nwant a failure saying the file is locked", code, second.output())
	}
}
