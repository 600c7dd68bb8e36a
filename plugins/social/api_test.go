package social_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2/humatest"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/plugins/social"
)

// principals stands in for identity at the Authenticator seam.
type principals map[string]engine.Principal

func (p principals) AuthenticateBearer(_ context.Context, token string) (engine.Principal, error) {
	if pr, ok := p[token]; ok {
		return pr, nil
	}
	return engine.Principal{}, engine.Errorf(engine.CodeUnauthenticated, "Sign in to do this.")
}

// enabled says which tenants enabled the plugin.
type enabled map[uuid.UUID]bool

func (e enabled) PluginEnabled(ctx context.Context, _ string) bool {
	t, _ := engine.TenantFrom(ctx)
	return e[t]
}

func TestAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	other := setup(t, 1) // another social tenant
	plain := setup(t, 1) // a tenant without the plugin
	mod := b.user(t, "mod@example.com", "Mod", "moderator")
	admin := b.user(t, "admin@example.com", "Admin", "admin")
	user := func(tenant, id uuid.UUID, role string) engine.Principal {
		return engine.Principal{Kind: engine.PrincipalUser, TenantID: tenant, UserID: id, Role: role, Name: "user:" + id.String()}
	}
	toks := principals{
		"m0": user(b.tenant, b.members[0], "member"), "m1": user(b.tenant, b.members[1], "member"),
		"m2":  user(b.tenant, b.members[2], "member"),
		"mod": user(b.tenant, mod, "moderator"), "admin": user(b.tenant, admin, "admin"),
		"key": {Kind: engine.PrincipalAPIKey, TenantID: b.tenant, APIKeyID: uuid.Must(uuid.NewV7()), Scopes: []string{"social:moderate"}, Name: "api_key:t"},
	}
	az, err := authz.New()
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Config{Title: "Test", Version: "1", Auth: toks, Authz: az})
	b.plugin.RegisterAPI(api.PluginAPI(a, social.Name, enabled{b.tenant: true, other.tenant: true}))
	ta := humatest.Wrap(t, a)

	st := social.DefaultSettings
	st.BlockedWords = []string{"darn"}
	st.LikesPerMinute = 4
	if _, err := b.svc.UpdateSettings(b.as(admin, "admin"), st); err != nil {
		t.Fatal(err)
	}
	post := b.post(t, b.m(0), "API post")
	foreign := other.post(t, other.m(0), "Other tenant's post")
	for i := 1; i <= 2; i++ {
		if _, err := b.svc.Like(b.m(i), post.ID); err != nil {
			t.Fatal(err)
		}
	}
	p := api.Prefix
	pid := post.ID.String()
	var createdComment string
	type scenario struct {
		name   string
		ctx    context.Context
		token  string
		method string
		path   string
		body   any
		ct     string
		status int
		check  func(t *testing.T, body map[string]any, h http.Header)
	}
	scenarios := []scenario{
		{name: "CreatePost", token: "m0", method: "POST", path: p + "/posts", body: map[string]any{"text": "Hello <b>world</b> @member_1"},
			status: 201, check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["text"] != "Hello <b>world</b> @member_1" {
					t.Errorf("text does not round-trip raw: %v", body["text"])
				}
			}},
		{name: "CreatePostEmpty", token: "m0", method: "POST", path: p + "/posts", body: map[string]any{"text": "  "}, status: 422},
		{name: "CreatePostTooLong", token: "m0", method: "POST", path: p + "/posts", body: map[string]any{"text": strings.Repeat("a", 2001)}, status: 422},
		{name: "CreatePostHugeBody", token: "m0", method: "POST", path: p + "/posts", body: map[string]any{"text": strings.Repeat("a", 30000)}, status: 422},
		{name: "CreatePostControl", token: "m0", method: "POST", path: p + "/posts", body: map[string]any{"text": "a\u0007b"}, status: 422},
		{name: "CreatePostBlocked", token: "m0", method: "POST", path: p + "/posts", body: map[string]any{"text": "Oh DARN it"}, status: 422},
		{name: "CreatePostSignedOut", method: "POST", path: p + "/posts", body: map[string]any{"text": "x"}, status: 401},
		{name: "CreatePostByKey", token: "key", method: "POST", path: p + "/posts", body: map[string]any{"text": "x"}, status: 403},
		{name: "MalformedJSON", token: "m0", method: "POST", path: p + "/posts", body: `{"text": `, status: 400},
		{name: "GetPost", token: "m1", method: "GET", path: p + "/posts/" + pid, status: 200, check: func(t *testing.T, body map[string]any, _ http.Header) {
			if body["like_count"] != float64(2) || body["liked"] != true {
				t.Errorf("post = %v", body)
			}
		}},
		{name: "GetPostBadID", token: "m1", method: "GET", path: p + "/posts/nope", status: 422},
		{name: "GetPostUnknown", token: "m1", method: "GET", path: p + "/posts/" + uuid.Must(uuid.NewV7()).String(), status: 404},
		{name: "GetOtherTenantsPost", token: "m1", method: "GET", path: p + "/posts/" + foreign.ID.String(), status: 404},
		{name: "LikeOtherTenantsPost", token: "m1", method: "PUT", path: p + "/posts/" + foreign.ID.String() + "/like", status: 404},
		{name: "Like", token: "m1", method: "PUT", path: p + "/posts/" + pid + "/like", status: 200},
		{name: "Unlike", token: "m1", method: "DELETE", path: p + "/posts/" + pid + "/like", status: 200, check: func(t *testing.T, body map[string]any, _ http.Header) {
			if body["like_count"] != float64(1) || body["liked"] != false {
				t.Errorf("unlike = %v", body)
			}
		}},
		{name: "LikeRateLimited", token: "m1", method: "PUT", path: p + "/posts/" + pid + "/like", status: 429, check: func(t *testing.T, body map[string]any, h http.Header) {
			if h.Get("Retry-After") == "" || body["code"] != "rate_limited" {
				t.Errorf("429 without Retry-After or code: %v %v", h, body)
			}
		}},
		{name: "CreateComment", token: "m2", method: "POST", path: p + "/posts/" + pid + "/comments", body: map[string]any{"text": "Nice"}, status: 201,
			check: func(t *testing.T, body map[string]any, _ http.Header) { createdComment, _ = body["id"].(string) }},
		{name: "CreateCommentBadParent", token: "m2", method: "POST", path: p + "/posts/" + pid + "/comments",
			body: map[string]any{"text": "x", "parent_id": uuid.Must(uuid.NewV7())}, status: 422},
		{name: "CommentOtherTenant", token: "m2", method: "POST", path: p + "/posts/" + foreign.ID.String() + "/comments", body: map[string]any{"text": "x"}, status: 404},
		{name: "ListComments", token: "m1", method: "GET", path: p + "/posts/" + pid + "/comments", status: 200, check: func(t *testing.T, body map[string]any, _ http.Header) {
			if cs, _ := body["comments"].([]any); len(cs) != 1 {
				t.Errorf("comments = %v", body)
			}
		}},
		{name: "ListCommentsBadCursor", token: "m1", method: "GET", path: p + "/posts/" + pid + "/comments?cursor=nope", status: 422},
		{name: "Feed", token: "m1", method: "GET", path: p + "/feed", status: 200, check: func(t *testing.T, body map[string]any, _ http.Header) {
			if ps, _ := body["posts"].([]any); len(ps) != 2 {
				t.Errorf("feed = %v", body)
			}
		}},
		{name: "FeedBadCursor", token: "m1", method: "GET", path: p + "/feed?cursor=garbage", status: 422},
		{name: "FeedBadScope", token: "m1", method: "GET", path: p + "/feed?scope=all", status: 422},
		{name: "FeedBadLimit", token: "m1", method: "GET", path: p + "/feed?limit=500", status: 422},
		{name: "Follow", token: "m1", method: "PUT", path: p + "/members/" + b.members[0].String() + "/follow", status: 204},
		{name: "FollowSelf", token: "m1", method: "PUT", path: p + "/members/" + b.members[1].String() + "/follow", status: 422},
		{name: "FollowOtherTenant", token: "m1", method: "PUT", path: p + "/members/" + other.members[0].String() + "/follow", status: 404},
		{name: "Followers", token: "m1", method: "GET", path: p + "/members/member_0/followers", status: 200},
		{name: "Profile", token: "m1", method: "GET", path: p + "/members/member_0/profile", status: 200, check: func(t *testing.T, body map[string]any, _ http.Header) {
			if body["follower_count"] != float64(1) || body["following"] != true {
				t.Errorf("profile = %v", body)
			}
		}},
		{name: "ProfileUnknown", token: "m1", method: "GET", path: p + "/members/nobody_at_all/profile", status: 404},
		{name: "MemberPosts", token: "m1", method: "GET", path: p + "/members/member_0/posts", status: 200},
		{name: "UpdateProfile", token: "m2", method: "PATCH", path: p + "/me/social-profile", body: map[string]any{"handle": "Carol", "bio": "hi"}, status: 200},
		{name: "UpdateProfileTaken", token: "m2", method: "PATCH", path: p + "/me/social-profile", body: map[string]any{"handle": "member_0"}, status: 409},
		{name: "Report", token: "m1", method: "POST", path: p + "/reports", body: map[string]any{"kind": "post", "target_id": pid, "reason": "rude"}, status: 201},
		{name: "ReportOtherTenant", token: "m1", method: "POST", path: p + "/reports", body: map[string]any{"kind": "post", "target_id": foreign.ID, "reason": "x"}, status: 404},
		{name: "ReportsByMember", token: "m1", method: "GET", path: p + "/moderation/reports", status: 403},
		{name: "Reports", token: "mod", method: "GET", path: p + "/moderation/reports", status: 200, check: func(t *testing.T, body map[string]any, _ http.Header) {
			if rs, _ := body["reports"].([]any); len(rs) != 1 {
				t.Errorf("reports = %v", body)
			}
		}},
		{name: "ReportsByKey", token: "key", method: "GET", path: p + "/moderation/reports", status: 200},
		{name: "SuspendMember", token: "mod", method: "POST", path: p + "/moderation/members/" + b.members[2].String() + "/suspend",
			body: map[string]any{"until": time.Now().Add(time.Hour).Format(time.RFC3339), "reason": "cool off"}, status: 204},
		{name: "SuspendedPosts", token: "m2", method: "POST", path: p + "/posts", body: map[string]any{"text": "let me"}, status: 403},
		{name: "SuspendedReads", token: "m2", method: "GET", path: p + "/feed", status: 200},
		{name: "WarnByMember", token: "m1", method: "POST", path: p + "/moderation/members/" + b.members[2].String() + "/warn", body: map[string]any{"reason": "x"}, status: 403},
		{name: "HidePost", token: "mod", method: "POST", path: p + "/moderation/posts/" + pid + "/hide", body: map[string]any{"reason": "rude"}, status: 204},
		{name: "HiddenForMembers", token: "m1", method: "GET", path: p + "/posts/" + pid, status: 404},
		{name: "HiddenForModerators", token: "mod", method: "GET", path: p + "/posts/" + pid, status: 200},
		{name: "RestorePost", token: "mod", method: "POST", path: p + "/moderation/posts/" + pid + "/restore", body: map[string]any{}, status: 204},
		{name: "Search", token: "mod", method: "GET", path: p + "/moderation/posts?q=api", status: 200},
		{name: "SettingsByModerator", token: "mod", method: "GET", path: p + "/social/settings", status: 403},
		{name: "Settings", token: "admin", method: "GET", path: p + "/social/settings", status: 200, check: func(t *testing.T, body map[string]any, _ http.Header) {
			if body["likes_per_minute"] != float64(4) {
				t.Errorf("settings = %v", body)
			}
		}},
		{name: "UpdateSettingsInvalid", token: "admin", method: "PUT", path: p + "/social/settings", body: func() any {
			s := social.DefaultSettings
			s.MaxPostLength = 0
			return s
		}(), status: 422},
		{name: "UploadImage", token: "m0", method: "POST", path: p + "/images", body: pngBytes(t, 2, 2), ct: "image/png", status: 201},
		{name: "UploadSVG", token: "m0", method: "POST", path: p + "/images", body: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ct: "image/svg+xml", status: 422},
		{name: "NotASocialTenant", ctx: plain.ctx, token: "m0", method: "GET", path: p + "/feed", status: 404},
	}
	for _, sc := range scenarios {
		args := []any{}
		if sc.token != "" {
			args = append(args, "Authorization: Bearer "+sc.token)
		}
		switch body := sc.body.(type) {
		case nil:
		case string:
			args = append(args, "Content-Type: application/json", strings.NewReader(body))
		case []byte:
			args = append(args, "Content-Type: "+sc.ct, bytes.NewReader(body))
		default:
			args = append(args, body)
		}
		ctx := sc.ctx
		if ctx == nil {
			ctx = b.ctx
		}
		resp := ta.DoCtx(ctx, sc.method, sc.path, args...)
		if resp.Code >= 500 {
			t.Errorf("%s: %d, a 5xx: %s", sc.name, resp.Code, resp.Body.String())
			continue
		}
		if resp.Code != sc.status {
			t.Errorf("%s: status %d, want %d: %s", sc.name, resp.Code, sc.status, resp.Body.String())
			continue
		}
		var body map[string]any
		if resp.Body.Len() > 0 {
			if err := json.Unmarshal(resp.Body.Bytes(), &body); err != nil {
				t.Errorf("%s: body %q: %v", sc.name, resp.Body.String(), err)
				continue
			}
		}
		if sc.check != nil {
			t.Run(sc.name, func(t *testing.T) { sc.check(t, body, resp.Header()) })
		}
	}
	if createdComment == "" {
		t.Errorf("no comment was created")
	}
	b.verify(t)
}
