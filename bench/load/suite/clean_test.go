package suite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// gitRepo makes a real git checkout with one commit holding the given files.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirtyFiles(t *testing.T) {
	files := map[string]string{
		"go.mod":                     "module x\n",
		"main.go":                    "package main\n",
		"bench/results/latest.txt":   "old figures\n",
		"internal/proxy/proxy.go":    "package proxy\n",
		".gitignore":                 "/data/\n",
		"internal/proxy/proxy_a.go":  "package proxy\n",
		"internal/proxy/renamed.go":  "package proxy\n",
		"internal/proxy/removed.go":  "package proxy\n",
		"bench/results/latest.json":  "{}\n",
		"bench/results/latest.svg":   "<svg/>\n",
		"bench/testdata/load/a.json": "{}\n",
	}
	for _, tc := range []struct {
		name   string
		change func(dir string)
		want   []string
	}{
		{"clean", func(string) {}, nil},
		{"ignored files do not count", func(dir string) { writeFile(t, filepath.Join(dir, "data/outbox.db"), "x") }, nil},
		{"the previous results under --out do not count", func(dir string) {
			writeFile(t, filepath.Join(dir, "bench/results/latest.txt"), "new figures\n")
			writeFile(t, filepath.Join(dir, "bench/results/new.tmp"), "x")
		}, nil},
		{"a modified file", func(dir string) { writeFile(t, filepath.Join(dir, "main.go"), "package main // changed\n") }, []string{"main.go"}},
		{"an untracked source file", func(dir string) { writeFile(t, filepath.Join(dir, "internal/proxy/new.go"), "package proxy\n") }, []string{"internal/proxy/new.go"}},
		{"a deleted file", func(dir string) { os.Remove(filepath.Join(dir, "internal/proxy/removed.go")) }, []string{"internal/proxy/removed.go"}},
		{"a staged rename", func(dir string) {
			exec.Command("git", "-C", dir, "mv", "internal/proxy/renamed.go", "internal/proxy/moved.go").Run()
		}, []string{"internal/proxy/moved.go"}},
		{"a payload the suite sends", func(dir string) { writeFile(t, filepath.Join(dir, "bench/testdata/load/a.json"), "[]\n") }, []string{"bench/testdata/load/a.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := gitRepo(t, files)
			tc.change(dir)
			got, err := dirtyFiles(context.Background(), dir, filepath.Join(dir, "bench", "results"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("dirty %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := dirtyFiles(context.Background(), t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "--allow-dirty") {
		t.Errorf("outside a checkout: %v, want an error naming --allow-dirty", err)
	}
}

// TestOutRefusesAnUncommittedBinary drives the command line: --out with a
// binary that records no clean commit (this test binary records none) is
// refused before anything starts; --allow-dirty lets the run go ahead (it then
// fails on the target that does not exist, after starting the sandbox).
func TestOutRefusesAnUncommittedBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := []string{"--out", out, "--binary", self, "--targets", "nosuch", "--payloads", "../../testdata/load", "--logs", t.TempDir()}
	var stdout, stderr bytes.Buffer
	if code := Main(args, &stdout, &stderr, false); code != 2 || !strings.Contains(stderr.String(), "committed tree") || !strings.Contains(stderr.String(), "--allow-dirty") {
		t.Fatalf("exit %d, stderr %q: want 2 and the refusal naming --allow-dirty", code, stderr.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("refused run wrote %d files into --out", len(entries))
	}
	stderr.Reset()
	if code := Main(append(args, "--allow-dirty"), &stdout, &stderr, false); code != 1 || strings.Contains(stderr.String(), "committed tree") {
		t.Fatalf("--allow-dirty: exit %d, stderr %q: want the run to start (and fail later on the unknown target)", code, stderr.String())
	}
}

// TestOutChecksTheCheckout: with no --binary (go run ./bench), the checkout
// the suite builds from is checked.
func TestOutChecksTheCheckout(t *testing.T) {
	dir := gitRepo(t, map[string]string{"go.mod": "module x\n", "main.go": "package main\n"})
	t.Chdir(dir)
	if err := checkPublishable(context.Background(), "", "bench/results"); err != nil {
		t.Fatalf("clean checkout: %v", err)
	}
	writeFile(t, filepath.Join(dir, "main.go"), "package main // changed\n")
	err := checkPublishable(context.Background(), "", "bench/results")
	if !errors.Is(err, errDirty) || !strings.Contains(err.Error(), "main.go") {
		t.Fatalf("dirty checkout: %v, want errDirty naming main.go", err)
	}
}
