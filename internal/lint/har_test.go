package lint

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// asciiJSON encodes s as a JSON string with every non-ASCII character as
// \uXXXX (surrogate pairs above U+FFFF), the way some HAR writers do.
func asciiJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// checkFileOffsets requires, for every character boundary d of body, that
// the recording's bytes from the opening quote to fileOffset(d) decode to
// exactly body[:d].
func checkFileOffsets(t *testing.T, body string, encoded string) {
	t.Helper()
	data := []byte(`{"log":{"entries":[{"request":{"method":"POST","url":"https://api.forter-secure.com/v2/orders/1",` +
		"\n    \"postData\": {\"mimeType\":\"application/json\", \"text\" :\t" + encoded + "}}}]}}")
	var got []harEntry
	if err := eachHAREntry(data, nil, func(e harEntry) { got = append(got, e) }); err != nil {
		t.Fatalf("%q: %v", encoded, err)
	}
	if len(got) != 1 || string(got[0].Body) != body {
		t.Fatalf("%q: entries %+v", encoded, got)
	}
	e := got[0]
	if e.quote < 0 || data[e.quote] != '"' {
		t.Fatalf("%q: quote at %d", encoded, e.quote)
	}
	for d := 0; d <= len(body); d++ {
		if d < len(body) && !utf8.RuneStart(body[d]) {
			continue
		}
		fo := e.fileOffset(data, d)
		var prefix string
		if err := json.Unmarshal(append(append([]byte{}, data[e.quote:fo]...), '"'), &prefix); err != nil {
			t.Fatalf("%q offset %d: file bytes %q are not a string prefix: %v", encoded, d, data[e.quote:fo], err)
		}
		if prefix != body[:d] {
			t.Fatalf("%q offset %d: file bytes decode to %q, want %q", encoded, d, prefix, body[:d])
		}
	}
}

func TestHARFileOffsets(t *testing.T) {
	for _, body := range []string{
		`{"orderId":"1","orderType":"BAD"}`,
		"{\n  \"name\": \"Zoë <&> \\\\ \\\"q\\\"\",\n  \"emoji\": \"😀 x\"\n}",
		"",
		"\t\u2028\u00e9\U0001F600\"",
	} {
		std, _ := json.Marshal(body) // escapes <, >, & and U+2028 as \u
		checkFileOffsets(t, body, string(std))
		checkFileOffsets(t, body, asciiJSON(body))
	}
}

func FuzzHARFileOffsets(f *testing.F) {
	f.Add(`{"a":"é😀\"\\"}`)
	f.Fuzz(func(t *testing.T, body string) {
		if !utf8.ValidString(body) {
			return // encoders replace invalid UTF-8; the body would differ
		}
		std, _ := json.Marshal(body)
		checkFileOffsets(t, body, string(std))
		checkFileOffsets(t, body, asciiJSON(body))
	})
}

// Two Forter entries, one without postData and one with base64: quotes are
// found per entry index, and base64 bodies map to their quote.
func TestHARQuotesPerEntry(t *testing.T) {
	data := []byte(`{"log":{"entries":[
 {"request":{"method":"GET","url":"https://a.example/","postData":{"text":"x"}}},
 {"request":{"method":"POST","url":"https://api.forter-secure.com/v2/orders/1"}},
 {"request":{"postData":{"encoding":"base64","text":"e30="},"method":"POST","url":"https://api.forter-secure.com/v2/orders/2"}},
 {"response":{"postData":{"text":"not this"}},"request":{"method":"PUT","url":"https://api.forter-secure.com/v2/status/3","postData":{"text":"{}"}}}
]}}`)
	var got []string
	err := eachHAREntry(data, nil, func(e harEntry) {
		q := "none"
		if e.quote >= 0 {
			q = string(data[e.quote : e.quote+4])
		}
		got = append(got, fmt.Sprintf("%d %s %q %s %d", e.Index, e.Method, e.Body, q, e.fileOffset(data, 1)-max(e.quote, 0)))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`1 POST "" none 0`, `2 POST "{}" "e30 0`, `3 PUT "{}" "{}" 2`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
