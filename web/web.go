package web

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/tenants"
)

// Deps is what the web app needs. Plugins, Enablement and Identity are
// required. Ledger and Rewards serve the coin pages (wallet, rewards,
// orders) and come together: with neither the app has no coin pages, with
// only one New panics. Inbox and Hub serve the notifications (the page,
// the header's bell, the live stream) and come together the same way.
// Limiter may be nil (sign-in, sign-up and code requests are then not
// throttled per IP) and Log may be nil (nothing is logged).
type Deps struct {
	Plugins    *plugin.Registry
	Enablement plugin.Enablement
	Identity   *identity.Service
	Ledger     *ledger.Service
	Rewards    *rewards.Service
	// Inbox and Hub serve the notifications. The Hub must be subscribed to
	// the server's db.Listener and running (Hub.Run), as for the API's
	// live stream: the web app mounts the same Hub behind its session
	// cookie.
	Inbox *inbox.Service
	Hub   *inbox.Hub
	// Rules, when set, makes the home page list what the tenant's rules
	// pay; without it the plugins' defaults are shown.
	Rules   *rules.Service
	Limiter *ratelimit.Limiter
	Log     *slog.Logger
}

// New returns the web app's handler. Paths are relative to the tenant's
// root ("/", "/feed"): the tenant middleware has stripped any /t/{slug}
// prefix. Besides the home page it serves the account pages (sign-up,
// sign-in, profile, invitations), the coin pages (wallet, rewards, orders:
// see the routes below and coinRoutes), the notifications (the page, its
// forms and the live WebSocket: notificationRoutes) and every page of
// every plugin implementing plugin.WebProvider at its Path (a
// http.ServeMux path pattern); the app's own method-specific routes take
// precedence over a plugin's. Two plugins claiming the same path, or a
// missing dependency, panic: both are wiring errors.
//
// Every request of an active tenant passes the session middleware (the
// signed-in user's principal is then in the context, for plugin pages too)
// and http.CrossOriginProtection, which refuses cross-site state-changing
// requests with a 403 page.
func New(d Deps) http.Handler {
	if d.Plugins == nil || d.Enablement == nil || d.Identity == nil {
		panic("web.New: Deps.Plugins, Deps.Enablement and Deps.Identity are required")
	}
	if (d.Ledger == nil) != (d.Rewards == nil) {
		panic("web.New: Deps.Ledger and Deps.Rewards serve the coin pages together: set both or neither")
	}
	if (d.Inbox == nil) != (d.Hub == nil) {
		panic("web.New: Deps.Inbox and Deps.Hub serve the notifications together: set both or neither")
	}
	a := &app{plugins: d.Plugins, enablement: d.Enablement, identity: d.Identity, ledger: d.Ledger, rewards: d.Rewards, rules: d.Rules,
		inbox: d.Inbox, hub: d.Hub, limiter: d.Limiter, log: d.Log, now: time.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	// Account pages exist only for an active tenant; elsewhere they are
	// the 404 page.
	account := func(pattern string, h http.HandlerFunc) {
		route := "web " + pattern
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if _, ok := activeTenant(r.Context()); !ok {
				a.notFound(w, r)
				return
			}
			api.SetRoute(r.Context(), route)
			h(w, r)
		})
	}
	account("GET /sign-up", a.signUpPage)
	account("POST /sign-up", a.signUp)
	account("GET /verify", a.verifyPage)
	account("POST /verify", a.verify)
	account("POST /verify/resend", a.resendVerification)
	account("GET /sign-in", a.signInPage)
	account("POST /sign-in", a.signIn)
	account("GET /sign-in/code", a.codePage)
	account("POST /sign-in/code", a.signInWithCode)
	account("GET /sign-in/mfa", a.mfaPage)
	account("POST /sign-in/mfa", a.completeMFA)
	account("GET /forgot-password", a.forgotPasswordPage)
	account("POST /forgot-password", a.forgotPassword)
	account("GET /reset-password", a.resetPasswordPage)
	account("POST /reset-password", a.resetPassword)
	account("POST /sign-out", a.signOut)
	account("GET /profile", a.profilePage)
	account("POST /profile", a.updateProfile)
	account("POST /profile/password", a.changePassword)
	account("POST /profile/phone", a.requestPhoneCode)
	account("POST /profile/phone/confirm", a.confirmPhone)
	account("POST /profile/phone/remove", a.removePhone)
	account("POST /profile/totp", a.enrollTOTP)
	account("POST /profile/totp/confirm", a.confirmTOTP)
	account("POST /profile/totp/disable", a.disableTOTP)
	account("POST /profile/totp/recovery-codes", a.regenerateRecoveryCodes)
	account("POST /profile/delete", a.deleteAccount)
	account("GET /invitations/{token}", a.invitationPage)
	account("POST /invitations/{token}", a.acceptInvitation)
	if a.coins() {
		a.coinRoutes(account)
	}
	if a.notifications() {
		a.notificationRoutes(account)
	}
	for _, p := range d.Plugins.All() {
		wp, ok := p.(plugin.WebProvider)
		if !ok {
			continue
		}
		name := p.Manifest().Name
		for _, pg := range wp.WebPages() {
			mux.Handle(pg.Pattern(), a.gate(name, pg))
		}
	}
	mux.HandleFunc("/", a.notFound)

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(a.crossOrigin))
	return a.session(csrf.Handler(mux))
}

type app struct {
	plugins    *plugin.Registry
	enablement plugin.Enablement
	identity   *identity.Service
	ledger     *ledger.Service  // nil: no coin pages
	rewards    *rewards.Service // set exactly when ledger is
	rules      *rules.Service   // nil: the home page shows the plugins' defaults
	inbox      *inbox.Service   // nil: no notifications
	hub        *inbox.Hub       // set exactly when inbox is
	limiter    *ratelimit.Limiter
	log        *slog.Logger
	// now is the clock of the notifications' relative times.
	now func() time.Time
}

// coins reports whether the app serves the coin pages.
func (a *app) coins() bool { return a.ledger != nil }

// notifications reports whether the app serves the notifications.
func (a *app) notifications() bool { return a.inbox != nil }

// gate serves a plugin's page only to an active tenant that enabled the
// plugin; anyone else gets the 404 page, as if the page did not exist.
func (a *app) gate(name string, pg plugin.Page) http.Handler {
	route := "web " + name + " " + pg.Pattern()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := activeTenant(r.Context()); !ok || !a.enablement.PluginEnabled(r.Context(), name) {
			a.notFound(w, r)
			return
		}
		api.SetRoute(r.Context(), route)
		pg.Handler.ServeHTTP(w, r.WithContext(plugin.WithFrame(r.Context(), frame{a: a, plugin: name})))
	})
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	api.SetRoute(r.Context(), "web home")
	ctx := r.Context()
	if _, ok := tenants.FromContext(ctx); !ok {
		a.render(w, r, http.StatusOK, landingPage(platformBrand()))
		return
	}
	t, ok := activeTenant(ctx)
	if !ok {
		a.notFound(w, r)
		return
	}
	a.render(w, r, http.StatusOK, homePage(a.homeView(r, t)))
}

func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	api.SetRoute(r.Context(), "web not-found")
	NotFoundPage(w, r)
}

// crossOrigin answers a state-changing request another site sent: nothing
// was changed.
func (a *app) crossOrigin(w http.ResponseWriter, r *http.Request) {
	api.SetRoute(r.Context(), "web cross-origin")
	a.render(w, r, http.StatusForbidden, messagePage(messageView{
		Brand:   a.pageBrand(r),
		Title:   "Request refused",
		Message: "This form was sent from another site, so it was refused to protect your account. Go back, reload the page and try again.",
		TestID:  "cross-origin",
	}))
}

// NotFoundPage answers 404 with the web app's not-found page: in the
// branding of the request's tenant when it has an active one, otherwise in
// the platform's neutral look (an unknown or suspended tenant's host, whose
// name must not be shown).
func NotFoundPage(w http.ResponseWriter, r *http.Request) {
	b := platformBrand()
	if t, ok := activeTenant(r.Context()); ok {
		b = brandOf(r.Context(), t)
	}
	var buf bytes.Buffer
	if err := notFoundPage(b).Render(r.Context(), &buf); err != nil {
		// Nothing here can fail but the writer, and this one is memory.
		http.Error(w, "Page not found.", http.StatusNotFound)
		return
	}
	writeHTML(w, http.StatusNotFound, buf.Bytes())
}

// render writes comp with status, rendering to a buffer first so a failing
// component never leaves half a page behind a 200.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, comp templ.Component) {
	var buf bytes.Buffer
	if err := comp.Render(r.Context(), &buf); err != nil {
		a.log.ErrorContext(r.Context(), "render web page", "error", err)
		http.Error(w, "Something went wrong. Please try again later.", http.StatusInternalServerError)
		return
	}
	if isHTMX(r) && r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A boosted form's answer is shown in place; its URL (the form's
		// action) is not a page to come back to.
		w.Header().Set("HX-Push-Url", "false")
	}
	writeHTML(w, status, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry the signed-in user's name and one-time secrets (recovery
	// codes): no cache may keep them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// isHTMX reports whether htmx sent the request (a boosted form).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// activeTenant returns the request's tenant when it is serving.
func activeTenant(ctx context.Context) (tenants.Tenant, bool) {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.Status != tenants.StatusActive {
		return tenants.Tenant{}, false
	}
	return t, true
}

// brand is how a page looks and what its header links to.
type brand struct {
	Name    string
	LogoURL string
	// Primary and Accent are #rrggbb colours: the tenant's, or the
	// platform's when the tenant's are not in that form.
	Primary string
	Accent  string
	Home    string // the tenant's home page
	Nav     []navLink
	// Account is the header's sign-in links or signed-in user; nil on
	// pages without a tenant.
	Account *accountLinks
	// Notice is a message about what just happened, shown above the
	// page's content.
	Notice string
	// Styles and Scripts are extra assets of the page (a plugin's), as
	// URLs.
	Styles  []string
	Scripts []string
	// Live, when set, makes the page load live.js, which keeps the bell,
	// the balance and the notifications list current; nil for visitors
	// and without the inbox.
	Live *liveConfig
}

// accountLinks is the header's account area.
type accountLinks struct {
	// Name is the signed-in user's display name; "" when signed out.
	Name    string
	Profile string
	SignIn  string
	SignUp  string
	SignOut string
	// Balance is the signed-in member's spendable coins, linking to
	// Wallet; nil without coin pages or when it could not be read.
	Balance *int64
	Wallet  string
	// Notifications is the bell's link; "" without the inbox. Unread is
	// the signed-in member's unread count on it (0 hides the badge; nil
	// when it could not be read).
	Notifications string
	Unread        *int64
}

// navLink is one entry of the app's navigation.
type navLink struct {
	Title string
	URL   string
	// Current marks the link of the page shown (aria-current).
	Current bool
}

// homeView is the tenant's home page.
type homeView struct {
	Brand   brand
	Welcome string
	Events  []coinEvent
}

// coinEvent is one way to earn coins, from an enabled plugin's manifest.
type coinEvent struct {
	Type        string
	Description string
	Coins       int64
}

// messageView is a page that only explains something: a refused request,
// too many attempts, an internal error.
type messageView struct {
	Brand   brand
	Title   string
	Message string
	TestID  string
	// Back, when set, links to where the user can try again.
	Back string
}

var colorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// color returns c when it is a #rrggbb colour, else fallback. The registry
// only stores such colours; this keeps a page readable if one ever is not.
func color(c, fallback string) string {
	if colorRe.MatchString(c) {
		return c
	}
	return fallback
}

func platformBrand() brand {
	return brand{
		Name:    "Guildhall",
		Primary: tenants.DefaultBranding.PrimaryColor,
		Accent:  tenants.DefaultBranding.AccentColor,
		Home:    "/",
	}
}

// brandOf is t's branding, with links under the request's base path and
// the header's account area for the user signed in (if any).
func brandOf(ctx context.Context, t tenants.Tenant) brand {
	base := tenants.BasePath(ctx)
	acc := &accountLinks{
		Profile: base + "/profile",
		SignIn:  base + "/sign-in",
		SignUp:  base + "/sign-up",
		SignOut: base + "/sign-out",
	}
	if u, ok := userFrom(ctx); ok {
		acc.Name = u.DisplayName
	}
	return brand{
		Name:    t.Name,
		LogoURL: t.Branding.LogoURL,
		Primary: color(t.Branding.PrimaryColor, tenants.DefaultBranding.PrimaryColor),
		Accent:  color(t.Branding.AccentColor, tenants.DefaultBranding.AccentColor),
		Home:    base + "/",
		Account: acc,
	}
}

// pageBrand is the branding of r's page: its tenant's (or the platform's
// without an active tenant), with the navigation of the enabled plugins
// (and, for a signed-in member, of the coin pages and their balance, and
// the notifications' bell and live updates) and the notice r's query
// names.
func (a *app) pageBrand(r *http.Request) brand {
	ctx := r.Context()
	t, ok := activeTenant(ctx)
	if !ok {
		return platformBrand()
	}
	b := brandOf(ctx, t)
	b.Notice = notices[r.URL.Query().Get("notice")]
	base := tenants.BasePath(ctx)
	for _, p := range a.plugins.All() {
		wp, ok := p.(plugin.WebProvider)
		if !ok || !a.enablement.PluginEnabled(ctx, p.Manifest().Name) {
			continue
		}
		for _, pg := range wp.WebPages() {
			if pg.Nav {
				current := r.URL.Path == pg.Path || strings.HasPrefix(r.URL.Path, pg.Path+"/")
				b.Nav = append(b.Nav, navLink{Title: pg.Title, URL: base + pg.Path, Current: current})
			}
		}
	}
	if u, ok := userFrom(ctx); ok && a.coins() {
		for _, l := range []navLink{{Title: "Wallet", URL: "/wallet"}, {Title: "Rewards", URL: "/rewards"}, {Title: "Orders", URL: "/orders"}} {
			l.Current = r.URL.Path == l.URL || strings.HasPrefix(r.URL.Path, l.URL+"/")
			l.URL = base + l.URL
			b.Nav = append(b.Nav, l)
		}
		b.Account.Wallet = base + "/wallet"
		if w, err := a.ledger.Wallet(ctx, u.ID); err == nil {
			b.Account.Balance = &w.Balance
		} else {
			// The page is still worth showing without the balance.
			a.log.WarnContext(ctx, "read header balance", "error", err)
		}
	}
	if _, ok := userFrom(ctx); ok && a.notifications() {
		a.bell(ctx, &b)
	}
	return b
}

// homeView gathers what the enabled plugins offer t's members: the events
// that earn coins.
func (a *app) homeView(r *http.Request, t tenants.Tenant) homeView {
	ctx := r.Context()
	v := homeView{Brand: a.pageBrand(r), Welcome: welcome(t, a.plugins)}
	if a.rules != nil {
		ets, err := a.rules.EventTypes(ctx)
		if err == nil {
			// The plugins' event types in the order they declare them, then
			// the tenant's own.
			rank := map[string]int{}
			for _, p := range a.plugins.All() {
				for _, e := range p.Manifest().EventTypes {
					rank[e.Type] = len(rank) + 1
				}
			}
			slices.SortStableFunc(ets, func(x, y rules.EventTypeInfo) int {
				rx, ry := rank[x.Type], rank[y.Type]
				if rx == 0 {
					rx = len(rank) + 1
				}
				if ry == 0 {
					ry = len(rank) + 1
				}
				return cmp.Compare(rx, ry)
			})
			for _, e := range ets {
				if e.Enabled && e.Coins > 0 {
					v.Events = append(v.Events, coinEvent{Type: e.Type, Description: e.Description, Coins: e.Coins})
				}
			}
			return v
		}
		// The plugins' defaults are a fair answer while the rules can't be read.
		a.log.WarnContext(ctx, "read the tenant's rules for the home page", "error", err)
	}
	for _, p := range a.plugins.All() {
		m := p.Manifest()
		if !a.enablement.PluginEnabled(ctx, m.Name) {
			continue
		}
		for _, e := range m.EventTypes {
			v.Events = append(v.Events, coinEvent{Type: e.Type, Description: e.Description, Coins: e.DefaultCoins})
		}
	}
	return v
}

// welcome is the home page's line under the name: what the kind's plugin
// says to members, else a plain greeting.
func welcome(t tenants.Tenant, plugins *plugin.Registry) string {
	if p, ok := plugins.Get(t.Kind); ok && p.Manifest().Welcome != "" {
		return p.Manifest().Welcome
	}
	return "Welcome to " + t.Name + "."
}
