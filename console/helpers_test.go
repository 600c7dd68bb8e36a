package console

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/notify"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/tenants"
)

// testPlugin is a plugin that is only its manifest.
type testPlugin plugin.Manifest

func (p testPlugin) Manifest() plugin.Manifest { return plugin.Manifest(p) }

func testRegistry() *plugin.Registry {
	return plugin.NewRegistry(
		testPlugin{Name: "social", Title: "Social", Description: "Posts, likes and comments.", Kind: true,
			EventTypes: []plugin.EventType{{Type: "post.created", Description: "Write a post", DefaultCoins: 10}}},
		testPlugin{Name: "splits", Title: "Splits", Description: "Shared expenses.", Kind: true,
			EventTypes: []plugin.EventType{{Type: "debt.settled", Description: "Settle up", DefaultCoins: 5}}},
		badgesPlugin{testPlugin{Name: "badges", Title: "Badges", Description: "Badges for members."}},
	)
}

const password = "correct horse battery staple"

type testBundle struct {
	db      *db.DB
	svc     *tenants.Service
	ids     *identity.Service
	audit   *audit.Service
	outbox  *notify.Outbox
	clock   *identitytest.Clock
	rules   *rules.Service
	ledger  *ledger.Service
	rewards *rewards.Service
	jobs    *jobs.Runner
	// byID holds the tenants made by createTenant, for the rules service's
	// event types when a context carries only the tenant's ID.
	byID    *sync.Map
	console *console
	handler http.Handler // the console, as New returns it
	// adminEmail is a platform admin's; adminCookie their session, which
	// do sends with every request.
	adminEmail  string
	adminCookie *http.Cookie
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	d := db.New(dbtest.Pool(t))
	reg := testRegistry()
	idb := identitytest.New(t, d, identity.Config{
		Links: func(_ context.Context, path string) string { return "https://app.example" + path },
	})
	ids, az, out, clk := idb.Service, idb.Authz, idb.Outbox, idb.Clock
	svc := tenants.NewService(d, reg, "guildhall.test")
	auditSvc := audit.NewService(d)
	byID := &sync.Map{}
	ledgerSvc := ledger.NewService(d, nil)
	rulesSvc := rules.NewService(d, eventTypes(reg, byID), nil)
	rewardsSvc := rewards.NewService(d, nil)
	runner, err := jobs.New(dbtest.Pool(t), jobs.Deps{
		Tenants: jobs.TenantListerFunc(func(context.Context, string, int) ([]jobs.Tenant, string, error) { return nil, "", nil }),
		Ledger:  ledgerSvc, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("jobs.New() = %v", err)
	}
	c := newConsole(Deps{
		Tenants: svc, Plugins: reg, Identity: ids, Authz: az, Audit: auditSvc,
		Rules: rulesSvc, Ledger: ledgerSvc, Rewards: rewardsSvc, Jobs: runner,
		Limiter: ratelimit.New(nil),
	})
	c.now = clk.Now
	b := &testBundle{
		db: d, svc: svc, ids: ids, audit: auditSvc, outbox: out, clock: clk,
		rules: rulesSvc, ledger: ledgerSvc, rewards: rewardsSvc, jobs: runner, byID: byID,
		console: c, handler: c.routes(),
	}

	b.adminEmail = "admin-" + dbtest.RandomSlug() + "@example.com"
	if _, err := ids.CreateAdmin(t.Context(), identity.CreateAdminParams{Email: b.adminEmail, DisplayName: "Platform Admin", Password: password}); err != nil {
		t.Fatalf("CreateAdmin() = %v", err)
	}
	si, err := ids.SignInAdmin(t.Context(), b.adminEmail, password, netip.MustParseAddr("192.0.2.1"), "console-test")
	if err != nil {
		t.Fatalf("SignInAdmin() = %v", err)
	}
	b.adminCookie = &http.Cookie{Name: cookiePlatform, Value: si.Cookie}
	return b
}

// eventTypes are the coin event types of the plugins the tenant in ctx
// enabled, as cmd gives them to the rules service: from the tenant of a
// request, or for a bare tenant ID from the tenants made by the bundle.
func eventTypes(reg *plugin.Registry, byID *sync.Map) func(context.Context) []plugin.EventType {
	return func(ctx context.Context) []plugin.EventType {
		t, ok := tenants.FromContext(ctx)
		if !ok {
			id, ok := engine.TenantFrom(ctx)
			if !ok {
				return nil
			}
			v, ok := byID.Load(id)
			if !ok {
				return nil
			}
			t = v.(tenants.Tenant)
		}
		var out []plugin.EventType
		for _, p := range reg.All() {
			if m := p.Manifest(); t.HasPlugin(m.Name) {
				out = append(out, m.EventTypes...)
			}
		}
		return out
	}
}

// front is the console behind what the server puts in front of it: the
// client (engine.WithClient, from the X-Test-IP header) and the tenant of
// /t/{slug}/ paths, prefix stripped, as tenants' middleware does.
func (b *testBundle) front() http.Handler {
	h := b.handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := netip.MustParseAddr("192.0.2.1")
		if v := r.Header.Get("X-Test-IP"); v != "" {
			ip = netip.MustParseAddr(v)
		}
		ctx := engine.WithClient(r.Context(), engine.Client{IP: ip, UserAgent: r.UserAgent()})
		rest, ok := strings.CutPrefix(r.URL.Path, "/t/")
		if !ok {
			h.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		slug, tail, _ := strings.Cut(rest, "/")
		tn, err := b.svc.Get(ctx, slug)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(tenants.WithContext(ctx, tn, "/t/"+slug))
		r2.URL.Path, r2.URL.RawPath = "/"+tail, ""
		h.ServeHTTP(w, r2)
	})
}

// request builds a request to the platform host. A form makes it a form
// POST; header is added.
func request(t *testing.T, method, target string, form url.Values, header http.Header) *http.Request {
	t.Helper()
	body := ""
	if form != nil {
		body = form.Encode()
	}
	r := httptest.NewRequestWithContext(t.Context(), method, "http://guildhall.test"+target, strings.NewReader(body))
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("User-Agent", "console-test")
	for k, v := range header {
		r.Header[k] = v
	}
	return r
}

// do serves one request as the bundle's platform admin.
func (b *testBundle) do(t *testing.T, method, target string, form url.Values, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := request(t, method, target, form, header)
	r.AddCookie(b.adminCookie)
	w := httptest.NewRecorder()
	b.front().ServeHTTP(w, r)
	return w
}

// browser keeps cookies between requests, from one client IP.
type browser struct {
	b   *testBundle
	jar *cookiejar.Jar
	ip  string
}

func (b *testBundle) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{b: b, jar: jar, ip: fmt.Sprintf("10.%d.%d.%d", rand.IntN(250)+1, rand.IntN(250)+1, rand.IntN(250)+1)}
}

func (br *browser) do(t *testing.T, method, target string, form url.Values, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := request(t, method, target, form, header)
	if r.Header.Get("X-Test-IP") == "" {
		r.Header.Set("X-Test-IP", br.ip)
	}
	for _, c := range br.jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	br.b.front().ServeHTTP(w, r)
	br.jar.SetCookies(r.URL, w.Result().Cookies())
	return w
}

func (br *browser) get(t *testing.T, target string) *httptest.ResponseRecorder {
	t.Helper()
	return br.do(t, http.MethodGet, target, nil, nil)
}

func (br *browser) post(t *testing.T, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return br.do(t, http.MethodPost, target, form, nil)
}

// cookie returns the browser's cookie name for path, if it has one.
func (br *browser) cookie(path, name string) (*http.Cookie, bool) {
	u, _ := url.Parse("http://guildhall.test" + path)
	for _, c := range br.jar.Cookies(u) {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// signIn signs in at base ("/t/slug" or "") and fails unless it worked.
func (br *browser) signIn(t *testing.T, base, email string) {
	t.Helper()
	w := br.post(t, base+"/console/sign-in", url.Values{"email": {email}, "password": {password}})
	if w.Code != http.StatusSeeOther || strings.Contains(w.Header().Get("Location"), "sign-in") {
		t.Fatalf("sign in %s at %s = %d to %q; body:\n%s", email, base, w.Code, w.Header().Get("Location"), w.Body.String())
	}
}

// signInAdmin signs the browser in as the bundle's platform admin.
func (br *browser) signInAdmin(t *testing.T) { br.signIn(t, "", br.b.adminEmail) }

// location is where w redirects to.
func location(w *httptest.ResponseRecorder) string { return w.Header().Get("Location") }

// tenant is a committed tenant with its owner.
type tenant struct {
	tenants.Tenant
	ctx   context.Context // the tenant's context, no principal
	owner account
	base  string // "/t/<slug>"
}

// email is an address unique to the tenant: the bundle's outbox is
// shared by tenants made in parallel.
func (tn *tenant) email(name string) string { return name + "@" + tn.Slug + ".example.com" }

// account is a verified user of a tenant.
type account struct {
	ID    uuid.UUID
	Email string
	ctx   context.Context // the tenant's context acting as the user
}

// newTenant commits a tenant with an owner (its first user).
func (b *testBundle) newTenant(t *testing.T) *tenant {
	t.Helper()
	tn := b.createTenant(t, tenants.CreateParams{Slug: dbtest.RandomSlug()})
	out := &tenant{Tenant: tn, ctx: engine.WithTenant(t.Context(), tn.ID), base: "/t/" + tn.Slug}
	out.owner = b.signUp(t, out, out.email("owner"))
	return out
}

var codeRe = regexp.MustCompile(`\b(\d{6})\b`)

// signUp creates a verified user of tn; the first one is its owner.
func (b *testBundle) signUp(t *testing.T, tn *tenant, email string) account {
	t.Helper()
	if err := b.ids.SignUp(tn.ctx, identity.SignUpParams{Email: email, Password: password, DisplayName: "Test " + email}); err != nil {
		t.Fatalf("SignUp(%s) = %v", email, err)
	}
	var code string
	for _, m := range b.outbox.Emails() {
		if m.To == email {
			if c := codeRe.FindStringSubmatch(m.Text); c != nil {
				code = c[1]
			}
		}
	}
	si, err := b.ids.VerifyEmail(tn.ctx, email, code, identity.Client{Kind: identity.KindAPI})
	if err != nil {
		t.Fatalf("VerifyEmail(%s) = %v", email, err)
	}
	p, err := b.ids.AuthenticateBearer(tn.ctx, si.Tokens.AccessToken)
	if err != nil {
		t.Fatalf("AuthenticateBearer(%s) = %v", email, err)
	}
	return account{ID: si.User.ID, Email: email, ctx: engine.WithPrincipal(tn.ctx, p)}
}

// member creates a user of tn with role, given by the owner.
func (b *testBundle) member(t *testing.T, tn *tenant, email, role string) account {
	t.Helper()
	a := b.signUp(t, tn, email)
	if role != authz.RoleMember {
		if _, err := b.ids.ChangeRole(tn.owner.ctx, a.ID, role); err != nil {
			t.Fatalf("ChangeRole(%s, %s) = %v", email, role, err)
		}
	}
	return a
}

// role returns a user's current role.
func (b *testBundle) role(t *testing.T, tn *tenant, id uuid.UUID) identity.User {
	t.Helper()
	u, err := b.ids.Member(tn.ctx, id)
	if err != nil {
		t.Fatalf("Member(%s) = %v", id, err)
	}
	return u
}

// createTenant commits a tenant through the service.
func (b *testBundle) createTenant(t *testing.T, p tenants.CreateParams) tenants.Tenant {
	t.Helper()
	if p.Name == "" {
		p.Name = "Club " + p.Slug
	}
	if p.Kind == "" {
		p.Kind = "social"
	}
	if p.TimeZone == "" {
		p.TimeZone = "Europe/Berlin"
	}
	if p.Currency == "" {
		p.Currency = "EUR"
	}
	tn, err := b.svc.Create(t.Context(), p)
	if err != nil {
		t.Fatalf("Create(%s) error = %v", p.Slug, err)
	}
	b.byID.Store(tn.ID, tn)
	return tn
}

func doc(t *testing.T, w *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

func testID(id string) string { return `[data-testid="` + id + `"]` }

func text(s *goquery.Selection) string { return strings.TrimSpace(s.Text()) }

var htmx = http.Header{"Hx-Request": {"true"}}

// crossSite is what a browser sends with a form posted from another site.
var crossSite = http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}

// followChanges keeps the identity service's cache current, as the server
// does, for tests that check a revocation takes effect.
func (b *testBundle) followChanges(t *testing.T) {
	t.Helper()
	l := db.NewListener(dbtest.Pool(t), slog.New(slog.DiscardHandler))
	b.ids.Cache().Subscribe(l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	<-l.Ready()
}

// eventually fails unless cond holds within d.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Error(msg)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
