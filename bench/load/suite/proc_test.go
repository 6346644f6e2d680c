package suite

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       float64
		err        bool
	}{
		{"plain", "1234 (orderguard) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 8 0 100 0 0", 4, false},
		{"spaces and parens in name", "99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0", 0.1, false},
		{"no name", "1234 orderguard S", 0, true},
		{"short", "1 (x) S 1 2", 0, true},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s 0 0", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.line))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("parseStatCPU = %v, %v; want %v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseVmHWM(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int64
		err      bool
	}{
		{"present", "Name:\tx\nVmPeak:\t  100 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1000 kB\n", 2048 * 1024, false},
		{"missing", "Name:\tx\n", 0, true},
		{"bad unit", "VmHWM:\t 12 MB\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVmHWM(strings.NewReader(tc.in))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("parseVmHWM = %v, %v; want %v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestProcLifecycle starts a real child (sh), reads its /proc figures, waits for
// its output and stops it.
func TestProcLifecycle(t *testing.T) {
	dir := t.TempDir()
	p, err := startProc("child", "/bin/sh", []string{"-c", "echo 'ready at http://127.0.0.1:1234'; exec sleep 30"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(time.Second)
	got, err := p.waitLog(regexp.MustCompile(`ready at (http://\S+)`), 5*time.Second)
	if err != nil || got != "http://127.0.0.1:1234" {
		t.Fatalf("waitLog = %q, %v", got, err)
	}
	if _, err := cpuSeconds(p.pid()); err != nil {
		t.Error(err)
	}
	if rss, err := peakRSS(p.pid()); err != nil || rss <= 0 {
		t.Errorf("peakRSS = %d, %v", rss, err)
	}
	p.stop(time.Second)
	if p.alive() {
		t.Fatal("process alive after stop")
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(p.pid()) + "/stat"); err == nil {
		// The pid could be reused, but not within this test in practice.
		t.Errorf("/proc entry of pid %d still exists after stop", p.pid())
	}
	p.stop(time.Second) // second stop is harmless
}

func TestProcExitsBeforeReady(t *testing.T) {
	p, err := startProc("quitter", "/bin/sh", []string{"-c", "echo 'cannot start: port taken'; exit 3"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.waitLog(regexp.MustCompile(`listening on (\S+)`), 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "port taken") {
		t.Errorf("waitLog err = %v; want the exit and the log tail", err)
	}
	if err := p.waitTCP("127.0.0.1:1", time.Second); err == nil {
		t.Error("waitTCP on an exited process: want an error")
	}
}

func TestStartMissingBinary(t *testing.T) {
	if _, err := startProc("nothing", "/nonexistent/orderguard", nil, t.TempDir()); err == nil {
		t.Error("want an error for a missing binary")
	}
}
