package standalone

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// root is the repository's top directory, seen from this package.
const root = "../.."

// outside matches a path into the team's folder beside the repository (one
// or more "../" then its name, its absolute path under /work, or one of the
// folders it holds). The pattern and the cases below are assembled from
// pieces so that this file does not match itself.
var outside = regexp.MustCompile(`(\.\./)+` + `shared\b|/work/` + `shared\b|\bshared/(realworld|seeds|reference|DESIGN\.md|jsonschema-test-suite)`)

// trackedFiles lists the files git tracks (what a clone holds); outside a
// git checkout (an exported tarball), every file under root but .git.
func trackedFiles(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err == nil {
		var files []string
		for _, f := range bytes.Split(out, []byte{0}) {
			if len(f) > 0 {
				files = append(files, string(f))
			}
		}
		return files
	}
	t.Logf("git ls-files: %v; walking the tree instead", err)
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestNoPathOutsideTheRepository fails when a tracked file (code, test,
// script, document, fixture README) names the team's folder beside the
// repository: a clone made anywhere else does not have it.
func TestNoPathOutsideTheRepository(t *testing.T) {
	files := trackedFiles(t)
	if len(files) < 100 {
		t.Fatalf("only %d files found under %s: not the repository", len(files), root)
	}
	for _, name := range files {
		f, err := os.Open(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			if m := outside.FindString(sc.Text()); m != "" {
				t.Errorf("%s:%d: names %q, outside the repository: copy what it needs into the repository and point there", name, n, m)
			}
		}
		if err := sc.Err(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		f.Close()
	}
}

// TestOutsidePattern keeps the scanner honest: it must catch every spelling
// the project has used, and leave ordinary words alone.
func TestOutsidePattern(t *testing.T) {
	sh := "sha" + "red"
	for _, s := range []string{
		"B=../" + sh + "/realworld",
		"stat ../../../" + sh + "/realworld",
		"copied from /work/" + sh + "/realworld/",
		"`../../" + sh + "/reference/forter-api.md`",
		"pages in `" + sh + "/seeds/`",
	} {
		if !outside.MatchString(s) {
			t.Errorf("%q: not caught", s)
		}
	}
	for _, s := range []string{"shared consumers", "a shared secret", "sharedKey", "testdata/realworld/"} {
		if outside.MatchString(s) {
			t.Errorf("%q: caught, but names nothing outside", s)
		}
	}
}
