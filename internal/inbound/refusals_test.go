package inbound

import (
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/secret"
	"github.com/orderguard/orderguard/internal/testlog"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type refusalLine struct {
	Msg, Reason, Remote, Method, Path string
	Status, Omitted                   int
}

func refusalLines(t *testing.T, logs *testlog.Buffer) []refusalLine {
	t.Helper()
	var out []refusalLine
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if l == "" {
			continue
		}
		var r struct {
			refusalLine
			Omitted int `json:"omitted_since_last"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		r.refusalLine.Omitted = r.Omitted
		out = append(out, r.refusalLine)
	}
	return out
}

// A real server with the secret check and a 64-byte body cap, wired as the
// proxy wires them: every refusal is logged, at most once a second per
// reason, with what was left out counted; never a header value or the body.
func TestRefusalLog(t *testing.T) {
	var logs testlog.Buffer
	clock := &testClock{t: time.Unix(1_000_000, 0)}
	rl := &RefusalLog{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), now: clock.Now}
	check := &SecretCheck{Key: secret.FromValue("inbound secret", secret.New("let-me-in"))}
	ln, err := Listen(t.Context(), Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: rl.Wrap(check.Wrap(ok)), Logger: log.New(io.Discard, "", 0)}
	Limits{MaxBodyBytes: 64}.Apply(s)
	s.ErrorHandler = func(c *fasthttp.RequestCtx, err error) {
		ErrorHandler(c, err)
		rl.NoteRefused(c)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown(); <-done })
	addr := ln.Addr().String()

	post := func(path, secretValue, body string) int {
		t.Helper()
		raw := "POST " + path + " HTTP/1.1\r\nHost: og\r\nContent-Type: application/json\r\n" +
			DefaultSecretHeader + ": " + secretValue + "\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
		resp, _ := exchange(t, "tcp", addr, raw)
		return resp.StatusCode
	}
	const card = `{"card":"4111111111111111"}`
	if code := post("/v2/orders/o-1", "wrong-secret-value", card); code != 401 {
		t.Fatalf("wrong secret: %d, want 401", code)
	}
	for range 3 {
		post("/v2/orders/o-2", "", card)
	}
	if code := post("/v2/orders/o-3", "let-me-in", strings.Repeat(" ", 100)); code != 413 {
		t.Fatalf("large body: %d, want 413", code)
	}
	if code := post("/v2/orders/o-4", "let-me-in", card); code != 200 {
		t.Fatalf("right secret: %d, want 200", code)
	}
	clock.Add(time.Second)
	long := "/v2/orders/" + strings.Repeat("a", 400)
	post(long, "", card)

	got := refusalLines(t, &logs)
	want := []refusalLine{
		{Msg: "request refused", Reason: RefusedUnauthorized, Status: 401, Method: "POST", Path: "/v2/orders/o-1"},
		{Msg: "request refused", Reason: RefusedBodyTooLarge, Status: 413, Method: "POST", Path: "/v2/orders/o-3"},
		{Msg: "request refused", Reason: RefusedUnauthorized, Status: 401, Method: "POST", Path: long[:maxLoggedPath], Omitted: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), logs.String())
	}
	for i := range want {
		if !strings.HasPrefix(got[i].Remote, "127.0.0.1:") {
			t.Errorf("line %d: remote %q, want the client's address", i, got[i].Remote)
		}
		got[i].Remote = ""
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	for _, leak := range []string{"wrong-secret-value", "let-me-in", "4111"} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("the log holds %q", leak)
		}
	}
}

// TestRefuseJSONLimit pins the answer to a body past --max-depth,
// --max-string or --max-array byte for byte: clients and dashboards parse it.
func TestRefuseJSONLimit(t *testing.T) {
	for _, c := range []struct {
		rule      string
		limit, at int
		want      string
	}{
		{"max-depth", 8, 40, `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"objects and arrays nest deeper than 8 (--max-depth)","path":"#","rule":"max-depth","kind":"limit","offset":40}]}`},
		{"max-string", 64, 13, `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"a string is longer (bytes) than 64 (--max-string)","path":"#","rule":"max-string","kind":"limit","offset":13}]}`},
		{"max-array", 16, 0, `{"status":"failed","message":"Malformed request","errorsCount":1,"errors":[{"message":"an array has more elements than 16 (--max-array)","path":"#","rule":"max-array","kind":"limit","offset":0}]}`},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Response.Header.Set("X-Before", "dropped")
		RefuseJSONLimit(&ctx, c.rule, c.limit, c.at)
		if got := string(ctx.Response.Body()); got != c.want {
			t.Errorf("%s: body\n%s\nwant\n%s", c.rule, got, c.want)
		}
		if ctx.Response.StatusCode() != 400 || string(ctx.Response.Header.ContentType()) != "application/json" ||
			len(ctx.Response.Header.Peek("X-Before")) != 0 {
			t.Errorf("%s: status %d, content type %q, earlier header kept %q", c.rule, ctx.Response.StatusCode(),
				ctx.Response.Header.ContentType(), ctx.Response.Header.Peek("X-Before"))
		}
		if reason, _ := ctx.UserValue(refusedKey).(string); reason != RefusedJSONLimit {
			t.Errorf("%s: refusal reason %q, want %q", c.rule, reason, RefusedJSONLimit)
		}
	}
}
