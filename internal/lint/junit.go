package lint

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/orderguard/orderguard/internal/validate"
)

// JUnit XML as CI systems read it (Jenkins, GitLab, Azure): one testsuite per
// file, one testcase per payload; a payload with errors fails, warnings go to
// system-out.

type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

type JUnitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []JUnitCase `xml:"testcase"`
}

type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	SystemOut *JUnitText    `xml:"system-out,omitempty"`
}

// JUnitText is element text kept readable in CDATA (encoding/xml splits a
// "]]>" inside it).
type JUnitText struct {
	Text string `xml:",cdata"`
}

type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

func writeJUnit(w io.Writer, res *Result) error {
	root := JUnitSuites{Name: "orderguard lint", Suites: []JUnitSuite{}}
	for i := range res.Files {
		f := &res.Files[i]
		suite := JUnitSuite{Name: f.Path, Cases: []JUnitCase{}}
		for j := range f.Payloads {
			p := &f.Payloads[j]
			name := p.where()
			if name == "" {
				name = f.Path
			}
			c := JUnitCase{Name: name + " (" + p.Operation + ")", Classname: f.Path}
			var errs, warns strings.Builder
			for _, v := range p.Violations {
				b := &errs
				if v.Severity == validate.SeverityWarning {
					b = &warns
				}
				fmt.Fprintf(b, "%s:%d:%d: %s %s: %s (%s)\n", p.Path, v.Line, v.Column, v.Severity, v.Rule, v.Message, pointerText(v.Pointer))
			}
			if p.InPostData() && len(p.Violations) > 0 {
				note := "positions: " + p.harNote() + "\n"
				if errs.Len() > 0 {
					errs.WriteString(note)
				}
				if warns.Len() > 0 {
					warns.WriteString(note)
				}
			}
			if e := p.Errors(); e > 0 {
				c.Failure = &JUnitFailure{
					Message: fmt.Sprintf("%d %s", e, plural(e, "error")),
					Type:    "orderguard.violation",
					Text:    errs.String(),
				}
				suite.Failures++
			}
			if warns.Len() > 0 {
				c.SystemOut = &JUnitText{Text: warns.String()}
			}
			suite.Tests++
			suite.Cases = append(suite.Cases, c)
		}
		root.Tests += suite.Tests
		root.Failures += suite.Failures
		root.Suites = append(root.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
