package api

import (
	"context"
	"html/template"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
)

// Prefix is where the versioned REST API lives.
const Prefix = "/api/v1"

// Config configures the API assembly.
type Config struct {
	Title   string
	Version string
	// PlatformToken authorizes platform operations (bearer token), and acts
	// as a platform admin in any tenant. Empty disables it.
	PlatformToken string
	// DocsAssets is the URL path of the vendored Stoplight Elements files.
	DocsAssets string
	// Auth authenticates bearer tokens (access tokens, API keys); nil
	// leaves only public and platform operations callable.
	Auth Authenticator
	// Authz decides permissions; required with Auth.
	Authz Authorizer
	// Limiter and Limits rate-limit requests; nil Limiter disables limits.
	Limiter *ratelimit.Limiter
	Limits  func(ctx context.Context) RequestLimits
}

// Authenticator verifies a bearer token presented to the tenant in ctx
// against the current state of its session or key.
type Authenticator interface {
	AuthenticateBearer(ctx context.Context, token string) (engine.Principal, error)
}

// Authorizer decides whether a principal holds a permission.
type Authorizer interface {
	Can(p engine.Principal, permission string) bool
}

// RequestLimits are the rate limits of the tenant of a request.
type RequestLimits struct {
	IP     ratelimit.Limit // every API request, per client IP
	User   ratelimit.Limit // per signed-in user
	APIKey ratelimit.Limit // per API key
	SignIn ratelimit.Limit // sign-in attempts per IP (LimitSignIn operations)
	Codes  ratelimit.Limit // one-time code requests per IP (LimitCodes operations)
}

// API is the huma API and the mux it is mounted on. Register operations on
// API; serve Mux.
type API struct {
	huma.API
	Mux *http.ServeMux
}

// MetaAccess is the operation metadata key holding its Access.
const MetaAccess = "guildhall.access"

// Access says who may call an operation and whether it works on the tenant of
// the request. Every operation declares one (see Declare); an operation
// without is refused at runtime and by a test.
type Access struct {
	// Permission is "public", "platform", or (with identities) a permission
	// of the caller's role in the tenant.
	Permission string
	// Tenant is true when the operation acts on the tenant of the request;
	// without a tenant it answers 404.
	Tenant bool
	// Limit names an extra, stricter rate limit: LimitSignIn, LimitCodes.
	Limit string
}

// Extra rate limits of an operation.
const (
	LimitSignIn = "sign_in"
	LimitCodes  = "codes"
)

// The accesses this package knows.
var (
	// Public operations need no credentials.
	Public = Access{Permission: "public"}
	// PublicTenant operations need no credentials but a tenant.
	PublicTenant = Access{Permission: "public", Tenant: true}
	// Platform operations need the platform token.
	Platform = Access{Permission: "platform"}
	// Self operations need a signed-in user of the tenant acting on their
	// own account.
	Self = Access{Permission: PermissionSelf, Tenant: true}
)

// PermissionSelf is held by every signed-in user, never by an API key.
const PermissionSelf = "self:use"

// Permission returns the access of a tenant operation that needs perm.
func Permission(perm string) Access { return Access{Permission: perm, Tenant: true} }

// Security scheme names in the OpenAPI document.
const (
	SchemePlatform    = "platformToken"
	SchemeAccessToken = "accessToken"
	SchemeAPIKey      = "apiKey"
)

// Declare returns op with its access recorded, and the security
// requirement that goes with it in the OpenAPI document (an x-permission
// extension names the permission).
func Declare(op huma.Operation, a Access) huma.Operation {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[MetaAccess] = a
	if op.Extensions == nil {
		op.Extensions = map[string]any{}
	}
	op.Extensions["x-permission"] = a.Permission
	switch a.Permission {
	case Public.Permission:
	case Platform.Permission:
		op.Security = []map[string][]string{{SchemePlatform: {}}}
	case PermissionSelf:
		op.Security = []map[string][]string{{SchemeAccessToken: {}}}
	default:
		op.Security = []map[string][]string{{SchemeAccessToken: {}}, {SchemeAPIKey: {a.Permission}}, {SchemePlatform: {}}}
	}
	return op
}

// New assembles an empty API: huma on a fresh mux, our error constructor,
// the OpenAPI document at /api/openapi.{json,yaml}, the docs page at
// /api/docs, and problem answers for unknown /api/ paths.
func New(cfg Config) *API {
	installErrorConstructor()
	mux := http.NewServeMux()
	hc := huma.DefaultConfig(cfg.Title, cfg.Version)
	hc.OpenAPIPath = "/api/openapi"
	hc.DocsPath = ""
	hc.SchemasPath = "/api/schemas"
	hc.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", SchemaName)
	// Keep response bodies free of $schema links.
	hc.CreateHooks = nil
	hc.Info.Description = "The REST API of Guildhall: tenants, members, coins, rewards and the community " +
		"features of each tenant's plugins. A tenant's operations are served on the tenant's host " +
		"(slug.base-domain or a custom domain) or under /t/{slug}/ on the platform host. Errors are " +
		"RFC 9457 problem details (application/problem+json)."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		SchemePlatform: {
			Type: "http", Scheme: "bearer",
			Description: "The platform operator's token (GUILDHALL_PLATFORM_TOKEN). It acts as a platform admin in every tenant.",
		},
		SchemeAccessToken: {
			Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "A user's access token from sign-in (valid ten minutes; renew it with refresh-session). " +
				"The user's current role in the tenant decides what they may do.",
		},
		SchemeAPIKey: {
			Type: "http", Scheme: "bearer", BearerFormat: "ghk_<prefix>_<secret>",
			Description: "An integrator's API key of the tenant. It may call the operations whose permission is among its scopes.",
		},
	}
	a := humago.New(mux, hc)
	a.UseMiddleware(newGate(a, cfg).handle)
	mux.Handle("GET /api/docs", docsPage(cfg))
	mux.HandleFunc("/api/", unknownRoute(mux))
	return &API{API: a, Mux: mux}
}

// PluginAPI returns the group a plugin registers its operations on: they
// are tagged with the plugin's name, act on the tenant of the request, and
// answer 404 for a tenant that has not enabled the plugin.
func PluginAPI(a huma.API, name string, en plugin.Enablement) huma.API {
	g := huma.NewGroup(a)
	g.UseSimpleModifier(func(op *huma.Operation) {
		op.Tags = append(op.Tags, name)
		if acc, ok := op.Metadata[MetaAccess].(Access); ok {
			acc.Tenant = true
			op.Metadata[MetaAccess] = acc
		}
	})
	g.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		if !en.PluginEnabled(ctx.Context(), name) {
			_ = huma.WriteErr(a, ctx, http.StatusNotFound, "This community does not offer that.")
			return
		}
		next(ctx)
	})
	return g
}

// unknownRoute answers paths under /api/ that no operation serves: 405 when
// the path exists with another method, else 404, as problems.
func unknownRoute(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/api/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			WriteProblem(w, r, http.StatusMethodNotAllowed, engine.Errorf(engine.CodeInvalid, "This operation does not accept %s.", r.Method))
			return
		}
		WriteProblem(w, r, http.StatusNotFound, engine.Errorf(engine.CodeNotFound, "There is no API operation at this path."))
	}
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} API reference</title>
<link rel="stylesheet" href="{{.Assets}}styles.min.css">
<script src="{{.Assets}}web-components.min.js"></script>
</head>
<body style="height:100vh;margin:0">
<elements-api apiDescriptionUrl="openapi.yaml" router="hash" layout="sidebar" tryItCredentialsPolicy="same-origin"></elements-api>
</body>
</html>`))

func docsPage(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "api-docs")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = docsTemplate.Execute(w, struct{ Title, Assets string }{cfg.Title, cfg.DocsAssets})
	})
}

// Health serves /healthz (the process answers) and /readyz (the database
// answers within two seconds) on mux.
func Health(mux *http.ServeMux, ready func(context.Context) error) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "healthz")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "readyz")
		ctx, cancel := context.WithTimeout(r.Context(), timeoutReady)
		defer cancel()
		if err := ready(ctx); err != nil {
			recordCause(r.Context(), err)
			WriteProblem(w, r, http.StatusServiceUnavailable, engine.Errorf(engine.CodeUnavailable, "The database is not answering."))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// SchemaName names the OpenAPI schema of a Go type: its type name, as huma
// does, prefixed with the plugin's name for types of a plugin package
// (plugins/social: SocialSettings), so plugins never collide with the
// engine's schemas or each other's.
func SchemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	_, rest, ok := strings.Cut(t.PkgPath(), "/plugins/")
	if !ok || rest == "" {
		return name
	}
	plugin, _, _ := strings.Cut(rest, "/")
	var prefix strings.Builder
	for part := range strings.SplitSeq(plugin, "_") {
		if part != "" {
			prefix.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	if strings.HasPrefix(name, prefix.String()) {
		return name
	}
	return prefix.String() + name
}
