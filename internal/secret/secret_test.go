package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const canary = "sk_live_CANARY_9f8e7d6c5b4a"

func TestValueNeverPrints(t *testing.T) {
	v := New(canary)
	type config struct {
		APIKey  Value
		private Value
		Ptr     *Value
	}
	cfg := config{APIKey: v, private: v, Ptr: &v}
	forms := map[string]string{
		"%v":            fmt.Sprintf("%v", v),
		"%+v":           fmt.Sprintf("%+v", v),
		"%#v":           fmt.Sprintf("%#v", v),
		"%s":            fmt.Sprintf("%s", v),
		"%q":            fmt.Sprintf("%q", v),
		"%x":            fmt.Sprintf("%x", v),
		"%X":            fmt.Sprintf("%X", v),
		"%d":            fmt.Sprintf("%d", v),
		"%10.3s":        fmt.Sprintf("%10.3s", v),
		"Sprint":        fmt.Sprint(v),
		"Sprintln":      fmt.Sprintln(v, &v),
		"String":        v.String(),
		"GoString":      v.GoString(),
		"struct %v":     fmt.Sprintf("%v", cfg),
		"struct %+v":    fmt.Sprintf("%+v", cfg),
		"struct %#v":    fmt.Sprintf("%#v", cfg),
		"error wrap":    fmt.Errorf("config: %v", v).Error(),
		"pointer %v":    fmt.Sprintf("%v", &v),
		"slice %v":      fmt.Sprintf("%v", []Value{v}),
		"map %v":        fmt.Sprintf("%v", map[string]Value{"k": v}),
		"key String":    FromValue("api key", v).String(),
		"key %v":        fmt.Sprintf("%v", FromValue("api key", v)),
		"key Source":    FromValue("api key", v).Source(),
		"MarshalText":   string(must(v.MarshalText())),
		"json value":    string(must(json.Marshal(v))),
		"json struct":   string(must(json.Marshal(cfg))),
		"json pointer":  string(must(json.Marshal(&v))),
		"json map":      string(must(json.Marshal(map[string]any{"k": v}))),
		"slog json":     slogOut(slog.NewJSONHandler, v, cfg),
		"slog text":     slogOut(slog.NewTextHandler, v, cfg),
		"slog json ptr": slogOut(slog.NewJSONHandler, &v, &cfg),
	}
	for name, got := range forms {
		if strings.Contains(got, canary) || strings.Contains(got, fmt.Sprintf("%x", canary)) ||
			strings.Contains(got, "CANARY") {
			t.Errorf("%s leaks the secret: %s", name, got)
		}
	}
	for _, name := range []string{"%v", "%s", "%q", "%x", "String", "Sprint", "MarshalText"} {
		if got := forms[name]; got != Redacted {
			t.Errorf("%s = %q, want %q", name, got, Redacted)
		}
	}
	if got, want := forms["json value"], `"`+Redacted+`"`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	if got := v.Reveal(); got != canary {
		t.Errorf("Reveal = %q, want the secret", got)
	}
}

func TestZeroValue(t *testing.T) {
	var v Value
	if !v.IsZero() || v.Reveal() != "" {
		t.Fatalf("zero Value: IsZero %v, Reveal %q", v.IsZero(), v.Reveal())
	}
	if got := fmt.Sprint(v); got != "[unset]" {
		t.Errorf("zero Value prints %q, want [unset]", got)
	}
	if !New("").IsZero() {
		t.Error(`New("") is not zero`)
	}
	var k *Key
	if k.IsSet() || k.Value().Reveal() != "" || k.Source() != "none" || k.Reload() != nil {
		t.Error("nil *Key is not an empty key")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func slogOut[H slog.Handler](mk func(w io.Writer, o *slog.HandlerOptions) H, args ...any) string {
	var buf bytes.Buffer
	l := slog.New(mk(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for i, a := range args {
		l.Debug("msg", fmt.Sprint("a", i), a)
		l.Info("msg", slog.Any("any", a))
		l.With("with", a).Warn("msg")
	}
	return buf.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		content *string // nil: no file
		want    string
		wantErr error
	}{
		{"plain", ptr(canary), canary, nil},
		{"trailing newline", ptr(canary + "\n"), canary, nil},
		{"crlf and spaces", ptr("  " + canary + " \r\n"), canary, nil},
		{"exactly 4 KiB", ptr(strings.Repeat("k", MaxFileSize)), strings.Repeat("k", MaxFileSize), nil},
		{"missing", nil, "", os.ErrNotExist},
		{"empty", ptr(""), "", ErrEmpty},
		{"only newline", ptr("\n\n"), "", ErrEmpty},
		{"too large", ptr(canary + strings.Repeat("k", MaxFileSize)), "", ErrTooLarge},
		{"two lines", ptr(canary + "\n" + canary + "\n"), "", ErrMultiline},
		{"control byte", ptr(canary + "\x00"), "", ErrMultiline},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if c.content != nil {
				if err := os.WriteFile(p, []byte(*c.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			k, err := Load("api key", p, "", nil)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				msg := err.Error()
				if strings.Contains(msg, "CANARY") || strings.Contains(msg, "kkkk") {
					t.Errorf("error shows the file's content: %s", msg)
				}
				if !strings.Contains(msg, "api key file") {
					t.Errorf("error %q does not say which secret", msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Value().Reveal(); got != c.want {
				t.Errorf("key = %q, want %q", got, c.want)
			}
			if got, want := k.Source(), fmt.Sprintf("file %q", p); got != want {
				t.Errorf("Source = %s, want %s", got, want)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		if _, err := Load("api key", dir, "", nil); !errors.Is(err, ErrNotFile) {
			t.Fatalf("err = %v, want ErrNotFile", err)
		}
	})
}

func ptr(s string) *string { return &s }

func TestLoadEnv(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	k, err := Load("api key", "", "ORDERGUARD_API_KEY", env(map[string]string{"ORDERGUARD_API_KEY": canary + "\n"}))
	if err != nil || k.Value().Reveal() != canary || k.Source() != "env ORDERGUARD_API_KEY" {
		t.Fatalf("env: key %v, source %s, err %v", k.IsSet(), k.Source(), err)
	}
	if k.Reloadable() || k.Reload() != nil {
		t.Error("a key from the environment claims to be reloadable")
	}
	k, err = Load("api key", "", "ORDERGUARD_API_KEY", env(map[string]string{"ORDERGUARD_API_KEY": ""}))
	if err != nil || k.IsSet() || k.Source() != "none" {
		t.Fatalf("empty env: set %v, source %s, err %v", k.IsSet(), k.Source(), err)
	}
	k, err = Load("api key", "", "ORDERGUARD_API_KEY", env(nil))
	if err != nil || k.IsSet() {
		t.Fatalf("no env: set %v, err %v", k.IsSet(), err)
	}
	_, err = Load("api key", "", "ORDERGUARD_API_KEY", env(map[string]string{"ORDERGUARD_API_KEY": "a\nb"}))
	if !errors.Is(err, ErrMultiline) || strings.Contains(err.Error(), "a\nb") {
		t.Fatalf("multi-line env: err %v", err)
	}
	p := writeFile(t, "key", "from-file")
	k, err = Load("api key", p, "ORDERGUARD_API_KEY", env(map[string]string{"ORDERGUARD_API_KEY": "from-env"}))
	if err != nil || k.Value().Reveal() != "from-file" {
		t.Fatalf("file and env: got %q, err %v; want the file to win", k.Value().Reveal(), err)
	}
}

func TestReload(t *testing.T) {
	p := writeFile(t, "key", "old-key\n")
	k, err := Load("api key", p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	g := k.Generation()
	if err := os.WriteFile(p, []byte("new-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := k.Value().Reveal(); got != "new-key" {
		t.Errorf("after reload: %q, want new-key", got)
	}
	if k.Generation() != g+1 {
		t.Errorf("generation %d, want %d", k.Generation(), g+1)
	}
	// A rotation caught half-way (empty file, file gone) keeps the key in use.
	for _, broken := range []func(){
		func() { _ = os.WriteFile(p, nil, 0o600) },
		func() { _ = os.Remove(p) },
	} {
		broken()
		if err := k.Reload(); err == nil {
			t.Fatal("reload of a broken file succeeded")
		}
		if got := k.Value().Reveal(); got != "new-key" {
			t.Errorf("after failed reload: %q, want new-key kept", got)
		}
	}
}

// Readers racing a reload see one whole key or the other (run with -race).
func TestReloadAtomic(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	p := writeFile(t, "key", a)
	k, err := Load("api key", p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	bad := make(chan string, 1)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if v := k.Value().Reveal(); v != a && v != b {
					select {
					case bad <- v:
					default:
					}
					return
				}
			}
		}()
	}
	for i := range 200 {
		next := a
		if i%2 == 0 {
			next = b
		}
		// Write to a temp file and rename, as a rotation does.
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, []byte(next), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
		if err := k.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case v := <-bad:
		t.Fatalf("a reader saw a torn key of %d bytes", len(v))
	default:
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	p := writeFile(t, "key", "before")
	k, err := Load("api key", p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := Load("inbound secret", "", "X", func(string) (string, bool) { return "envsecret", true })
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	rounds := make(chan int, 4)
	stop := ReloadOnSIGHUP(logger, func(failed int) { rounds <- failed }, k, env)
	defer stop()

	if err := os.WriteFile(p, []byte("after\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup(t)
	if failed := waitRound(t, rounds); failed != 0 {
		t.Fatalf("%d keys failed to reload", failed)
	}
	if got := k.Value().Reveal(); got != "after" {
		t.Fatalf("after SIGHUP: %q, want after", got)
	}
	if err := os.WriteFile(p, []byte(""), 0o600); err != nil {
		t.Fatal(err)
	}
	hup(t)
	if failed := waitRound(t, rounds); failed != 1 {
		t.Fatalf("failed = %d, want 1 for an empty file", failed)
	}
	if got := k.Value().Reveal(); got != "after" {
		t.Fatalf("after failed SIGHUP reload: %q, want after kept", got)
	}
	stop()
	stop() // idempotent

	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, s := range []string{"before", "after", "envsecret"} {
		if strings.Contains(out, `"`+s) || strings.Contains(out, s+`"`) {
			t.Errorf("log shows a secret (%s): %s", s, out)
		}
	}
	if !strings.Contains(out, "secret reloaded") || !strings.Contains(out, "secret reload failed") {
		t.Errorf("log lacks the reload outcomes: %s", out)
	}
}

func hup(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// waitRound waits for the watcher to finish a round. The bound only keeps a
// broken watcher from hanging the test run; it is not a timing assertion.
func waitRound(t *testing.T, rounds <-chan int) int {
	t.Helper()
	select {
	case n := <-rounds:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no reload after SIGHUP")
		return 0
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestReloadEvery(t *testing.T) {
	p := writeFile(t, "key", "v1")
	k, err := Load("api key", p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	g := k.Generation()
	stop := ReloadEvery(nil, 10*time.Millisecond, k)
	defer stop()
	// Unchanged content never moves the generation.
	if err := k.Reload(); err != nil || k.Generation() != g {
		t.Fatalf("reload of unchanged file: generation %d → %d, err %v", g, k.Generation(), err)
	}
	// Kubernetes swaps a symlink; a rename is the same for the reader.
	tmp := p + ".new"
	if err := os.WriteFile(tmp, []byte("v2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); k.Value().Reveal() != "v2"; {
		if time.Now().After(deadline) {
			t.Fatal("the periodic reload never picked up the new key")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	stop()
	if ReloadEvery(nil, 0, k) == nil {
		t.Fatal("disabled ReloadEvery returned a nil stop")
	}
}
