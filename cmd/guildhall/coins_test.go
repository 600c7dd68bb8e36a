package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestCoins_EndToEnd drives the coin API of a dev server: an integrator's
// key sends events, members read their wallets, staff adjust and edit
// rules, and bad input is refused with problems, writing nothing.
func TestCoins_EndToEnd(t *testing.T) {
	t.Parallel()
	s := startDev(t)
	base := s.URL + "/t/makers/api/v1"
	signIn := func(email string) (string, string) {
		t.Helper()
		r := call(t, "POST", base+"/auth/sign-in", "", fmt.Sprintf(`{"email":%q,"password":"guildhall demo"}`, email), nil)
		if r.status != 200 {
			t.Fatalf("sign-in %s = %d %s", email, r.status, r.body)
		}
		return r.json["access_token"].(string), r.json["user"].(map[string]any)["id"].(string)
	}
	owner, _ := signIn("owner@makers.example")
	member, memberID := signIn("member@makers.example")
	k := call(t, "POST", base+"/api-keys", "", `{"name":"shop","scopes":["events:write"]}`, bearerAuth(owner))
	if k.status != 201 {
		t.Fatalf("create-api-key = %d %s", k.status, k.body)
	}
	key := k.json["token"].(string)
	// The demo community's seeded posts have already paid the member.
	start := call(t, "GET", base+"/wallet", "", "", bearerAuth(member)).json["balance"].(float64)
	balance := func() float64 {
		t.Helper()
		return call(t, "GET", base+"/wallet", "", "", bearerAuth(member)).json["balance"].(float64) - start
	}

	event := func(body string) httpResult {
		t.Helper()
		return call(t, "POST", base+"/events", "", body, bearerAuth(key))
	}
	r := event(fmt.Sprintf(`{"type":"post.created","member_id":%q,"ref":"post:1","idempotency_key":"k-1"}`, memberID))
	if r.status != 200 || r.json["granted"] != float64(10) || r.json["reason"] != "granted" {
		t.Fatalf("create-event = %d %s", r.status, r.body)
	}
	again := event(fmt.Sprintf(`{"type":"post.created","member_id":%q,"ref":"post:1","idempotency_key":"k-1"}`, memberID))
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || again.json["event_id"] != r.json["event_id"] {
		t.Errorf("replay = %d %s %v", again.status, again.body, again.header)
	}
	if x := event(fmt.Sprintf(`{"type":"post.created","member_id":%q,"ref":"post:2","idempotency_key":"k-1"}`, memberID)); x.status != 422 {
		t.Errorf("key reused for another event = %d, want 422", x.status)
	}

	t.Run("BadInputWritesNothing", func(t *testing.T) {
		cases := map[string]string{
			"UnknownType":  fmt.Sprintf(`{"type":"nothing.here","member_id":%q,"idempotency_key":"b-1"}`, memberID),
			"NoKey":        fmt.Sprintf(`{"type":"post.created","member_id":%q}`, memberID),
			"BadMember":    `{"type":"post.created","member_id":"not-a-uuid","idempotency_key":"b-2"}`,
			"WrongTypes":   `{"type":5,"member_id":true,"idempotency_key":[]}`,
			"Malformed":    `{"type":`,
			"UnknownField": fmt.Sprintf(`{"type":"post.created","member_id":%q,"idempotency_key":"b-3","coins":1000}`, memberID),
		}
		for name, body := range cases {
			x := event(body)
			if x.status != 422 && x.status != 400 {
				t.Errorf("%s: %d %s, want a 4xx problem", name, x.status, x.body)
			}
		}
		adjust := func(amount string) int {
			return call(t, "POST", base+"/members/"+memberID+"/wallet/adjustments", "",
				`{"amount":`+amount+`,"reason":"test","idempotency_key":"adj-`+amount+`"}`, bearerAuth(owner)).status
		}
		for _, amount := range []string{"0", "-5000", "1.5", "99999999999999999999", `"ten"`, "1e3"} {
			if st := adjust(amount); st != 422 && st != 409 && st != 400 {
				t.Errorf("adjustment of %s = %d, want 422 (or 409 for an overdraft)", amount, st)
			}
		}
		rule := call(t, "PUT", base+"/rules/post.created", "", `{"coins":10,"enabled":true,"condition":"attributes.length >"}`, bearerAuth(owner))
		if rule.status != 422 || !strings.Contains(rule.body, "condition") {
			t.Errorf("rule with a broken condition = %d %s", rule.status, rule.body)
		}
		rule = call(t, "PUT", base+"/rules/post.created", "", `{"coins":10,"enabled":true,"condition":"1 + 1"}`, bearerAuth(owner))
		if rule.status != 422 || !strings.Contains(rule.body, "true or false") {
			t.Errorf("rule with a non-boolean condition = %d %s", rule.status, rule.body)
		}
		if got := balance(); got != 10 {
			t.Errorf("balance after refused input = %v more than at the start, want 10", got)
		}
	})

	t.Run("WalletAndStaff", func(t *testing.T) {
		if x := call(t, "POST", base+"/members/"+memberID+"/wallet/adjustments", "", `{"amount":25,"reason":"welcome","idempotency_key":"g-1"}`, bearerAuth(owner)); x.status != 200 {
			t.Fatalf("grant = %d %s", x.status, x.body)
		}
		w := call(t, "GET", base+"/wallet", "", "", bearerAuth(member))
		if w.status != 200 || w.json["balance"] != start+35 {
			t.Errorf("get-my-wallet = %d %s, want %v more than at the start", w.status, w.body, 35)
		}
		h := call(t, "GET", base+"/wallet/entries", "", "", bearerAuth(member))
		if h.status != 200 || !strings.Contains(h.body, `"memo":"welcome"`) || !strings.Contains(h.body, `"memo":"post.created"`) {
			t.Errorf("history = %d %s", h.status, h.body)
		}
		if x := call(t, "POST", base+"/members/"+memberID+"/wallet/adjustments", "", `{"amount":5,"reason":"self","idempotency_key":"g-2"}`, bearerAuth(member)); x.status != 403 {
			t.Errorf("member granting themselves = %d, want 403", x.status)
		}
		if x := call(t, "GET", base+"/members/"+memberID+"/wallet", "", "", bearerAuth(key)); x.status != 403 {
			t.Errorf("events-only key reading a wallet = %d, want 403", x.status)
		}
		rev := call(t, "POST", base+"/events/reversals", "", `{"ref":"post:1","idempotency_key":"r-1"}`, bearerAuth(key))
		if rev.status != 200 || !strings.Contains(rev.body, `"granted":10`) {
			t.Errorf("reverse-events = %d %s", rev.status, rev.body)
		}
		if got := balance(); got != 25 {
			t.Errorf("balance after the reversal = %v more than at the start, want 25", got)
		}
	})

	code, out, errOut := runCLI(t, map[string]string{"DATABASE_URL": dbtestAdminForDev(t, s)}, "ledger", "verify", "--tenant", "makers")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("ledger verify = %d %s %s", code, out, errOut)
	}
}
