package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/notify"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/tenants"
)

// testPlugin is a plugin with a manifest and, optionally, web pages that
// answer with their own name.
type testPlugin struct {
	m     plugin.Manifest
	pages []plugin.Page
}

func (p testPlugin) Manifest() plugin.Manifest { return p.m }

func (p testPlugin) WebPages() []plugin.Page { return p.pages }

// page is a plugin page that answers with its title and, when someone is
// signed in, their principal.
func page(path, title string, nav bool) plugin.Page {
	return plugin.Page{Path: path, Title: title, Nav: nav, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page %s", title)
		if p, ok := engine.PrincipalFrom(r.Context()); ok {
			fmt.Fprintf(w, " for %s", p.Name)
		}
	})}
}

// manifestOnly has no web pages: it must not implement WebProvider.
type manifestOnly plugin.Manifest

func (p manifestOnly) Manifest() plugin.Manifest { return plugin.Manifest(p) }

func testRegistry() *plugin.Registry {
	return plugin.NewRegistry(
		testPlugin{
			m: plugin.Manifest{Name: "social", Title: "Social", Kind: true, Welcome: "Share things and earn coins.", EventTypes: []plugin.EventType{
				{Type: "post.created", Description: "Write a post", DefaultCoins: 10},
				{Type: "like.received", Description: "Get a like", DefaultCoins: 2},
			}},
			pages: []plugin.Page{page("/feed", "Feed", true), page("/posts/{id}", "Post", false)},
		},
		testPlugin{
			m: plugin.Manifest{Name: "splits", Title: "Splits", Kind: true, Welcome: "Share costs and settle up.", EventTypes: []plugin.EventType{
				{Type: "debt.settled", Description: "Settle a debt", DefaultCoins: 1},
			}},
			pages: []plugin.Page{page("/groups", "Groups", true)},
		},
		manifestOnly{Name: "quests", Title: "Quests", Description: "Quests for teams.", Kind: true},
	)
}

type testBundle struct {
	db       *db.DB
	rules    *rules.Service
	svc      *tenants.Service
	identity *identity.Service
	ledger   *ledger.Service
	rewards  *rewards.Service
	inbox    *inbox.Service
	hub      *inbox.Hub // not listening: runHub starts it, for live tests
	outbox   *notify.Outbox
	clock    *identitytest.Clock
	handler  http.Handler
	srv      *httptest.Server
}

var discard = slog.New(slog.DiscardHandler)

func setup(t *testing.T) *testBundle {
	t.Helper()
	return setupWith(t, testRegistry())
}

// setupWith is setup with the plugins of reg.
func setupWith(t *testing.T, reg *plugin.Registry) *testBundle {
	t.Helper()
	store := db.New(dbtest.Pool(t))
	svc := tenants.NewService(store, reg, "guildhall.test")
	// The directory answers Enablement from the tenant in the request
	// context, as in production.
	dir := tenants.NewDirectory(svc, discard)
	ids := identitytest.New(t, store, identity.Config{
		TenantName: func(ctx context.Context) string {
			tn, _ := tenants.FromContext(ctx)
			return tn.Name
		},
	})
	b := &testBundle{db: store, svc: svc, identity: ids.Service, outbox: ids.Outbox, clock: ids.Clock,
		ledger: ledger.NewService(store, nil), rewards: rewards.NewService(store, nil), inbox: inbox.NewService(store, inbox.Config{})}
	b.hub = inbox.NewHub(b.inbox, inbox.HubConfig{})
	// The rules see the event types of the tenant's plugins, as in cmd.
	b.rules = rules.NewService(store, func(ctx context.Context) []plugin.EventType {
		tn, _ := tenants.FromContext(ctx)
		var out []plugin.EventType
		for _, p := range reg.All() {
			if tn.HasPlugin(p.Manifest().Name) {
				out = append(out, p.Manifest().EventTypes...)
			}
		}
		return out
	}, nil)
	b.handler = New(Deps{Plugins: reg, Enablement: dir, Identity: b.identity, Ledger: b.ledger, Rewards: b.rewards, Rules: b.rules,
		Inbox: b.inbox, Hub: b.hub, Limiter: ratelimit.New(nil), Log: discard})
	b.srv = httptest.NewServer(b.tenantHosts(b.handler))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBundle) createTenant(t *testing.T, p tenants.CreateParams) tenants.Tenant {
	t.Helper()
	p.Slug = dbtest.RandomSlug()
	if p.Name == "" {
		p.Name = "Club " + p.Slug
	}
	if p.Kind == "" {
		p.Kind = "social"
	}
	p.TimeZone, p.Currency = "Europe/Berlin", "EUR"
	tn, err := b.svc.Create(t.Context(), p)
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return tn
}

// get serves GET path for tn (none when tn is nil) under basePath, as the
// tenant middleware would.
func (b *testBundle) get(t *testing.T, tn *tenants.Tenant, basePath, path string) *httptest.ResponseRecorder {
	t.Helper()
	ctx := t.Context()
	if tn != nil {
		ctx = tenants.WithContext(ctx, *tn, basePath)
	}
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	return w
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

func TestWeb_Home(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{
		Branding: tenants.Branding{PrimaryColor: "#123456", AccentColor: "#fedcba", LogoURL: "https://cdn.example.com/logo.png"},
	})

	for name, base := range map[string]string{"PlatformHost": "/t/" + tn.Slug, "OwnHost": ""} {
		t.Run(name, func(t *testing.T) {
			w := b.get(t, &tn, base, "/")
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", w.Code)
			}
			d := doc(t, w)
			if got := text(d.Find(testID("tenant-name"))); got != tn.Name {
				t.Errorf("tenant-name = %q, want %q", got, tn.Name)
			}
			if got := d.Find("title").Text(); got != tn.Name {
				t.Errorf("title = %q, want %q", got, tn.Name)
			}
			style := d.Find("body").AttrOr("style", "")
			for _, want := range []string{"--brand-primary:#123456", "--brand-accent:#fedcba"} {
				if !strings.Contains(style, want) {
					t.Errorf("body style = %q, want it to contain %q", style, want)
				}
			}
			logo := d.Find(testID("tenant-logo"))
			if logo.AttrOr("src", "") != "https://cdn.example.com/logo.png" || logo.AttrOr("alt", "") != tn.Name {
				t.Errorf("logo = src %q alt %q", logo.AttrOr("src", ""), logo.AttrOr("alt", ""))
			}
			if got := text(d.Find(testID("welcome"))); !strings.Contains(got, "earn coins") {
				t.Errorf("welcome = %q, want the social welcome", got)
			}
			var events []string
			d.Find(testID("coin-events") + " li").Each(func(_ int, s *goquery.Selection) {
				events = append(events, s.AttrOr("data-testid", "")+": "+strings.Join(strings.Fields(s.Text()), " "))
			})
			want := []string{
				"coin-event-post.created: Write a post +10 coins",
				"coin-event-like.received: Get a like +2 coins",
			}
			if diff := cmp.Diff(want, events); diff != "" {
				t.Errorf("coin events (-want +got):\n%s", diff)
			}
			var nav []string
			d.Find(testID("app-nav") + " a").Each(func(_ int, s *goquery.Selection) {
				nav = append(nav, text(s)+" "+s.AttrOr("href", ""))
			})
			if diff := cmp.Diff([]string{"Feed " + base + "/feed"}, nav); diff != "" {
				t.Errorf("nav (-want +got):\n%s", diff)
			}
			if got := d.Find(testID("brand")).AttrOr("href", ""); got != base+"/" {
				t.Errorf("brand link = %q, want %q", got, base+"/")
			}
			if d.Find("script:not([src])").Length() != 0 {
				t.Errorf("page has an inline script, which the CSP blocks")
			}
			if d.Find(testID("current-user")).Length() != 0 ||
				d.Find(testID("sign-in-link")).AttrOr("href", "") != base+"/sign-in" ||
				d.Find(testID("sign-up-link")).AttrOr("href", "") != base+"/sign-up" {
				t.Errorf("signed-out header: want sign-in and sign-up links under %q", base)
			}
		})
	}

	t.Run("TheTenantsRules", func(t *testing.T) {
		tn := b.createTenant(t, tenants.CreateParams{})
		ctx := tenants.WithContext(engine.WithTenant(t.Context(), tn.ID), tn, "")
		if _, err := b.rules.PutRule(ctx, rules.Rule{EventType: "post.created", Name: "Write a post", Coins: 15, Enabled: true, Reversal: "reverse_remaining"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.rules.PutRule(ctx, rules.Rule{EventType: "like.received", Coins: 2, Enabled: false, Reversal: "reverse_remaining"}); err != nil {
			t.Fatal(err)
		}
		d := doc(t, b.get(t, &tn, "", "/"))
		if got := strings.Join(strings.Fields(text(d.Find(testID("coin-event-post.created")))), " "); got != "Write a post +15 coins" {
			t.Errorf("post.created = %q, want the tenant's 15 coins", got)
		}
		if d.Find(testID("coin-event-like.received")).Length() != 0 {
			t.Errorf("a disabled rule is listed")
		}
	})

	t.Run("OnlyEnabledPlugins", func(t *testing.T) {
		both := b.createTenant(t, tenants.CreateParams{Kind: "splits", Plugins: []string{"splits", "social"}})
		d := doc(t, b.get(t, &both, "", "/"))
		for _, id := range []string{"coin-event-post.created", "coin-event-like.received", "coin-event-debt.settled"} {
			if d.Find(testID(id)).Length() != 1 {
				t.Errorf("no %s with social and splits enabled", id)
			}
		}
		if got := d.Find(testID("app-nav") + " a").Length(); got != 2 {
			t.Errorf("nav links = %d, want 2", got)
		}
		if !strings.Contains(text(d.Find(testID("welcome"))), "settle up") {
			t.Errorf("welcome = %q, want the splits welcome", text(d.Find(testID("welcome"))))
		}

		none := b.createTenant(t, tenants.CreateParams{Kind: "quests"})
		d = doc(t, b.get(t, &none, "", "/"))
		if d.Find(testID("coin-events")).Length() != 0 || d.Find(testID("no-coin-events")).Length() != 1 {
			t.Errorf("a tenant whose plugins emit no events lists some")
		}
		if d.Find(testID("app-nav")).Length() != 0 {
			t.Errorf("a tenant without web pages has a nav")
		}
		if got := text(d.Find(testID("welcome"))); !strings.HasPrefix(got, "Welcome to ") {
			t.Errorf("welcome = %q, want the plain greeting of a kind without one", got)
		}
		if d.Find(testID("tenant-logo")).Length() != 0 {
			t.Errorf("logo shown for a tenant without one")
		}
		if style := d.Find("body").AttrOr("style", ""); !strings.Contains(style, "--brand-primary:"+tenants.DefaultBranding.PrimaryColor) {
			t.Errorf("body style = %q, want the default primary colour", style)
		}
	})
}

func TestWeb_PluginPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	social := b.createTenant(t, tenants.CreateParams{})
	tests := []struct {
		name     string
		tenant   *tenants.Tenant
		path     string
		wantCode int
		wantBody string
	}{
		{name: "Enabled", tenant: &social, path: "/feed", wantCode: 200, wantBody: "page Feed"},
		{name: "EnabledWildcard", tenant: &social, path: "/posts/42", wantCode: 200, wantBody: "page Post"},
		{name: "Disabled", tenant: &social, path: "/groups", wantCode: 404, wantBody: `data-testid="not-found"`},
		{name: "NoTenant", path: "/feed", wantCode: 404, wantBody: `data-testid="not-found"`},
		{name: "Unknown", tenant: &social, path: "/nope", wantCode: 404, wantBody: `data-testid="not-found"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := b.get(t, tt.tenant, "/t/"+social.Slug, tt.path)
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, w.Code, w.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}

	t.Run("SuspendedTenant", func(t *testing.T) {
		t.Parallel()
		tn := b.createTenant(t, tenants.CreateParams{})
		suspended := tenants.StatusSuspended
		tn, err := b.svc.Update(t.Context(), tn.Slug, tenants.UpdateParams{Status: &suspended})
		if err != nil {
			t.Fatalf("Update() error = %v", err)
		}
		for _, path := range []string{"/", "/feed"} {
			w := b.get(t, &tn, "", path)
			if w.Code != http.StatusNotFound {
				t.Errorf("GET %s of a suspended tenant = %d, want 404", path, w.Code)
			}
			if strings.Contains(w.Body.String(), tn.Name) {
				t.Errorf("GET %s of a suspended tenant shows its name", path)
			}
		}
	})
}

func TestWeb_NotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{Branding: tenants.Branding{PrimaryColor: "#0a0b0c"}})
	w := b.get(t, &tn, "/t/"+tn.Slug, "/missing")
	if w.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", w.Code)
	}
	d := doc(t, w)
	if d.Find(testID("not-found")).Length() != 1 {
		t.Errorf("no not-found section")
	}
	if got := d.Find(testID("not-found")+" a").AttrOr("href", ""); got != "/t/"+tn.Slug+"/" {
		t.Errorf("home link = %q, want /t/%s/", got, tn.Slug)
	}
	if !strings.Contains(d.Find("body").AttrOr("style", ""), "#0a0b0c") {
		t.Errorf("404 page is not in the tenant's colours")
	}
	if text(d.Find(testID("brand"))) != tn.Name {
		t.Errorf("brand = %q, want %q", text(d.Find(testID("brand"))), tn.Name)
	}

	// NotFoundPage is what the server answers for unknown tenant hosts.
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/anything", nil)
	w = httptest.NewRecorder()
	NotFoundPage(w, r)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `data-testid="not-found"`) {
		t.Errorf("NotFoundPage() = %d, want 404 with the not-found page", w.Code)
	}
	if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
}

func TestWeb_Landing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.get(t, nil, "", "/")
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	d := doc(t, w)
	if d.Find(testID("landing")).Length() != 1 {
		t.Errorf("no landing section")
	}
	if d.Find(testID("app-nav")).Length() != 0 || strings.Contains(w.Body.String(), "/t/") {
		t.Errorf("landing page links to tenants")
	}
}

func TestWeb_EscapesTenantText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const name = `<script>alert(1)</script>`
	tn := b.createTenant(t, tenants.CreateParams{Name: name})
	for _, path := range []string{"/", "/missing"} {
		w := b.get(t, &tn, "", path)
		if strings.Contains(w.Body.String(), name) {
			t.Errorf("GET %s renders the name unescaped", path)
		}
		d := doc(t, w)
		if got := text(d.Find(testID("brand"))); got != name {
			t.Errorf("GET %s: brand = %q, want %q", path, got, name)
		}
		if d.Find("script:not([src])").Length() != 0 {
			t.Errorf("GET %s: page has an inline script", path)
		}
	}
}

// TestBrandColors checks that colours which are not #rrggbb never reach
// the page, even if the registry ever stored one.
func TestBrandColors(t *testing.T) {
	t.Parallel()
	tn := tenants.Tenant{Name: "x", Status: tenants.StatusActive,
		Branding: tenants.Branding{PrimaryColor: "red;background:url(https://evil.example/x)", AccentColor: "#abcdef"}}
	ctx := tenants.WithContext(t.Context(), tn, "")
	b := brandOf(ctx, tn)
	if b.Primary != tenants.DefaultBranding.PrimaryColor || b.Accent != "#abcdef" {
		t.Errorf("brandOf() colours = %q, %q, want the default and #abcdef", b.Primary, b.Accent)
	}
}
