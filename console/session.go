package console

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/tenants"
)

// The console's cookies. Their values are opaque tokens the identity
// service stores hashed.
const (
	// cookieTenant holds a tenant staff member's console session. Its path
	// is the tenant's base path, so the sessions of /t/a/ and /t/b/ on the
	// platform host never mix.
	cookieTenant = "gh_console"
	// cookiePlatform holds a platform admin's session, for the whole
	// platform host: the platform console and every /t/{slug}/console/.
	cookiePlatform = "gh_platform"
	// cookieMFA holds a pending sign-in's MFA token between the password
	// and the code, on the console's sign-in pages only.
	cookieMFA = "gh_console_mfa"
)

// Cookie lifetimes. The server enforces each session's own expiry; these
// only keep the browser from holding a cookie much longer than that. They
// are identity's defaults (identity.Config.CookieTTL, and 12 hours for
// platform admins), which it does not report per session.
const (
	tenantCookieTTL   = 30 * 24 * time.Hour
	platformCookieTTL = 12 * time.Hour
	mfaCookieTTL      = 5 * time.Minute
)

// session is who is signed in to the console for a request.
type session struct {
	Principal engine.Principal
	// Name says who is signed in, in the header: an email address.
	Name string
	// MFAEnabled is whether a platform admin has two-step sign-in on.
	MFAEnabled bool
}

type sessionKey struct{}

func withSession(ctx context.Context, s session) context.Context {
	ctx = engine.WithPrincipal(ctx, s.Principal)
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// consoleBase is the path of the console of the request, without the
// trailing slash: "/console", or "/t/{slug}/console" under a tenant's
// prefix on the platform host.
func consoleBase(ctx context.Context) string { return tenants.BasePath(ctx) + "/console" }

// authenticate returns the session of the request's section, if any. On a
// tenant it is the staff member's console cookie or, failing that, a
// platform admin's cookie, acting in the tenant. ok is false when there is
// no valid session; err is only for internal failures.
func (c *console) authenticate(r *http.Request) (s session, ok bool, err error) {
	ctx := r.Context()
	t, isTenant := tenants.FromContext(ctx)
	if isTenant {
		if ck, cerr := r.Cookie(cookieTenant); cerr == nil {
			p, err := c.identity.AuthenticateCookie(ctx, ck.Value, identity.KindConsole)
			switch engine.ErrorCode(err) {
			case "":
				u, err := c.identity.Member(ctx, p.UserID)
				if err != nil {
					return session{}, false, err
				}
				return session{Principal: p, Name: u.Email}, true, nil
			case engine.CodeInternal:
				return session{}, false, err
			}
			// Expired, revoked, banned or no longer staff: try the
			// platform cookie, else sign in again.
		}
	}
	ck, cerr := r.Cookie(cookiePlatform)
	if cerr != nil {
		return session{}, false, nil
	}
	p, admin, err := c.identity.AuthenticateAdminCookie(ctx, ck.Value)
	switch engine.ErrorCode(err) {
	case "":
	case engine.CodeInternal:
		return session{}, false, err
	default:
		return session{}, false, nil
	}
	if isTenant {
		p.TenantID = t.ID
	}
	return session{Principal: p, Name: admin.Email, MFAEnabled: admin.MFAEnabled}, true, nil
}

// toSignIn sends a browser without a session to the sign-in page, which
// brings it back to the page it asked for.
func (c *console) toSignIn(w http.ResponseWriter, r *http.Request) {
	target := consoleBase(r.Context()) + "/sign-in"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if next := safeNext(r.URL.RequestURI()); next != "" {
			target += "?next=" + url.QueryEscape(next)
		}
	}
	redirect(w, r, target)
}

// safeNext returns next when it is a console page path relative to the
// console's base path ("/console/members?role=admin"), and "" for
// anything else: another site, another part of this one, the sign-in pages
// themselves. The caller prefixes the base path, so the result can never
// leave the console.
func safeNext(next string) string {
	if next == "" || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	p := path.Clean(u.Path)
	if p == "/console" {
		p = "/console/"
	}
	if !strings.HasPrefix(p, "/console/") || strings.HasPrefix(p, "/console/sign-") {
		return ""
	}
	out := (&url.URL{Path: p, RawQuery: u.RawQuery}).RequestURI()
	if strings.HasPrefix(out, "//") {
		return ""
	}
	return out
}

// afterSignIn is where a signed-in browser goes: next, or the console's
// home.
func afterSignIn(ctx context.Context, next string) string {
	if next = safeNext(next); next == "" {
		next = "/console/"
	}
	return tenants.BasePath(ctx) + next
}

func secure(r *http.Request) bool { return r.TLS != nil || r.URL.Scheme == "https" }

// setCookie sets an HttpOnly, SameSite=Lax cookie, Secure over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: int(ttl / time.Second),
		Expires: time.Now().Add(ttl), HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name, path string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// tenantCookiePath is the path of the tenant session cookie: the tenant's
// base path ("/t/a/"), or "/" on the tenant's own host.
func tenantCookiePath(ctx context.Context) string { return tenants.BasePath(ctx) + "/" }

func mfaCookiePath(ctx context.Context) string { return consoleBase(ctx) + "/" }

// client is the request's client as the server's middleware found it,
// falling back to the TCP peer.
func client(r *http.Request) (netip.Addr, string) {
	cl := engine.ClientFrom(r.Context())
	ip := cl.IP
	if !ip.IsValid() {
		ip = api.ClientIP(r)
	}
	ua := cl.UserAgent
	if ua == "" {
		ua = r.UserAgent()
	}
	return ip, ua
}

// signInView is the sign-in or MFA form.
type signInView struct {
	Heading string // "Sign in to …"
	Action  string
	Next    string
	Email   string
	Error   string
	// Restart links back to the password form from the MFA form.
	Restart string
	// PlatformHint points platform admins, who sign in on the platform,
	// there from a tenant's sign-in on the platform host.
	PlatformHint bool
}

func (c *console) signInView(r *http.Request, action string) signInView {
	heading := "Sign in to the Guildhall platform console"
	if t, ok := tenants.FromContext(r.Context()); ok {
		heading = "Sign in to " + t.Name
	}
	return signInView{
		Heading: heading, Action: consoleBase(r.Context()) + action, Restart: consoleBase(r.Context()) + "/sign-in",
		PlatformHint: tenants.BasePath(r.Context()) != "",
	}
}

func (c *console) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	s, ok, err := c.authenticate(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if ok && c.signedInHere(s) {
		http.Redirect(w, r, afterSignIn(r.Context(), next), http.StatusSeeOther)
		return
	}
	v := c.signInView(r, "/sign-in")
	v.Next = next
	c.render(w, r, http.StatusOK, signInPage(c.chrome(r, "Sign in", ""), v))
}

// signedInHere reports whether s may use the console of this section at
// all; a session that may not (a platform admin is always fine) signs in
// again rather than loop between sign-in and 403.
func (c *console) signedInHere(s session) bool {
	return s.Principal.Kind == engine.PrincipalPlatform || c.authz.Can(s.Principal, "members:read")
}

func (c *console) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	v := c.signInView(r, "/sign-in")
	v.Next = safeNext(r.PostForm.Get("next"))
	v.Email = strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	if !c.allowSignIn(w, r, "/sign-in", v) {
		return
	}
	ip, ua := client(r)
	if _, ok := tenants.FromContext(ctx); ok {
		si, err := c.identity.SignInWithPassword(ctx, identity.SignInParams{
			Email: v.Email, Password: password, Client: identity.Client{Kind: identity.KindConsole, IP: ip, UserAgent: ua},
		})
		if err != nil {
			c.signInFailed(w, r, "/sign-in", v, err)
			return
		}
		c.signedIn(w, r, v.Next, si.MFARequired, si.MFAToken, si.Cookie)
		return
	}
	si, err := c.identity.SignInAdmin(ctx, v.Email, password, ip, ua)
	if err != nil {
		c.signInFailed(w, r, "/sign-in", v, err)
		return
	}
	c.signedIn(w, r, v.Next, si.MFARequired, si.MFAToken, si.Cookie)
}

// signedIn finishes a first factor: on to the code when one is needed,
// else the session cookie and the page the browser came for.
func (c *console) signedIn(w http.ResponseWriter, r *http.Request, next string, mfa bool, mfaToken, cookie string) {
	ctx := r.Context()
	if mfa {
		setCookie(w, r, cookieMFA, mfaToken, mfaCookiePath(ctx), mfaCookieTTL)
		target := consoleBase(ctx) + "/sign-in/mfa"
		if next != "" {
			target += "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	c.setSession(w, r, cookie)
	http.Redirect(w, r, afterSignIn(ctx, next), http.StatusSeeOther)
}

func (c *console) setSession(w http.ResponseWriter, r *http.Request, cookie string) {
	if _, ok := tenants.FromContext(r.Context()); ok {
		setCookie(w, r, cookieTenant, cookie, tenantCookiePath(r.Context()), tenantCookieTTL)
		return
	}
	setCookie(w, r, cookiePlatform, cookie, "/", platformCookieTTL)
}

// signInFailed shows why a sign-in failed, in the form; only an internal
// error gets the error page.
func (c *console) signInFailed(w http.ResponseWriter, r *http.Request, action string, v signInView, err error) {
	code := engine.ErrorCode(err)
	if code == engine.CodeInternal {
		c.fail(w, r, err)
		return
	}
	v.Error = engine.ErrorMessage(err)
	page := signInPage(c.chrome(r, "Sign in", ""), v)
	if action == "/sign-in/mfa" {
		page = mfaPage(c.chrome(r, "Two-step sign-in", ""), v)
	}
	c.render(w, r, api.StatusFor(code), page)
}

// allowSignIn takes a token from the client IP's sign-in bucket of this
// tenant (or the platform). When it is empty it answers 429 with the form
// and how long to wait, and returns false.
func (c *console) allowSignIn(w http.ResponseWriter, r *http.Request, action string, v signInView) bool {
	if c.limiter == nil {
		return true
	}
	ctx := r.Context()
	scope := "platform"
	if t, ok := tenants.FromContext(ctx); ok {
		scope = t.ID.String()
	}
	limits, err := c.identity.TenantLimits(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "read tenant limits", "error", err)
		limits = identity.DefaultLimits
	}
	ip, _ := client(r)
	d := c.limiter.Allow("console-sign-in:"+scope+":"+ip.String(), ratelimit.PerMinute(limits.SignInPerMinute))
	if d.Allowed {
		return true
	}
	ratelimit.SetHeaders(w.Header(), d)
	c.signInFailed(w, r, action, v, ratelimit.Refused(d))
	return false
}

func (c *console) mfaPage(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(cookieMFA); err != nil {
		http.Redirect(w, r, consoleBase(r.Context())+"/sign-in", http.StatusSeeOther)
		return
	}
	v := c.signInView(r, "/sign-in/mfa")
	v.Next = safeNext(r.URL.Query().Get("next"))
	c.render(w, r, http.StatusOK, mfaPage(c.chrome(r, "Two-step sign-in", ""), v))
}

func (c *console) completeMFA(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	v := c.signInView(r, "/sign-in/mfa")
	v.Next = safeNext(r.PostForm.Get("next"))
	ck, err := r.Cookie(cookieMFA)
	if err != nil {
		v := c.signInView(r, "/sign-in")
		v.Error = "Your sign-in took too long. Enter your email and password again."
		c.render(w, r, http.StatusUnauthorized, signInPage(c.chrome(r, "Sign in", ""), v))
		return
	}
	if !c.allowSignIn(w, r, "/sign-in/mfa", v) {
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("code")), " ", "")
	ip, ua := client(r)
	var cookie string
	if _, ok := tenants.FromContext(ctx); ok {
		si, err := c.identity.CompleteMFA(ctx, ck.Value, code, identity.Client{Kind: identity.KindConsole, IP: ip, UserAgent: ua})
		if err != nil {
			c.signInFailed(w, r, "/sign-in/mfa", v, err)
			return
		}
		cookie = si.Cookie
	} else {
		si, err := c.identity.CompleteAdminMFA(ctx, ck.Value, code, ip, ua)
		if err != nil {
			c.signInFailed(w, r, "/sign-in/mfa", v, err)
			return
		}
		cookie = si.Cookie
	}
	clearCookie(w, r, cookieMFA, mfaCookiePath(ctx))
	c.setSession(w, r, cookie)
	http.Redirect(w, r, afterSignIn(ctx, v.Next), http.StatusSeeOther)
}

// signOut ends the console session of the request, whichever it is, and
// forgets its cookie. Without a valid session it only clears cookies.
func (c *console) signOut(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var err error
	if _, ok := tenants.FromContext(ctx); ok {
		if ck, cerr := r.Cookie(cookieTenant); cerr == nil {
			clearCookie(w, r, cookieTenant, tenantCookiePath(ctx))
			if p, aerr := c.identity.AuthenticateCookie(ctx, ck.Value, identity.KindConsole); aerr == nil {
				err = c.identity.SignOut(engine.WithPrincipal(ctx, p))
			}
			c.signedOut(w, r, err)
			return
		}
	}
	if ck, cerr := r.Cookie(cookiePlatform); cerr == nil {
		clearCookie(w, r, cookiePlatform, "/")
		if p, _, aerr := c.identity.AuthenticateAdminCookie(ctx, ck.Value); aerr == nil {
			err = c.identity.SignOutAdmin(engine.WithPrincipal(ctx, p), ck.Value)
		}
	}
	c.signedOut(w, r, err)
}

func (c *console) signedOut(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		// The cookie is gone from this browser either way; the session
		// expires on its own.
		c.log.WarnContext(r.Context(), "console sign-out", "error", err)
	}
	redirect(w, r, consoleBase(r.Context())+"/sign-in")
}
