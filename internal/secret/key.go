package secret

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
)

// MaxFileSize caps a secret file. API keys are tens of bytes; a larger file is
// the wrong file (a certificate bundle, a log), and reading it whole would put
// unrelated content in memory next to the key.
const MaxFileSize = 4 << 10

// Errors a caller can test with errors.Is. None of them, nor any error this
// package returns, includes a secret file's content.
var (
	ErrEmpty     = errors.New("secret: empty")
	ErrTooLarge  = errors.New("secret: file larger than 4 KiB")
	ErrNotFile   = errors.New("secret: not a regular file")
	ErrMultiline = errors.New("secret: contains a line break or control character")
)

// Key is a secret with a source (a file or an environment variable) that can
// be reloaded. Requests read it with Value, which is one atomic load; Reload
// swaps it atomically, so a request in flight sees either the old key or the
// new one, never a mix. The zero Key, and a nil *Key, hold no secret.
type Key struct {
	name string // what the secret is, for messages ("api key")
	path string // set when read from a file
	env  string // set when read from the environment
	cur  atomic.Pointer[string]
	gen  atomic.Uint64
}

// Load reads the secret called name (used in messages only) from the file at
// path when path is not empty, otherwise from the environment variable env
// (looked up with lookup; nil means os.LookupEnv). A file wins over the
// environment, as flags win over the environment everywhere in orderguard.
// An environment variable that is set but empty counts as unset, as
// orchestrators often define variables with empty values. With neither
// source, Load returns a Key that holds nothing and a nil error.
func Load(name, path, env string, lookup func(string) (string, bool)) (*Key, error) {
	k := &Key{name: name}
	if path != "" {
		k.path = path
		s, err := readFile(name, path)
		if err != nil {
			return nil, err
		}
		k.store(s)
		return k, nil
	}
	if env == "" {
		return k, nil
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	s, ok := lookup(env)
	if !ok || s == "" {
		return k, nil
	}
	k.env = env
	s = strings.TrimSpace(s)
	if err := check(s); err != nil {
		return nil, fmt.Errorf("%s from $%s: %w", name, env, err)
	}
	k.store(s)
	return k, nil
}

// FromValue returns a Key holding v with no source to reload from, for tests
// and for callers that obtained a secret some other way.
func FromValue(name string, v Value) *Key {
	k := &Key{name: name}
	if !v.IsZero() {
		k.store(v.Reveal())
	}
	return k
}

// store swaps in s; the generation moves only when the secret changed, so a
// periodic reload of an unchanged file invalidates nothing.
func (k *Key) store(s string) (changed bool) {
	if old := k.cur.Load(); old != nil && *old == s {
		return false
	}
	k.cur.Store(&s)
	k.gen.Add(1)
	return true
}

// Value returns the current secret; the zero Value when none is configured.
func (k *Key) Value() Value {
	if k == nil {
		return Value{}
	}
	return Value{p: k.cur.Load()}
}

// IsSet reports whether a secret is held.
func (k *Key) IsSet() bool { return k != nil && k.cur.Load() != nil }

// Generation counts successful loads, so a caller can cache something derived
// from the key (an encoded Authorization header) and rebuild it only when the
// key changed.
func (k *Key) Generation() uint64 {
	if k == nil {
		return 0
	}
	return k.gen.Load()
}

// Source says where the secret came from, for the startup log line:
// `file "/run/secrets/key"`, `env ORDERGUARD_API_KEY` or `none`.
func (k *Key) Source() string {
	switch {
	case k == nil || k.cur.Load() == nil:
		return "none"
	case k.path != "":
		return fmt.Sprintf("file %q", k.path)
	case k.env != "":
		return "env " + k.env
	default:
		return "value"
	}
}

// String prints the source and a redaction, never the secret.
func (k *Key) String() string {
	if k == nil {
		return unset
	}
	return k.Value().redacted()
}

// Reload re-reads the file the secret came from. On error the current secret
// is kept and the error says why (never what the file held). A secret from the
// environment or with no source is left as it is and Reload returns nil:
// a process's environment cannot change under it.
func (k *Key) Reload() error {
	_, err := k.reload()
	return err
}

func (k *Key) reload() (changed bool, err error) {
	if k == nil || k.path == "" {
		return false, nil
	}
	s, err := readFile(k.name, k.path)
	if err != nil {
		return false, err
	}
	return k.store(s), nil
}

// Reloadable reports whether Reload can change the secret (it came from a file).
func (k *Key) Reloadable() bool { return k != nil && k.path != "" }

// Name is what the secret is, as given to Load.
func (k *Key) Name() string {
	if k == nil {
		return ""
	}
	return k.name
}

func readFile(name, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		// *PathError names the path and the reason, never content.
		return "", fmt.Errorf("read %s file: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read %s file: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("read %s file %q: %w", name, path, ErrNotFile)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("read %s file %q: %w", name, path, err)
	}
	if len(b) > MaxFileSize {
		clear(b)
		return "", fmt.Errorf("read %s file %q: %w", name, path, ErrTooLarge)
	}
	// Editors and `echo key > file` add a trailing newline; Kubernetes
	// Secrets created from literals do not. Accept both.
	s := strings.TrimSpace(string(b))
	clear(b)
	if err := check(s); err != nil {
		return "", fmt.Errorf("read %s file %q: %w", name, path, err)
	}
	return s, nil
}

// check refuses what cannot be a single header-safe token: an empty secret,
// and line breaks or control characters, which would split or corrupt the
// Authorization header the key goes into.
func check(s string) error {
	if s == "" {
		return ErrEmpty
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return ErrMultiline
		}
	}
	return nil
}
