package inbound

import (
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestJSONLimitsCheck(t *testing.T) {
	l := &JSONLimits{MaxDepth: 3, MaxString: 10, MaxArray: 4}
	cases := []struct {
		name, body, want string
	}{
		{"flat", `{"a":"0123456789","b":[1,2,3,4]}`, ""},
		{"depth 3", `{"a":[{"b":1}]}`, ""},
		{"depth 4", `{"a":[{"b":[]}]}`, "max-depth"},
		{"string 11", `{"a":"0123456789x"}`, "max-string"},
		{"long member name", `{"0123456789x":1}`, "max-string"},
		{"escapes count as written", `{"a":"\"\"\"\"\"\""}`, "max-string"},
		{"escaped quote does not end", `{"a":"\"[[[[[[[["}`, ""},
		{"array 5", `[1,2,3,4,5]`, "max-array"},
		{"commas inside strings", `["a,b,c,d,e"]`, ""},
		{"commas of an object", `{"a":1,"b":2,"c":3,"d":4,"e":5}`, ""},
		{"inner array counted alone", `[[1,2,3,4],[1,2,3,4]]`, ""},
		{"not json", `card=4111111111111111&cvv=737`, ""},
		{"unterminated string", `{"a":"012345678901`, "max-string"},
		{"stray closers", `]]]}}}[1,2]`, ""},
		{"empty", ``, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := l.Check([]byte(c.body))
			if got != c.want {
				t.Fatalf("Check(%s) = %q, want %q", c.body, got, c.want)
			}
		})
	}
	off := &JSONLimits{}
	if got, _ := off.Check([]byte(strings.Repeat("[", 1000) + `"` + strings.Repeat("x", 1e5) + `"`)); got != "" || off.On() {
		t.Fatalf("limits off: %q", got)
	}
	// Arrays deeper than trackDepth are not followed; nothing panics.
	deep := &JSONLimits{MaxArray: 2}
	if got, _ := deep.Check([]byte(strings.Repeat("[", 300) + "1,2,3" + strings.Repeat("]", 300))); got != "" {
		t.Fatalf("array beyond the tracked depth: %q", got)
	}
}

func TestJSONLimitsServer(t *testing.T) {
	l := &JSONLimits{MaxDepth: 8, MaxString: 64, MaxArray: 16}
	addr, _ := serve(t, nil, Limits{}, l.Wrap(ok))
	cases := []struct {
		name string
		body string
		want int
		rule string
	}{
		{"within", `{"cartItems":[1,2,3],"name":"` + strings.Repeat("n", 64) + `"}`, 200, ""},
		{"depth", strings.Repeat(`{"a":`, 9) + `1` + strings.Repeat(`}`, 9), 400, "max-depth"},
		{"string", `{"nameOnCard":"` + strings.Repeat("4111111111111111", 5) + `"}`, 400, "max-string"},
		{"array", `{"cartItems":[` + strings.Repeat(`1,`, 16) + `1]}`, 400, "max-array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := exchange(t, "tcp", addr, post(c.body))
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if c.rule == "" {
				return
			}
			forterError(t, body)
			var e struct {
				ErrorsCount int `json:"errorsCount"`
				Errors      []struct {
					Rule string `json:"rule"`
				} `json:"errors"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.ErrorsCount != 1 || e.Errors[0].Rule != c.rule {
				t.Fatalf("body %s: want one error with rule %s (%v)", body, c.rule, err)
			}
			if strings.Contains(body, "4111") {
				t.Errorf("refusal echoes the body: %s", body)
			}
		})
	}
	if l.Rejected() != 3 {
		t.Errorf("rejected %d, want 3", l.Rejected())
	}
	if h := (&JSONLimits{}).Wrap(ok); h == nil {
		t.Fatal("nil handler")
	}
	var ctx fasthttp.RequestCtx
	(&JSONLimits{MaxDepth: 1}).Wrap(ok)(&ctx) // empty body: passed on
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("empty body: %d", ctx.Response.StatusCode())
	}
}

func BenchmarkJSONLimitsCheck(b *testing.B) {
	body := []byte(`{"orderId":"2356fdse0rr489","orderType":"WEB","timeSentToForter":1415287948000,"checkoutTime":1415273168,` +
		strings.Repeat(`"cartItems":[{"basicItemData":{"price":{"amountUSD":"10.00","currency":"USD"},"name":"Ladies Blue Shirt","quantity":1,"type":"TANGIBLE"}}],`, 30) + `"x":1}`)
	l := &JSONLimits{MaxDepth: 64, MaxString: 4096, MaxArray: 1000}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if r, _ := l.Check(body); r != "" {
			b.Fatal(r)
		}
	}
}

// TestJSONLimitsCompressed: a compressed body is checked decoded (its
// compressed bytes say nothing about its JSON), under MaxBody; one the
// limits cannot decode is left to the handler behind them.
func TestJSONLimitsCompressed(t *testing.T) {
	l := &JSONLimits{MaxDepth: 8, MaxBody: 1 << 20}
	addr, _ := serve(t, nil, Limits{}, l.Wrap(ok))
	gz := func(s string) string {
		var b strings.Builder
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	deep := strings.Repeat(`{"a":`, 9) + `1` + strings.Repeat(`}`, 9)
	for _, c := range []struct {
		name, body, coding string
		want               int
	}{
		{"deep, gzip", gz(deep), "gzip", 400},
		{"shallow, gzip", gz(`{"a":[1,2,3]}`), "gzip", 200},
		{"not gzip: left to the proxy", deep, "gzip", 200},
		{"br: left to the proxy", deep, "br", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := exchange(t, "tcp", addr, post(c.body, "Content-Encoding: "+c.coding))
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}
