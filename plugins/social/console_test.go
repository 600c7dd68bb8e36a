package social_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/console"
	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/plugins/social"
	"github.com/guildhall/guildhall/tenants"
)

// The console pages are tested through the real console (console.New)
// with a registry holding the real social plugin, as cmd wires them: the
// console mounts the pages behind their permissions, and its sign-in,
// sessions and cross-origin protection are the real ones.

const consolePassword = "correct horse battery staple"

// clubsPlugin is another community kind, so that a tenant can lack the
// social plugin.
type clubsPlugin struct{}

func (clubsPlugin) Manifest() plugin.Manifest {
	return plugin.Manifest{Name: "clubs", Title: "Clubs", Description: "Another kind.", Kind: true}
}

type consoleBundle struct {
	tenants *tenants.Service
	ids     *identity.Service
	clock   *identitytest.Clock
	social  *social.Service
	inbox   *inbox.Service
	handler http.Handler
}

func consoleSetup(t *testing.T) *consoleBundle {
	t.Helper()
	d := db.New(dbtest.Pool(t))
	idb := identitytest.New(t, d, identity.Config{})
	manifest := social.New(social.Deps{}).Manifest()
	rulesSvc := rules.NewService(d, func(context.Context) []plugin.EventType { return manifest.EventTypes }, nil)
	inboxSvc := inbox.NewService(d, inbox.Config{Now: idb.Clock.Now})
	sp := social.New(social.Deps{DB: d, Rules: rulesSvc, Notifier: inboxSvc, Authz: idb.Authz, Now: idb.Clock.Now})
	reg := plugin.NewRegistry(sp, clubsPlugin{})
	ts := tenants.NewService(d, reg, "guildhall.test")
	h := console.New(console.Deps{
		Tenants: ts, Plugins: reg, Identity: idb.Service, Authz: idb.Authz, Audit: audit.NewService(d),
		Rules: rulesSvc, Ledger: ledger.NewService(d, nil), Rewards: rewards.NewService(d, nil), Limiter: ratelimit.New(nil),
	})
	return &consoleBundle{tenants: ts, ids: idb.Service, clock: idb.Clock, social: sp.Service(), inbox: inboxSvc, handler: h}
}

// consoleTenant is a committed tenant with staff and members.
type consoleTenant struct {
	tenants.Tenant
	ctx     context.Context // the tenant, no principal
	base    string          // "/t/<slug>"
	owner   consoleUser
	admin   consoleUser
	mod     consoleUser
	members []consoleUser // member_0, member_1, ...
}

type consoleUser struct {
	ID    uuid.UUID
	Email string
	Role  string
	ctx   context.Context // the tenant, acting as the user
}

// newTenant commits a tenant of kind social with the given plugins (nil:
// the social plugin), an owner, an admin, a moderator and n members.
func (cb *consoleBundle) newTenant(t *testing.T, plugins []string, n int) *consoleTenant {
	t.Helper()
	slug := dbtest.RandomSlug()
	tn, err := cb.tenants.Create(t.Context(), tenants.CreateParams{Slug: slug, Name: "Club " + slug, Kind: "social",
		TimeZone: "Europe/Berlin", Currency: "EUR", Plugins: plugins})
	if err != nil {
		t.Fatalf("Create(%s) = %v", slug, err)
	}
	ct := &consoleTenant{Tenant: tn, ctx: engine.WithTenant(t.Context(), tn.ID), base: "/t/" + slug}
	ct.owner = cb.user(t, ct, "owner", "Owner", "owner")
	ct.admin = cb.user(t, ct, "admin", "Admin", "admin")
	ct.mod = cb.user(t, ct, "mod", "Mod", "moderator")
	for i := range n {
		ct.members = append(ct.members, cb.user(t, ct, fmt.Sprintf("member%d", i), fmt.Sprintf("Member %d", i), "member"))
	}
	return ct
}

func (cb *consoleBundle) user(t *testing.T, ct *consoleTenant, local, name, role string) consoleUser {
	t.Helper()
	email := local + "@" + ct.Slug + ".example.com"
	u, _, err := cb.ids.SeedUser(ct.ctx, identity.SeedUserParams{Email: email, DisplayName: name, Password: consolePassword, Role: role})
	if err != nil {
		t.Fatalf("SeedUser(%s) = %v", email, err)
	}
	p := engine.Principal{Kind: engine.PrincipalUser, TenantID: ct.ID, UserID: u.ID, Role: role, Name: "user:" + u.ID.String()}
	return consoleUser{ID: u.ID, Email: email, Role: role, ctx: engine.WithPrincipal(ct.ctx, p)}
}

func (cb *consoleBundle) post(t *testing.T, u consoleUser, text string) social.Post {
	t.Helper()
	p, err := cb.social.CreatePost(u.ctx, social.PostParams{Text: text})
	if err != nil {
		t.Fatalf("CreatePost(%q) = %v", text, err)
	}
	return p
}

func (cb *consoleBundle) report(t *testing.T, u consoleUser, kind string, target uuid.UUID, reason string) social.Report {
	t.Helper()
	r, err := cb.social.Report(u.ctx, social.ReportParams{Kind: kind, Target: target, Reason: reason})
	if err != nil {
		t.Fatalf("Report(%s %s, %q) = %v", kind, target, reason, err)
	}
	return r
}

// front is the console behind what the server puts in front of it: the
// client, and the tenant of /t/{slug}/ paths with the prefix stripped.
func (cb *consoleBundle) front() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := engine.WithClient(r.Context(), engine.Client{IP: netip.MustParseAddr(r.Header.Get("X-Test-IP")), UserAgent: r.UserAgent()})
		rest, ok := strings.CutPrefix(r.URL.Path, "/t/")
		if !ok {
			cb.handler.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		slug, tail, _ := strings.Cut(rest, "/")
		tn, err := cb.tenants.Get(ctx, slug)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(tenants.WithContext(ctx, tn, "/t/"+slug))
		r2.URL.Path, r2.URL.RawPath = "/"+tail, ""
		cb.handler.ServeHTTP(w, r2)
	})
}

// consoleBrowser keeps cookies between requests, from one client IP.
type consoleBrowser struct {
	cb  *consoleBundle
	jar *cookiejar.Jar
	ip  string
}

func (cb *consoleBundle) browser(t *testing.T) *consoleBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &consoleBrowser{cb: cb, jar: jar, ip: fmt.Sprintf("10.%d.%d.%d", rand.IntN(250)+1, rand.IntN(250)+1, rand.IntN(250)+1)}
}

// signedIn is a browser signed in to ct's console as u.
func (cb *consoleBundle) signedIn(t *testing.T, ct *consoleTenant, u consoleUser) *consoleBrowser {
	t.Helper()
	br := cb.browser(t)
	w := br.post(t, ct.base+"/console/sign-in", url.Values{"email": {u.Email}, "password": {consolePassword}})
	if w.Code != http.StatusSeeOther || strings.Contains(w.Header().Get("Location"), "sign-in") {
		t.Fatalf("sign in %s = %d to %q; body:\n%s", u.Email, w.Code, w.Header().Get("Location"), w.Body)
	}
	return br
}

func (br *consoleBrowser) do(t *testing.T, method, target string, form url.Values, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	body := ""
	if form != nil {
		body = form.Encode()
	}
	r := httptest.NewRequestWithContext(t.Context(), method, "http://guildhall.test"+target, strings.NewReader(body))
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("User-Agent", "social-console-test")
	r.Header.Set("X-Test-IP", br.ip)
	for k, v := range header {
		r.Header[k] = v
	}
	for _, c := range br.jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	br.cb.front().ServeHTTP(w, r)
	br.jar.SetCookies(r.URL, w.Result().Cookies())
	return w
}

func (br *consoleBrowser) get(t *testing.T, target string) *httptest.ResponseRecorder {
	t.Helper()
	return br.do(t, http.MethodGet, target, nil, nil)
}

func (br *consoleBrowser) post(t *testing.T, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return br.do(t, http.MethodPost, target, form, nil)
}

// page gets target and parses it, failing unless it answers status.
func (br *consoleBrowser) page(t *testing.T, target string, status int) *goquery.Document {
	t.Helper()
	w := br.get(t, target)
	if w.Code != status {
		t.Fatalf("GET %s = %d, want %d; body:\n%s", target, w.Code, status, w.Body)
	}
	return consoleDoc(t, w)
}

// submit posts a form and fails unless it redirects (303) to want.
func (br *consoleBrowser) submit(t *testing.T, target string, form url.Values, want string) {
	t.Helper()
	w := br.post(t, target, form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
		t.Fatalf("POST %s = %d to %q, want 303 to %q; body:\n%s", target, w.Code, w.Header().Get("Location"), want, w.Body)
	}
}

// refused posts a form and fails unless it comes back with status; it
// returns the page.
func (br *consoleBrowser) refused(t *testing.T, target string, form url.Values, status int) *goquery.Document {
	t.Helper()
	w := br.post(t, target, form)
	if w.Code != status {
		t.Fatalf("POST %s = %d, want %d; body:\n%s", target, w.Code, status, w.Body)
	}
	return consoleDoc(t, w)
}

func consoleDoc(t *testing.T, w *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

// consoleTID selects by data-testid.
func consoleTID(id string) string { return `[data-testid="` + id + `"]` }

func consoleText(s *goquery.Selection) string { return strings.TrimSpace(s.Text()) }

func TestConsole_ModerationQueue(t *testing.T) {
	t.Parallel()
	cb := consoleSetup(t)
	ct := cb.newTenant(t, nil, 3)
	author, r1, r2 := ct.members[0], ct.members[1], ct.members[2]
	const evil = `<script>alert("post")</script> & <b>bold</b>`
	const evilReason = `<img src=x onerror=alert(1)>`
	bad := cb.post(t, author, evil)
	other := cb.post(t, author, "A plain post")
	cm, err := cb.social.CreateComment(r1.ctx, social.CommentParams{Post: other.ID, Text: "A rude comment"})
	if err != nil {
		t.Fatal(err)
	}
	rep1 := cb.report(t, r1, "post", bad.ID, evilReason)
	cb.report(t, r2, "post", bad.ID, "Spam")
	cb.report(t, r2, "comment", cm.ID, "Rude")

	mod := cb.signedIn(t, ct, ct.mod)
	queue := ct.base + "/console/moderation"

	t.Run("ListsOpenReportsByTarget", func(t *testing.T) {
		d := mod.page(t, queue, http.StatusOK)
		g := d.Find(consoleTID("report-group-" + bad.ID.String()))
		if g.Length() != 1 {
			t.Fatalf("no queue entry for the reported post:\n%s", d.Text())
		}
		if got := consoleText(g.Find(consoleTID("report-count"))); got != "2" {
			t.Errorf("report count = %q, want 2", got)
		}
		if got := consoleText(g.Find(consoleTID("target-text"))); got != evil {
			t.Errorf("target text = %q, want %q", got, evil)
		}
		if got := consoleText(g.Find(consoleTID("target-kind"))); got != "post" {
			t.Errorf("target kind = %q", got)
		}
		a := g.Find(consoleTID("target-author"))
		if consoleText(a) != "@member_0" || a.AttrOr("href", "") != queue+"/members/"+author.ID.String() {
			t.Errorf("author link = %q to %q", consoleText(a), a.AttrOr("href", ""))
		}
		if g.Find(consoleTID("state-visible")).Length() != 1 || g.Find(consoleTID("target-posted")).Length() != 1 {
			t.Errorf("state or time missing")
		}
		var reasons []string
		g.Find(consoleTID("report-reason")).Each(func(_ int, s *goquery.Selection) { reasons = append(reasons, consoleText(s)) })
		slices.Sort(reasons)
		if !slices.Equal(reasons, []string{evilReason, "Spam"}) {
			t.Errorf("reasons = %q", reasons)
		}
		if g.Find(consoleTID("report-"+rep1.ID.String())+` input[name="report"][value="`+rep1.ID.String()+`"]`).Length() != 1 {
			t.Errorf("report %s has no checkbox in the close form", rep1.ID)
		}
		if g.Find(consoleTID("hide-content")).Length() != 1 || g.Find(consoleTID("delete-content")).Length() != 1 ||
			g.Find(consoleTID("restore-content")).Length() != 0 {
			t.Errorf("moderation buttons of a visible post are wrong")
		}
		if c := d.Find(consoleTID("report-group-" + cm.ID.String())); consoleText(c.Find(consoleTID("report-count"))) != "1" ||
			consoleText(c.Find(consoleTID("target-kind"))) != "comment" {
			t.Errorf("comment entry = %q", consoleText(c))
		}
		// Escaped, never markup.
		d.Find("script").Each(func(_ int, s *goquery.Selection) {
			if _, ok := s.Attr("src"); !ok {
				t.Errorf("inline script in the page: %s", s.Text())
			}
		})
		if d.Find(`img[src="x"], b`).Length() != 0 {
			t.Errorf("member text became markup")
		}
		nav := d.Find(consoleTID("nav-social-moderation"))
		if nav.AttrOr("href", "") != queue || nav.AttrOr("aria-current", "") != "page" {
			t.Errorf("nav entry = %q, current %q", nav.AttrOr("href", ""), nav.AttrOr("aria-current", ""))
		}
		if d.Find(consoleTID("nav-social-social-settings")).Length() != 0 {
			t.Errorf("a moderator sees the settings nav entry")
		}
		if d.Find(`link[rel="stylesheet"][href^="/static/plugins/social/console.css?v="]`).Length() != 1 {
			t.Errorf("the plugin's stylesheet is not linked")
		}
	})

	t.Run("Filters", func(t *testing.T) {
		d := mod.page(t, queue+"?kind=comment", http.StatusOK)
		if d.Find(`[data-testid^="report-group-"]`).Length() != 1 || d.Find(consoleTID("report-group-"+cm.ID.String())).Length() != 1 {
			t.Errorf("kind=comment lists %d entries", d.Find(`[data-testid^="report-group-"]`).Length())
		}
		d = mod.page(t, queue+"?status=dismissed", http.StatusOK)
		if d.Find(consoleTID("queue-empty")).Length() != 1 {
			t.Errorf("no dismissed reports, but the queue is not empty")
		}
		d = mod.page(t, queue+"?status=lost&kind=video", http.StatusBadRequest)
		if msg := consoleText(d.Find(consoleTID("form-error"))); !strings.Contains(msg, "Status must be") || !strings.Contains(msg, "Kind must be") {
			t.Errorf("filter error = %q", msg)
		}
	})

	t.Run("HideNeedsReason", func(t *testing.T) {
		d := mod.refused(t, queue+"/posts/"+bad.ID.String()+"/hide", url.Values{"reason": {" "}, "return": {"/moderation"}}, http.StatusUnprocessableEntity)
		if d.Find(consoleTID("action-form")).Length() != 1 || !strings.Contains(consoleText(d.Find(consoleTID("error-reason"))), "Reason is required") {
			t.Errorf("hide without reason:\n%s", d.Text())
		}
		if p, _ := cb.social.Post(ct.mod.ctx, bad.ID); p.HiddenAt != nil {
			t.Errorf("the post was hidden anyway")
		}
	})

	t.Run("HideResolvesReports", func(t *testing.T) {
		mod.submit(t, queue+"/posts/"+bad.ID.String()+"/hide", url.Values{"reason": {"Abusive"}, "return": {"/moderation?kind=post&done=old"}},
			queue+"?kind=post&done=hide")
		d := mod.page(t, queue+"?done=hide&kind=post", http.StatusOK)
		if !strings.Contains(consoleText(d.Find(consoleTID("notice"))), "Hidden") {
			t.Errorf("notice = %q", consoleText(d.Find(consoleTID("notice"))))
		}
		if d.Find(consoleTID("report-group-"+bad.ID.String())).Length() != 0 {
			t.Errorf("the hidden post is still in the open queue")
		}
		p, err := cb.social.Post(ct.mod.ctx, bad.ID)
		if err != nil || p.HiddenAt == nil || p.HideReason != "Abusive" {
			t.Fatalf("Post() = %+v, %v; want hidden for Abusive", p, err)
		}
		if _, err := cb.social.Post(r1.ctx, bad.ID); engine.ErrorCode(err) != engine.CodeNotFound {
			t.Errorf("a member still sees the hidden post: %v", err)
		}
		d = mod.page(t, queue+"?status=resolved", http.StatusOK)
		g := d.Find(consoleTID("report-group-" + bad.ID.String()))
		if consoleText(g.Find(consoleTID("report-count"))) != "2" || g.Find(consoleTID("state-hidden")).Length() != 1 ||
			g.Find(consoleTID("restore-content")).Length() != 1 {
			t.Errorf("resolved entry = %q", consoleText(g))
		}
		if got := consoleText(g.Find(consoleTID("report-note")).First()); got != "hide: Abusive" {
			t.Errorf("report note = %q", got)
		}
	})

	t.Run("Restore", func(t *testing.T) {
		mod.submit(t, queue+"/posts/"+bad.ID.String()+"/restore", url.Values{"return": {"/moderation?status=resolved"}},
			queue+"?status=resolved&done=restore")
		if p, err := cb.social.Post(r1.ctx, bad.ID); err != nil || p.HiddenAt != nil {
			t.Errorf("Post() after restore = %+v, %v", p, err)
		}
		// Restoring what is not hidden is a conflict the console explains.
		if w := mod.post(t, queue+"/posts/"+bad.ID.String()+"/restore", url.Values{}); w.Code != http.StatusConflict {
			t.Errorf("restore a visible post = %d, want 409", w.Code)
		}
	})

	t.Run("DeleteComment", func(t *testing.T) {
		mod.submit(t, queue+"/comments/"+cm.ID.String()+"/delete", url.Values{"reason": {"Insult"}, "return": {"https://evil.example/x"}},
			queue+"?done=delete")
		if _, err := cb.social.Comment(r1.ctx, cm.ID); engine.ErrorCode(err) != engine.CodeNotFound {
			t.Errorf("Comment() after delete = %v, want not_found", err)
		}
		d := mod.page(t, queue+"?status=resolved&kind=comment", http.StatusOK)
		g := d.Find(consoleTID("report-group-" + cm.ID.String()))
		if g.Find(consoleTID("state-deleted")).Length() != 1 || g.Find(consoleTID("moderate-form")).Length() != 0 {
			t.Errorf("deleted comment entry = %q", consoleText(g))
		}
	})

	t.Run("UnknownTarget", func(t *testing.T) {
		if w := mod.post(t, queue+"/posts/"+uuid.NewString()+"/hide", url.Values{"reason": {"x"}}); w.Code != http.StatusNotFound {
			t.Errorf("hide an unknown post = %d, want 404", w.Code)
		}
		if w := mod.post(t, queue+"/posts/not-an-id/hide", url.Values{"reason": {"x"}}); w.Code != http.StatusNotFound {
			t.Errorf("hide a malformed ID = %d, want 404", w.Code)
		}
	})
}

func TestConsole_CloseReports(t *testing.T) {
	t.Parallel()
	cb := consoleSetup(t)
	ct := cb.newTenant(t, nil, 3)
	p := cb.post(t, ct.members[0], "Borderline")
	a := cb.report(t, ct.members[1], "post", p.ID, "Meh")
	b := cb.report(t, ct.members[2], "post", p.ID, "Not nice")
	mod := cb.signedIn(t, ct, ct.mod)
	queue := ct.base + "/console/moderation"
	closeURL := queue + "/reports/close"

	t.Run("NothingTicked", func(t *testing.T) {
		d := mod.refused(t, closeURL, url.Values{"status": {"dismissed"}, "return": {"/moderation"}}, http.StatusUnprocessableEntity)
		if d.Find(consoleTID("error-report")).Length() != 1 || d.Find(consoleTID("close-retry-form")).Length() != 1 {
			t.Errorf("closing nothing:\n%s", d.Text())
		}
	})
	t.Run("NoteTooLong", func(t *testing.T) {
		d := mod.refused(t, closeURL, url.Values{"status": {"dismissed"}, "report": {a.ID.String()}, "note": {strings.Repeat("n", 1001)}},
			http.StatusUnprocessableEntity)
		if !strings.Contains(consoleText(d.Find(consoleTID("error-note"))), "Note must be at most 1000 characters") {
			t.Errorf("long note:\n%s", d.Text())
		}
		if d.Find(`input[type="hidden"][name="report"][value="`+a.ID.String()+`"]`).Length() != 1 {
			t.Errorf("the retry form lost the report")
		}
	})
	t.Run("DismissOne", func(t *testing.T) {
		mod.submit(t, closeURL, url.Values{"status": {"dismissed"}, "report": {a.ID.String()}, "note": {"<i>fine</i>"}, "return": {"/moderation"}},
			queue+"?done=dismissed")
		d := mod.page(t, queue+"?done=dismissed", http.StatusOK)
		g := d.Find(consoleTID("report-group-" + p.ID.String()))
		if consoleText(g.Find(consoleTID("report-count"))) != "1" || consoleText(d.Find(consoleTID("notice"))) != "Reports dismissed." {
			t.Errorf("after dismissing one: count %q, notice %q", consoleText(g.Find(consoleTID("report-count"))), consoleText(d.Find(consoleTID("notice"))))
		}
		d = mod.page(t, queue+"?status=dismissed", http.StatusOK)
		r := d.Find(consoleTID("report-" + a.ID.String()))
		if consoleText(r.Find(consoleTID("report-note"))) != "<i>fine</i>" ||
			!strings.Contains(consoleText(r.Find(consoleTID("report-closed"))), "dismissed by user:"+ct.mod.ID.String()) {
			t.Errorf("dismissed report = %q", consoleText(r))
		}
	})
	t.Run("ResolveRest", func(t *testing.T) {
		mod.submit(t, closeURL, url.Values{"status": {"resolved"}, "report": {a.ID.String(), b.ID.String()}, "return": {"/moderation"}},
			queue+"?done=resolved")
		if d := mod.page(t, queue, http.StatusOK); d.Find(consoleTID("queue-empty")).Length() != 1 {
			t.Errorf("the queue is not empty")
		}
		got, err := cb.social.Reports(ct.mod.ctx, social.ReportsParams{Status: social.ReportResolved})
		if err != nil || len(got.Reports) != 1 || got.Reports[0].ID != b.ID {
			t.Errorf("resolved reports = %+v, %v", got.Reports, err)
		}
	})
	t.Run("AlreadyClosed", func(t *testing.T) {
		mod.submit(t, closeURL, url.Values{"status": {"resolved"}, "report": {b.ID.String()}}, queue+"?done=none")
	})
}

func TestConsole_QueuePaging(t *testing.T) {
	t.Parallel()
	cb := consoleSetup(t)
	ct := cb.newTenant(t, nil, 3)
	var posts []uuid.UUID
	for i := range 21 {
		p := cb.post(t, ct.members[i%2], fmt.Sprintf("Post number %d", i))
		cb.report(t, ct.members[2], "post", p.ID, "Reason")
		posts = append(posts, p.ID)
	}
	mod := cb.signedIn(t, ct, ct.mod)
	d := mod.page(t, ct.base+"/console/moderation", http.StatusOK)
	if n := d.Find(`[data-testid^="report-group-"]`).Length(); n != 20 {
		t.Errorf("first page = %d entries, want 20", n)
	}
	if d.Find(consoleTID("report-group-"+posts[20].String())).Length() != 1 || d.Find(consoleTID("first-page")).Length() != 0 {
		t.Errorf("the first page does not start with the newest report")
	}
	next, ok := d.Find(consoleTID("next-page")).Attr("href")
	if !ok {
		t.Fatalf("no next page")
	}
	d = mod.page(t, next, http.StatusOK)
	if n := d.Find(`[data-testid^="report-group-"]`).Length(); n != 1 || d.Find(consoleTID("report-group-"+posts[0].String())).Length() != 1 {
		t.Errorf("second page = %d entries, want the oldest", n)
	}
	if d.Find(consoleTID("next-page")).Length() != 0 || d.Find(consoleTID("first-page")).Length() != 1 {
		t.Errorf("second page paging links are wrong")
	}
	// A forged cursor is a bad filter, not a failure.
	mod.page(t, ct.base+"/console/moderation?cursor=bm9wZQ", http.StatusBadRequest)
}

func TestConsole_Search(t *testing.T) {
	t.Parallel()
	cb := consoleSetup(t)
	ct := cb.newTenant(t, nil, 2)
	shown := cb.post(t, ct.members[0], "The needle in <em>plain</em> sight")
	hidden := cb.post(t, ct.members[1], "Another NEEDLE, hidden")
	cb.post(t, ct.members[1], "Nothing to see")
	if err := cb.social.Hide(ct.mod.ctx, social.ModerateParams{Kind: "post", Target: hidden.ID, Reason: "Off topic"}); err != nil {
		t.Fatal(err)
	}
	mod := cb.signedIn(t, ct, ct.mod)
	search := ct.base + "/console/moderation/search"

	if d := mod.page(t, search, http.StatusOK); d.Find(consoleTID("search-form")).Length() != 1 || d.Find(consoleTID("search-results")).Length() != 0 {
		t.Errorf("empty search page:\n%s", d.Text())
	}
	d := mod.page(t, search+"?q=needle", http.StatusOK)
	if n := d.Find(`[data-testid^="search-result-"]`).Length(); n != 2 {
		t.Errorf("results = %d, want 2", n)
	}
	s := d.Find(consoleTID("search-result-" + shown.ID.String()))
	if consoleText(s.Find(consoleTID("target-text"))) != "The needle in <em>plain</em> sight" || s.Find("em").Length() != 0 ||
		s.Find(consoleTID("state-visible")).Length() != 1 {
		t.Errorf("visible result = %q", consoleText(s))
	}
	h := d.Find(consoleTID("search-result-" + hidden.ID.String()))
	if h.Find(consoleTID("state-hidden")).Length() != 1 || !strings.Contains(consoleText(h.Find(consoleTID("target-hide-reason"))), "Off topic") ||
		h.Find(consoleTID("restore-content")).Length() != 1 {
		t.Errorf("hidden result = %q", consoleText(h))
	}
	if got := h.Find(`input[name="return"]`).AttrOr("value", ""); got != "/moderation/search?q=needle" {
		t.Errorf("return = %q", got)
	}
	// Acting from the results comes back to them.
	mod.submit(t, ct.base+"/console/moderation/posts/"+shown.ID.String()+"/hide", url.Values{"reason": {"x"}, "return": {"/moderation/search?q=needle"}},
		search+"?q=needle&done=hide")
	if d := mod.page(t, search+"?q=nothing+like+it", http.StatusOK); d.Find(consoleTID("search-empty")).Length() != 1 {
		t.Errorf("no search-empty")
	}
	if d := mod.page(t, search+"?q=x", http.StatusBadRequest); !strings.Contains(consoleText(d.Find(consoleTID("form-error"))), "2 to 100 characters") {
		t.Errorf("short query error = %q", consoleText(d.Find(consoleTID("form-error"))))
	}
}

func TestConsole_Member(t *testing.T) {
	t.Parallel()
	cb := consoleSetup(t)
	ct := cb.newTenant(t, nil, 2)
	m := ct.members[0]
	visible := cb.post(t, m, "Visible post")
	hidden := cb.post(t, m, "Hidden <b>post</b>")
	c, err := cb.social.CreateComment(m.ctx, social.CommentParams{Post: visible.ID, Text: "My own comment"})
	if err != nil {
		t.Fatal(err)
	}
	rep := cb.report(t, ct.members[1], "post", hidden.ID, "Reported <script>")
	if err := cb.social.Hide(ct.mod.ctx, social.ModerateParams{Kind: "post", Target: hidden.ID, Reason: "Spam"}); err != nil {
		t.Fatal(err)
	}
	mod := cb.signedIn(t, ct, ct.mod)
	page := ct.base + "/console/moderation/members/" + m.ID.String()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Detail", func(t *testing.T) {
		d := mod.page(t, page, http.StatusOK)
		for id, want := range map[string]string{
			"member-handle": "@member_0", "member-name": "Member 0", "member-role": "member", "member-posts": "1",
			"member-coins": "10", "member-warnings": "0", "member-hidden-posts": "1", "member-open-reports": "0",
		} {
			if got := consoleText(d.Find(consoleTID(id))); got != want {
				t.Errorf("%s = %q, want %q", id, got, want)
			}
		}
		if d.Find(consoleTID("member-active")).Length() != 1 {
			t.Errorf("status = %q", consoleText(d.Find(consoleTID("member-status"))))
		}
		if got := d.Find(consoleTID("ban-link")).AttrOr("href", ""); got != ct.base+"/console/members/"+m.ID.String() {
			t.Errorf("ban link = %q", got)
		}
		if d.Find(consoleTID("member-post-"+visible.ID.String())+" "+consoleTID("state-visible")).Length() != 1 ||
			d.Find(consoleTID("member-post-"+hidden.ID.String())+" "+consoleTID("state-hidden")).Length() != 1 {
			t.Errorf("posts (hidden included) = %q", consoleText(d.Find(consoleTID("member-posts-list"))))
		}
		if d.Find(consoleTID("member-comment-"+c.ID.String())).Length() != 1 {
			t.Errorf("comment missing")
		}
		r := d.Find(consoleTID("member-report-" + rep.ID.String()))
		if consoleText(r.Find(consoleTID("report-reason"))) != "Reported <script>" ||
			!strings.HasPrefix(consoleText(r.Find(consoleTID("report-status"))), "resolved") {
			t.Errorf("report row = %q", consoleText(r))
		}
		h := d.Find(`[data-testid^="history-"]`).Filter("tr")
		if h.Length() != 1 || consoleText(h.Find(consoleTID("history-action"))) != "hide post" ||
			consoleText(h.Find(consoleTID("history-reason"))) != "Spam" {
			t.Errorf("history = %q", consoleText(d.Find(consoleTID("moderation-history"))))
		}
		if d.Find(consoleTID("warn-form")).Length() != 1 || d.Find(consoleTID("suspend-form")).Length() != 1 ||
			d.Find(consoleTID("unsuspend-form")).Length() != 0 {
			t.Errorf("action forms are wrong")
		}
	})

	t.Run("Warn", func(t *testing.T) {
		d := mod.refused(t, page+"/warn", url.Values{"warn_reason": {""}}, http.StatusUnprocessableEntity)
		if !strings.Contains(consoleText(d.Find(consoleTID("error-warn_reason"))), "Reason is required") {
			t.Errorf("warn without reason:\n%s", consoleText(d.Find(consoleTID("warn-form"))))
		}
		mod.submit(t, page+"/warn", url.Values{"warn_reason": {"Be kind"}}, page+"?done=warned")
		list, err := cb.inbox.List(m.ctx, inbox.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(list.Notifications, func(n inbox.Notification) bool { return n.Kind == "warning" }); i < 0 ||
			!strings.Contains(list.Notifications[i].Text, "Be kind") {
			t.Errorf("the member got no warning: %+v", list.Notifications)
		}
		d = mod.page(t, page+"?done=warned", http.StatusOK)
		if consoleText(d.Find(consoleTID("member-warnings"))) != "1" || consoleText(d.Find(consoleTID("notice"))) == "" {
			t.Errorf("after warning: warnings %q, notice %q", consoleText(d.Find(consoleTID("member-warnings"))), consoleText(d.Find(consoleTID("notice"))))
		}
	})

	t.Run("Suspend", func(t *testing.T) {
		past := cb.clock.Now().Add(-time.Hour).In(loc).Format("2006-01-02T15:04")
		d := mod.refused(t, page+"/suspend", url.Values{"until": {past}, "suspend_reason": {"Cool off"}}, http.StatusUnprocessableEntity)
		if !strings.Contains(consoleText(d.Find(consoleTID("error-until"))), "must be in the future") || d.Find("#until").AttrOr("value", "") != past {
			t.Errorf("past suspension:\n%s", consoleText(d.Find(consoleTID("suspend-form"))))
		}
		d = mod.refused(t, page+"/suspend", url.Values{"until": {"next week"}, "suspend_reason": {"Cool off"}}, http.StatusUnprocessableEntity)
		if !strings.Contains(consoleText(d.Find(consoleTID("error-until"))), "must be a date and time") {
			t.Errorf("unreadable date: %q", consoleText(d.Find(consoleTID("error-until"))))
		}
		until := cb.clock.Now().Add(72 * time.Hour).In(loc).Truncate(time.Minute)
		mod.submit(t, page+"/suspend", url.Values{"until": {until.Format("2006-01-02T15:04")}, "suspend_reason": {"Cool off"}}, page+"?done=suspended")
		sum, err := cb.social.ModerationSummary(ct.mod.ctx, m.ID)
		if err != nil || sum.SuspendedUntil == nil || !sum.SuspendedUntil.Equal(until) {
			t.Fatalf("ModerationSummary() = %+v, %v; want suspended until %v (typed in Berlin time)", sum, err, until)
		}
		if _, err := cb.social.CreatePost(m.ctx, social.PostParams{Text: "Still here"}); engine.ErrorCode(err) != engine.CodeForbidden {
			t.Errorf("a suspended member posts: %v", err)
		}
		d = mod.page(t, page, http.StatusOK)
		if !strings.Contains(consoleText(d.Find(consoleTID("member-suspended"))), until.Format("2 Jan 2006 15:04")) ||
			d.Find(consoleTID("unsuspend-form")).Length() != 1 {
			t.Errorf("suspended status = %q", consoleText(d.Find(consoleTID("member-status"))))
		}
		mod.submit(t, page+"/unsuspend", url.Values{}, page+"?done=lifted")
		if d := mod.page(t, page, http.StatusOK); d.Find(consoleTID("member-active")).Length() != 1 ||
			consoleText(d.Find(consoleTID("member-suspensions"))) != "1" {
			t.Errorf("after unsuspend: %q", consoleText(d.Find(consoleTID("member-standing"))))
		}
	})

	t.Run("NotBelowModerator", func(t *testing.T) {
		d := mod.page(t, ct.base+"/console/moderation/members/"+ct.admin.ID.String(), http.StatusOK)
		if d.Find(consoleTID("not-actionable")).Length() != 1 || d.Find(consoleTID("warn-form")).Length() != 0 {
			t.Errorf("a moderator is offered to act on an admin")
		}
		if w := mod.post(t, ct.base+"/console/moderation/members/"+ct.admin.ID.String()+"/warn", url.Values{"warn_reason": {"x"}}); w.Code != http.StatusForbidden {
			t.Errorf("warn an admin = %d, want 403", w.Code)
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		mod.page(t, ct.base+"/console/moderation/members/"+uuid.NewString(), http.StatusNotFound)
		mod.page(t, ct.base+"/console/moderation/members/nobody", http.StatusNotFound)
	})
}

func TestConsole_SocialSettings(t *testing.T) {
	t.Parallel()
	cb := consoleSetup(t)
	ct := cb.newTenant(t, nil, 0)
	admin := cb.signedIn(t, ct, ct.admin)
	page := ct.base + "/console/social-settings"

	d := admin.page(t, page, http.StatusOK)
	if d.Find("#max_post_length").AttrOr("value", "") != "2000" || d.Find("#show_coins[checked]").Length() != 1 ||
		d.Find("#own_post_comment_coins[checked]").Length() != 0 {
		t.Errorf("defaults are not shown")
	}
	if nav := d.Find(consoleTID("nav-social-social-settings")); nav.AttrOr("aria-current", "") != "page" {
		t.Errorf("settings nav entry is not current")
	}
	r := d.Find(consoleTID("rule-post.created"))
	if consoleText(r.Find(consoleTID("rule-coins"))) != "10 coins" ||
		r.Find(consoleTID("rule-link")).AttrOr("href", "") != ct.base+"/console/rules/post.created" {
		t.Errorf("rule shortcut = %q to %q", consoleText(r), r.Find(consoleTID("rule-link")).AttrOr("href", ""))
	}
	if d.Find(consoleTID("rule-like.received")).Length() != 1 || d.Find(consoleTID("rule-comment.created")).Length() != 1 {
		t.Errorf("rule shortcuts missing")
	}

	form := func(change map[string]string) url.Values {
		v := url.Values{}
		d.Find(consoleTID("settings-form") + " input, " + consoleTID("settings-form") + " textarea").Each(func(_ int, s *goquery.Selection) {
			name := s.AttrOr("name", "")
			switch {
			case name == "":
			case s.AttrOr("type", "") == "checkbox":
				if _, on := s.Attr("checked"); on {
					v.Set(name, "on")
				}
			case goquery.NodeName(s) == "textarea":
				v.Set(name, s.Text())
			default:
				v.Set(name, s.AttrOr("value", ""))
			}
		})
		for k, x := range change {
			if x == "" {
				v.Del(k)
			} else {
				v.Set(k, x)
			}
		}
		return v
	}

	t.Run("Invalid", func(t *testing.T) {
		d := admin.refused(t, page, form(map[string]string{"max_post_length": "abc", "posts_per_hour": "0", "blocked_words": "ok\nbad\x07word"}),
			http.StatusUnprocessableEntity)
		for id, want := range map[string]string{
			"error-max_post_length": "Longest post must be a whole number.",
			"error-posts_per_hour":  "Posts per hour must be from 1 to 10000.",
			"error-blocked_words":   "Blocked words",
		} {
			if got := consoleText(d.Find(consoleTID(id))); !strings.HasPrefix(got, want) {
				t.Errorf("%s = %q, want %q", id, got, want)
			}
		}
		if d.Find("#max_post_length").AttrOr("value", "") != "abc" || d.Find("#max_post_length").AttrOr("aria-invalid", "") != "true" {
			t.Errorf("the form does not show what was typed")
		}
		if !strings.HasPrefix(consoleText(d.Find(consoleTID("form-error"))), "Nothing was saved.") {
			t.Errorf("summary = %q", consoleText(d.Find(consoleTID("form-error"))))
		}
		if st, _ := cb.social.Settings(ct.ctx); st.PostsPerHour != social.DefaultSettings.PostsPerHour {
			t.Errorf("invalid settings were saved")
		}
	})

	t.Run("Save", func(t *testing.T) {
		admin.submit(t, page, form(map[string]string{"max_post_length": "500", "blocked_words": "Spam\n\n  buy now  \n", "show_coins": "",
			"own_post_comment_coins": "on"}), page+"?done=saved")
		st, err := cb.social.Settings(ct.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.MaxPostLength != 500 || st.ShowCoins || !st.OwnPostCommentCoins || !slices.Equal(st.BlockedWords, []string{"spam", "buy now"}) {
			t.Errorf("saved settings = %+v", st)
		}
		d := admin.page(t, page+"?done=saved", http.StatusOK)
		if d.Find("#max_post_length").AttrOr("value", "") != "500" || consoleText(d.Find("#blocked_words")) != "spam\nbuy now" {
			t.Errorf("the form does not show the saved settings")
		}
		if consoleText(d.Find(consoleTID("notice"))) == "" {
			t.Errorf("no notice")
		}
	})
}

func TestConsole_Access(t *testing.T) {
	t.Parallel()
	cb := consoleSetup(t)
	ct := cb.newTenant(t, nil, 2)
	p := cb.post(t, ct.members[0], "Hello")

	t.Run("ModeratorNotSettings", func(t *testing.T) {
		mod := cb.signedIn(t, ct, ct.mod)
		mod.page(t, ct.base+"/console/moderation", http.StatusOK)
		mod.page(t, ct.base+"/console/social-settings", http.StatusForbidden)
		if w := mod.post(t, ct.base+"/console/social-settings", url.Values{"max_post_length": {"1"}}); w.Code != http.StatusForbidden {
			t.Errorf("moderator POST settings = %d, want 403", w.Code)
		}
	})
	t.Run("Admin", func(t *testing.T) {
		admin := cb.signedIn(t, ct, ct.admin)
		d := admin.page(t, ct.base+"/console/moderation", http.StatusOK)
		if d.Find(consoleTID("nav-social-social-settings")).Length() != 1 {
			t.Errorf("an admin does not see the settings nav entry")
		}
		admin.page(t, ct.base+"/console/social-settings", http.StatusOK)
	})
	t.Run("MemberCannotSignIn", func(t *testing.T) {
		br := cb.browser(t)
		m := ct.members[1]
		w := br.post(t, ct.base+"/console/sign-in", url.Values{"email": {m.Email}, "password": {consolePassword}})
		if w.Code == http.StatusSeeOther {
			t.Errorf("a member signed in to the console: to %q", w.Header().Get("Location"))
		}
		if w := br.get(t, ct.base+"/console/moderation"); w.Code != http.StatusSeeOther ||
			!strings.Contains(w.Header().Get("Location"), "/console/sign-in") {
			t.Errorf("member GET /moderation = %d to %q, want to sign-in", w.Code, w.Header().Get("Location"))
		}
	})
	t.Run("CrossSiteRefused", func(t *testing.T) {
		mod := cb.signedIn(t, ct, ct.mod)
		w := mod.do(t, http.MethodPost, ct.base+"/console/moderation/posts/"+p.ID.String()+"/hide", url.Values{"reason": {"x"}},
			http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
		if w.Code != http.StatusForbidden {
			t.Errorf("cross-site POST = %d, want 403", w.Code)
		}
		if got, _ := cb.social.Post(ct.mod.ctx, p.ID); got.HiddenAt != nil {
			t.Errorf("a cross-site POST hid the post")
		}
	})
	t.Run("TenantWithoutSocial", func(t *testing.T) {
		other := cb.newTenant(t, []string{}, 0)
		owner := cb.signedIn(t, other, other.owner)
		for _, path := range []string{"/console/moderation", "/console/moderation/search", "/console/social-settings",
			"/console/moderation/members/" + other.owner.ID.String()} {
			owner.page(t, other.base+path, http.StatusNotFound)
		}
		if w := owner.post(t, other.base+"/console/social-settings", url.Values{}); w.Code != http.StatusNotFound {
			t.Errorf("POST settings without the plugin = %d, want 404", w.Code)
		}
		d := owner.page(t, other.base+"/console/members", http.StatusOK)
		if d.Find(consoleTID("nav-social-moderation")).Length() != 0 {
			t.Errorf("nav entry shown to a tenant without the plugin")
		}
	})
}

func TestService_ConsoleQueries(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	mod := b.as(b.user(t, "mod@example.com", "Mod", "moderator"), "moderator")
	adminID := b.user(t, "admin@example.com", "Admin", "admin")
	admin := b.as(adminID, "admin")
	p1 := b.post(t, b.m(0), "First")
	p2 := b.post(t, b.m(0), "Second")
	c, err := b.svc.CreateComment(b.m(1), social.CommentParams{Post: p1.ID, Text: "A comment"})
	if err != nil {
		t.Fatal(err)
	}
	var reports []uuid.UUID
	for _, r := range []social.ReportParams{
		{Kind: "post", Target: p1.ID, Reason: "a"}, {Kind: "post", Target: p1.ID, Reason: "b"},
		{Kind: "post", Target: p2.ID, Reason: "c"}, {Kind: "comment", Target: c.ID, Reason: "d"},
	} {
		who := b.m(1)
		if r.Reason == "b" || r.Reason == "d" {
			who = b.m(2)
		}
		rep, err := b.svc.Report(who, r)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, rep.ID)
	}

	t.Run("ReportGroups", func(t *testing.T) {
		if _, err := b.svc.ReportGroups(b.m(1), social.ReportGroupsParams{}); code(err) != engine.CodeForbidden {
			t.Errorf("ReportGroups(member) = %v, want forbidden", err)
		}
		if _, err := b.svc.ReportGroups(mod, social.ReportGroupsParams{Kind: "image", Status: "gone"}); !slices.Equal(fields(err), []string{"kind", "status"}) {
			t.Errorf("ReportGroups(bad filters) = %v", err)
		}
		var got []string
		cur := ""
		for range 5 {
			page, err := b.svc.ReportGroups(mod, social.ReportGroupsParams{Kind: "post", Cursor: cur, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range page.Groups {
				got = append(got, fmt.Sprintf("%s:%d:%d", g.Target.Excerpt, g.Count, len(g.Reports)))
				if g.PostedAt == nil || g.Target.Author == nil || g.Target.Author.ID != b.members[0] {
					t.Errorf("group preview = %+v", g)
				}
			}
			if cur = page.Next; cur == "" {
				break
			}
		}
		// The target reported last comes first: p2 was reported after p1.
		if !slices.Equal(got, []string{"Second:1:1", "First:2:2"}) {
			t.Errorf("post groups = %q", got)
		}
		page, err := b.svc.ReportGroups(mod, social.ReportGroupsParams{Kind: "comment"})
		if err != nil || len(page.Groups) != 1 || page.Groups[0].Target.ID != c.ID || page.Groups[0].Reports[0].Reporter.ID != b.members[2] {
			t.Errorf("comment groups = %+v, %v", page.Groups, err)
		}
	})

	t.Run("ResolveReports", func(t *testing.T) {
		if _, err := b.svc.ResolveReports(mod, social.ResolveReportsParams{Status: "resolved"}); !slices.Equal(fields(err), []string{"reports"}) {
			t.Errorf("ResolveReports(none) = %v", err)
		}
		if _, err := b.svc.ResolveReport(mod, social.ResolveParams{Report: reports[0], Status: "dismissed"}); err != nil {
			t.Fatal(err)
		}
		n, err := b.svc.ResolveReports(mod, social.ResolveReportsParams{Reports: []uuid.UUID{reports[1], reports[0], reports[1], uuid.New()},
			Status: "resolved", Note: "done"})
		if err != nil || n != 1 {
			t.Errorf("ResolveReports() = %d, %v; want 1 (one closed already, one twice, one unknown)", n, err)
		}
		got := slices.DeleteFunc(b.auditActions(t, "social."), func(a string) bool { return !strings.HasPrefix(a, "social.report_") })
		if !slices.Equal(got, []string{"social.report_dismissed", "social.report_resolved"}) {
			t.Errorf("audited = %q", got)
		}
	})

	t.Run("MemberActivity", func(t *testing.T) {
		if _, err := b.svc.UpdateSettings(admin, func() social.Settings { s := social.DefaultSettings; s.ShowCoins = false; return s }()); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Hide(mod, social.ModerateParams{Kind: "post", Target: p2.ID, Reason: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Hide(mod, social.ModerateParams{Kind: "comment", Target: c.ID, Reason: "y"}); err != nil {
			t.Fatal(err)
		}
		a, err := b.svc.MemberActivity(mod, b.members[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Posts) != 2 || a.Posts[0].ID != p2.ID || a.Posts[0].HiddenAt == nil || a.Posts[1].ID != p1.ID {
			t.Errorf("posts = %+v", a.Posts)
		}
		if a.Profile.Coins == nil || *a.Profile.Coins != 10 || !a.Actionable || a.Role != "member" {
			t.Errorf("activity = coins %v, actionable %v, role %q", a.Profile.Coins, a.Actionable, a.Role)
		}
		if len(a.Reports) != 3 {
			t.Errorf("reports of their posts = %d, want 3", len(a.Reports))
		}
		a, err = b.svc.MemberActivity(mod, b.members[1])
		if err != nil || len(a.Comments) != 1 || a.Comments[0].HiddenAt == nil || len(a.Posts) != 0 {
			t.Errorf("commenter's activity = %+v, %v", a, err)
		}
		if a, err := b.svc.MemberActivity(mod, adminID); err != nil || a.Actionable {
			t.Errorf("MemberActivity(admin) = actionable %v, %v; want not actionable", a.Actionable, err)
		}
		if _, err := b.svc.MemberActivity(mod, uuid.New()); code(err) != engine.CodeNotFound {
			t.Errorf("MemberActivity(unknown) = %v, want not_found", err)
		}
		if _, err := b.svc.MemberActivity(b.m(1), b.members[0]); code(err) != engine.CodeForbidden {
			t.Errorf("MemberActivity(member) = %v, want forbidden", err)
		}
	})

	t.Run("LocationAndRules", func(t *testing.T) {
		if loc, err := b.svc.Location(b.ctx); err != nil || loc.String() != "Europe/Berlin" {
			t.Errorf("Location() = %v, %v", loc, err)
		}
		if _, err := b.svc.EventRules(mod); code(err) != engine.CodeForbidden {
			t.Errorf("EventRules(moderator) = %v, want forbidden", err)
		}
		rs, err := b.svc.EventRules(admin)
		var got []string
		for _, r := range rs {
			got = append(got, fmt.Sprintf("%s=%d", r.EventType, r.Coins))
		}
		if err != nil || !slices.Equal(got, []string{"post.created=10", "like.received=2", "comment.created=5"}) {
			t.Errorf("EventRules() = %q, %v", got, err)
		}
	})
}
