package sandbox

import (
	"strings"
	"unicode/utf8"
)

// Decision is one of Forter's three order decisions (the accounts endpoints
// add VerificationRequired).
type Decision uint8

const (
	Approve Decision = iota + 1
	Decline
	NotReviewed
	VerificationRequired // accounts endpoints only
)

// V2 is the decision as /v2/orders spells it in "action".
func (d Decision) V2() string {
	switch d {
	case Approve:
		return "approve"
	case Decline:
		return "decline"
	case NotReviewed:
		return "not reviewed"
	case VerificationRequired:
		return "verification required"
	}
	return "unknown"
}

// V3 is the decision as /v3/orders and the accounts endpoints spell it in
// "forterDecision".
func (d Decision) V3() string {
	switch d {
	case Approve:
		return "APPROVE"
	case Decline:
		return "DECLINE"
	case NotReviewed:
		return "NOT_REVIEWED"
	case VerificationRequired:
		return "VERIFICATION_REQUIRED"
	}
	return "UNKNOWN"
}

func (d Decision) String() string { return d.V3() }

// Outcome is what the sandbox answers for one order or account event.
type Outcome struct {
	Decision Decision
	// Recommendation is empty or one recommendation code
	// (VERIFICATION_REQUIRED_3DS_CHALLENGE, REQUEST_SCA_EXEMPTION_TRA, …).
	Recommendation string
	// Trigger says why: the test e-mail or IP, or "order id" for a
	// pseudo-random decision.
	Trigger string
}

// TestEmails are the addresses Forter documents (reference section E) with
// the decision and recommendation each forces on the Order API. The second
// 3DS-challenge address and the trusted-beneficiary, exclusion and EMVCo
// addresses were not recovered, so they are not emulated.
var TestEmails = map[string]Outcome{
	"approve@forter.com":                       {Decision: Approve},
	"decline@forter.com":                       {Decision: Decline},
	"notreviewed@forter.com":                   {Decision: NotReviewed},
	"force_3ds_psd2_recommendation@forter.com": {Decision: Decline, Recommendation: "VERIFICATION_REQUIRED_3DS_CHALLENGE"},
	"force_exemption_tra@forter.com":           {Decision: Approve, Recommendation: "REQUEST_SCA_EXEMPTION_TRA"},
	"force_exemption_low_value@forter.com":     {Decision: Approve, Recommendation: "REQUEST_SCA_EXEMPTION_LOW_VALUE"},
	"force_exemption_corp@forter.com":          {Decision: Approve, Recommendation: "REQUEST_SCA_EXEMPTION_CORP"},
}

// TestIPs are the connectionInformation.customerIP values that force a
// decision on the accounts endpoints (reference section E, identities).
var TestIPs = map[string]Outcome{
	"0.0.0.1": {Decision: Approve},
	"0.0.0.2": {Decision: Decline},
	"0.0.0.3": {Decision: NotReviewed},
	"0.0.0.4": {Decision: VerificationRequired, Recommendation: "EMAIL_VERIFICATION"},
	"0.0.0.5": {Decision: VerificationRequired, Recommendation: "SMS_VERIFICATION"},
}

// Shares of the pseudo-random decisions, in percent. Forter says only that
// the test site's answer is random; most real traffic is approved.
const (
	randomApprovePct = 70
	randomDeclinePct = 20 // the rest is not reviewed
)

// OrderOutcome decides an order: by test e-mail (compared without regard to
// case or surrounding spaces), else pseudo-randomly from the order id and the
// seed, so the same order always gets the same answer.
func OrderOutcome(orderID, email string, seed uint64) Outcome {
	if o, ok := lookupEmail(email); ok {
		return o
	}
	return randomOutcome(orderID, seed)
}

// AccountOutcome decides an accounts event: by test IP, else pseudo-randomly
// from the account id. (The test e-mails of the identity table were not
// recovered from Forter's page, so only the IPs are emulated.)
func AccountOutcome(accountID, ip string, seed uint64) Outcome {
	ip = strings.TrimSpace(ip)
	if o, ok := TestIPs[ip]; ok {
		o.Trigger = "ip " + ip
		return o
	}
	return randomOutcome(accountID, seed)
}

func lookupEmail(email string) (Outcome, bool) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return Outcome{}, false
	}
	o, ok := TestEmails[e]
	if ok {
		o.Trigger = "email " + e
	}
	return o, ok
}

func randomOutcome(id string, seed uint64) Outcome {
	o := Outcome{Decision: NotReviewed, Trigger: "order id"}
	switch p := hashID(id, seed) % 100; {
	case p < randomApprovePct:
		o.Decision = Approve
	case p < randomApprovePct+randomDeclinePct:
		o.Decision = Decline
	}
	return o
}

// hashID is FNV-1a over the seed's bytes then the id, finished with a
// splitmix64 step so that neighbouring ids spread over the decisions.
func hashID(id string, seed uint64) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < 8; i++ {
		h ^= (seed >> (8 * i)) & 0xff
		h *= prime
	}
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

const portalPrefix = "https://portal.forter.com/dashboard/"

// appendV2 writes the /v2/orders answer, in the recorded field order:
// {"status":"success","transaction":…,"action":…,"message":" | Link in portal: …","reasonCode":"Test","recommendations":[…]}.
func appendV2(b []byte, orderID string, o Outcome) []byte {
	b = append(b, `{"status":"success","transaction":`...)
	b = appendJSONString(b, orderID)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, o.Decision.V2())
	b = append(b, `,"message":`...)
	b = appendJSONString(b, " | Link in portal: "+portalPrefix+orderID)
	b = append(b, `,"reasonCode":"Test","recommendations":[`...)
	if o.Recommendation != "" {
		b = appendJSONString(b, o.Recommendation)
	}
	return append(b, "]}"...)
}

// appendV3 writes the /v3/orders answer.
func appendV3(b []byte, orderID string, o Outcome) []byte {
	b = append(b, `{"forterDecision":`...)
	b = appendJSONString(b, o.Decision.V3())
	b = append(b, `,"recommendation":`...)
	b = appendJSONString(b, o.Recommendation)
	b = append(b, `,"verificationMethod":{},"orderId":`...)
	b = appendJSONString(b, orderID)
	b = append(b, `,"decisionReason":"Test","linkToEventInDashboard":`...)
	b = appendJSONString(b, portalPrefix+orderID)
	return append(b, '}')
}

// appendAccount writes an accounts answer.
func appendAccount(b []byte, o Outcome) []byte {
	b = append(b, `{"status":"success","forterDecision":`...)
	b = appendJSONString(b, o.Decision.V3())
	b = append(b, `,"recommendation":`...)
	b = appendJSONString(b, o.Recommendation)
	return append(b, '}')
}

// appendClaim writes the Claims API answer. Forter's page says only that it
// tells whether the claim was received, and shows no body: this is the Order
// Status API's shape (openapi/README.md, ClaimResponse).
func appendClaim(b []byte) []byte {
	return append(b, `{"status":"success","message":"Claim received"}`...)
}

// appendStatus writes the Order Status answer with Forter's own spelling,
// "recieved", as recorded in 2018 and 2019 and in the spec's example: a
// client that matches the message byte for byte must not break here.
func appendStatus(b []byte, orderID string) []byte {
	b = append(b, `{"status":"success","message":`...)
	b = appendJSONString(b, "Transaction #"+orderID+" status recieved")
	return append(b, '}')
}

// appendFailed writes Forter's short error shape {"status":"failed","message":…}.
func appendFailed(b []byte, msg string) []byte {
	b = append(b, `{"status":"failed","message":`...)
	b = appendJSONString(b, msg)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD
// so the answer stays one valid document whatever the path held.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			b = appendRune(b, r)
		}
	}
	return append(b, '"')
}

func appendRune(b []byte, r rune) []byte { return utf8.AppendRune(b, r) }
