package edgetest

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proc is `orderguard serve` as a child process: its log, its addresses,
// and whether it is still running.
type proc struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
	listen string // from the "orderguard serving" line
	admin  string
}

// startProc runs argv (orderguard serve …, possibly behind prlimit), waits
// for the "orderguard serving" line and stops the process at the end of the
// test.
func startProc(t *testing.T, env []string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	logs := &syncBuffer{}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: logs, exited: make(chan struct{})}
	serving := make(chan struct{ listen, admin string }, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, logs))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l struct{ Msg, Listen, Admin string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "orderguard serving" {
				serving <- struct{ listen, admin string }{l.Listen, l.Admin}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.alive() {
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("orderguard output:\n%s", clipLog(logs.String()))
		}
	})
	select {
	case s := <-serving:
		p.listen, p.admin = s.listen, s.admin
	case <-p.exited:
		t.Fatalf("orderguard exited before serving:\n%s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("no serving line within 30s")
	}
	return p
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// metric reads one sample from the process's /metrics (name with labels, as
// Prometheus text writes it); -1 when it cannot be read.
func (p *proc) metric(t *testing.T, sample string) float64 {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + p.admin + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no sample %s in /metrics", sample)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// clipLog keeps a failing test's output readable: the first and last lines.
func clipLog(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= 60 {
		return s
	}
	return strings.Join(lines[:20], "\n") + "\n…\n" + strings.Join(lines[len(lines)-40:], "\n")
}
