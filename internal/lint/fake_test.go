package lint

import (
	"bytes"

	"github.com/orderguard/orderguard/internal/validate"
)

// fakeValidator stands in for a generated validator in unit tests of the
// linter's own logic (positions, splitting, severities, exit codes), so that
// those tests do not move when the spec does. It reports:
//   - a syntax violation when the body does not start with '{';
//   - required /orderId when no "orderId" member name is present;
//   - enum at every "BAD" value;
//   - the warning rule "fake-warn" at every "WARN" value;
//   - the error rule "fake-rule" at every "RULE" value.
func fakeValidator(body []byte, r *validate.Report) {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		r.Violations = append(r.Violations, at(body, len(body)-len(b), validate.Violation{
			Kind: validate.KindSyntax, Rule: "syntax", Message: "expected a JSON object",
		}))
		return
	}
	if !bytes.Contains(body, []byte(`"orderId"`)) {
		r.Violations = append(r.Violations, at(body, len(body)-len(b), validate.Violation{
			Pointer: "/orderId", Kind: validate.KindSchema, Rule: "required", Message: "orderId is required",
		}))
	}
	for _, m := range []struct {
		token string
		v     validate.Violation
	}{
		{`"BAD"`, validate.Violation{Pointer: "/orderType", Kind: validate.KindSchema, Rule: "enum", Message: "must be one of WEB, PHONE"}},
		{`"WARN"`, validate.Violation{Pointer: "/note", Kind: validate.KindRule, Rule: "fake-warn", Message: "fake warning", Severity: validate.SeverityWarning}},
		{`"RULE"`, validate.Violation{Pointer: "/rule", Kind: validate.KindRule, Rule: "fake-rule", Message: "fake rule"}},
	} {
		for off := 0; ; {
			i := bytes.Index(body[off:], []byte(m.token))
			if i < 0 {
				break
			}
			r.Violations = append(r.Violations, at(body, off+i, m.v))
			off += i + 1
		}
	}
}

// at places v at offset in body, the way the scanner counts lines and columns.
func at(body []byte, offset int, v validate.Violation) validate.Violation {
	v.Offset = offset
	v.Line = 1 + bytes.Count(body[:offset], []byte{'\n'})
	v.Column = offset - (bytes.LastIndexByte(body[:offset], '\n') + 1) + 1
	return v
}

var fakeOps = []validate.Operation{
	{ID: OpOrderV2, Method: "POST", Path: "/v2/orders/{orderId}", Request: fakeValidator},
	{ID: OpOrderV3, Method: "POST", Path: "/v3/orders/{orderId}", Request: fakeValidator},
	{ID: OpStatusPost, Method: "POST", Path: "/v2/status/{orderId}", Request: fakeValidator},
	{ID: OpStatusPut, Method: "PUT", Path: "/v2/status/{orderId}", Request: fakeValidator},
}

var fakeRules = []validate.RuleInfo{
	{ID: "fake-rule", Severity: validate.SeverityError, Description: "A fake rule.", Source: "https://example.com/fake-rule"},
	{ID: "fake-warn", Severity: validate.SeverityWarning, Description: "A fake warning.", Source: "test"},
}
