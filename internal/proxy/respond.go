package proxy

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/orderguard/orderguard/internal/validate"
)

// Header names the proxy adds to answers.
const (
	HeaderViolations = "X-Orderguard-Violations" // count of violations found (report mode, and warnings in enforce mode)
	HeaderFallback   = "X-Orderguard-Fallback"   // timeout, upstream-error, circuit-open or queued-behind-order: the proxy answered, not Forter
)

// ReasonCodeFallback is the reasonCode of an open-fallback v2 answer.
const ReasonCodeFallback = "ORDERGUARD_FALLBACK"

// ProblemType identifies a rejected body in RFC 9457 problem details.
const ProblemType = "urn:orderguard:problem:malformed-request"

const (
	contentJSON    = "application/json"
	contentProblem = "application/problem+json"
)

var problemAccept = []byte(contentProblem)

// wantsProblem reports whether the client's Accept header asks for RFC 9457
// problem details.
func wantsProblem(h *fasthttp.RequestHeader) bool {
	return bytes.Contains(h.Peek(fasthttp.HeaderAccept), problemAccept)
}

// appendMalformed writes the enforce-mode answer: Forter's own validation
// error shape, each error with the proxy's extra fields (rule, kind, line,
// column). Only error-severity violations are listed: warnings never block.
// As problem+json it carries the same list under "errors".
func appendMalformed(b []byte, r *validate.Report, problem bool, instance []byte) []byte {
	n := r.Errors()
	if problem {
		b = append(b, `{"type":"`+ProblemType+`","title":"Malformed request","status":400,"detail":"The request body does not match Forter's API specification; it was not sent to Forter.","instance":`...)
		b = appendString(b, shownID(instance)) // the path: a card number as the order id is masked
		b = append(b, `,"errorsCount":`...)
	} else {
		b = append(b, `{"status":"failed","message":"Malformed request","errorsCount":`...)
	}
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"errors":[`...)
	first := true
	for i := range r.Violations {
		v := &r.Violations[i]
		if v.Severity != validate.SeverityError {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"message":`...)
		b = appendString(b, []byte(v.Message))
		b = append(b, `,"path":`...)
		b = appendPointerFragment(b, v.Pointer)
		b = append(b, `,"rule":`...)
		b = appendString(b, []byte(v.Rule))
		b = append(b, `,"kind":"`...)
		b = append(b, v.Kind.String()...)
		b = append(b, `","line":`...)
		b = strconv.AppendInt(b, int64(v.Line), 10)
		b = append(b, `,"column":`...)
		b = strconv.AppendInt(b, int64(v.Column), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendPointerFragment writes an RFC 6901 pointer as the URI fragment
// Forter uses in "path": "#/orderType".
func appendPointerFragment(b []byte, ptr string) []byte {
	frag := make([]byte, 0, len(ptr)+1)
	frag = append(frag, '#')
	frag = append(frag, ptr...)
	return appendString(b, frag)
}

// appendFailed writes Forter's error shape without an error list.
func appendFailed(b []byte, msg string) []byte {
	b = append(b, `{"status":"failed","message":`...)
	b = appendString(b, []byte(msg))
	return append(b, '}')
}

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD so the
// answer is always valid JSON.
func appendString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// fallbackShape is how an operation's open-fallback answer looks: a decision
// in the operation's own shape that says "not reviewed".
type fallbackShape uint8

const (
	shapeOrderV2 fallbackShape = iota
	shapeOrderV3
	shapeStatus
	shapeAccount
	shapeClaim
)

// shapeOf is the operation's fallback shape (validate.Operation.Shape: its
// x-orderguard-fallback, else its path's).
func shapeOf(op validate.Operation) fallbackShape {
	switch op.Shape() {
	case validate.FallbackOrderV3:
		return shapeOrderV3
	case validate.FallbackStatus:
		return shapeStatus
	case validate.FallbackAccount:
		return shapeAccount
	case validate.FallbackClaim:
		return shapeClaim
	}
	return shapeOrderV2
}

// outboxLine is the key the outbox keeps a request's order by (its OrderID):
// the order id for orders and status updates, so an update never overtakes
// its order; "account:<id>" for account events, so they keep their order per
// account and an account id equal to some order id shares nothing with that
// order (neither its queue nor its dead-lettering); for claims the shape's
// name (validate.FallbackClaim), one line in arrival order (a claim's order
// id is in its body, unread here).
func outboxLine(shape fallbackShape, id []byte) string {
	switch shape {
	case shapeAccount:
		return "account:" + string(id)
	case shapeClaim:
		return validate.FallbackClaim
	}
	return string(id)
}

const fallbackMessage = "Forter did not answer within the budget; orderguard queued the request and will resend it"

// appendFallback writes the open-fallback body and returns its status code.
// id is the path's first parameter: the order id, or the account id.
func appendFallback(b []byte, shape fallbackShape, id []byte) ([]byte, int) {
	switch shape {
	case shapeOrderV3:
		b = append(b, `{"forterDecision":"NOT_REVIEWED","recommendation":"","verificationMethod":{},"decisionReason":"`+ReasonCodeFallback+`","orderId":`...)
		b = appendString(b, id)
		return append(b, '}'), fasthttp.StatusOK
	case shapeAccount:
		// status too: Forter's SFCC cartridge reads only status for signup and update.
		b = append(b, `{"status":"success","forterDecision":"NOT_REVIEWED","recommendation":"","decisionReason":"`+ReasonCodeFallback+`","accountId":`...)
		b = appendString(b, id)
		b = append(b, `,"message":"`+fallbackMessage+`"}`...)
		return b, fasthttp.StatusOK
	case shapeStatus, shapeClaim:
		b = append(b, `{"status":"success","message":"`+fallbackMessage+`"}`...)
		return b, fasthttp.StatusAccepted
	}
	b = append(b, `{"status":"success","action":"not reviewed","transaction":`...)
	b = appendString(b, id)
	b = append(b, `,"reasonCode":"`+ReasonCodeFallback+`","message":"`+fallbackMessage+`"}`...)
	return b, fasthttp.StatusOK
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, contentType string, body []byte) {
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentType(contentType)
	ctx.Response.SetBody(body)
}
