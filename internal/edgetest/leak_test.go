package edgetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/proxy"
	"github.com/orderguard/orderguard/internal/redact"
	"github.com/orderguard/orderguard/internal/sandbox"
)

// Test card numbers (Luhn-valid) in the spellings a careless integration
// might send, placed where no card number belongs.
var pans = []any{
	"4111111111111111",
	"4111 1111 1111 1111",
	json.Number("4111111111111111"),
	"5555-5555-5555-4444",
	"card 378282246310005 exp 12/29",
	"6011000990139424",
	json.Number("4000056655665556"),
	"4242424242424242@example.com",
}

// routes for a body by the corpus directory it comes from.
var routes = map[string][][2]string{
	"order-request":  {{"POST", "/v2/orders/%s"}, {"POST", "/v3/orders/%s"}},
	"status-request": {{"POST", "/v2/status/%s"}, {"PUT", "/v2/status/%s"}},
}

type payload struct {
	name   string
	method string
	path   string
	body   []byte
	header map[string]string
	// echoedID is an order id Forter's answer repeats (transaction, links):
	// the proxy passes Forter's bytes back unchanged, and the client sent
	// the id itself, so the answer body is scanned with it cut out.
	echoedID string
}

// corpus returns every real-world body on its routes, plus, for each body
// that decodes, variants with a card number in one leaf after another, and
// raw variants that break JSON right next to a card number.
func corpus(t *testing.T, leafEvery int) []payload {
	t.Helper()
	files, err := filepath.Glob("testdata/realworld/*/*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("realworld corpus: %d files, %v", len(files), err)
	}
	sort.Strings(files)
	var out []payload
	n := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Base(filepath.Dir(f))
		rs, ok := routes[dir]
		if !ok {
			rs = [][2]string{{"POST", "/v2/orders/%s"}} // answers sent as requests: invalid bodies
		}
		name := dir + "/" + filepath.Base(f)
		add := func(variant string, b []byte) {
			for _, r := range rs {
				n++
				out = append(out, payload{
					name:   name + " " + variant + " " + r[0] + " " + r[1],
					method: r[0], path: fmt.Sprintf(r[1], fmt.Sprintf("leak-%d", n)), body: b,
				})
			}
		}
		add("as is", body)
		var doc any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&doc) != nil {
			continue // not strict JSON (a recorded body with a raw line break): raw variants only
		}
		leaves := countLeaves(doc)
		for i := 0; i < leaves; i += leafEvery {
			pan := pans[(i/leafEvery)%len(pans)]
			v := replaceLeaf(doc, i, pan)
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			add(fmt.Sprintf("leaf %d = card", i), b)
		}
		if m, ok := doc.(map[string]any); ok {
			m2 := map[string]any{}
			for k, v := range m {
				m2[k] = v
			}
			m2["4111111111111111"] = "a card number as a member name"
			m2["cardNumber"] = "4111111111111111"
			m2["cvv"] = "737"
			b, _ := json.Marshal(m2)
			add("unknown members with card", b)
		}
	}
	// Broken JSON with a card number at the point of failure: a message that
	// quotes "the bytes near the error" would leak it.
	for i, raw := range []string{
		`{"orderId":"4111111111111111`,
		`{"orderId":4111111111111111x}`,
		`{"orderId":"a","orderId":"4111111111111111"}`,
		"{\"orderId\":\"\xff4111111111111111\"}",
		"{\"orderId\":\"4111111111111111\x01\"}",
		`{"orderId":"a"} 4111111111111111`,
		strings.Repeat("[", 100) + `"4111111111111111"` + strings.Repeat("]", 100),
		`4111111111111111`,
		`4111 1111 1111 1111`,
		`card=4111111111111111&cvv=737`,
		`{"payment":[{"creditCard":{"bin":"411111","lastFourDigits":"4111111111111111","nameOnCard":"4111111111111111","expirationMonth":"4111111111111111"}}]}`,
		`{"orderId":"` + strings.Repeat("4111111111111111 ", 500) + `"}`,
		`{"orderId":1e4111111111111111}`,
		`{"orderId":-4111111111111111}`,
		`{"orderId":"\u0034111111111111111"}`,
	} {
		for _, r := range [][2]string{{"POST", "/v2/orders/raw-%d"}, {"POST", "/v3/orders/raw-%d"}, {"PUT", "/v2/status/raw-%d"}} {
			out = append(out, payload{name: fmt.Sprintf("raw %d %s %s", i, r[0], r[1]), method: r[0], path: fmt.Sprintf(r[1], i), body: []byte(raw)})
		}
	}
	// Card numbers as member names and numbers, next to a violation of every
	// kind, so that a pointer naming the member is echoed (issue 17.3).
	for i, raw := range []string{
		`{"4111111111111111":1,"4111111111111111":2}`,                                                    // duplicate-key at the name
		`{"orderId":"a","totalAmount":{"4111111111111111":"1"}}`,                                         // schema: additionalProperties
		`{"orderId":"a","payment":[{"amount":{"5555 5555 5555 4444":"1"}}]}`,                             // schema, nested
		`{"orderId":"a","4111111111111111":{"x":1}}`,                                                     // rule: the name itself
		`{"orderId":"a","extra":{"n":4111111111111111,"m":[378282246310005]}}`,                           // rule: numbers
		`{"orderId":"a","4111111111111111":tru}`,                                                         // syntax after the name
		`{"orderId":"a","4111111111111111":{"6011000990139424":[1,2,}}`,                                  // syntax, two names deep
		`{"orderId":"a","x":{"4111111111111111":1,"4111111111111111":1}}`,                                // duplicate, equal values, nested
		`{"orderId":"a","cartItems":[{"basicItemData":{"4111111111111111":1,"price":{"amountUSD":1}}}]}`, // type error beside it
	} {
		for _, r := range [][2]string{{"POST", "/v2/orders/name-%d"}, {"POST", "/v3/orders/name-%d"}, {"PUT", "/v2/status/name-%d"}} {
			out = append(out, payload{name: fmt.Sprintf("card as name or number %d %s %s", i, r[0], r[1]), method: r[0], path: fmt.Sprintf(r[1], i), body: []byte(raw)})
		}
	}
	// Card numbers as the order id in the path, with a body Forter accepts
	// (forwarded: the request log names the order) and with a broken one.
	valid, err := os.ReadFile("testdata/realworld/order-request/workarea_01_get-decision_approve.json")
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("testdata/realworld/status-request/workarea_01_update-status_canceled-by-merchant.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"4111111111111111", "4111-1111-1111-1111", "order-5555555555554444", "378282246310005"} {
		out = append(out,
			payload{name: "card as order id, valid v2 " + id, method: "POST", path: "/v2/orders/" + id, body: valid, echoedID: id},
			payload{name: "card as order id, valid v3 " + id, method: "POST", path: "/v3/orders/" + id, body: valid, echoedID: id},
			payload{name: "card as order id, status " + id, method: "PUT", path: "/v2/status/" + id, body: status, echoedID: id},
			payload{name: "card as order id, invalid " + id, method: "POST", path: "/v2/orders/" + id, body: []byte(`{"orderId":"x","orderType":"WEBB"}`)},
			payload{name: "card as order id, duplicate " + id, method: "POST", path: "/v2/orders/" + id, body: []byte(`{"orderId":"x","orderId":"x"}`)},
		)
	}
	// Card numbers outside the body: a query string, a header, an unknown path.
	out = append(out,
		payload{name: "query string", method: "POST", path: "/v2/orders/q1?pan=4111111111111111&cvv=737", body: []byte(`{}`)},
		payload{name: "unknown route with card", method: "GET", path: "/v2/cards/lookup?number=4111111111111111"},
		payload{name: "header", method: "POST", path: "/v2/orders/h1", body: []byte(`{}`),
			header: map[string]string{"X-Card-Number": "4111111111111111", "Referer": "https://shop.example/?card=4111111111111111"}},
	)
	return out
}

func countLeaves(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := 0
		for _, e := range x {
			n += countLeaves(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += countLeaves(e)
		}
		return n
	}
	return 1
}

// replaceLeaf returns a copy of v with its i-th leaf (in sorted key order)
// replaced by with.
func replaceLeaf(v any, i int, with any) any {
	var walk func(v any) any
	k := 0
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for key := range x {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			out := make(map[string]any, len(x))
			for _, key := range keys {
				out[key] = walk(x[key])
			}
			return out
		case []any:
			out := make([]any, len(x))
			for j, e := range x {
				out[j] = walk(e)
			}
			return out
		}
		k++
		if k-1 == i {
			return with
		}
		return v
	}
	return walk(v)
}

// leakScanner collects everything the proxy said and reports what it must
// never say.
type leakScanner struct {
	t        *testing.T
	forbid   map[string][]byte
	findings int
}

func newLeakScanner(t *testing.T) *leakScanner {
	b64 := func(s string) []byte { return []byte(base64.StdEncoding.EncodeToString([]byte(s))) }
	return &leakScanner{t: t, forbid: map[string][]byte{
		"API key":                     []byte(apiKey),
		"API key as Basic credential": b64(apiKey + ":"),
		"client Authorization (user)": []byte(clientAuthUser),
		"client Authorization (pass)": []byte(clientAuthPass),
		"client Authorization value":  b64(clientAuthUser + ":" + clientAuthPass),
		"inbound secret":              []byte(inboundSecret),
	}}
}

// scan reports card numbers and credentials in data, showing where with the
// card numbers masked (the test output is a log too).
func (s *leakScanner) scan(what string, data []byte) {
	s.t.Helper()
	if s.findings > 20 {
		return
	}
	for _, sp := range redact.FindPANs(data) {
		s.findings++
		s.t.Errorf("%s: card number at byte %d: …%s…", what, sp.Start, around(data, sp.Start, sp.End))
	}
	for name, b := range s.forbid {
		if i := bytes.Index(data, b); i >= 0 {
			s.findings++
			s.t.Errorf("%s: %s at byte %d", what, name, i)
		}
	}
}

func around(data []byte, start, end int) string {
	lo, hi := max(0, start-60), min(len(data), end+60)
	return string(redact.Mask(data[lo:hi]))
}

var clientAuthorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(clientAuthUser+":"+clientAuthPass))

// send drives one payload through the edge and scans the whole answer. extra
// headers are set last; an empty value removes the header.
func send(t *testing.T, c *fasthttp.Client, e *edge, s *leakScanner, p payload, extra map[string]string) int {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(p.method)
	req.SetRequestURI("http://" + e.addr + p.path)
	req.Header.Set("Authorization", clientAuthorization)
	req.Header.Set(secretHeader, inboundSecret)
	req.Header.SetContentType("application/json")
	for k, v := range p.header {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	if p.body != nil {
		req.SetBody(p.body)
	}
	if err := c.DoTimeout(req, resp, 30*time.Second); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	s.scan(p.name+": answer header", resp.Header.Header())
	body := resp.Body()
	if p.echoedID != "" && resp.Header.Peek("X-Orderguard-Fallback") == nil {
		body = bytes.ReplaceAll(body, []byte(p.echoedID), []byte("<order id>"))
	}
	s.scan(p.name+": answer body", body)
	return resp.StatusCode()
}

// TestNothingLeaks drives the corpus and its variants through the proxy in
// every mode, and the fallback paths, at debug level.
func TestNothingLeaks(t *testing.T) {
	all := corpus(t, 7)
	values := bodyValues(all)
	if len(values) < 20 { // the corpus holds dozens of e-mails, names, addresses
		t.Fatalf("%d distinctive body values to look for: the corpus did not load", len(values))
	}
	c := &fasthttp.Client{MaxConnsPerHost: 8, ReadTimeout: 30 * time.Second}
	cases := []struct {
		name  string
		opts  edgeOpts
		every int               // send every n-th payload (1: all)
		fault map[string]string // headers for the sandbox
	}{
		{"enforce json", edgeOpts{mode: proxy.ModeEnforce, budget: 5 * time.Second, logFormat: "json"}, 1, nil},
		{"enforce problem+json", edgeOpts{mode: proxy.ModeEnforce, budget: 5 * time.Second, logFormat: "json"}, 3,
			map[string]string{"Accept": "application/problem+json"}},
		{"report text", edgeOpts{mode: proxy.ModeReport, budget: 5 * time.Second, logFormat: "text"}, 1, nil},
		{"off json", edgeOpts{mode: proxy.ModeOff, budget: 5 * time.Second, logFormat: "json"}, 2, nil},
		{"open fallback after 503", edgeOpts{mode: proxy.ModeReport, fallback: proxy.FallbackOpen, budget: 5 * time.Second, logFormat: "json"}, 5,
			map[string]string{sandbox.FaultHeader: "503"}},
		{"closed fallback after reset", edgeOpts{mode: proxy.ModeReport, fallback: proxy.FallbackClosed, budget: 5 * time.Second, logFormat: "text"}, 9,
			map[string]string{sandbox.FaultHeader: "reset"}},
		{"open fallback on timeout", edgeOpts{mode: proxy.ModeReport, fallback: proxy.FallbackOpen, budget: 150 * time.Millisecond, logFormat: "json"}, 40,
			map[string]string{sandbox.FaultHeader: "hang"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEdge(t, tc.opts)
			s := newLeakScanner(t)
			statuses := map[int]int{}
			sent := 0
			for i, p := range all {
				if i%tc.every != 0 {
					continue
				}
				statuses[send(t, c, e, s, p, tc.fault)]++
				sent++
			}
			// Refused at the edge: no secret, and a wrong one holding a card number.
			for _, v := range []string{"", "4111111111111111"} {
				p := payload{name: "inbound secret " + v, method: "POST", path: "/v2/orders/auth" + v, body: []byte(`{}`)}
				if got := send(t, c, e, s, p, map[string]string{secretHeader: v}); got != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", p.name, got)
				}
			}
			for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
				b := adminGet(t, e, path)
				s.scan("admin "+path, b)
			}
			logs := e.logs.Bytes()
			s.scan("logs", logs)
			spans := e.scanSpans(t, s)
			exported := bytes.Join(e.traces.Raw(), nil)
			// Never a body: no e-mail address or free-text value that was sent
			// (names, addresses, user agents) shows up in the logs or spans.
			for _, v := range values {
				if bytes.Contains(logs, []byte(v)) {
					t.Errorf("logs hold a value from a request body: %q", v)
				}
				if bytes.Contains(exported, []byte(v)) {
					t.Errorf("exported spans hold a value from a request body: %q", v)
				}
			}
			if len(spans) < sent {
				t.Errorf("%d spans exported for %d requests: is tracing on?", len(spans), sent)
			}
			// Proof the test looked at something: the debug log has a line per
			// request, and the expected outcomes happened.
			if lines := bytes.Count(logs, []byte("\n")); lines < sent/2 {
				t.Errorf("%d log lines for %d requests: is debug logging on?", lines, sent)
			}
			t.Logf("%d requests, statuses %v, %d bytes of logs", sent, statuses, len(logs))
			if tc.fault == nil && tc.opts.mode == proxy.ModeEnforce && statuses[400] == 0 {
				t.Error("enforce mode rejected nothing: the variants did not reach the validators")
			}
			if tc.fault != nil && tc.fault[sandbox.FaultHeader] != "" && statuses[200]+statuses[202]+statuses[502]+statuses[504] == 0 {
				t.Errorf("no fallback answers with fault %v: %v", tc.fault, statuses)
			}
		})
	}
}

// Requests kept by the outbox are resent while Forter is down: the
// resender's failure lines (which quote transport errors) must not leak
// what the requests carried either.
func TestNothingLeaksFromTheOutbox(t *testing.T) {
	e := startEdge(t, edgeOpts{mode: proxy.ModeReport, fallback: proxy.FallbackOpen,
		budget: 150 * time.Millisecond, logFormat: "json", outbox: true})
	s := newLeakScanner(t)
	c := &fasthttp.Client{ReadTimeout: 30 * time.Second}
	// Forter is down from the start: the live attempt fails, the request goes
	// to the outbox, and every resend fails too.
	if err := e.sb.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []payload{
		{name: "query string", method: "POST", path: "/v2/orders/ob1?pan=4111111111111111&cvv=737", body: []byte(`{"orderId":"4111111111111111"}`)},
		{name: "status", method: "PUT", path: "/v2/status/ob2?card=5555555555554444", body: []byte(`{"orderId":"ob2","updatedStatus":"4111 1111 1111 1111"}`)},
		{name: "card as order id", method: "POST", path: "/v2/orders/" + cardOrderID, body: []byte(`{"orderId":"ob3"}`)},
	} {
		if got := send(t, c, e, s, p, nil); got != 200 && got != 202 {
			t.Fatalf("%s: status %d, want the open fallback", p.name, got)
		}
	}
	// Wait for failed resends; the bound only keeps a stuck resender from
	// hanging the run.
	for deadline := time.Now().Add(20 * time.Second); ; {
		st, err := e.store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Failures >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed resend while the sandbox is down: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	logs := e.logs.Bytes()
	if !bytes.Contains(logs, []byte(`"component":"outbox"`)) {
		t.Fatalf("the resender logged nothing:\n%s", redact.Mask(logs))
	}
	s.scan("logs", logs)
	resends := 0
	for _, sp := range e.scanSpans(t, s) {
		if strings.HasPrefix(sp.Name, "outbox resend ") {
			resends++
		}
	}
	if resends == 0 {
		t.Error("no resend span exported")
	}
	for _, path := range []string{"/metrics"} {
		b := adminGet(t, e, path)
		s.scan("admin "+path, b)
	}
	// The listings show the order id masked (the bodies, in the export, are
	// the order data as sent, and only the order id and path are checked).
	for _, path := range []string{"/outbox", "/outbox/list", "/outbox/list?state=pending"} {
		b := adminGet(t, e, path)
		if !bytes.Contains(b, []byte(`"411111******1111"`)) {
			t.Errorf("admin %s does not list the order masked: %s", path, redact.Mask(b))
		}
		s.scan("admin "+path, b)
	}
	export := adminGet(t, e, "/outbox/export")
	lines := 0
	for _, line := range bytes.Split(bytes.TrimSpace(export), []byte("\n")) {
		var x struct {
			OrderID string `json:"order_id"`
			Path    string `json:"path"`
		}
		if err := json.Unmarshal(line, &x); err != nil {
			t.Fatalf("export line: %v", err)
		}
		s.scan("export order_id", []byte(x.OrderID))
		s.scan("export path", []byte(x.Path))
		lines++
	}
	if lines < 3 {
		t.Errorf("export has %d entries, want the 3 kept requests", lines)
	}
	// Masking is for what is shown: once Forter is back, the outbox resends
	// to the real path.
	if err := e.sb.Restart(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); e.sb.Received().Order(sandbox.EndpointOrderV2, cardOrderID).Received == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the outbox did not resend the order to its real path /v2/orders/<card number>")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.scan("logs after the resend", e.logs.Bytes())
}

// adminGet returns the body of a GET on the edge's admin listener.
func adminGet(t *testing.T, e *edge, path string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + e.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cardOrderID is a Luhn-valid card number used as an order id.
const cardOrderID = "4111111111111111"

// bodyValues returns the distinctive string values of the payloads' bodies:
// e-mail addresses and free text of 10 bytes or more with a space in it.
func bodyValues(ps []payload) []string {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			if strings.Contains(x, "@") || (len(x) >= 10 && strings.Contains(x, " ")) {
				seen[x] = true
			}
		}
	}
	for _, p := range ps {
		var doc any
		if json.Unmarshal(p.body, &doc) == nil {
			walk(doc)
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
