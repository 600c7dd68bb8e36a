package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/ratelimit"
)

// gate is the API's one enforcement point: for each operation it checks
// the tenant, rate limits, credentials and the declared permission, in
// that order, and puts the principal and audit actor in the context.
type gate struct {
	api       huma.API
	cfg       Config
	tokenHash [32]byte
}

func newGate(a huma.API, cfg Config) *gate {
	g := &gate{api: a, cfg: cfg}
	if cfg.PlatformToken != "" {
		g.tokenHash = sha256.Sum256([]byte(cfg.PlatformToken))
	}
	return g
}

func (g *gate) fail(ctx huma.Context, status int, msg string, errs ...error) {
	if status == http.StatusUnauthorized {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="guildhall"`)
	}
	_ = huma.WriteErr(g.api, ctx, status, msg, errs...)
}

func (g *gate) handle(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	SetRoute(ctx.Context(), op.OperationID)
	acc, ok := op.Metadata[MetaAccess].(Access)
	if !ok {
		g.fail(ctx, http.StatusInternalServerError, "", fmt.Errorf("operation %s declares no access", op.OperationID))
		return
	}
	_, hasTenant := engine.TenantFrom(ctx.Context())
	if acc.Tenant && !hasTenant {
		g.fail(ctx, http.StatusNotFound, "There is no community at this address.")
		return
	}
	r, _ := humago.Unwrap(ctx)
	ip := ClientIP(r)
	limits := g.limits(ctx.Context())
	scope := "platform"
	if t, ok := engine.TenantFrom(ctx.Context()); ok {
		scope = t.String()
	}
	if !g.allow(ctx, "ip:"+scope+":"+ip.String(), limits.IP) {
		return
	}
	switch acc.Limit {
	case LimitSignIn:
		if !g.allow(ctx, "sign-in:"+scope+":"+ip.String(), limits.SignIn) {
			return
		}
	case LimitCodes:
		if !g.allow(ctx, "codes:"+scope+":"+ip.String(), limits.Codes) {
			return
		}
	}
	if acc.Permission == Public.Permission {
		next(ctx)
		return
	}

	token, hasToken := bearer(ctx.Header("Authorization"))
	var p engine.Principal
	switch {
	case !hasToken && acc.Permission == Platform.Permission:
		g.fail(ctx, http.StatusUnauthorized, "A valid platform token is required.")
		return
	case !hasToken:
		g.fail(ctx, http.StatusUnauthorized, "Sign in to do this.")
		return
	case g.isPlatformToken(token):
		p = engine.Principal{Kind: engine.PrincipalPlatform, Role: "platform_admin", Name: "platform-token"}
		if t, ok := engine.TenantFrom(ctx.Context()); ok {
			p.TenantID = t
		}
	case acc.Permission == Platform.Permission || g.cfg.Auth == nil:
		g.fail(ctx, http.StatusUnauthorized, "A valid platform token is required.")
		return
	default:
		var err error
		p, err = g.cfg.Auth.AuthenticateBearer(ctx.Context(), token)
		if err != nil {
			g.fail(ctx, 0, "", err)
			return
		}
	}
	if acc.Permission != Platform.Permission && (g.cfg.Authz == nil || !g.cfg.Authz.Can(p, acc.Permission)) {
		g.fail(ctx, http.StatusForbidden, "You may not do this.")
		return
	}
	switch p.Kind {
	case engine.PrincipalUser:
		if !g.allow(ctx, "user:"+scope+":"+p.UserID.String(), limits.User) {
			return
		}
	case engine.PrincipalAPIKey:
		if !g.allow(ctx, "key:"+scope+":"+p.APIKeyID.String(), limits.APIKey) {
			return
		}
	}
	Annotate(ctx.Context(), "principal", p.Name)
	next(huma.WithContext(ctx, engine.WithPrincipal(ctx.Context(), p)))
}

func (g *gate) isPlatformToken(token string) bool {
	if g.cfg.PlatformToken == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], g.tokenHash[:]) == 1
}

func (g *gate) limits(ctx context.Context) RequestLimits {
	if g.cfg.Limiter == nil || g.cfg.Limits == nil {
		return RequestLimits{}
	}
	return g.cfg.Limits(ctx)
}

// allow takes a token for key; when refused it answers 429 with
// Retry-After and RateLimit headers and returns false.
func (g *gate) allow(ctx huma.Context, key string, lim ratelimit.Limit) bool {
	if g.cfg.Limiter == nil || lim.Burst == 0 {
		return true
	}
	d := g.cfg.Limiter.Allow(key, lim)
	if d.Allowed {
		return true
	}
	_, w := humago.Unwrap(ctx)
	ratelimit.SetHeaders(w.Header(), d)
	g.fail(ctx, 0, "", ratelimit.Refused(d))
	return false
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
