package web

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/tenants"
)

// Cookies of the web app. Both are HttpOnly, SameSite=Lax, Secure over
// TLS, and scoped to the tenant's base path ("/" on its own host,
// "/t/{slug}/" on the platform host), so one tenant's pages never receive
// another's cookies.
const (
	// SessionCookie holds the opaque token of a web session.
	SessionCookie = "gh_web"
	// MFACookie holds the token of a sign-in waiting for its second factor.
	// It cannot live server-side (the server is stateless), so it rides in
	// a cookie that lasts as long as the challenge.
	MFACookie = "gh_mfa"
)

const (
	sessionMaxAge = 30 * 24 * time.Hour
	mfaMaxAge     = 5 * time.Minute
)

// viewer is the signed-in user of a request.
type viewer struct {
	principal engine.Principal
	user      identity.User
}

type viewerKey struct{}

// userFrom returns the signed-in user of the request ctx belongs to.
func userFrom(ctx context.Context) (identity.User, bool) {
	v, ok := ctx.Value(viewerKey{}).(viewer)
	return v.user, ok
}

// session authenticates the web session cookie of an active tenant's
// request: when it is valid the principal (engine.WithPrincipal) and the
// user are in the context of everything downstream, plugin pages included;
// when it is not (expired, revoked, banned, another tenant's) it is
// cleared. A failure to check it (the database is down) leaves the request
// signed out and the cookie in place.
func (a *app) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := activeTenant(r.Context()); ok {
			r = a.authenticate(w, r)
		}
		next.ServeHTTP(w, r)
	})
}

func (a *app) authenticate(w http.ResponseWriter, r *http.Request) *http.Request {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return r
	}
	ctx := r.Context()
	p, err := a.identity.AuthenticateCookie(ctx, c.Value, identity.KindWeb)
	if err == nil {
		pctx := engine.WithPrincipal(ctx, p)
		var u identity.User
		if u, err = a.identity.Me(pctx); err == nil {
			api.Annotate(ctx, "principal", p.Name)
			return r.WithContext(context.WithValue(pctx, viewerKey{}, viewer{principal: p, user: u}))
		}
	}
	switch engine.ErrorCode(err) {
	case engine.CodeUnauthenticated, engine.CodeForbidden, engine.CodeNotFound:
		clearCookie(w, r, SessionCookie)
	default:
		a.log.ErrorContext(ctx, "authenticate web session", "error", err)
	}
	return r
}

// cookiePath is the path every cookie of the request's tenant is scoped to.
func cookiePath(ctx context.Context) string { return tenants.BasePath(ctx) + "/" }

// secure reports whether the client reached us over TLS (directly, or as a
// trusted proxy told api.Forwarded).
func secure(r *http.Request) bool { return r.TLS != nil || r.URL.Scheme == "https" }

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cookiePath(r.Context()), MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Path: cookiePath(r.Context()), MaxAge: -1,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// client describes the request for sessions and the audit log.
func client(r *http.Request) identity.Client {
	return identity.Client{Kind: identity.KindWeb, IP: api.ClientIP(r), UserAgent: r.UserAgent()}
}

// Throttles: per tenant and client IP, in memory (see engine/ratelimit).
// The database still counts attempts at each password and code.
const (
	throttleSignIn = "web-sign-in" // anything that checks a password or a code
	throttleCodes  = "web-codes"   // anything that sends a code
	throttleSignUp = "web-sign-up"
)

var throttleLimit = ratelimit.PerMinute(10)

// allow takes a token of r's client from bucket. When there is none it
// answers 429 with Retry-After and a page saying how long to wait (with a
// link back to page, the form's own page), and returns false.
func (a *app) allow(w http.ResponseWriter, r *http.Request, bucket, page string) bool {
	if a.limiter == nil {
		return true
	}
	tenant, _ := engine.TenantFrom(r.Context())
	d := a.limiter.Allow(bucket+":"+tenant.String()+":"+ipKey(api.ClientIP(r)), throttleLimit)
	ratelimit.SetHeaders(w.Header(), d)
	if d.Allowed {
		return true
	}
	a.render(w, r, http.StatusTooManyRequests, messagePage(messageView{
		Brand:   a.pageBrand(r),
		Title:   "Too many attempts",
		Message: engine.ErrorMessage(ratelimit.Refused(d)),
		TestID:  "too-many-requests",
		Back:    link(r.Context(), page),
	}))
	return false
}

// ipKey is how a client is keyed: its address, or for IPv6 its /64, which
// one subscriber usually holds whole.
func ipKey(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.Unmap().String()
}

// safeNext returns next when it is a path of this app ("/profile",
// "/invitations/ghi_…"), to go to after signing in, and "" otherwise:
// absolute and protocol-relative URLs, backslashes, control characters and
// dot segments are refused, so a link cannot send anyone to another site
// or another tenant.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsRune(next, '\\') || strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return ""
		}
	}
	return next
}

// link is path under the request's base path, with query (pairs of name
// and value; empty values left out).
func link(ctx context.Context, path string, query ...string) string {
	return pathWith(tenants.BasePath(ctx), path, query...)
}

// after is where to go once signed in: next, else the home page.
func after(ctx context.Context, next string) string {
	if n := safeNext(next); n != "" {
		return tenants.BasePath(ctx) + n
	}
	return tenants.BasePath(ctx) + "/"
}

// redirect sends the browser to target after a form post (303 See Other:
// the next request is a GET). htmx follows it and swaps in the page.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// notices are the messages a redirect can ask the next page to show
// (?notice=key). Only these fixed texts are ever shown, so a link cannot
// put words on a tenant's page.
var notices = map[string]string{
	"welcome":             "Welcome! Your email address is confirmed and you are signed in.",
	"signed-out":          "You have signed out.",
	"unverified":          "Verify your email address first: we have sent a new code to it.",
	"code-sent":           "If this address can use it, we have sent a code to it. It is valid for 10 minutes.",
	"password-reset":      "Your password has been changed and you were signed out everywhere. Sign in with the new one.",
	"profile-saved":       "Your profile has been saved.",
	"password-changed":    "Your password has been changed. Your other sessions were signed out.",
	"phone-saved":         "Your phone number has been confirmed.",
	"phone-removed":       "Your phone number has been removed.",
	"totp-disabled":       "Two-step sign-in is off.",
	"invitation-accepted": "Invitation accepted: welcome aboard!",
	"account-deleted":     "Your account has been deleted.",
	"mfa-expired":         "The sign-in took too long. Please start again.",
	"redeemed":            "Done! Your order is placed and the coins are spent.",
	"notifications-read":  "Your notifications are marked as read.",
	"digest-on":           "Saved: you will get a daily email digest of your unread notifications.",
	"digest-off":          "Saved: you will not get digest emails.",
}
