package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A payload directory holds one JSON body a file. The file name says how it is sent:
//
//	order-NAME.json            POST /v2/orders/{orderId}   a valid order
//	v3order-NAME.json          POST /v3/orders/{orderId}   a valid v3 order
//	status-NAME.json           PUT  /v2/status/{orderId}   a valid status update
//	invalid-order-NAME.json    POST /v2/orders/{orderId}   an order the proxy should reject
//
// (and invalid-v3order-, invalid-status-). Other files are ignored. {orderId} is the
// body's own top-level "orderId", rewritten per copy so that order ids vary.

// Mix says what a payload set holds.
type Mix struct {
	Files    int      `json:"files"`
	Valid    int      `json:"valid"`
	Invalid  int      `json:"invalid"`
	MinBytes int      `json:"min_bytes"`
	MaxBytes int      `json:"max_bytes"`
	Copies   int      `json:"copies_per_file"`
	Names    []string `json:"names"`
}

// String is the one-line description the reports print.
func (m Mix) String() string {
	return fmt.Sprintf("%d files (%d valid, %d invalid: %.0f%% invalid), %d–%d bytes, %d order ids per file",
		m.Files, m.Valid, m.Invalid, 100*float64(m.Invalid)/float64(max(m.Files, 1)), m.MinBytes, m.MaxBytes, m.Copies)
}

var routes = []struct{ prefix, method, path string }{
	{"v3order-", "POST", "/v3/orders/"},
	{"order-", "POST", "/v2/orders/"},
	{"status-", "PUT", "/v2/status/"},
}

// ReadDir reads a payload directory and returns its requests, copies copies of each
// file with distinct order ids, interleaved file by file so that any window of the
// sequence keeps the directory's mix.
func ReadDir(dir string, copies int) ([]Request, Mix, error) {
	if copies <= 0 {
		copies = 1
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, Mix{}, fmt.Errorf("read payload dir: %w", err)
	}
	type file struct {
		name, method, path string
		invalid            bool
		body               []byte
	}
	var files []file
	mix := Mix{Copies: copies}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		base := name
		invalid := strings.HasPrefix(base, "invalid-")
		base = strings.TrimPrefix(base, "invalid-")
		var method, path string
		for _, r := range routes {
			if strings.HasPrefix(base, r.prefix) {
				method, path = r.method, r.path
				break
			}
		}
		if method == "" {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, Mix{}, fmt.Errorf("read payload: %w", err)
		}
		files = append(files, file{name: name, method: method, path: path, invalid: invalid, body: body})
		if invalid {
			mix.Invalid++
		} else {
			mix.Valid++
		}
		if mix.MinBytes == 0 || len(body) < mix.MinBytes {
			mix.MinBytes = len(body)
		}
		mix.MaxBytes = max(mix.MaxBytes, len(body))
		mix.Names = append(mix.Names, name)
	}
	if len(files) == 0 {
		return nil, Mix{}, fmt.Errorf("payload dir %s: no order-*.json, status-*.json or invalid-*.json files", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	sort.Strings(mix.Names)
	mix.Files = len(files)
	reqs := make([]Request, 0, copies*len(files))
	for c := 0; c < copies; c++ {
		for fi, f := range files {
			id := fmt.Sprintf("bench-%02d-%05d", fi, c)
			body, ok := withOrderID(f.body, id)
			if !ok {
				body = f.body
			}
			reqs = append(reqs, Request{Method: f.method, Path: f.path + id, Body: body})
		}
	}
	return reqs, mix, nil
}

// withOrderID returns a copy of body with the value of its first top-level
// "orderId" string replaced by id. Only those bytes change: the rest of the
// document keeps its exact spelling. ok is false when there is no such field or
// body is not valid JSON.
func withOrderID(body []byte, id string) ([]byte, bool) {
	if !json.Valid(body) {
		// Invalid payloads are sent byte for byte as written.
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, false
		}
		if k, _ := key.(string); k == "orderId" {
			startAfterKey := dec.InputOffset()
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, false
			}
			if len(v) == 0 || v[0] != '"' {
				return nil, false
			}
			end := int(dec.InputOffset())
			start := end - len(v)
			if start < int(startAfterKey) {
				return nil, false
			}
			quoted, _ := json.Marshal(id)
			out := make([]byte, 0, len(body)-len(v)+len(quoted))
			out = append(out, body[:start]...)
			out = append(out, quoted...)
			return append(out, body[end:]...), true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	return nil, false
}
