package console

import (
	"bytes"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/tenants"
)

// Deps is what the console needs. Limiter may be nil (sign-in is then not
// throttled per IP; the identity service still locks accounts), Log may
// be nil (nothing is logged) and Jobs may be nil (the jobs page then says
// that this server runs no jobs); the rest are required.
type Deps struct {
	Tenants  *tenants.Service
	Plugins  *plugin.Registry
	Identity *identity.Service
	Authz    *authz.Authorizer
	Audit    *audit.Service
	Rules    *rules.Service
	Ledger   *ledger.Service
	Rewards  *rewards.Service
	Jobs     *jobs.Runner
	Limiter  *ratelimit.Limiter
	Log      *slog.Logger
}

// defaultPageSize is how many rows a list page shows.
const defaultPageSize = 50

// New returns the console's handler. Mount it at "/console/" without
// stripping the prefix, behind the tenant middleware: a request with a
// tenant in its context (tenants.FromContext) gets the tenant section, any
// other the platform section. It panics when a required dependency is
// missing: that is a wiring error.
func New(d Deps) http.Handler {
	return newConsole(d).routes()
}

type console struct {
	tenants  *tenants.Service
	plugins  *plugin.Registry
	identity *identity.Service
	authz    *authz.Authorizer
	audit    *audit.Service
	rules    *rules.Service
	ledger   *ledger.Service
	rewards  *rewards.Service
	jobs     *jobs.Runner
	limiter  *ratelimit.Limiter
	log      *slog.Logger
	pageSize int
	now      func() time.Time
}

func newConsole(d Deps) *console {
	if d.Tenants == nil || d.Plugins == nil || d.Identity == nil || d.Authz == nil || d.Audit == nil ||
		d.Rules == nil || d.Ledger == nil || d.Rewards == nil {
		panic("console.New: Deps.Tenants, Plugins, Identity, Authz, Audit, Rules, Ledger and Rewards are required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &console{
		tenants: d.Tenants, plugins: d.Plugins, identity: d.Identity, authz: d.Authz, audit: d.Audit,
		rules: d.Rules, ledger: d.Ledger, rewards: d.Rewards, jobs: d.Jobs, limiter: d.Limiter, log: log, pageSize: defaultPageSize, now: time.Now,
	}
}

func (c *console) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/tenants", http.StatusSeeOther)
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request) {
	// The page is public; show the navigation to whoever is signed in.
	if s, ok, err := c.authenticate(r); err == nil && ok {
		r = r.WithContext(withSession(r.Context(), s))
	}
	c.render(w, r, http.StatusNotFound, messagePage(c.chrome(r, "Page not found", ""), messageView{
		Title:   "Page not found",
		Message: "There is no console page at this address.",
	}))
}

func (c *console) forbidden(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusForbidden, messagePage(c.chrome(r, "Not allowed", ""), messageView{
		Title:   "Not allowed",
		Message: "Your role does not allow this page. Ask an owner of the community if you need it.",
	}))
}

func (c *console) crossOrigin(w http.ResponseWriter, r *http.Request) {
	api.SetRoute(r.Context(), "console cross-origin")
	c.render(w, r, http.StatusForbidden, messagePage(c.chrome(r, "Request refused", ""), messageView{
		Title: "Request refused",
		Message: "This form was sent from another site, so it was refused to protect your account. " +
			"Reload the console page and try again.",
	}))
}

// fail renders the page for an error a service returned that is not about
// the form's fields: not found, forbidden, or an internal error (logged
// here, once).
func (c *console) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := engine.ErrorCode(err)
	status := api.StatusFor(code)
	v := messageView{Title: "Something went wrong", Message: engine.ErrorMessage(err)}
	switch code {
	case engine.CodeNotFound:
		v.Title = "Not found"
	case engine.CodeForbidden:
		v.Title = "Not allowed"
	case engine.CodeInternal:
		c.log.ErrorContext(r.Context(), "console request", "error", err)
		v.RequestID = engine.RequestIDFrom(r.Context())
	}
	c.render(w, r, status, messagePage(c.chrome(r, v.Title, ""), v))
}

// render writes comp with status. It renders to a buffer first, so a
// failing component never leaves half a page behind a 200.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, comp templ.Component) {
	var buf bytes.Buffer
	if err := comp.Render(r.Context(), &buf); err != nil {
		c.log.ErrorContext(r.Context(), "render console page", "error", err)
		http.Error(w, engine.ErrorMessage(err), http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

// renderFragment writes only the templ.Fragment named id of comp, for htmx
// requests that swap part of a page.
func (c *console) renderFragment(w http.ResponseWriter, r *http.Request, status int, comp templ.Component, id string) {
	var buf bytes.Buffer
	if err := templ.RenderFragments(r.Context(), &buf, comp, id); err != nil {
		c.log.ErrorContext(r.Context(), "render console fragment", "error", err)
		http.Error(w, engine.ErrorMessage(err), http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

// renderPage writes the whole page, or for htmx its content fragment:
// forms that htmx posts swap #content with the page's new content.
func (c *console) renderPage(w http.ResponseWriter, r *http.Request, status int, comp templ.Component) {
	if isHTMX(r) {
		c.renderFragment(w, r, status, comp, contentFragment)
		return
	}
	c.render(w, r, status, comp)
}

// contentFragment names the part of a tenant page below its heading; htmx
// forms swap it.
const contentFragment = "content"

func writeHTML(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show live state, and some show a secret once; never cache them.
	h.Set("Cache-Control", "no-store")
	// htmx requests get fragments of the same URLs as full pages.
	h.Add("Vary", "HX-Request")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// isHTMX reports whether htmx sent the request (it then swaps the response
// into the page rather than loading it).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// messageView is a page that only explains something: not found, refused,
// an internal error (with the request ID to quote).
type messageView struct {
	Title     string
	Message   string
	RequestID string
}
