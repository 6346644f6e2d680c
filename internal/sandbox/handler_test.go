package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

func TestAuth(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, auth string
		want       int
	}{
		{"missing", "", 401},
		{"bearer", "Bearer abc", 401},
		{"not base64", "Basic !!!", 401},
		{"no colon", "Basic " + b64([]byte("key")), 401},
		{"empty user", "Basic " + b64([]byte(":secret")), 401},
		{"scheme only", "Basic ", 401},
		{"key and empty password", "Basic " + b64([]byte("key:")), 200},
		{"key and literal null password", "Basic " + b64([]byte("key:null")), 200},
		{"lower-case scheme", "basic " + b64([]byte("key:")), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got := mustDo(t, c, r, req{path: "/v2/orders/a1", body: orderBody("a1", ""), headers: with(stdHeaders(), "Authorization", tt.auth)})
			if code != tt.want {
				t.Fatalf("status %d, want %d: %v", code, tt.want, got)
			}
			if code == 401 && !reflect.DeepEqual(got, map[string]any{"status": "failed", "message": "unauthorized"}) {
				t.Errorf("401 body %v", got)
			}
		})
	}
}

func TestRequireSiteID(t *testing.T) {
	r := start(t, Options{Config: Config{RequireSiteID: true}})
	c := client(t, r, false)
	code, got := mustDo(t, c, r, req{path: "/v2/orders/a1", body: validOrder, headers: with(stdHeaders(), "x-forter-siteid", "")})
	if want := (map[string]any{"status": "failed", "message": "unauthorized, invalid site"}); code != 401 || !reflect.DeepEqual(got, want) {
		t.Errorf("no site id: %d %v, want 401 %v", code, got, want)
	}
	if code, got := mustDo(t, c, r, req{path: "/v2/orders/a1", body: validOrder}); code != 200 {
		t.Errorf("with site id: %d %v", code, got)
	}
}

func TestMissingAPIVersion(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	for _, path := range []string{"/v2/orders/a1", "/v3/orders/a1", "/v2/status/a1"} {
		code, got := mustDo(t, c, r, req{path: path, body: validOrder, headers: with(stdHeaders(), "api-version", "")})
		if code != 400 || got["status"] != "failed" || got["message"] != "missing api-version header" {
			t.Errorf("%s: %d %v, want 400", path, code, got)
		}
	}
}

func TestNotFound(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	for _, q := range []req{
		{method: "GET", path: "/v2/orders/a1"},
		{method: "PUT", path: "/v2/orders/a1"},
		{method: "POST", path: "/v2/orders/"},
		{method: "POST", path: "/v2/orders/a1/extra"},
		{method: "POST", path: "/v4/orders/a1"},
		{method: "DELETE", path: "/v2/status/a1"},
		{method: "POST", path: "/v2/accounts/bogus/acc1"},
		{method: "POST", path: "/v2/accounts/login/"},
		{method: "POST", path: "/credentials/test"},
		{method: "GET", path: "/"},
		{method: "GET", path: "/_sandbox/nothing"},
	} {
		q.body = "{}"
		code, got := mustDo(t, c, r, q)
		if want := (map[string]any{"status": "failed", "message": "Not found"}); code != 404 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s: %d %v, want 404 %v", q.method, q.path, code, got, want)
		}
	}
	if got := r.Received().Endpoints[EndpointNotFound].Received; got != 10 {
		t.Errorf("notFound received %d, want 10 (control paths are not recorded)", got)
	}
}

// A frozen clock makes the per-second window exact.
func TestRateLimit(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Unix(0, now.Load()) }
	r := start(t, Options{Config: cfg})
	c := client(t, r, false)
	limited := with(stdHeaders(), "x-forter-disable-persistence", "")
	send := func(h map[string]string) int {
		code, _ := mustDo(t, c, r, req{path: "/v2/orders/r1", body: validOrder, headers: h})
		return code
	}
	for i := 1; i <= ForterRateLimit; i++ {
		if code := send(limited); code != 200 {
			t.Fatalf("request %d: status %d, want 200", i, code)
		}
	}
	code, got := mustDo(t, c, r, req{path: "/v2/orders/r1", body: validOrder, headers: limited})
	if code != 429 || got["status"] != "failed" {
		t.Fatalf("request 11: %d %v, want 429", code, got)
	}
	hr, _ := http.NewRequest("POST", r.URL+"/v2/orders/r1", strings.NewReader(validOrder))
	for k, v := range limited {
		hr.Header.Set(k, v)
	}
	if resp, err := c.Do(hr); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("request 12: %d, Retry-After %q; want 429, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// Another site has its own budget; the site is the header, else the key.
	if code := send(with(limited, "x-forter-siteid", "site2")); code != 200 {
		t.Errorf("other site: %d, want 200", code)
	}
	noSite := with(limited, "x-forter-siteid", "", "Authorization", authValue("otherkey"))
	for i := 0; i < ForterRateLimit; i++ {
		send(noSite)
	}
	if code := send(noSite); code != 429 {
		t.Errorf("11th request keyed by API key: %d, want 429", code)
	}
	// Load tests disable persistence, in either spelling.
	for _, h := range []string{"x-forter-disable-persistence", "x-forter-disable-persistance"} {
		if code := send(with(limited, h, "TRUE")); code != 200 {
			t.Errorf("%s: %d, want 200", h, code)
		}
	}
	now.Add(int64(time.Second))
	if code := send(limited); code != 200 {
		t.Errorf("next second: %d, want 200", code)
	}
}

// fakeOps stands in for the generated validators: a schema violation when
// orderType is "INVALID_TYPE", a syntax one when the body is "{", and a
// business rule violation (ignored by Forter) when orderType is "RULE".
func fakeOps() []validate.Operation {
	fn := func(body []byte, r *validate.Report) {
		switch string(body) {
		case `{"orderType":"INVALID_TYPE"}`:
			r.Violations = append(r.Violations,
				validate.Violation{Pointer: "/orderType", Kind: validate.KindSchema, Rule: "enum", Message: "No enum match"},
				validate.Violation{Pointer: "/cartItems/0/basicItemData/name", Kind: validate.KindSchema, Rule: "required", Message: "missing required property"})
		case `{`:
			r.Violations = append(r.Violations, validate.Violation{Pointer: "", Kind: validate.KindSyntax, Rule: "syntax", Message: "unexpected end of input"})
		case `{"orderType":"RULE"}`:
			r.Violations = append(r.Violations, validate.Violation{Pointer: "/payment", Kind: validate.KindRule, Rule: "card-needs-bin", Message: "a card needs bin or token"})
		}
	}
	return []validate.Operation{
		{ID: "orderV2", Method: "POST", Path: "/v2/orders/{orderId}", Request: fn},
		{ID: "statusPut", Method: "PUT", Path: "/v2/status/{orderId}", Request: fn},
	}
}

func TestMalformedBody(t *testing.T) {
	r := start(t, Options{Config: Config{Operations: fakeOps()}})
	c := client(t, r, false)
	tests := []struct {
		name, method, path, body string
		want                     int
		errors                   []any
	}{
		{"schema", "POST", "/v2/orders/m1", `{"orderType":"INVALID_TYPE"}`, 400, []any{
			map[string]any{"message": "No enum match", "path": "#/orderType"},
			map[string]any{"message": "missing required property", "path": "#/cartItems/0/basicItemData/name"},
		}},
		{"syntax", "PUT", "/v2/status/m1", `{`, 400, []any{map[string]any{"message": "unexpected end of input", "path": "#"}}},
		{"rule only", "POST", "/v2/orders/m1", `{"orderType":"RULE"}`, 200, nil},
		{"valid", "POST", "/v2/orders/m1", `{}`, 200, nil},
		// No validator for v3 here: a body that is not JSON is still refused.
		{"not JSON without validator", "POST", "/v3/orders/m1", `{"a":`, 400, []any{map[string]any{"message": "body is not one valid JSON document", "path": "#"}}},
		{"empty body without validator", "POST", "/v2/status/m1", ``, 400, []any{map[string]any{"message": "body is not one valid JSON document", "path": "#"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got := mustDo(t, c, r, req{method: tt.method, path: tt.path, body: tt.body})
			if code != tt.want {
				t.Fatalf("status %d, want %d: %v", code, tt.want, got)
			}
			if tt.want != 400 {
				return
			}
			want := map[string]any{"status": "failed", "message": "Malformed request", "errorsCount": float64(len(tt.errors)), "errors": tt.errors}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("answer\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestSkipValidation(t *testing.T) {
	r := start(t, Options{Config: Config{Operations: fakeOps(), SkipValidation: true}})
	c := client(t, r, false)
	if code, got := mustDo(t, c, r, req{path: "/v2/orders/m1", body: `{"orderType":"INVALID_TYPE"}`}); code != 200 {
		t.Errorf("skip validation: %d %v, want 200", code, got)
	}
}

func TestReceivedEndpoint(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	mustDo(t, c, r, req{path: "/v2/orders/o1", body: validOrder})
	mustDo(t, c, r, req{path: "/v2/orders/o1", body: validOrder})
	mustDo(t, c, r, req{path: "/v2/orders/o2", body: validOrder, headers: with(stdHeaders(), "Authorization", "")})
	mustDo(t, c, r, req{method: "PUT", path: "/v2/status/o1", body: statusBody})
	mustDo(t, c, r, req{path: "/v2/orders/o3", body: validOrder, headers: with(stdHeaders(), FaultHeader, "503")})

	code, b, err := do(t, c, r, req{method: "GET", path: "/_sandbox/received"})
	if err != nil || code != 200 {
		t.Fatalf("GET received: %d %v", code, err)
	}
	var got Received
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if got.Total != 5 {
		t.Errorf("total %d, want 5", got.Total)
	}
	wantV2 := Counts{Received: 4, OK: 2, Status: map[string]uint64{"200": 2, "401": 1, "503": 1}}
	if !reflect.DeepEqual(got.Endpoints[EndpointOrderV2], wantV2) {
		t.Errorf("orderV2 counts %+v, want %+v", got.Endpoints[EndpointOrderV2], wantV2)
	}
	wantOrders := []OrderCounts{
		{EndpointOrderV2, "o1", Counts{Received: 2, OK: 2, Status: map[string]uint64{"200": 2}}},
		{EndpointOrderV2, "o2", Counts{Received: 1, Status: map[string]uint64{"401": 1}}},
		{EndpointStatusPut, "o1", Counts{Received: 1, OK: 1, Status: map[string]uint64{"200": 1}}},
		{EndpointOrderV2, "o3", Counts{Received: 1, Status: map[string]uint64{"503": 1}}},
	}
	if !reflect.DeepEqual(got.Orders, wantOrders) {
		t.Errorf("orders\n got %+v\nwant %+v", got.Orders, wantOrders)
	}
	if c := got.Order(EndpointOrderV2, "o1"); c.Received != 2 {
		t.Errorf("Order(orderV2, o1) = %+v", c)
	}

	if code, _, err := do(t, c, r, req{method: "DELETE", path: "/_sandbox/received"}); err != nil || code != 204 {
		t.Fatalf("DELETE received: %d %v", code, err)
	}
	if got := r.Received(); got.Total != 0 || len(got.Orders) != 0 {
		t.Errorf("after reset: %+v", got)
	}
}

func TestRecorderBounded(t *testing.T) {
	rec := newRecorder(3)
	for i, id := range []string{"a", "b", "a", "c", "d", "e", "d", "f", "g", "h", "i"} {
		rec.arrive(EndpointOrderV2, id)
		rec.answer(EndpointOrderV2, id, 200, "")
		if n := len(rec.fifo) - rec.head; n > 3 || len(rec.fifo) > 7 {
			t.Fatalf("after %d arrivals: %d live, queue of %d", i+1, n, len(rec.fifo))
		}
	}
	s := rec.snapshot()
	var ids []string
	for _, o := range s.Orders {
		ids = append(ids, o.ID)
	}
	if want := []string{"g", "h", "i"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("kept %v, want %v", ids, want)
	}
	if s.OrdersDropped != 6 || s.Total != 11 || s.Endpoints[EndpointOrderV2].OK != 11 {
		t.Errorf("dropped %d total %d ok %d, want 6, 11, 11", s.OrdersDropped, s.Total, s.Endpoints[EndpointOrderV2].OK)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ErrorRate: 1.5},
		{HangRate: -0.1},
		{ErrorRate: 0.6, ResetRate: 0.6},
		{Latency: Latency{P50: time.Millisecond}},
		{Latency: Latency{P50: 10 * time.Millisecond, P99: time.Millisecond}},
		{Latency: Latency{Fixed: time.Millisecond, P50: time.Millisecond, P99: 2 * time.Millisecond}},
		{RateLimit: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	r := start(t, Options{Config: Config{MaxBodySize: 512}})
	c := client(t, r, true)
	code, got := mustDo(t, c, r, req{path: "/v2/orders/big", body: validOrder})
	if want := (map[string]any{"status": "failed", "message": "request body too large"}); code != 413 || !reflect.DeepEqual(got, want) {
		t.Errorf("%d-byte body over a 512-byte cap: %d %v, want 413 %v", len(validOrder), code, got, want)
	}
}

// The handler mounted on a caller's own fasthttp server: Close still
// releases the requests it holds.
func TestHandlerOnCallersServer(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	hs := &fasthttp.Server{Handler: srv.Handler()}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		ln.Close()
		<-served
	}()
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}

	res := make(chan error, 1)
	go func() {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://sandbox/v2/orders/own-1")
		req.Header.SetMethod("POST")
		req.Header.Set(FaultHeader, "hang")
		res <- c.Do(req, resp)
	}()
	for srv.Received().Order(EndpointOrderV2, "own-1").Status[StatusHang] == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-res; err == nil {
		t.Error("hung request answered after Close")
	}
}

func TestListenAndServeBadAddress(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenAndServe("127.0.0.1:notaport"); err == nil || !strings.Contains(err.Error(), "sandbox listen") {
		t.Errorf("ListenAndServe on a bad address: %v", err)
	}
}

// Every operation of the generated table is a route, named in the received
// log by its id (accounts and claims together), its parameter the id; the
// path with a segment more or less, an empty parameter or another method is
// not found.
func TestRoutesFromTable(t *testing.T) {
	for _, op := range gen.Operations {
		path := strings.NewReplacer("{orderId}", "o-1", "{accountId}", "o-1").Replace(op.Path)
		r := match([]byte(op.Method), []byte(path))
		want := op.ID
		switch op.Shape() {
		case validate.FallbackAccount:
			want = EndpointAccounts
		case validate.FallbackClaim:
			want = EndpointClaims
		}
		if r.endpoint != want || r.key != op.Method+" "+templateKey(op.Path) || r.shape != op.Fallback {
			t.Errorf("%s %s = %+v, want endpoint %s", op.Method, path, r, want)
		}
		if strings.Contains(op.Path, "{") && r.id != "o-1" {
			t.Errorf("%s %s: id %q, want o-1", op.Method, path, r.id)
		}
		bads := []string{path + "/", path + "/x", "/x" + path}
		if strings.Contains(op.Path, "{") {
			bads = append(bads, strings.TrimSuffix(path, "o-1")) // an empty parameter
		}
		for _, bad := range bads {
			if r := match([]byte(op.Method), []byte(bad)); r.endpoint != EndpointNotFound {
				t.Errorf("%s %s routed to %+v", op.Method, bad, r)
			}
		}
		if r := match([]byte("DELETE"), []byte(path)); r.endpoint != EndpointNotFound {
			t.Errorf("DELETE %s routed to %+v", path, r)
		}
	}
}

func TestRecorderArrivals(t *testing.T) {
	rec := newRecorder(3)
	before := time.Now()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		rec.arrive(EndpointOrderV2, id)
	}
	rec.arrive(EndpointNotFound, "")
	got := rec.snapshot().Arrivals
	var ids []string
	for i, a := range got {
		ids = append(ids, a.ID)
		if a.Endpoint != EndpointOrderV2 || a.At.Before(before) || (i > 0 && a.At.Before(got[i-1].At)) {
			t.Errorf("arrival %d = %+v", i, a)
		}
	}
	if strings.Join(ids, ",") != "c,d,e" {
		t.Errorf("arrivals %v, want the newest 3 oldest first (c,d,e), no 404", ids)
	}
	rec.reset()
	if n := len(rec.snapshot().Arrivals); n != 0 {
		t.Errorf("after reset: %d arrivals", n)
	}
}
