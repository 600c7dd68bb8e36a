package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/audit"

	"github.com/guildhall/guildhall/engine/ratelimit"
)

const token = "0123456789abcdef0123456789abcdef"

type enabled map[string]bool

func (e enabled) PluginEnabled(_ context.Context, name string) bool { return e[name] }

// tokens stands in for the identity service at the Authenticator seam:
// "member", "moderator" and "key" are valid tokens, anything else is not.
type tokens struct{}

func (tokens) AuthenticateBearer(_ context.Context, tok string) (engine.Principal, error) {
	switch tok {
	case "member", "moderator":
		return engine.Principal{Kind: engine.PrincipalUser, UserID: uuid.Must(uuid.NewV7()), Role: tok, Name: "user:" + tok}, nil
	case "key":
		return engine.Principal{Kind: engine.PrincipalAPIKey, APIKeyID: uuid.Must(uuid.NewV7()), Scopes: []string{"members:read"}, Name: "api_key:k"}, nil
	case "banned":
		return engine.Principal{}, engine.Errorf(engine.CodeForbidden, "This account is banned from this community.")
	}
	return engine.Principal{}, engine.Errorf(engine.CodeUnauthenticated, "Sign in to do this.")
}

// grants: moderators, platform admins and keys with the scope may read
// members.
type grants struct{}

func (grants) Can(p engine.Principal, perm string) bool {
	if perm != "members:read" {
		return false
	}
	return p.Role == "moderator" || p.Kind == engine.PrincipalPlatform || slices.Contains(p.Scopes, perm)
}

type echoOutput struct {
	Body struct {
		Actor string `json:"actor"`
	}
}

type createInput struct {
	Body struct {
		Name  string `json:"name" maxLength:"10"`
		Count int    `json:"count" minimum:"1"`
	}
}

// newTestServer builds an API with operations that exercise every path of
// the error mapping and access checks, behind the standard middleware.
func newTestServer(t *testing.T, logs *bytes.Buffer) http.Handler {
	t.Helper()
	a := api.New(api.Config{
		Title: "Test", Version: "1", PlatformToken: token, DocsAssets: "/static/x/",
		Auth: tokens{}, Authz: grants{}, Limiter: ratelimit.New(nil),
		Limits: func(context.Context) api.RequestLimits {
			return api.RequestLimits{IP: ratelimit.PerSecond(1000), User: ratelimit.PerSecond(1000), APIKey: ratelimit.PerSecond(1000),
				SignIn: ratelimit.PerMinute(3), Codes: ratelimit.PerMinute(3)}
		},
	})
	op := func(id, method, path string, acc api.Access) huma.Operation {
		return api.Declare(huma.Operation{OperationID: id, Method: method, Path: path}, acc)
	}
	huma.Register(a, op("public-ok", http.MethodGet, "/api/v1/ok", api.Public), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		out := &echoOutput{}
		out.Body.Actor = audit.ActorFrom(ctx).Name
		return out, nil
	})
	huma.Register(a, op("platform-ok", http.MethodGet, "/api/v1/platform/ok", api.Platform), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		out := &echoOutput{}
		out.Body.Actor = audit.ActorFrom(ctx).Name
		return out, nil
	})
	huma.Register(a, op("tenant-ok", http.MethodGet, "/api/v1/tenant-ok", api.PublicTenant), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		return &echoOutput{}, nil
	})
	huma.Register(a, op("create-thing", http.MethodPost, "/api/v1/things", api.Public), func(ctx context.Context, in *createInput) (*echoOutput, error) {
		if in.Body.Name == "taken" {
			return nil, &engine.Error{Code: engine.CodeConflict, Message: "That name is taken.", Fields: []engine.FieldError{{Field: "name", Message: "is taken"}}}
		}
		return &echoOutput{}, nil
	})
	huma.Register(a, op("fail-internal", http.MethodGet, "/api/v1/internal", api.Public), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		return nil, fmt.Errorf("select secrets: %w", errors.New("password=hunter2 connection refused"))
	})
	huma.Register(a, op("slow-down", http.MethodGet, "/api/v1/slow-down", api.Public), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		return nil, ratelimit.Refused(ratelimit.Decision{Limit: 3, RetryAfter: 1500 * time.Millisecond})
	})
	huma.Register(a, op("panic", http.MethodGet, "/api/v1/panic", api.Public), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		panic("boom at secret place")
	})
	huma.Register(a, op("read-members", http.MethodGet, "/api/v1/members", api.Permission("members:read")), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		out := &echoOutput{}
		out.Body.Actor = audit.ActorFrom(ctx).Name
		return out, nil
	})
	huma.Register(a, op("sign-in", http.MethodPost, "/api/v1/sign-in", api.Access{Permission: "public", Tenant: true, Limit: api.LimitSignIn}), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		return &echoOutput{}, nil
	})
	huma.Register(a, huma.Operation{OperationID: "undeclared", Method: http.MethodGet, Path: "/api/v1/undeclared"}, func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		return &echoOutput{}, nil
	})
	huma.Register(api.PluginAPI(a, "chess", enabled{"chess": true}), op("chess-ok", http.MethodGet, "/api/v1/chess", api.Public), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		return &echoOutput{}, nil
	})
	huma.Register(api.PluginAPI(a, "go", enabled{}), op("go-ok", http.MethodGet, "/api/v1/go", api.Public), func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
		return &echoOutput{}, nil
	})
	log := slog.New(engine.NewLogHandler(slog.NewJSONHandler(logs, nil)))
	tenant := uuid.Must(uuid.NewV7())
	withTenant := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Test-Tenant") != "" {
				r = r.WithContext(engine.WithTenant(r.Context(), tenant))
			}
			next.ServeHTTP(w, r)
		})
	}
	return api.Chain(a.Mux, api.Forwarded(nil), api.RequestID(), api.Observe(log, api.NewMetrics()),
		api.SecurityHeaders(false), api.Limits(4096, 5e9), withTenant)
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, h http.Handler, method, path, body string, header map[string]string) response {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), raw: w.Body.String()}
	_ = json.Unmarshal(w.Body.Bytes(), &res.body)
	return res
}

var tenantHeader = map[string]string{"X-Test-Tenant": "1"}

func withAuth(tok string) map[string]string {
	return map[string]string{"X-Test-Tenant": "1", "Authorization": "Bearer " + tok}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := newTestServer(t, &logs)
	bearer := map[string]string{"Authorization": "Bearer " + token}
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code                     string
		detail                   string
	}{
		{"Public", "GET", "/api/v1/ok", "", nil, 200, "", ""},
		{"PlatformWithoutToken", "GET", "/api/v1/platform/ok", "", nil, 401, "unauthenticated", "A valid platform token is required."},
		{"PlatformWrongToken", "GET", "/api/v1/platform/ok", "", map[string]string{"Authorization": "Bearer " + strings.Repeat("x", 32)}, 401, "unauthenticated", ""},
		{"PlatformToken", "GET", "/api/v1/platform/ok", "", bearer, 200, "", ""},
		{"TenantOpWithoutTenant", "GET", "/api/v1/tenant-ok", "", nil, 404, "not_found", "There is no community at this address."},
		{"TenantOpWithTenant", "GET", "/api/v1/tenant-ok", "", map[string]string{"X-Test-Tenant": "1"}, 200, "", ""},
		{"EngineError", "POST", "/api/v1/things", `{"name":"taken","count":1}`, nil, 409, "conflict", "That name is taken."},
		{"Validation", "POST", "/api/v1/things", `{"name":"much too long a name","count":0}`, nil, 422, "invalid", ""},
		{"UnknownField", "POST", "/api/v1/things", `{"name":"a","count":1,"role":"owner"}`, nil, 422, "invalid", ""},
		{"MalformedJSON", "POST", "/api/v1/things", `{"name":`, nil, 400, "invalid", ""},
		{"OversizeBody", "POST", "/api/v1/things", `{"name":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, "invalid", ""},
		{"Internal", "GET", "/api/v1/internal", "", nil, 500, "internal", "An internal error occurred. It has been logged; please try again later."},
		{"Panic", "GET", "/api/v1/panic", "", nil, 500, "internal", "An internal error occurred. It has been logged; please try again later."},
		{"Undeclared", "GET", "/api/v1/undeclared", "", nil, 500, "internal", ""},
		{"UnknownPath", "GET", "/api/v1/nothing-here", "", nil, 404, "not_found", "There is no API operation at this path."},
		{"WrongMethod", "DELETE", "/api/v1/ok", "", nil, 405, "invalid", ""},
		{"PluginEnabled", "GET", "/api/v1/chess", "", map[string]string{"X-Test-Tenant": "1"}, 200, "", ""},
		{"PluginDisabled", "GET", "/api/v1/go", "", map[string]string{"X-Test-Tenant": "1"}, 404, "not_found", "This community does not offer that."},
		{"PluginWithoutTenant", "GET", "/api/v1/chess", "", nil, 404, "not_found", ""},
		{"PermissionNoToken", "GET", "/api/v1/members", "", tenantHeader, 401, "unauthenticated", "Sign in to do this."},
		{"PermissionBadToken", "GET", "/api/v1/members", "", withAuth("forged"), 401, "unauthenticated", ""},
		{"PermissionBanned", "GET", "/api/v1/members", "", withAuth("banned"), 403, "forbidden", ""},
		{"PermissionDenied", "GET", "/api/v1/members", "", withAuth("member"), 403, "forbidden", "You may not do this."},
		{"PermissionGranted", "GET", "/api/v1/members", "", withAuth("moderator"), 200, "", ""},
		{"KeyScope", "GET", "/api/v1/members", "", withAuth("key"), 200, "", ""},
		{"PlatformTokenInTenant", "GET", "/api/v1/members", "", withAuth(token), 200, "", ""},
		{"UserTokenOnPlatformOp", "GET", "/api/v1/platform/ok", "", map[string]string{"Authorization": "Bearer moderator"}, 401, "unauthenticated", ""},
	}
	t.Run("ServiceRateLimitSaysWhenToRetry", func(t *testing.T) {
		res := do(t, h, "GET", "/api/v1/slow-down", "", nil)
		if res.status != 429 || res.body["code"] != "rate_limited" || res.header.Get("Retry-After") != "2" {
			t.Errorf("service rate limit = %d %v, Retry-After %q; want 429 rate_limited with Retry-After 2", res.status, res.body, res.header.Get("Retry-After"))
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, h, tt.method, tt.path, tt.body, tt.header)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", res.status, tt.status, res.raw)
			}
			if res.header.Get("X-Request-Id") == "" {
				t.Errorf("no X-Request-Id")
			}
			if res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("Content-Security-Policy") == "" {
				t.Errorf("security headers missing: %v", res.header)
			}
			if tt.status < 400 {
				return
			}
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			if res.body["status"] != float64(tt.status) || res.body["code"] != tt.code || res.body["title"] != http.StatusText(tt.status) {
				t.Errorf("problem = %v, want status %d code %s", res.body, tt.status, tt.code)
			}
			if tt.detail != "" && res.body["detail"] != tt.detail {
				t.Errorf("detail = %q, want %q", res.body["detail"], tt.detail)
			}
			if res.body["request_id"] != res.header.Get("X-Request-Id") {
				t.Errorf("request_id = %v, want the X-Request-Id %s", res.body["request_id"], res.header.Get("X-Request-Id"))
			}
			for _, secret := range []string{"hunter2", "secret", "select secrets", "boom"} {
				if strings.Contains(res.raw, secret) {
					t.Errorf("body leaks %q: %s", secret, res.raw)
				}
			}
		})
	}

	t.Run("ValidationListsEveryField", func(t *testing.T) {
		res := do(t, h, "POST", "/api/v1/things", `{"name":"much too long a name","count":0}`, nil)
		errs, _ := res.body["errors"].([]any)
		if len(errs) != 2 {
			t.Errorf("errors = %v, want one per bad field", res.body["errors"])
		}
	})

	t.Run("EngineFieldsAreReported", func(t *testing.T) {
		res := do(t, h, "POST", "/api/v1/things", `{"name":"taken","count":1}`, nil)
		errs, _ := res.body["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["location"] != "body.name" {
			t.Errorf("errors = %v, want body.name", res.body["errors"])
		}
	})

	t.Run("PlatformActorIsAudited", func(t *testing.T) {
		res := do(t, h, "GET", "/api/v1/platform/ok", "", bearer)
		if res.body["actor"] != "platform-token" {
			t.Errorf("actor = %v, want platform-token", res.body["actor"])
		}
	})

	t.Run("ActorIsThePrincipal", func(t *testing.T) {
		res := do(t, h, "GET", "/api/v1/members", "", withAuth("moderator"))
		if res.body["actor"] != "user:moderator" {
			t.Errorf("actor = %v, want user:moderator", res.body["actor"])
		}
	})

	t.Run("SignInIsRateLimited", func(t *testing.T) {
		for i := range 3 {
			if res := do(t, h, "POST", "/api/v1/sign-in", "", tenantHeader); res.status != 204 && res.status != 200 {
				t.Fatalf("attempt %d = %d", i, res.status)
			}
		}
		res := do(t, h, "POST", "/api/v1/sign-in", "", tenantHeader)
		if res.status != 429 || res.body["code"] != "rate_limited" || res.header.Get("Retry-After") == "" || res.header.Get("RateLimit-Limit") != "3" {
			t.Errorf("fourth sign-in = %d %v %v, want 429 with Retry-After and RateLimit headers", res.status, res.header, res.body)
		}
	})

	t.Run("InternalCauseIsLoggedOnce", func(t *testing.T) {
		logs.Reset()
		res := do(t, h, "GET", "/api/v1/internal", "", nil)
		var entries []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				entries = append(entries, m)
			}
		}
		if len(entries) != 1 {
			t.Fatalf("log lines = %d, want 1: %s", len(entries), logs.String())
		}
		e := entries[0]
		if e["level"] != "ERROR" || !strings.Contains(fmt.Sprint(e["error"]), "hunter2") ||
			e["request_id"] != res.header.Get("X-Request-Id") || e["route"] != "fail-internal" || e["status"] != float64(500) {
			t.Errorf("log entry = %v, want the cause, route and request id", e)
		}
	})

	t.Run("PanicIsLoggedWithStack", func(t *testing.T) {
		logs.Reset()
		do(t, h, "GET", "/api/v1/panic", "", nil)
		if !strings.Contains(logs.String(), "boom at secret place") || !strings.Contains(logs.String(), "goroutine") {
			t.Errorf("log = %s, want the panic and its stack", logs.String())
		}
	})
}

func TestForwarded(t *testing.T) {
	t.Parallel()
	trusted, err := api.ParseProxies("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.ParseProxies("10.0.0.0/33"); err == nil {
		t.Errorf("ParseProxies(bad) = nil, want an error")
	}
	var gotIP, gotHost string
	h := api.Forwarded(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotIP, gotHost = api.ClientIP(r).String(), r.Host
	}))
	tests := []struct {
		name, remote, xff, xfh string
		ip, host               string
	}{
		{"UntrustedPeer", "203.0.113.9:1234", "1.2.3.4", "evil.example", "203.0.113.9", "guildhall.test"},
		{"TrustedPeer", "10.1.2.3:1234", "1.2.3.4", "acme.guildhall.test", "1.2.3.4", "acme.guildhall.test"},
		{"SpoofedChain", "10.1.2.3:1234", "6.6.6.6, 1.2.3.4", "", "1.2.3.4", "guildhall.test"},
		{"ChainOfProxies", "10.1.2.3:1234", "1.2.3.4, 192.168.1.1", "", "1.2.3.4", "guildhall.test"},
		{"Garbage", "10.1.2.3:1234", "not-an-ip", "", "10.1.2.3", "guildhall.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr, r.Host = tt.remote, "guildhall.test"
			r.Header.Set("X-Forwarded-For", tt.xff)
			if tt.xfh != "" {
				r.Header.Set("X-Forwarded-Host", tt.xfh)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if gotIP != tt.ip || gotHost != tt.host {
				t.Errorf("client %s host %s, want %s %s", gotIP, gotHost, tt.ip, tt.host)
			}
		})
	}
}

func TestProblemForNonAPIPanic(t *testing.T) {
	t.Parallel()
	h := api.Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("page boom") }),
		api.RequestID(), api.Observe(slog.New(slog.DiscardHandler), nil))
	r := httptest.NewRequest("GET", "/some/page", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 500 || strings.Contains(w.Body.String(), "page boom") || !strings.Contains(w.Body.String(), w.Header().Get("X-Request-Id")) {
		t.Errorf("panic page = %d %q, want a generic 500 with the request id", w.Code, w.Body)
	}
}

func TestSchemaName(t *testing.T) {
	t.Parallel()
	type Settings struct{}
	for _, tt := range []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[engine.FieldError](), "FieldError"},
		{reflect.TypeFor[*api.Problem](), "Problem"},
		{reflect.TypeFor[Settings](), "Settings"},
		{reflect.TypeFor[struct{ A int }](), "Hint"},
	} {
		if got := api.SchemaName(tt.typ, "Hint"); got != tt.want {
			t.Errorf("SchemaName(%v) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}
