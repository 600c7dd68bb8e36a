package inbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2/humatest"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/inbox"
)

// principals stands in for the identity service at the Authenticator
// seam: each token is a principal of the test tenant.
type principals map[string]engine.Principal

func (p principals) AuthenticateBearer(_ context.Context, token string) (engine.Principal, error) {
	if pr, ok := p[token]; ok {
		return pr, nil
	}
	return engine.Principal{}, engine.Errorf(engine.CodeUnauthenticated, "Sign in to do this.")
}

func TestAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	user := func(id uuid.UUID) engine.Principal {
		return engine.Principal{Kind: engine.PrincipalUser, TenantID: b.tenant, UserID: id, Role: "member", Name: "user:" + id.String()}
	}
	toks := principals{
		"m0": user(b.members[0]), "m1": user(b.members[1]),
		"key": {Kind: engine.PrincipalAPIKey, TenantID: b.tenant, APIKeyID: uuid.Must(uuid.NewV7()), Scopes: []string{"events:write"}, Name: "api_key:test"},
	}
	az, err := authz.New()
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Config{Title: "Test", Version: "1", Auth: toks, Authz: az})
	inbox.RegisterAPI(a, b.inbox)
	ta := humatest.Wrap(t, a)
	var ns []inbox.Notification
	for i := range 3 {
		ns = append(ns, b.add(t, inbox.AddParams{Member: b.members[0], Text: "n" + string(rune('1'+i))}))
	}
	p := api.Prefix

	type check func(t *testing.T, body map[string]any)
	wantKeys := func(kv map[string]any) check {
		return func(t *testing.T, body map[string]any) {
			t.Helper()
			for k, v := range kv {
				if body[k] != v {
					t.Errorf("%s = %v, want %v (body %v)", k, body[k], v, body)
				}
			}
		}
	}
	wantField := func(field string) check {
		return func(t *testing.T, body map[string]any) {
			t.Helper()
			b, _ := json.Marshal(body["errors"])
			if !strings.Contains(string(b), field) {
				t.Errorf("errors %s lack %q", b, field)
			}
		}
	}
	scenarios := []struct {
		name   string
		token  string
		method string
		path   string
		body   any
		status int
		check  check
	}{
		{name: "List", token: "m0", method: http.MethodGet, path: p + "/me/notifications?limit=2", status: http.StatusOK,
			check: func(t *testing.T, body map[string]any) {
				list, _ := body["notifications"].([]any)
				if len(list) != 2 || body["next"] == nil || list[0].(map[string]any)["seq"] != float64(3) {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "ListOthersEmpty", token: "m1", method: http.MethodGet, path: p + "/me/notifications", status: http.StatusOK,
			check: func(t *testing.T, body map[string]any) {
				if list, ok := body["notifications"].([]any); !ok || len(list) != 0 {
					t.Errorf("notifications = %v, want []", body["notifications"])
				}
			}},
		{name: "ListBadCursor", token: "m0", method: http.MethodGet, path: p + "/me/notifications?cursor=x", status: http.StatusUnprocessableEntity, check: wantField("cursor")},
		{name: "ListBadLimit", token: "m0", method: http.MethodGet, path: p + "/me/notifications?limit=1000", status: http.StatusUnprocessableEntity, check: wantField("limit")},
		{name: "ListBadUnread", token: "m0", method: http.MethodGet, path: p + "/me/notifications?unread=maybe", status: http.StatusUnprocessableEntity},
		{name: "ListSignedOut", method: http.MethodGet, path: p + "/me/notifications", status: http.StatusUnauthorized},
		{name: "ListByAPIKey", token: "key", method: http.MethodGet, path: p + "/me/notifications", status: http.StatusForbidden},
		{name: "UnreadCount", token: "m0", method: http.MethodGet, path: p + "/me/notifications/unread-count", status: http.StatusOK,
			check: wantKeys(map[string]any{"unread": float64(3)})},
		{name: "MarkByIDs", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{"ids": []uuid.UUID{ns[0].ID}}, status: http.StatusOK, check: wantKeys(map[string]any{"marked": float64(1), "unread": float64(2)})},
		{name: "MarkOthersByIDs", token: "m1", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{"ids": []uuid.UUID{ns[1].ID}}, status: http.StatusOK, check: wantKeys(map[string]any{"marked": float64(0), "unread": float64(0)})},
		{name: "MarkUpTo", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{"up_to_seq": 2}, status: http.StatusOK, check: wantKeys(map[string]any{"marked": float64(1), "unread": float64(1)})},
		{name: "MarkBoth", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{"ids": []uuid.UUID{ns[0].ID}, "up_to_seq": 2}, status: http.StatusUnprocessableEntity, check: wantField("ids")},
		{name: "MarkNeither", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{}, status: http.StatusUnprocessableEntity, check: wantField("ids")},
		{name: "MarkEmptyIDs", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{"ids": []string{}}, status: http.StatusUnprocessableEntity},
		{name: "MarkBadID", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{"ids": []string{"nope"}}, status: http.StatusUnprocessableEntity},
		{name: "MarkZeroSeq", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: map[string]any{"up_to_seq": 0}, status: http.StatusUnprocessableEntity, check: wantField("up_to_seq")},
		{name: "MarkHugeSeq", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: `{"up_to_seq": 1e30}`, status: http.StatusUnprocessableEntity},
		{name: "MarkMalformed", token: "m0", method: http.MethodPost, path: p + "/me/notifications/read",
			body: `{"ids": `, status: http.StatusBadRequest},
		{name: "GetSettings", token: "m0", method: http.MethodGet, path: p + "/me/notification-settings", status: http.StatusOK,
			check: wantKeys(map[string]any{"digest": true})},
		{name: "PutSettings", token: "m0", method: http.MethodPut, path: p + "/me/notification-settings",
			body: map[string]any{"digest": false}, status: http.StatusOK, check: wantKeys(map[string]any{"digest": false})},
		{name: "SettingsKept", token: "m0", method: http.MethodGet, path: p + "/me/notification-settings", status: http.StatusOK,
			check: wantKeys(map[string]any{"digest": false})},
		{name: "PutSettingsMissing", token: "m0", method: http.MethodPut, path: p + "/me/notification-settings",
			body: map[string]any{}, status: http.StatusUnprocessableEntity},
		{name: "PutSettingsWrongType", token: "m0", method: http.MethodPut, path: p + "/me/notification-settings",
			body: map[string]any{"digest": "yes"}, status: http.StatusUnprocessableEntity},
	}
	for _, sc := range scenarios {
		// In order: later scenarios see earlier changes.
		t.Run(sc.name, func(t *testing.T) {
			var args []any
			if sc.token != "" {
				args = append(args, "Authorization: Bearer "+sc.token)
			}
			if sc.body != nil {
				if s, ok := sc.body.(string); ok {
					args = append(args, "Content-Type: application/json", strings.NewReader(s))
				} else {
					args = append(args, sc.body)
				}
			}
			res := ta.DoCtx(b.ctx, sc.method, sc.path, args...)
			if res.Code != sc.status {
				t.Fatalf("%s %s = %d, want %d: %s", sc.method, sc.path, res.Code, sc.status, res.Body.String())
			}
			if res.Code >= 400 && !strings.HasPrefix(res.Header().Get("Content-Type"), "application/problem+json") {
				t.Errorf("Content-Type = %q, want a problem", res.Header().Get("Content-Type"))
			}
			if sc.check != nil {
				var body map[string]any
				if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
					t.Fatalf("body %q: %v", res.Body.String(), err)
				}
				sc.check(t, body)
			}
		})
	}

	// The live stream is documented in the tag.
	found := false
	for _, tag := range a.OpenAPI().Tags {
		if tag.Name == "Notifications" && strings.Contains(tag.Description, inbox.LivePath) {
			found = true
		}
	}
	if !found {
		t.Error("the Notifications tag does not describe the live stream")
	}
}
