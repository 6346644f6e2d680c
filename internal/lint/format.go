package lint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/orderguard/orderguard/internal/validate"
)

// Formats lists the --format values.
var Formats = []string{"text", "json", "sarif", "junit", "github"}

// FormatOptions carry what a report needs beyond the result.
type FormatOptions struct {
	Color   bool                // text: ANSI colors (only on a terminal)
	Rules   []validate.RuleInfo // sarif: rule metadata
	Version string              // sarif: tool version
}

// Write writes res in format (one of Formats).
func Write(w io.Writer, format string, res *Result, o FormatOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch format {
	case "text":
		err = writeText(bw, res, o.Color)
	case "json":
		err = writeJSON(bw, res)
	case "sarif":
		err = writeSARIF(bw, res, o)
	case "junit":
		err = writeJUnit(bw, res)
	case "github":
		err = writeGitHub(bw, res)
	default:
		return fmt.Errorf("format %q: want %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// where names a payload for people: "" for a whole file, "record 3" for
// NDJSON, "HAR entry 3" for a recording.
func (p *Payload) where() string {
	switch p.Type {
	case TypeNDJSON:
		return "record " + strconv.Itoa(p.Index)
	case TypeHAR:
		return "HAR entry " + strconv.Itoa(p.Index)
	}
	return ""
}

// harNote says where positions of a HAR payload are counted from.
func (p *Payload) harNote() string {
	return fmt.Sprintf("HAR entry %d, position within request.postData.text", p.Index)
}

// harPlace names a HAR violation's place within the entry, for formats whose
// own position is the one in the recording file (SARIF, GitHub).
func (p *Payload) harPlace(v Violation) string {
	return fmt.Sprintf("HAR entry %d, request.postData.text line %d, column %d", p.Index, v.Line, v.Column)
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

// writeText writes `path:line:column: severity rule: message (pointer)`, one
// line per violation (for a HAR entry, the place in the recording, with the
// entry and the postData position in brackets), then a summary line.
func writeText(w *bufio.Writer, res *Result, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	for i := range res.Files {
		for j := range res.Files[i].Payloads {
			p := &res.Files[i].Payloads[j]
			for _, v := range p.Violations {
				sev := paint(ansiRed, "error")
				if v.Severity == validate.SeverityWarning {
					sev = paint(ansiYellow, "warning")
				}
				// A HAR entry's place is given in the recording, as SARIF and
				// GitHub do, so that an editor jumps to it; the position in
				// postData follows in the message.
				line, col := v.Line, v.Column
				if p.InPostData() {
					line, col = v.File.Line, v.File.Column
				}
				fmt.Fprintf(w, "%s:%d:%d: %s %s: %s (%s)",
					paint(ansiBold, p.Path), line, col, sev, v.Rule, v.Message, pointerText(v.Pointer))
				if p.InPostData() {
					fmt.Fprintf(w, " %s", paint(ansiDim, "["+p.harPlace(v)+"]"))
				}
				w.WriteByte('\n')
			}
		}
	}
	s := res.Summary
	line := fmt.Sprintf("%d %s, %d %s, %d invalid: %d %s, %d %s",
		s.Files, plural(s.Files, "file"), s.Payloads, plural(s.Payloads, "payload"), s.Invalid,
		s.Errors, plural(s.Errors, "error"), s.Warnings, plural(s.Warnings, "warning"))
	switch {
	case s.Errors > 0:
		line = paint(ansiRed, line)
	case s.Warnings > 0:
		line = paint(ansiYellow, line)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// pointerText shows the root pointer "" as "/" is ambiguous; write it as "#".
func pointerText(p string) string { return "#" + p }

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// JSON contract (other tools depend on it; change only by adding fields):
// {"files":[jsonFile…],"summary":Summary}.
type jsonFile struct {
	Path       string          `json:"path"`
	Index      *int            `json:"index,omitempty"`
	Operation  string          `json:"operation"`
	Valid      bool            `json:"valid"`
	Violations []jsonViolation `json:"violations"`
}

type jsonViolation struct {
	Pointer  string            `json:"pointer"`
	Kind     validate.Kind     `json:"kind"`
	Rule     string            `json:"rule"`
	Severity validate.Severity `json:"severity"`
	Message  string            `json:"message"`
	Line     int               `json:"line"`
	Column   int               `json:"column"`
	Offset   int               `json:"offset"`
}

// writeJSON streams the report one payload at a time (the bytes are those
// json.Encoder with two-space indent writes for the whole report), so that a
// large run is never held twice in memory.
func writeJSON(w io.Writer, res *Result) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	if _, err := io.WriteString(w, "{\n  \"files\": ["); err != nil {
		return err
	}
	sep := "\n    "
	for i := range res.Files {
		for j := range res.Files[i].Payloads {
			p := &res.Files[i].Payloads[j]
			f := jsonFile{Path: p.Path, Operation: p.Operation, Valid: p.Valid(), Violations: make([]jsonViolation, 0, len(p.Violations))}
			if p.Index >= 0 {
				idx := p.Index
				f.Index = &idx
			}
			for _, v := range p.Violations {
				f.Violations = append(f.Violations, jsonViolation{
					Pointer: v.Pointer, Kind: v.Kind, Rule: v.Rule, Severity: v.Severity,
					Message: v.Message, Line: v.Line, Column: v.Column, Offset: v.Offset,
				})
			}
			buf.Reset()
			if err := enc.Encode(f); err != nil {
				return err
			}
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			if _, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})); err != nil {
				return err
			}
			sep = ",\n    "
		}
	}
	end := "\n  ],\n  \"summary\": "
	if sep == "\n    " {
		end = "],\n  \"summary\": " // no payload: "files": []
	}
	buf.Reset()
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(res.Summary); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s%s}\n", end, buf.Bytes())
	return err
}

// writeGitHub writes workflow commands that GitHub Actions turns into
// annotations, at file positions (for a HAR entry: in the recording, with the
// place within the entry's postData text in the message).
func writeGitHub(w *bufio.Writer, res *Result) error {
	for i := range res.Files {
		for j := range res.Files[i].Payloads {
			p := &res.Files[i].Payloads[j]
			for _, v := range p.Violations {
				cmd := "error"
				if v.Severity == validate.SeverityWarning {
					cmd = "warning"
				}
				msg := fmt.Sprintf("%s (%s)", v.Message, pointerText(v.Pointer))
				if p.InPostData() {
					msg = fmt.Sprintf("%s [%s]", msg, p.harPlace(v))
				}
				fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", cmd, ghProperty(p.Path),
					v.File.Line, v.File.Column, ghProperty("orderguard "+v.Rule), ghData(msg))
			}
		}
	}
	return nil
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
