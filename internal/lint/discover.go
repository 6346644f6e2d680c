package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/orderguard/orderguard/internal/contentcoding"
)

// FileType is how an input is split into payloads.
type FileType uint8

const (
	TypeJSON   FileType = iota // one payload per file
	TypeNDJSON                 // one payload per non-blank line
	TypeHAR                    // one payload per request to a Forter path
)

func (t FileType) String() string {
	switch t {
	case TypeNDJSON:
		return "ndjson"
	case TypeHAR:
		return "har"
	}
	return "json"
}

// StdinPath is the display path of standard input.
const StdinPath = "<stdin>"

// Input is one file to lint (or standard input, read before linting).
type Input struct {
	Path string // display path, forward slashes
	Type FileType
	name string // file system name; empty for stdin
	data []byte // stdin contents
	gz   bool   // the file is gzip-compressed (*.gz): linted decompressed
}

// maxDecompressed caps what a .gz input may decompress to: a bomb in a
// pull request fails with its name instead of filling the runner's memory.
var maxDecompressed = 256 << 20 // a var: tests lower it

// read returns the input's bytes, read into buf[:0] (grown as needed) for a
// file, so that a worker reuses one buffer for all its files.
func (in Input) read(buf []byte) ([]byte, error) {
	if in.name == "" {
		return in.data, nil
	}
	f, err := os.Open(in.name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", in.Path, unwrapPath(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() >= int64(cap(buf)) && fi.Size() < 1<<40 {
		buf = make([]byte, 0, fi.Size()+512) // room to see EOF without growing
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF && in.gz {
			return gunzip(in.Path, buf)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", in.Path, unwrapPath(err))
		}
	}
}

// gunzip decompresses a .gz input (or gzip on stdin), capped.
func gunzip(name string, b []byte) ([]byte, error) {
	out, err := contentcoding.Decode(nil, contentcoding.Gzip, b, maxDecompressed)
	if errors.Is(err, contentcoding.ErrTooLarge) {
		return nil, fmt.Errorf("read %s: more than %d MiB once decompressed", name, maxDecompressed>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// isGzip reports whether b starts with gzip's magic bytes (RFC 1952 2.3.1).
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// gzName reports whether a file name ends in .gz (any case).
func gzName(name string) bool { return strings.EqualFold(filepath.Ext(name), ".gz") }

// TypeOf gives the file type by extension: .ndjson and .jsonl are NDJSON,
// .har is HAR, anything else one JSON document. A .gz name is typed by the
// extension before it (x.json.gz is JSON, linted decompressed).
func TypeOf(name string) FileType {
	if gzName(name) {
		name = name[:len(name)-3]
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ndjson", ".jsonl":
		return TypeNDJSON
	case ".har":
		return TypeHAR
	}
	return TypeJSON
}

// lintable reports whether a directory walk picks up a file: *.json,
// *.ndjson, *.har, and the same with .gz.
func lintable(name string) bool {
	if gzName(name) {
		name = name[:len(name)-3]
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".ndjson", ".har":
		return true
	}
	return false
}

// Discover turns arguments into inputs, in argument order: a file as is
// (whatever its extension), a directory recursively (*.json, *.ndjson,
// *.har, sorted; .git skipped), a glob (with ** for any depth), "-" for
// stdin. A missing file, an unreadable directory, a directory or glob with
// nothing to lint is an error naming the argument. A file named twice is
// linted once.
func Discover(args []string, stdin io.Reader) ([]Input, error) {
	var out []Input
	seen := map[string]bool{}
	add := func(name string) {
		clean := filepath.Clean(name)
		if seen[clean] {
			return
		}
		seen[clean] = true
		out = append(out, Input{Path: filepath.ToSlash(name), Type: TypeOf(name), name: name, gz: gzName(name)})
	}
	for _, arg := range args {
		if arg == "-" {
			if seen["-"] {
				continue
			}
			seen["-"] = true
			if stdin == nil {
				return nil, errors.New("read stdin: no standard input")
			}
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("read stdin: %w", err)
			}
			if isGzip(b) {
				if b, err = gunzip("stdin", b); err != nil {
					return nil, err
				}
			}
			out = append(out, Input{Path: StdinPath, Type: sniff(b), data: b})
			continue
		}
		fi, err := os.Stat(arg)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && hasMeta(arg) {
				names, gerr := glob(arg)
				if gerr != nil {
					return nil, gerr
				}
				if len(names) == 0 {
					return nil, fmt.Errorf("%s: no file matches the pattern", arg)
				}
				for _, n := range names {
					add(n)
				}
				continue
			}
			return nil, fmt.Errorf("%s: %w", arg, unwrapPath(err))
		}
		if !fi.IsDir() {
			add(arg)
			continue
		}
		n := len(out)
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%s: %w", p, unwrapPath(err))
			}
			if d.IsDir() {
				if d.Name() == ".git" && p != arg {
					return filepath.SkipDir
				}
				return nil
			}
			if !lintable(p) {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// A link to a payload file counts; WalkDir does not follow links.
				if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
					return nil
				}
			} else if !d.Type().IsRegular() {
				return nil
			}
			add(p)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no *.json, *.ndjson or *.har file (or *.gz of one) in the directory", arg)
		}
	}
	return out, nil
}

// unwrapPath drops the *PathError wrapper (its path repeats the argument).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sniff guesses the type of stdin: a top-level "log" member means HAR; more
// than one non-blank line, each a JSON object, means NDJSON.
func sniff(b []byte) FileType {
	if topLevelHas(b, "log") {
		return TypeHAR
	}
	lines := 0
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if l[0] != '{' || skipValue(l, 0) != len(l) {
			return TypeJSON
		}
		lines++
	}
	if lines > 1 {
		return TypeNDJSON
	}
	return TypeJSON
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// glob expands a pattern; "**" as a whole path segment matches any number of
// directories. Results are sorted.
func glob(pattern string) ([]string, error) {
	pattern = filepath.ToSlash(pattern)
	if !strings.Contains(pattern, "**") {
		names, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pattern, err)
		}
		var files []string
		for _, n := range names {
			if fi, err := os.Stat(n); err == nil && !fi.IsDir() {
				files = append(files, n)
			}
		}
		return files, nil
	}
	segs := strings.Split(pattern, "/")
	root := "."
	var fixed []string
	for len(segs) > 0 && !hasMeta(segs[0]) {
		fixed = append(fixed, segs[0])
		segs = segs[1:]
	}
	if len(fixed) > 0 {
		root = strings.Join(fixed, "/")
		if root == "" {
			root = "/"
		}
	}
	for _, s := range segs {
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("%s: %w", pattern, err)
		}
	}
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", p, unwrapPath(err))
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if matchSegs(segs, strings.Split(filepath.ToSlash(rel), "/")) {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// matchSegs matches path segments against pattern segments, "**" taking zero
// or more segments.
func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for k := 0; k <= len(name); k++ {
				if matchSegs(pat[1:], name[k:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
