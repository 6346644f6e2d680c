package cli

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

type sizeFlag int

func (s *sizeFlag) String() string   { return "1MiB" }
func (s *sizeFlag) Set(string) error { return nil }
func (s *sizeFlag) Type() string     { return "size" }

func TestWriteFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("listen", "127.0.0.1:8090", "address to listen on")
	fs.String("out", "", "write the report to `FILE`")
	fs.Bool("tls", false, "serve HTTPS")
	fs.Duration("latency", 20*time.Millisecond, "added latency")
	fs.Int("limit", 100, "at most this many")
	var sz sizeFlag
	fs.Var(&sz, "max-body", "largest body")
	fs.Bool("serve-baseline", false, "") // hidden
	var b bytes.Buffer
	WriteFlags(&b, Visible(fs), func(f *flag.Flag) string {
		if f.Name == "listen" {
			return "[$X_LISTEN]"
		}
		return ""
	})
	want := "" +
		"  --latency duration\n\tadded latency (default 20ms)\n" +
		"  --limit int\n\tat most this many (default 100)\n" +
		"  --listen string\n\taddress to listen on (default 127.0.0.1:8090) [$X_LISTEN]\n" +
		"  --max-body size\n\tlargest body (default 1MiB)\n" +
		"  --out FILE\n\twrite the report to FILE (default \"\")\n" +
		"  --tls\n\tserve HTTPS (default false)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestUsageError(t *testing.T) {
	var b bytes.Buffer
	if code := UsageError(&b, "spec rules", "orderguard spec rules [flags]", errors.New("flag provided but not defined: -x")); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{"orderguard spec rules: flag provided but not defined: -x\n", "usage: orderguard spec rules [flags]\n", "Run 'orderguard spec rules --help' for the flags.\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%q lacks %q", b.String(), want)
		}
	}
}
