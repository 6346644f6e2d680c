package sandbox

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The decision table over HTTP: every test e-mail, on v2 and v3.
func TestDecisionTable(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	tests := []struct {
		email      string
		v2, v3     string
		recommends string
	}{
		{"approve@forter.com", "approve", "APPROVE", ""},
		{"decline@forter.com", "decline", "DECLINE", ""},
		{"notreviewed@forter.com", "not reviewed", "NOT_REVIEWED", ""},
		{"force_3ds_psd2_recommendation@forter.com", "decline", "DECLINE", "VERIFICATION_REQUIRED_3DS_CHALLENGE"},
		{"force_exemption_tra@forter.com", "approve", "APPROVE", "REQUEST_SCA_EXEMPTION_TRA"},
		{"force_exemption_low_value@forter.com", "approve", "APPROVE", "REQUEST_SCA_EXEMPTION_LOW_VALUE"},
		{"force_exemption_corp@forter.com", "approve", "APPROVE", "REQUEST_SCA_EXEMPTION_CORP"},
		{"Decline@Forter.COM", "decline", "DECLINE", ""}, // case does not matter
	}
	if len(tests)-1 != len(TestEmails) {
		t.Fatalf("table has %d e-mails, TestEmails %d: keep them in step", len(tests)-1, len(TestEmails))
	}
	for i, tt := range tests {
		t.Run(strings.TrimSpace(tt.email), func(t *testing.T) {
			id := fmt.Sprintf("ord-%d", i)
			code, got := mustDo(t, c, r, req{path: "/v2/orders/" + id, body: orderBody(id, tt.email)})
			if code != 200 {
				t.Fatalf("v2 status %d, want 200: %v", code, got)
			}
			recs := []any{}
			if tt.recommends != "" {
				recs = []any{tt.recommends}
			}
			want := map[string]any{
				"status":          "success",
				"transaction":     id,
				"action":          tt.v2,
				"message":         " | Link in portal: https://portal.forter.com/dashboard/" + id,
				"reasonCode":      "Test",
				"recommendations": recs,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("v2 answer\n got %v\nwant %v", got, want)
			}

			code, got = mustDo(t, c, r, req{path: "/v3/orders/" + id, body: orderBody(id, tt.email)})
			if code != 200 {
				t.Fatalf("v3 status %d, want 200: %v", code, got)
			}
			want = map[string]any{
				"forterDecision":         tt.v3,
				"recommendation":         tt.recommends,
				"verificationMethod":     map[string]any{},
				"orderId":                id,
				"decisionReason":         "Test",
				"linkToEventInDashboard": "https://portal.forter.com/dashboard/" + id,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("v3 answer\n got %v\nwant %v", got, want)
			}
		})
	}
}

// The v2 answer for a documented e-mail is byte for byte what Forter's
// sandbox sent in the recorded exchanges (plus the recommendations array).
func TestV2MatchesRecording(t *testing.T) {
	got := string(appendV2(nil, "0C5507DE07", OrderOutcome("0C5507DE07", "decline@forter.com", 0)))
	want := `{"status":"success","transaction":"0C5507DE07","action":"decline","message":" | Link in portal: https://portal.forter.com/dashboard/0C5507DE07","reasonCode":"Test","recommendations":[]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRandomDecisionsReproducible(t *testing.T) {
	counts := map[Decision]int{}
	differ := 0
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("order-%d", i)
		a := OrderOutcome(id, "someone@example.com", 0)
		if b := OrderOutcome(id, "", 0); a != b {
			t.Fatalf("order %s: %v then %v", id, a, b)
		}
		if a.Trigger != "order id" || a.Recommendation != "" {
			t.Fatalf("order %s: random outcome %+v", id, a)
		}
		counts[a.Decision]++
		if OrderOutcome(id, "", 42).Decision != a.Decision {
			differ++
		}
	}
	// 70/20/10 over 2000 ids: allow a wide band, the hash is fixed so
	// this cannot flake.
	if counts[Approve] < 1200 || counts[Approve] > 1600 || counts[Decline] < 250 || counts[NotReviewed] < 100 {
		t.Errorf("decisions spread %v, want about 70%% approve, 20%% decline, 10%% not reviewed", counts)
	}
	if differ == 0 {
		t.Error("seed 42 gives the same decision as seed 0 for every order")
	}
}

// Over HTTP: the same order id answers the same, on two sandboxes.
func TestRandomDecisionOverHTTP(t *testing.T) {
	a, b := start(t, Options{}), start(t, Options{})
	ca, cb := client(t, a, false), client(t, b, false)
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("X%03d", i)
		_, x := mustDo(t, ca, a, req{path: "/v2/orders/" + id, body: orderBody(id, "")})
		_, y := mustDo(t, cb, b, req{path: "/v2/orders/" + id, body: orderBody(id, "")})
		_, z := mustDo(t, ca, a, req{path: "/v3/orders/" + id, body: orderBody(id, "")})
		want := OrderOutcome(id, "", 0).Decision
		if x["action"] != want.V2() || y["action"] != want.V2() || z["forterDecision"] != want.V3() {
			t.Errorf("order %s: %v, %v, %v; want %s", id, x["action"], y["action"], z["forterDecision"], want)
		}
	}
}

func TestAccountsByIP(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	tests := []struct {
		ip, decision, rec string
	}{
		{"0.0.0.1", "APPROVE", ""},
		{"0.0.0.2", "DECLINE", ""},
		{"0.0.0.3", "NOT_REVIEWED", ""},
		{"0.0.0.4", "VERIFICATION_REQUIRED", "EMAIL_VERIFICATION"},
		{"0.0.0.5", "VERIFICATION_REQUIRED", "SMS_VERIFICATION"},
	}
	for _, tt := range tests {
		for _, event := range []string{"signup", "login", "logout", "update", "profile-access", "reset-password", "authentication-result"} {
			body, _ := json.Marshal(map[string]any{"accountId": "acc1", "eventTime": 1415287568000, "connectionInformation": map[string]any{"customerIP": tt.ip}})
			code, got := mustDo(t, c, r, req{path: "/v2/accounts/" + event + "/acc1", body: string(body)})
			want := map[string]any{"status": "success", "forterDecision": tt.decision, "recommendation": tt.rec}
			if code != 200 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: %d %v, want 200 %v", event, tt.ip, code, got, want)
			}
		}
	}
	// Any other IP: reproducible from the account id.
	_, got := mustDo(t, c, r, req{path: "/v2/accounts/login/acc9", body: `{"eventTime":1415287568000,"connectionInformation":{"customerIP":"10.1.2.3"}}`})
	if want := AccountOutcome("acc9", "", 0).Decision.V3(); got["forterDecision"] != want {
		t.Errorf("random account decision %v, want %s", got["forterDecision"], want)
	}
}

func TestStatusAnswer(t *testing.T) {
	r := start(t, Options{})
	c := client(t, r, false)
	for _, m := range []string{"POST", "PUT"} {
		code, got := mustDo(t, c, r, req{method: m, path: "/v2/status/statusfortertest12345", body: `{"orderId":"statusfortertest12345","updatedStatus":"CANCELED_BY_MERCHANT"}`})
		want := map[string]any{"status": "success", "message": "Transaction #statusfortertest12345 status recieved"}
		if code != 200 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s status: %d %v, want 200 %v", m, code, got, want)
		}
	}
	code, got := mustDo(t, c, r, req{method: "GET", path: "/credentials/test"})
	if code != 200 || got["status"] != "success" {
		t.Errorf("credentials test: %d %v", code, got)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `q"uo\te`, "tab\tnl\n\x01", "é€😀", "bad\xffutf8", "\u2028"} {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q: %s is not a JSON string: %v", s, b, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want {
			t.Errorf("%q: round trip %q", s, back)
		}
	}
}
