package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// conf is a package's Config as the loader sees it.
type conf struct {
	Name   string
	Budget time.Duration
	Size   int
	Files  []string
}

func (c *conf) settings() []Setting {
	return []Setting{
		{Name: "name", Help: "a name", Value: String(&c.Name)},
		{Name: "budget", Help: "a duration", Value: Duration(&c.Budget)},
		{Name: "max-size", Help: "a size | with a bar", Value: Size(&c.Size)},
		{Name: "file", Help: "repeatable", Value: List(&c.Files)},
	}
}

func TestLoadPrecedenceAndOrigins(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("name: from-file\nbudget: 1s\nmax-size: 2KiB\nfile: [a, b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvConfig: file, "ORDERGUARD_BUDGET": "2s", "ORDERGUARD_MAX_SIZE": "3KiB"}
	scratch, cfg := conf{Name: "default"}, conf{Name: "default"}
	var origins []string
	err := Load([]string{"--budget", "3s", "--file", "c"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		scratch.settings(), cfg.settings(), func(o Origin) { origins = append(origins, o.Of("budget")) })
	if err != nil {
		t.Fatal(err)
	}
	want := conf{Name: "from-file", Budget: 3 * time.Second, Size: 3 << 10, Files: []string{"a", "b", "c"}}
	if cfg.Name != want.Name || cfg.Budget != want.Budget || cfg.Size != want.Size || strings.Join(cfg.Files, ",") != "a,b,c" {
		t.Errorf("got %+v, want %+v", cfg, want)
	}
	if got := strings.Join(origins, "|"); got != "config "+file+"|$ORDERGUARD_BUDGET|--budget" {
		t.Errorf("origins %q", got)
	}
}

func TestTable(t *testing.T) {
	c := conf{Size: 1 << 20}
	got := Table([]Group{{Owner: "internal/x", Settings: c.settings()}})
	for _, want := range []string{
		"| `--name` | `(empty)` | `ORDERGUARD_NAME` | `internal/x` | a name |",
		"| `--max-size` | `1MiB` | `ORDERGUARD_MAX_SIZE` | `internal/x` | a size \\| with a bar |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}
