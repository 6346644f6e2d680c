package main

import (
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The coordinator's scaled run: go test ./cmd/proxy -run TestSpecReloadProcess -args -reloads 1000 -reload-rate 2000
var (
	reloads    = flag.Int("reloads", 40, "reloads TestSpecReloadProcess makes under traffic (each compiles the spec: ~75 ms)")
	reloadRate = flag.Int("reload-rate", 300, "requests per second TestSpecReloadProcess sends meanwhile")
)

// TestSpecReloadProcess runs `orderguard serve --overlay` as a process: the
// overlay's field is enforced; the file changed and SIGHUP sent, the change
// is enforced; a broken file is refused (one log line, the failure metric,
// /readyz still ready, the previous spec still serving); then reloads under
// traffic lose no request and give every request one of the two programs'
// answers.
func TestSpecReloadProcess(t *testing.T) {
	dir := t.TempDir()
	ov := filepath.Join(dir, "overlay.yaml")
	eligibility := mustRead(t, "../../examples/overlays/paypal-protection-eligibility/overlay.yaml")
	category := mustRead(t, "../../examples/overlays/item-category-rule/overlay.yaml")
	if err := os.WriteFile(ov, eligibility, 0o644); err != nil {
		t.Fatal(err)
	}
	sp := startServe(t, dir, "--listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --outbox "+filepath.Join(dir, "outbox.db")+" --overlay "+ov)
	serving := sp.serving(t)
	var logMu sync.Mutex
	var logs []string
	go func() {
		for l := range sp.lines {
			logMu.Lock()
			logs = append(logs, l.Msg)
			logMu.Unlock()
		}
	}()
	base, admin := "http://"+serving.Listen, "http://"+serving.Admin
	noEligibility := mustRead(t, "../../examples/overlays/paypal-protection-eligibility/refuse/paypal-without-eligibility.json")
	noCategory := mustRead(t, "../../examples/overlays/item-category-rule/refuse/item-without-category.json")
	valid := mustRead(t, "../../examples/overlays/item-category-rule/accept/items-with-category.json")
	client := &http.Client{Timeout: 5 * time.Second}
	post := func(body []byte) (int, string) {
		req, _ := http.NewRequest("POST", base+"/v2/orders/r1", strings.NewReader(string(body)))
		req.Header.Set("api-version", "2.3")
		req.Header.Set("x-forter-disable-persistence", "true") // past the sandbox's 10 req/s limit
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) {
		resp, err := client.Get(admin + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	reload := func() (int, string) {
		resp, err := client.Post(admin+"/spec/reload", "", nil)
		if err != nil {
			t.Fatalf("POST /spec/reload: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := post(noEligibility); code != 400 || !strings.Contains(body, "protectionEligibility") {
		t.Fatalf("overlay's required member not enforced: %d %s", code, body)
	}
	if code, _ := post(noCategory); code != 200 {
		t.Fatalf("a body the first overlay accepts: %d", code)
	}
	_, spec1 := get("/spec")

	// The file changed, then SIGHUP: the new overlay serves.
	if err := os.WriteFile(ov, category, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := post(noCategory)
		if code == 400 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not bring in the changed overlay within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := post(noEligibility); code != 200 {
		t.Fatalf("after the reload, the old overlay's member is still required: %d", code)
	}
	if _, spec2 := get("/spec"); spec2 == spec1 || !strings.Contains(spec2, `"engine":"compiled"`) {
		t.Fatalf("GET /spec after the reload: %s (before: %s)", spec2, spec1)
	}

	// A broken file: refused, counted, logged once; the previous spec serves.
	if err := os.WriteFile(ov, []byte("overlay: 1.1.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.components.schemas.NoSuchSchema\n    update: {required: [x]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := reload(); code != 422 || !strings.Contains(body, ov) {
		t.Fatalf("broken overlay: POST /spec/reload = %d %s, want 422 naming the file", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz after a failed reload: %d", code)
	}
	if _, m := get("/metrics"); !strings.Contains(m, "orderguard_spec_reload_failures_total 1") || !strings.Contains(m, `orderguard_spec_info{engine="compiled"`) {
		t.Fatalf("metrics after a failed reload lack the failure count or spec info")
	}
	if code, _ := post(noCategory); code != 400 {
		t.Fatalf("after a failed reload the previous spec must keep serving: %d", code)
	}

	// Reloads under traffic: every request answered, 200 or the rule's 400.
	var sent, lost atomic.Int64
	var wrong atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	workers := 8
	interval := time.Duration(int64(time.Second) * int64(workers) / int64(*reloadRate))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				body := valid
				if i%2 == 1 {
					body = noCategory
				}
				code, resp := post(body)
				sent.Add(1)
				switch {
				case code == 200:
				case code == 400 && strings.Contains(resp, "merchant-item-category"):
				case code == 400 && strings.Contains(resp, "protectionEligibility"):
				default:
					lost.Add(1)
					wrong.Store(resp)
				}
			}
		}()
	}
	for i := 0; i < *reloads; i++ {
		content := eligibility
		if i%2 == 1 {
			content = category
		}
		if err := os.WriteFile(ov+".tmp", content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(ov+".tmp", ov); err != nil { // atomic, as a ConfigMap update
			t.Fatal(err)
		}
		if code, body := reload(); code != 200 {
			t.Fatalf("reload %d: %d %s", i, code, body)
		}
	}
	close(stop)
	wg.Wait()
	if lost.Load() > 0 {
		t.Fatalf("%d of %d requests lost or answered wrongly during %d reloads (e.g. %v)", lost.Load(), sent.Load(), *reloads, wrong.Load())
	}
	if sent.Load() < int64(*reloads) {
		t.Fatalf("only %d requests during %d reloads", sent.Load(), *reloads)
	}
	logMu.Lock()
	refused := 0
	for _, l := range logs {
		if strings.Contains(l, "spec reload refused") {
			refused++
		}
	}
	logMu.Unlock()
	if refused != 1 {
		t.Errorf("%d 'spec reload refused' log lines, want 1", refused)
	}
	t.Logf("%d requests during %d reloads: none lost", sent.Load(), *reloads)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
