package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

// startDev runs `guildhall dev` on a database of its own and returns it.
func startDev(t *testing.T) *liveServer {
	t.Helper()
	admin := dbtest.AdminConfig(t)
	name := dbtest.DatabaseName()
	t.Cleanup(func() {
		conn, err := pgx.ConnectConfig(context.Background(), admin.ConnConfig)
		if err == nil {
			_ = db.DropDatabase(context.Background(), conn, name)
			conn.Close(context.Background())
		}
	})
	s := startCLI(t, map[string]string{"DATABASE_URL": dbtest.URL(admin), "GUILDHALL_PLATFORM_TOKEN": testToken},
		"dev", "--addr", "127.0.0.1:0", "--database", name, "--state-dir", t.TempDir())
	s.database = name
	return s
}

// dbtestAdminForDev is a superuser connection string to a dev server's
// database.
func dbtestAdminForDev(t *testing.T, s *liveServer) string {
	t.Helper()
	cfg := dbtest.AdminConfig(t)
	cfg.ConnConfig.Database = s.database
	return dbtest.URL(cfg)
}

var loggedCode = regexp.MustCompile(`code: (\d{6})`)

// codeFor waits for the dev log to show an email to address with a code,
// and returns the newest code.
func codeFor(t *testing.T, s *liveServer, address string) string {
	t.Helper()
	var code string
	eventually(t, 5*time.Second, func() bool {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(line, address) {
				if m := loggedCode.FindStringSubmatch(line); m != nil {
					code = m[1]
				}
			}
		}
		return code != ""
	}, "no code logged for "+address)
	return code
}

func bearerAuth(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func TestIdentity_EndToEnd(t *testing.T) {
	t.Parallel()
	s := startDev(t)
	makers := s.URL + "/t/makers/api/v1"
	roommates := s.URL + "/t/roommates/api/v1"

	// The seeded owner signs in.
	r := call(t, "POST", makers+"/auth/sign-in", "", `{"email":"owner@makers.example","password":"guildhall demo"}`, nil)
	if r.status != 200 || r.json["access_token"] == nil {
		t.Fatalf("owner sign-in = %d %s", r.status, r.body)
	}
	owner := r.json["access_token"].(string)

	t.Run("SignUpVerifyAndUse", func(t *testing.T) {
		r := call(t, "POST", makers+"/auth/sign-up", "", `{"email":"newbie@example.com","password":"a long enough pass","display_name":"Newbie"}`, nil)
		if r.status != 202 {
			t.Fatalf("sign-up = %d %s", r.status, r.body)
		}
		again := call(t, "POST", makers+"/auth/sign-up", "", `{"email":"owner@makers.example","password":"a long enough pass","display_name":"X"}`, nil)
		if again.status != r.status || again.body != r.body {
			t.Errorf("sign-up of an existing address = %d %s, want the same answer as a new one", again.status, again.body)
		}
		code := codeFor(t, s, "newbie@example.com")
		v := call(t, "POST", makers+"/auth/verify-email", "", fmt.Sprintf(`{"email":"newbie@example.com","code":%q}`, code), nil)
		if v.status != 200 {
			t.Fatalf("verify-email = %d %s", v.status, v.body)
		}
		tok := v.json["access_token"].(string)
		me := call(t, "GET", makers+"/me", "", "", bearerAuth(tok))
		if me.status != 200 || me.json["email"] != "newbie@example.com" || me.json["role"] != "member" {
			t.Errorf("get-me = %d %s", me.status, me.body)
		}
		// Mass assignment: no body field sets a role (or anything unlisted).
		m := call(t, "PATCH", makers+"/me", "", `{"display_name":"Newbie","role":"owner"}`, bearerAuth(tok))
		if m.status != 422 {
			t.Errorf("update-me with role = %d, want 422", m.status)
		}
		if me := call(t, "GET", makers+"/me", "", "", bearerAuth(tok)); me.json["role"] != "member" {
			t.Errorf("role after the attempt = %v", me.json["role"])
		}
		// A token of makers is nothing on roommates.
		if x := call(t, "GET", roommates+"/me", "", "", bearerAuth(tok)); x.status != 401 {
			t.Errorf("makers token on roommates = %d, want 401", x.status)
		}
		// Members may not list members.
		if x := call(t, "GET", makers+"/members", "", "", bearerAuth(tok)); x.status != 403 {
			t.Errorf("member listing members = %d, want 403", x.status)
		}
	})

	t.Run("UnknownAndWrongAnswerAlike", func(t *testing.T) {
		a := call(t, "POST", roommates+"/auth/sign-in", "", `{"email":"ghost@example.com","password":"whatever it is"}`, nil)
		b := call(t, "POST", roommates+"/auth/sign-in", "", `{"email":"member@roommates.example","password":"whatever it is"}`, nil)
		if a.status != 401 || b.status != 401 || a.json["detail"] != b.json["detail"] {
			t.Errorf("unknown = %d %v, wrong = %d %v", a.status, a.json["detail"], b.status, b.json["detail"])
		}
	})

	t.Run("RefreshReplayRevokesFamily", func(t *testing.T) {
		r := call(t, "POST", roommates+"/auth/sign-in", "", `{"email":"mod@roommates.example","password":"guildhall demo"}`, nil)
		refresh := r.json["refresh_token"].(string)
		n := call(t, "POST", roommates+"/auth/refresh", "", fmt.Sprintf(`{"refresh_token":%q}`, refresh), nil)
		if n.status != 200 {
			t.Fatalf("refresh = %d %s", n.status, n.body)
		}
		if x := call(t, "POST", roommates+"/auth/refresh", "", fmt.Sprintf(`{"refresh_token":%q}`, refresh), nil); x.status != 401 {
			t.Errorf("replay = %d, want 401", x.status)
		}
		next := n.json["access_token"].(string)
		eventually(t, time.Second, func() bool {
			return call(t, "GET", roommates+"/me", "", "", bearerAuth(next)).status == 401
		}, "access token of the revoked family still works")
	})

	t.Run("RoleChangeAndBanTakeEffectWithinASecond", func(t *testing.T) {
		r := call(t, "POST", makers+"/auth/sign-in", "", `{"email":"member@makers.example","password":"guildhall demo"}`, nil)
		tok := r.json["access_token"].(string)
		id := r.json["user"].(map[string]any)["id"].(string)
		if x := call(t, "GET", makers+"/members", "", "", bearerAuth(tok)); x.status != 403 {
			t.Fatalf("member lists members = %d", x.status)
		}
		if x := call(t, "PUT", makers+"/members/"+id+"/role", "", `{"role":"moderator"}`, bearerAuth(owner)); x.status != 200 {
			t.Fatalf("change-member-role = %d %s", x.status, x.body)
		}
		eventually(t, time.Second, func() bool {
			return call(t, "GET", makers+"/members", "", "", bearerAuth(tok)).status == 200
		}, "promotion not in effect")
		if x := call(t, "POST", makers+"/members/"+id+"/ban", "", `{"reason":"test"}`, bearerAuth(owner)); x.status != 200 {
			t.Fatalf("ban-member = %d %s", x.status, x.body)
		}
		eventually(t, time.Second, func() bool {
			st := call(t, "GET", makers+"/me", "", "", bearerAuth(tok)).status
			return st == 401 || st == 403
		}, "banned member still in")
	})

	t.Run("APIKeys", func(t *testing.T) {
		k := call(t, "POST", makers+"/api-keys", "", `{"name":"shop","scopes":["members:read"]}`, bearerAuth(owner))
		if k.status != 201 || !strings.HasPrefix(fmt.Sprint(k.json["token"]), "ghk_") {
			t.Fatalf("create-api-key = %d %s", k.status, k.body)
		}
		key := k.json["token"].(string)
		if x := call(t, "GET", makers+"/members", "", "", bearerAuth(key)); x.status != 200 {
			t.Errorf("key with members:read = %d", x.status)
		}
		if x := call(t, "GET", makers+"/api-keys", "", "", bearerAuth(key)); x.status != 403 {
			t.Errorf("key without api_keys:manage = %d, want 403", x.status)
		}
		if x := call(t, "GET", makers+"/me", "", "", bearerAuth(key)); x.status != 403 {
			t.Errorf("key on a self operation = %d, want 403", x.status)
		}
		if x := call(t, "GET", roommates+"/members", "", "", bearerAuth(key)); x.status != 401 {
			t.Errorf("key on another tenant = %d, want 401", x.status)
		}
		if x := call(t, "DELETE", makers+"/api-keys/"+k.json["id"].(string), "", "", bearerAuth(owner)); x.status != 200 {
			t.Fatalf("revoke-api-key = %d %s", x.status, x.body)
		}
		eventually(t, time.Second, func() bool {
			return call(t, "GET", makers+"/members", "", "", bearerAuth(key)).status == 401
		}, "revoked key still works")
	})

	t.Run("AuditLog", func(t *testing.T) {
		x := call(t, "GET", makers+"/audit-events?action=member.", "", "", bearerAuth(owner))
		var got struct {
			Events []struct{ Action, Actor string }
		}
		if err := json.Unmarshal([]byte(x.body), &got); err != nil || x.status != 200 {
			t.Fatalf("list-audit-events = %d %s", x.status, x.body)
		}
		actions := map[string]bool{}
		for _, e := range got.Events {
			actions[e.Action] = true
			if !strings.HasPrefix(e.Action, "member.") {
				t.Errorf("filter member. returned %s", e.Action)
			}
		}
		if !actions["member.role_changed"] || !actions["member.banned"] {
			t.Errorf("audit lacks the role change and the ban: %v", actions)
		}
	})

	t.Run("SignInIsThrottled", func(t *testing.T) {
		last := 0
		for range 15 {
			last = call(t, "POST", roommates+"/auth/sign-in", "", `{"email":"ghost@example.com","password":"whatever it is"}`, nil).status
		}
		if last != 429 {
			t.Errorf("16th sign-in within a minute = %d, want 429", last)
		}
	})
}
