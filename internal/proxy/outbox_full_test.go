package proxy_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/pool/pooltest"
	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/testfs"
)

// TestReadyzOnAFullOutbox is issue 16.2 as it was found: the outbox on a
// full 64 KiB tmpfs, Forter answering 503 to everything. The first orders
// are kept and answered "not reviewed", the next 502 (nothing promised that
// was not kept), /readyz fails while the outbox cannot write (it answered
// 200 throughout), the failures are counted by cause, and all recovers once
// space is freed.
func TestReadyzOnAFullOutbox(t *testing.T) {
	dir := testfs.Tmpfs(t, 64<<10)
	body := validOrder(t)
	store, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{
		ProbeEvery: 20 * time.Millisecond, Headroom: outbox.HeadroomFor(len(body)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	up := pooltest.Start(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"failed","message":"unavailable"}`)
	}, false)
	e := startProxy(t, envOpts{upstream: up.URL, apiKey: "k", outbox: store,
		ready: map[string]func() error{"outbox": store.Ready}})
	if a := e.get(e.admin + "/readyz"); a.status != 200 {
		t.Fatalf("/readyz before the disk filled: %d %s", a.status, a.body)
	}

	free := testfs.Fill(t, dir)
	kept, refused := 0, 0
	for i := 0; i < 60 && refused < 5; i++ {
		a := e.do("POST", "/v2/orders/full-"+strconv.Itoa(i), body)
		switch {
		case a.status == 200 && a.header.Get(proxy.HeaderFallback) != "" && refused == 0:
			kept++
		case a.status == 502:
			refused++
		default:
			t.Fatalf("order %d (%d kept, %d refused before): %d %v %s", i, kept, refused, a.status, a.header, a.body)
		}
	}
	if kept == 0 || refused == 0 {
		t.Fatalf("%d orders kept, %d refused: want some of each on a full disk", kept, refused)
	}
	if st, err := store.Stats(); err != nil || st.Pending != kept {
		t.Fatalf("outbox holds %d (%v), want the %d answered \"not reviewed\"", st.Pending, err, kept)
	}
	a := e.get(e.admin + "/readyz")
	if a.status != 503 || !strings.Contains(a.body, "no_space") {
		t.Fatalf("/readyz while the outbox cannot write: %d %s, want 503 naming no_space", a.status, a.body)
	}
	if got := metric(t, e.p.Registry(), "orderguard_outbox_enqueue_errors_total", "cause", "no_space"); got != float64(refused) {
		t.Errorf("enqueue errors{cause=no_space} = %v, want %d", got, refused)
	}
	time.Sleep(100 * time.Millisecond) // several probes, no enqueue: still not ready
	if a := e.get(e.admin + "/readyz"); a.status != 503 {
		t.Fatalf("/readyz after probes on a full disk: %d %s", a.status, a.body)
	}

	free()
	deadline := time.Now().Add(5 * time.Second)
	for a := e.get(e.admin + "/readyz"); a.status != 200; a = e.get(e.admin + "/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after space was freed: %d %s", a.status, a.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := e.do("POST", "/v2/orders/after", body); a.status != 200 || a.header.Get(proxy.HeaderFallback) == "" {
		t.Fatalf("order after recovery: %d %v %s", a.status, a.header, a.body)
	}
}
