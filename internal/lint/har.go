package lint

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// harFile is the part of HAR 1.2 the linter reads.
type harFile struct {
	Log *struct {
		Entries []struct {
			Request struct {
				Method   string `json:"method"`
				URL      string `json:"url"`
				PostData *struct {
					Text     string `json:"text"`
					Encoding string `json:"encoding"` // not in HAR 1.2, written by some tools
				} `json:"postData"`
			} `json:"request"`
		} `json:"entries"`
	} `json:"log"`
}

// harEntry is one request of a recording sent to a Forter path.
type harEntry struct {
	Index   int // in log.entries
	Method  string
	URLPath string
	Body    []byte // request.postData.text, decoded
	// quote is the file offset of the opening quote of postData.text, -1
	// when there is none; base64 bodies cannot be mapped byte by byte.
	quote  int
	base64 bool
}

// fileOffset maps an offset in Body to the offset in the HAR file of the
// (possibly escaped) character that encodes it, so that SARIF and GitHub
// annotations can point into the recording itself.
func (e *harEntry) fileOffset(data []byte, off int) int {
	if e.quote < 0 {
		return 0
	}
	if e.base64 {
		return e.quote
	}
	i, d := e.quote+1, 0
	for i < len(data) && data[i] != '"' && d < off {
		c := data[i]
		switch {
		case c != '\\':
			i++
			d++
		case i+1 < len(data) && data[i+1] == 'u' && i+6 <= len(data):
			r := hexRune(data[i+2 : i+6])
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(data) && data[i] == '\\' && data[i+1] == 'u' {
				i += 6 // a surrogate pair: one 4-byte character
				d += 4
				continue
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			d += utf8.RuneLen(r)
		default:
			i += 2
			d++
		}
	}
	return i
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return utf8.RuneError
		}
	}
	return r
}

// eachHAREntry calls fn for every entry of a HAR recording that sends a body
// to a Forter order or status path, or to a path known asks about (the other
// operations of the table; nil: none).
func eachHAREntry(data []byte, known func(method, path string) string, fn func(e harEntry)) error {
	var h harFile
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("not a HAR file: %w", err)
	}
	if h.Log == nil {
		return errors.New("not a HAR file: no log member")
	}
	var quotes []int // found lazily: only recordings with Forter requests pay for it
	for i, e := range h.Log.Entries {
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			continue // not a request to Forter either way
		}
		method := strings.ToUpper(e.Request.Method)
		r := forterRoute(u.Path)
		order := r != routeNone && (method == "POST" || r == routeStatus && method == "PUT")
		if !order && (known == nil || known(method, u.Path) == "") {
			continue
		}
		if quotes == nil {
			quotes = postDataQuotes(data, len(h.Log.Entries))
		}
		ent := harEntry{Index: i, Method: method, URLPath: u.Path, quote: quotes[i]}
		if pd := e.Request.PostData; pd != nil {
			ent.Body = []byte(pd.Text)
			if strings.EqualFold(pd.Encoding, "base64") {
				dec, err := base64.StdEncoding.DecodeString(pd.Text)
				if err != nil {
					return fmt.Errorf("entry %d: postData.text: %w", i, err)
				}
				ent.Body, ent.base64 = dec, true
			}
		}
		fn(ent)
	}
	return nil
}

// harPath is log.entries[i].request.postData.text, step by step.
var harPath = []string{"log", "entries", "[]", "request", "postData", "text"}

// postDataQuotes finds, for each of n entries, the file offset of the opening
// quote of log.entries[i].request.postData.text (-1 when absent). data has
// already been decoded by json.Unmarshal, so it is valid JSON nested at most
// 10,000 deep (encoding/json's limit), which bounds the recursion.
func postDataQuotes(data []byte, n int) []int {
	w := harWalker{dec: json.NewDecoder(bytes.NewReader(data)), data: data, quotes: make([]int, n)}
	for i := range w.quotes {
		w.quotes[i] = -1
	}
	_ = w.value(0, -1) // on error the offsets found so far stand
	return w.quotes
}

type harWalker struct {
	dec    *json.Decoder
	data   []byte
	quotes []int
}

// value reads one value; step is how many steps of harPath lead to it (-1:
// off the path) and entry the index of the entry it is in.
func (w *harWalker) value(step, entry int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	on := step >= 0 && step < len(harPath)
	switch d {
	case '{':
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			next := -1
			if on && harPath[step] == key {
				next = step + 1
			}
			if next == len(harPath) && entry >= 0 && entry < len(w.quotes) {
				i := int(w.dec.InputOffset())
				for i < len(w.data) && (w.data[i] == ':' || w.data[i] == ' ' || w.data[i] == '\t' || w.data[i] == '\n' || w.data[i] == '\r') {
					i++
				}
				if i < len(w.data) && w.data[i] == '"' {
					w.quotes[entry] = i
				}
			}
			if err := w.value(next, entry); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; w.dec.More(); i++ {
			next, e := -1, entry
			if on && harPath[step] == "[]" {
				next, e = step+1, i
			}
			if err := w.value(next, e); err != nil {
				return err
			}
		}
	}
	_, err = w.dec.Token() // the closing delimiter
	return err
}
