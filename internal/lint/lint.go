package lint

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// Operation IDs of the generated table that auto mode chooses between by
// content. The linter finds them in its own table by kind (opKind), not by
// these ids; they name them for callers and tests.
const (
	OpOrderV2    = gen.OpOrderV2
	OpOrderV3    = gen.OpOrderV3
	OpStatusPost = gen.OpStatusPost
	OpStatusPut  = gen.OpStatusPut
)

// opKind is an operation auto mode tells from a body or a path: its shape
// (validate.Operation.Shape) and, where two share a shape, its method.
type opKind struct{ shape, method string }

var (
	kindOrderV2    = opKind{validate.FallbackOrderV2, ""}
	kindOrderV3    = opKind{validate.FallbackOrderV3, ""}
	kindStatusPost = opKind{validate.FallbackStatus, "POST"}
	kindStatusPut  = opKind{validate.FallbackStatus, "PUT"}
	kindClaim      = opKind{validate.FallbackClaim, ""}
	kindAccount    = opKind{validate.FallbackAccount, ""}
)

// opOfKind is the id of the first operation of ops of kind k, "" if none.
func opOfKind(ops []validate.Operation, k opKind) string {
	for _, op := range ops {
		if op.Shape() == k.shape && (k.method == "" || op.Method == k.method) {
			return op.ID
		}
	}
	return ""
}

// Modes of --operation. Besides these, every operation's short name in the
// operation table (validate.Operation.Name: account-login, claim, …) is a mode
// that lints every payload as that operation.
const (
	ModeAuto    = "auto"
	ModeOrder   = "order"
	ModeOrderV3 = "order-v3"
	ModeStatus  = "status"
)

// legacyModes are the modes of an operation table without names (Name empty).
var legacyModes = map[string]opKind{ModeOrder: kindOrderV2, ModeOrderV3: kindOrderV3, ModeStatus: kindStatusPost}

// Options configure a Linter.
type Options struct {
	// Operations are the compiled validators, one per operationId (gen.Operations).
	Operations []validate.Operation
	// Rules describe the business rules (gen.Rules); used to check rule ids in
	// Severities and for SARIF rule metadata.
	Rules []validate.RuleInfo
	// Mode is auto (default) or an operation's short name (order, order-v3,
	// status, account-login, …, claim).
	Mode string
	// Severities overrides business rule severities by rule id (--config).
	Severities map[string]validate.Severity
	// Workers is the number of files linted at once; 0 means every core.
	Workers int
}

// Linter lints inputs with one set of validators. It is safe for concurrent use.
type Linter struct {
	ops        map[string]validate.Operation
	byName     []validate.Operation // in the table's order, for paths and names
	mode       string
	fixed      string // the operation every payload is linted as; empty in auto mode
	severities map[string]validate.Severity
	workers    int

	// The operations auto mode chooses between, found once by kind; "" when
	// the table has none.
	orderV2, orderV3, statusPost, statusPut, claim string
	accounts                                       bool // the table has Accounts operations
}

// New checks the options: the operations the mode needs must be present and
// every rule id in Severities must be known.
func New(o Options) (*Linter, error) {
	l := &Linter{ops: map[string]validate.Operation{}, mode: o.Mode, workers: o.Workers}
	if l.mode == "" {
		l.mode = ModeAuto
	}
	for _, op := range o.Operations {
		if op.Request != nil {
			l.ops[op.ID] = op
			l.byName = append(l.byName, op)
		}
	}
	l.orderV2, l.orderV3 = opOfKind(l.byName, kindOrderV2), opOfKind(l.byName, kindOrderV3)
	l.statusPost, l.statusPut = opOfKind(l.byName, kindStatusPost), opOfKind(l.byName, kindStatusPut)
	l.claim, l.accounts = opOfKind(l.byName, kindClaim), opOfKind(l.byName, kindAccount) != ""
	var need []string
	if l.mode == ModeAuto {
		need = []string{l.needed(kindOrderV2), l.needed(kindStatusPost)}
	} else {
		l.fixed = l.operationNamed(l.mode)
		if l.fixed == "" {
			return nil, fmt.Errorf("operation %q: want %s", o.Mode, strings.Join(l.ModeNames(), ", "))
		}
		need = []string{l.fixed}
	}
	for _, id := range need {
		if _, ok := l.ops[id]; !ok {
			return nil, fmt.Errorf("no request validator for operation %s", id)
		}
	}
	if len(o.Severities) > 0 {
		known := make(map[string]bool, len(o.Rules))
		for _, r := range o.Rules {
			known[r.ID] = true
		}
		l.severities = make(map[string]validate.Severity, len(o.Severities))
		for id, s := range o.Severities {
			if !known[id] {
				return nil, fmt.Errorf("unknown rule %q (see 'orderguard spec rules')", id)
			}
			l.severities[id] = s
		}
	}
	if l.workers <= 0 {
		l.workers = runtime.GOMAXPROCS(0)
	}
	return l, nil
}

// Violation is a validator's violation placed in the input file: Line, Column
// and Offset are file positions (for HAR entries: positions within the
// entry's request.postData.text).
type Violation struct {
	validate.Violation
	// File is the place in the input file. It equals Line, Column and Offset
	// except for a HAR entry, where it is the place in the recording of the
	// (possibly escaped) character in request.postData.text — what SARIF and
	// GitHub annotations point at.
	File Position `json:"-"`
}

// Position is a place in a file: 1-based line, 1-based byte column, the same
// column in Unicode code points (SARIF's column kind), 0-based byte offset.
type Position struct {
	Line, Column, CharColumn, Offset int
}

// Payload is one linted body: a whole JSON file, an NDJSON line or a HAR entry.
type Payload struct {
	Path string // the input's display path
	// Index is the NDJSON record (0-based, blank lines not counted) or the HAR
	// entry index in log.entries; -1 for a whole JSON file.
	Index int
	// Line is the file line where an NDJSON record starts; 0 otherwise.
	Line       int
	Type       FileType
	Operation  string // operationId
	Violations []Violation
}

// InPostData reports whether positions are within a HAR entry's postData text.
func (p *Payload) InPostData() bool { return p.Type == TypeHAR }

// Errors counts error-severity violations.
func (p *Payload) Errors() int {
	n := 0
	for i := range p.Violations {
		if p.Violations[i].Severity == validate.SeverityError {
			n++
		}
	}
	return n
}

// Valid reports whether the payload has no error-severity violation.
func (p *Payload) Valid() bool { return p.Errors() == 0 }

// FileResult holds the payloads of one input, in input order.
type FileResult struct {
	Path     string
	Type     FileType
	Payloads []Payload
}

// Summary counts a run.
type Summary struct {
	Files    int `json:"files"`
	Payloads int `json:"payloads"`
	Invalid  int `json:"invalid"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Result is a whole run, in the order of the inputs.
type Result struct {
	Files   []FileResult
	Summary Summary
}

// Lint reads and lints inputs on all workers. Results keep input order. Any
// read or container error (unreadable file, a HAR that is not JSON) is
// returned, naming the file, after every input was tried.
func (l *Linter) Lint(inputs []Input) (*Result, error) {
	res := &Result{Files: make([]FileResult, len(inputs))}
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	next := make(chan int)
	workers := min(l.workers, len(inputs))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rep validate.Report
			rep.Severities = l.severities
			var buf []byte // reused: violations are copied out of the report
			for i := range next {
				res.Files[i], buf, errs[i] = l.lintInput(inputs[i], &rep, buf)
			}
		}()
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res.Summary.Files = len(inputs)
	for i := range res.Files {
		for j := range res.Files[i].Payloads {
			p := &res.Files[i].Payloads[j]
			res.Summary.Payloads++
			e := p.Errors()
			res.Summary.Errors += e
			res.Summary.Warnings += len(p.Violations) - e
			if e > 0 {
				res.Summary.Invalid++
			}
		}
	}
	return res, nil
}

func (l *Linter) lintInput(in Input, rep *validate.Report, buf []byte) (FileResult, []byte, error) {
	fr := FileResult{Path: in.Path, Type: in.Type}
	data, err := in.read(buf)
	if err != nil {
		return fr, buf, err
	}
	if in.name != "" {
		buf = data
	}
	switch in.Type {
	case TypeNDJSON:
		fr.Payloads = l.lintNDJSON(data, rep)
	case TypeHAR:
		err = eachHAREntry(data, l.opForPath, func(e harEntry) {
			op := l.detect(e.Body, e.URLPath)
			if l.mode == ModeAuto && forterRoute(e.URLPath) == routeNone {
				op = l.opForPath(e.Method, e.URLPath) // an Accounts or Claims request
			}
			if l.mode == ModeAuto && op != "" && op == l.statusPost && e.Method == "PUT" && l.statusPut != "" {
				op = l.statusPut
			}
			p := l.lintBody(e.Body, op, rep)
			p.Index = e.Index
			if len(p.Violations) > 0 {
				// A JSON string holds no raw line break: the whole text is on
				// the line of its opening quote.
				q := max(e.quote, 0)
				qLine := 1 + bytes.Count(data[:q], []byte{'\n'})
				qCol := q - (bytes.LastIndexByte(data[:q], '\n') + 1) + 1
				for k := range p.Violations {
					v := &p.Violations[k]
					fo := e.fileOffset(data, v.Offset)
					v.File = Position{Line: qLine, Column: qCol + fo - q, Offset: fo}
					v.File.CharColumn = charColumn(data, fo, v.File.Column)
				}
			}
			fr.Payloads = append(fr.Payloads, p)
		})
	default:
		p := l.lintBody(data, l.detect(data, ""), rep)
		p.Index = -1
		for k := range p.Violations {
			v := &p.Violations[k].Violation
			p.Violations[k].File = Position{Line: v.Line, Column: v.Column, CharColumn: charColumn(data, v.Offset, v.Column), Offset: v.Offset}
		}
		fr.Payloads = append(fr.Payloads, p)
	}
	if err != nil {
		return fr, buf, fmt.Errorf("read %s: %w", in.Path, err)
	}
	for j := range fr.Payloads {
		fr.Payloads[j].Path, fr.Payloads[j].Type = in.Path, in.Type
	}
	return fr, buf, nil
}

// ndjsonSplit is the NDJSON file size above which its records are linted on
// all workers (below it, starting goroutines costs more than it saves).
const ndjsonSplit = 1 << 20

// lintNDJSON lints every record of an NDJSON file; a large file is split in
// contiguous chunks over the workers, and the payloads keep record order.
func (l *Linter) lintNDJSON(data []byte, rep *validate.Report) []Payload {
	type record struct{ index, line, offset int }
	var recs []record
	_ = eachLine(data, func(index, line, offset int, _ []byte) {
		recs = append(recs, record{index, line, offset})
	})
	out := make([]Payload, len(recs))
	lintRange := func(lo, hi int, rep *validate.Report) {
		for i := lo; i < hi; i++ {
			r := recs[i]
			end := bytes.IndexByte(data[r.offset:], '\n')
			if end < 0 {
				end = len(data) - r.offset
			}
			rec := data[r.offset : r.offset+end]
			p := l.lintBody(rec, l.detect(rec, ""), rep)
			p.Index, p.Line = r.index, r.line
			for k := range p.Violations {
				v := &p.Violations[k].Violation
				v.Offset += r.offset
				v.Line += r.line - 1
				p.Violations[k].File = Position{Line: v.Line, Column: v.Column, CharColumn: charColumn(data, v.Offset, v.Column), Offset: v.Offset}
			}
			out[i] = p
		}
	}
	n := l.workers
	if len(data) < ndjsonSplit || n < 2 || len(recs) < 2*n {
		lintRange(0, len(recs), rep)
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(recs) + n - 1) / n
	for lo := 0; lo < len(recs); lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			r := validate.Report{Severities: l.severities}
			lintRange(lo, hi, &r)
		}(lo, min(lo+chunk, len(recs)))
	}
	wg.Wait()
	return out
}

// lintBody validates one body and keeps a copy of its violations, with
// severities overridden by configuration (whether or not the generated code
// applied Report.Severities itself, the result is the same).
func (l *Linter) lintBody(body []byte, op string, rep *validate.Report) Payload {
	if op == opUndetected {
		return Payload{Violations: []Violation{{Violation: validate.Violation{
			Severity: validate.SeverityError, Kind: validate.KindSchema, Rule: "operation", Line: 1, Column: 1,
			Message: "an Accounts API body (a top-level accountId): its event is in the URL only; lint it with --operation account-signup, account-login, … (orderguard lint -h lists them)",
		}}}}
	}
	rep.Reset()
	l.ops[op].Request(body, rep)
	p := Payload{Operation: op}
	if len(rep.Violations) == 0 {
		return p
	}
	p.Violations = make([]Violation, 0, len(rep.Violations))
	for _, v := range rep.Violations {
		if v.Kind == validate.KindRule {
			if s, ok := l.severities[v.Rule]; ok {
				if s == validate.SeverityOff {
					continue
				}
				v.Severity = s
			}
		}
		p.Violations = append(p.Violations, Violation{Violation: v})
	}
	return p
}

// operationNamed is the id of the operation a --operation name stands for:
// the operation table's short name, else one of the legacy modes; "" if none.
func (l *Linter) operationNamed(name string) string {
	for _, op := range l.byName {
		if op.Name != "" && op.Name == name {
			return op.ID
		}
	}
	if k, ok := legacyModes[name]; ok {
		return l.needed(k)
	}
	return ""
}

// needed is the id of the table's operation of kind k; when the table has
// none, the generated table's, so that the error names what is missing.
func (l *Linter) needed(k opKind) string {
	if id := opOfKind(l.byName, k); id != "" {
		return id
	}
	return opOfKind(gen.Operations, k)
}

// ModeNames lists the values --operation takes: auto, then the operations'
// short names in table order (the legacy ones when the table has none).
func (l *Linter) ModeNames() []string { return ModeNames(l.byName) }

// ModeNames lists the --operation values of an operation table.
func ModeNames(ops []validate.Operation) []string {
	names := []string{ModeAuto}
	for _, op := range ops {
		if op.Name != "" && op.Request != nil {
			names = append(names, op.Name)
		}
	}
	if len(names) == 1 {
		names = append(names, ModeOrder, ModeOrderV3, ModeStatus)
	}
	return names
}

// opForPath is the operation whose method and path template match a
// recorded request (a HAR entry), "" if none: how auto mode finds the
// Accounts and Claims operations, which have no body-based detection.
func (l *Linter) opForPath(method, path string) string {
	for _, op := range l.byName {
		if op.Method == method && matchTemplate(op.Path, path) {
			return op.ID
		}
	}
	return ""
}

// charColumn converts a 1-based byte column to code points, using the bytes
// of the line before offset.
func charColumn(body []byte, offset, column int) int {
	start := offset - (column - 1)
	if column < 1 || start < 0 || offset > len(body) {
		return column
	}
	return utf8.RuneCount(body[start:offset]) + 1
}

// opUndetected is detect's answer for a body whose operation the content
// cannot tell: an Accounts API body, whose event is only in its URL.
const opUndetected = ""

// detect chooses the operation of a body: the mode when it is fixed, else the
// HAR request path, else the content (a top-level processorChargebackCaseId
// means a claim; a top-level accountId without orderId an account event,
// which it cannot tell apart (opUndetected); a top-level updatedStatus or
// eventTime a status update; anything else an order).
func (l *Linter) detect(body []byte, urlPath string) string {
	if l.fixed != "" {
		return l.fixed
	}
	switch forterRoute(urlPath) {
	case routeOrderV2:
		return l.orderV2
	case routeOrderV3:
		if l.orderV3 != "" {
			return l.orderV3
		}
		return l.orderV2
	case routeStatus:
		return l.statusPost
	}
	// Most bodies are orders: look for the names anywhere first, and only
	// then check that one is a top-level member. The needles do not start
	// with '"': bytes.Index finds candidates by their first byte, and a quote
	// is in every member (measured: 6x slower).
	if bytes.Contains(body, []byte(`processorChargebackCaseId"`)) && topLevelHas(body, "processorChargebackCaseId") {
		if l.claim != "" {
			return l.claim
		}
	}
	if bytes.Contains(body, []byte(`accountId"`)) && l.accounts &&
		topLevelHas(body, "accountId") && !topLevelHas(body, "orderId") {
		return opUndetected
	}
	if (bytes.Contains(body, []byte(`updatedStatus"`)) || bytes.Contains(body, []byte(`eventTime"`))) &&
		topLevelHas(body, "updatedStatus", "eventTime") {
		return l.statusPost
	}
	return l.orderV2
}
