package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/tenants"
)

// as is a context acting in tn as member, as a signed-in request does.
func as(t testing.TB, tn tenants.Tenant, member uuid.UUID) context.Context {
	t.Helper()
	return engine.WithPrincipal(tenants.WithContext(t.Context(), tn, ""), engine.Principal{Kind: engine.PrincipalUser,
		TenantID: tn.ID, UserID: member, Role: "member", Name: "user:" + member.String()})
}

// notify commits a notification for member in tn, as a plugin's
// transaction would, and returns it.
func (b *testBundle) notify(t testing.TB, tn tenants.Tenant, member uuid.UUID, p inbox.AddParams) inbox.Notification {
	t.Helper()
	p.Member = member
	if p.Kind == "" {
		p.Kind = "like"
	}
	ctx := tenants.WithContext(t.Context(), tn, "")
	var n inbox.Notification
	err := b.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		n, _, err = b.inbox.AddTx(ctx, tx, p)
		return err
	})
	if err != nil {
		t.Fatalf("AddTx(%q) = %v", p.Text, err)
	}
	return n
}

func (b *testBundle) unread(t testing.TB, tn tenants.Tenant, member uuid.UUID) int64 {
	t.Helper()
	n, err := b.inbox.UnreadCount(as(t, tn, member))
	if err != nil {
		t.Fatalf("UnreadCount() = %v", err)
	}
	return n
}

// items are the texts of the page's notifications, "*" marking unread
// ones.
func items(p resp) []string {
	var out []string
	p.find("notification-item").Each(func(_ int, s *goquery.Selection) {
		mark := ""
		if s.Find(testID("notification-unread")).Length() == 1 {
			mark = "*"
		}
		out = append(out, mark+text(s.Find(testID("notification-text"))))
	})
	return out
}

// item is the page's item of notification n.
func item(p resp, n inbox.Notification) *goquery.Selection {
	return p.Doc.Find(testID("notification-item") + `[data-notification-id="` + n.ID.String() + `"]`)
}

// openURL is the link the app writes to open n.
func openURL(base string, n inbox.Notification) string {
	return base + "/notifications/" + n.ID.String() + "/open?seq=" + strconv.FormatInt(n.Seq, 10)
}

func TestWeb_Notifications(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, base := range bases {
		t.Run(base.name, func(t *testing.T) {
			t.Parallel()
			tn := b.createTenant(t, tenants.CreateParams{})
			br, me := b.member(t, tn, base.ownHost, "ada@example.com")

			p := br.get("/notifications")
			if p.Code != http.StatusOK || p.find("notifications").Length() != 1 {
				t.Fatalf("GET /notifications = %d", p.Code)
			}
			if p.text("notifications-empty") == "" || p.find("notification-item").Length() != 0 || p.find("mark-all-read-form").Length() != 0 {
				t.Errorf("empty list: want the empty state and no items or mark-all form")
			}
			bell := p.find("header-notifications")
			if got := bell.AttrOr("href", ""); got != br.base+"/notifications" {
				t.Errorf("bell links to %q, want %s/notifications", got, br.base)
			}
			if _, hidden := p.find("unread-count").Attr("hidden"); !hidden || p.text("unread-count") != "0" {
				t.Errorf("unread-count = %q (hidden %v), want a hidden 0", p.text("unread-count"), hidden)
			}
			if got, ok := p.Doc.Find("body").Attr("data-live-base"); !ok || got != br.base {
				t.Errorf("body data-live-base = %q (%v), want %q", got, ok, br.base)
			}
			if got := p.Doc.Find("body").AttrOr("data-live-seq", ""); got != "0" {
				t.Errorf("body data-live-seq = %q, want 0", got)
			}

			like := b.notify(t, tn, me, inbox.AddParams{Text: "Bob liked your post", Link: "/posts/1?from=bell"})
			coins := b.notify(t, tn, me, inbox.AddParams{Kind: "coins", Text: "You earned 10 coins for your post.", Link: "/wallet",
				Data: map[string]any{"coins": 10, "balance": 110}})
			const xss = `<script>alert(1)</script> & <img src=x onerror=alert(2)>`
			plain := b.notify(t, tn, me, inbox.AddParams{Kind: "warning", Text: xss})
			climb := b.notify(t, tn, me, inbox.AddParams{Text: "Eve liked your post", Link: "/../t/other/posts/1"})

			p = br.get("/notifications")
			want := []string{"*Eve liked your post", "*" + xss, "*You earned 10 coins for your post.", "*Bob liked your post"}
			if diff := cmp.Diff(want, items(p)); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
			if strings.Contains(p.Body, "<script>alert(1)") || strings.Contains(p.Body, "<img src=x") {
				t.Errorf("the notification's text is rendered as HTML")
			}
			if p.Doc.Find("script:not([src])").Length() != 0 || p.Doc.Find("img[src=x]").Length() != 0 {
				t.Errorf("the page has an inline script or the injected image")
			}
			for _, n := range []inbox.Notification{like, coins} {
				it := item(p, n)
				if got := it.Find(testID("notification-link")).AttrOr("href", ""); got != openURL(br.base, n) {
					t.Errorf("%q links to %q, want %q", n.Text, got, openURL(br.base, n))
				}
				if got := it.AttrOr("data-seq", ""); got != strconv.FormatInt(n.Seq, 10) || it.AttrOr("data-kind", "") != n.Kind {
					t.Errorf("%q: data-seq %q, data-kind %q", n.Text, got, it.AttrOr("data-kind", ""))
				}
				tm := it.Find(testID("notification-time"))
				if text(tm) != "just now" || tm.AttrOr("datetime", "") == "" || tm.AttrOr("title", "") == "" {
					t.Errorf("%q: time %q datetime %q title %q", n.Text, text(tm), tm.AttrOr("datetime", ""), tm.AttrOr("title", ""))
				}
			}
			for _, n := range []inbox.Notification{plain, climb} {
				if item(p, n).Find("a").Length() != 0 {
					t.Errorf("%q (link %q) is rendered as a link", n.Text, n.Link)
				}
			}
			if got := p.text("unread-count"); got != "4" {
				t.Errorf("unread-count = %q, want 4", got)
			}
			if _, hidden := p.find("unread-count").Attr("hidden"); hidden {
				t.Errorf("unread-count is hidden with 4 unread")
			}
			if got := p.Doc.Find("body").AttrOr("data-live-seq", ""); got != strconv.FormatInt(climb.Seq, 10) {
				t.Errorf("data-live-seq = %q, want the newest seq %d", got, climb.Seq)
			}
			if _, ok := p.find("notification-list").Attr("data-live-prepend"); !ok {
				t.Errorf("the first page's list is not marked for live.js")
			}
			if got := p.find("filter-all").AttrOr("aria-current", ""); got != "page" {
				t.Errorf("filter-all aria-current = %q, want page", got)
			}

			// Opening a notification marks it read and goes to its page.
			o := br.get(item(p, like).Find(testID("notification-link")).AttrOr("href", ""))
			if o.Code != http.StatusSeeOther || o.Location() != br.base+"/posts/1?from=bell" {
				t.Errorf("open = %d to %q, want 303 to %s/posts/1?from=bell", o.Code, o.Location(), br.base)
			}
			// Again: still there, nothing left to mark.
			if o := br.get(openURL(br.base, like)); o.Code != http.StatusSeeOther || o.Location() != br.base+"/posts/1?from=bell" {
				t.Errorf("open again = %d to %q", o.Code, o.Location())
			}
			// Without a page in the app: marked read, back to the list.
			for _, n := range []inbox.Notification{plain, climb} {
				if o := br.get(openURL(br.base, n)); o.Code != http.StatusSeeOther || o.Location() != br.base+"/notifications" {
					t.Errorf("open %q = %d to %q, want 303 to the list", n.Link, o.Code, o.Location())
				}
			}
			p = br.get("/notifications")
			want = []string{"Eve liked your post", xss, "*You earned 10 coins for your post.", "Bob liked your post"}
			if diff := cmp.Diff(want, items(p)); diff != "" {
				t.Errorf("after opening (-want +got):\n%s", diff)
			}
			if got := p.text("unread-count"); got != "1" {
				t.Errorf("unread-count = %q, want 1", got)
			}

			p = br.get("/notifications?unread=1")
			if diff := cmp.Diff([]string{"*You earned 10 coins for your post."}, items(p)); diff != "" {
				t.Errorf("unread only (-want +got):\n%s", diff)
			}
			if p.find("filter-unread").AttrOr("aria-current", "") != "page" || p.find("filter-all").AttrOr("aria-current", "") != "" {
				t.Errorf("the unread filter is not the current one")
			}

			// Mark all as read marks up to the newest seq shown: what came
			// after the page was made stays unread.
			form := p.find("mark-all-read-form")
			if got := form.AttrOr("action", ""); got != br.base+"/notifications/read-all" {
				t.Errorf("mark-all action = %q", got)
			}
			values := formValues(form)
			if values.Get("up_to_seq") != strconv.FormatInt(coins.Seq, 10) || values.Get("unread") != "1" {
				t.Errorf("mark-all form = %v, want up_to_seq %d and unread 1", values, coins.Seq)
			}
			later := b.notify(t, tn, me, inbox.AddParams{Text: "Cy followed you", Link: "/members/cy"})
			p = br.submit("/notifications/read-all", values)
			if got := p.text("notice"); got != notices["notifications-read"] {
				t.Errorf("notice = %q", got)
			}
			if !strings.HasSuffix(p.URL, "/notifications?notice=notifications-read&unread=1") {
				t.Errorf("after marking: at %s, want the unread list", p.URL)
			}
			if diff := cmp.Diff([]string{"*" + later.Text}, items(p)); diff != "" {
				t.Errorf("after marking all (-want +got):\n%s", diff)
			}
			if got := b.unread(t, tn, me); got != 1 {
				t.Errorf("unread = %d, want 1 (the later one)", got)
			}
			p = br.submit("/notifications/read-all", formValues(p.find("mark-all-read-form")))
			if p.text("notifications-empty") == "" || p.find("mark-all-read-form").Length() != 0 {
				t.Errorf("all read: want the empty unread list without the mark-all form")
			}
			if _, hidden := p.find("unread-count").Attr("hidden"); !hidden {
				t.Errorf("unread-count shown with nothing unread")
			}

			for _, bad := range []url.Values{{}, {"up_to_seq": {"0"}}, {"up_to_seq": {"x"}}} {
				p := br.post("/notifications/read-all", bad)
				if p.Code != http.StatusUnprocessableEntity || p.text("form-error") == "" || p.find("notification-item").Length() != 5 {
					t.Errorf("read-all %v = %d, form-error %q; want 422 with the list and the problem", bad, p.Code, p.text("form-error"))
				}
			}
		})
	}
}

func TestWeb_NotificationsPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	const n = notificationsPageSize + 3
	for i := range n {
		b.notify(t, tn, me, inbox.AddParams{Text: fmt.Sprintf("Notification %d", i+1)})
	}

	seen := map[string]bool{}
	collect := func(p resp) {
		for _, s := range items(p) {
			if seen[s] {
				t.Errorf("%s shown twice", s)
			}
			seen[s] = true
		}
	}
	p := br.get("/notifications")
	if got := items(p); len(got) != notificationsPageSize || got[0] != fmt.Sprintf("*Notification %d", n) {
		t.Fatalf("first page = %d items from %q, want %d from the newest", len(got), got[0], notificationsPageSize)
	}
	collect(p)
	if p.find("first-page").Length() != 0 {
		t.Errorf("the first page links to the first page")
	}
	next := p.find("next-page").AttrOr("href", "")
	if !strings.HasPrefix(next, br.base+"/notifications?cursor=") {
		t.Fatalf("next-page = %q", next)
	}
	p = br.get(next)
	got := items(p)
	if len(got) != n-notificationsPageSize || got[len(got)-1] != "*Notification 1" {
		t.Errorf("second page = %q, want the 3 oldest", got)
	}
	collect(p)
	if len(seen) != n {
		t.Errorf("seen %d notifications, want %d", len(seen), n)
	}
	if p.find("next-page").Length() != 0 || p.find("first-page").AttrOr("href", "") != br.base+"/notifications" {
		t.Errorf("last page: next-page %d, first-page %q", p.find("next-page").Length(), p.find("first-page").AttrOr("href", ""))
	}
	if _, ok := p.find("notification-list").Attr("data-live-prepend"); ok {
		t.Errorf("a later page is marked for live.js to prepend to")
	}
	// Marking all from the second page marks that page and older ones.
	p = br.submit("/notifications/read-all", formValues(p.find("mark-all-read-form")))
	if got := b.unread(t, tn, me); got != notificationsPageSize {
		t.Errorf("unread after marking the second page = %d, want %d", got, notificationsPageSize)
	}

	// The unread filter pages too, and keeps itself in its links.
	p = br.get("/notifications?unread=1")
	next = p.find("next-page").AttrOr("href", "")
	if len(items(p)) != notificationsPageSize || next != "" {
		t.Errorf("unread first page = %d items, next %q; want %d and no next page", len(items(p)), next, notificationsPageSize)
	}
	b.notify(t, tn, me, inbox.AddParams{Text: "One more"})
	p = br.get("/notifications?unread=1")
	next = p.find("next-page").AttrOr("href", "")
	if !strings.Contains(next, "unread=1") || !strings.Contains(next, "cursor=") {
		t.Fatalf("unread next-page = %q, want the filter and a cursor", next)
	}
	p = br.get(next)
	if got := items(p); len(got) != 1 || p.find("first-page").AttrOr("href", "") != br.base+"/notifications?unread=1" {
		t.Errorf("unread second page = %q, first-page %q", got, p.find("first-page").AttrOr("href", ""))
	}

	for _, tt := range []struct{ query, back string }{
		{"cursor=not-a-cursor", "/notifications"},
		{"unread=1&cursor=bm9wZQ", "/notifications?unread=1"},
	} {
		p := br.get("/notifications?" + tt.query)
		if p.Code != http.StatusBadRequest || p.find("stale-page").Length() != 1 {
			t.Errorf("GET /notifications?%s = %d, want the 400 stale page", tt.query, p.Code)
		}
		if got := p.find("stale-page").Find("a.button").AttrOr("href", ""); got != br.base+tt.back {
			t.Errorf("stale page of %s links back to %q, want %q", tt.query, got, br.base+tt.back)
		}
	}
}

func TestWeb_NotificationsOpenOthers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	other := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	_, bob := b.member(t, tn, false, "bob@example.com")
	_, cy := b.member(t, other, false, "cy@example.com")
	mine := b.notify(t, tn, me, inbox.AddParams{Text: "Mine", Link: "/posts/1"})
	bobs := b.notify(t, tn, bob, inbox.AddParams{Text: "Bob's", Link: "/posts/2"})
	cys := b.notify(t, other, cy, inbox.AddParams{Text: "Cy's", Link: "/posts/3"})

	for name, path := range map[string]string{
		"AnotherMembers":      openURL("", bobs),
		"AnotherTenants":      openURL("", cys),
		"AnotherTenantsThere": openURL("/t/"+other.Slug, cys),
		"Unknown":             "/notifications/" + uuid.NewString() + "/open?seq=1",
		"NotAnID":             "/notifications/nope/open?seq=1",
		"NoSeq":               "/notifications/" + mine.ID.String() + "/open",
		"OtherSeq":            "/notifications/" + mine.ID.String() + "/open?seq=2",
		"BadSeq":              "/notifications/" + mine.ID.String() + "/open?seq=-1",
	} {
		p := br.get(path)
		if name == "AnotherTenantsThere" {
			// Ada's cookie is not sent to, or not valid for, the other
			// tenant: she is asked to sign in there.
			if p.Code != http.StatusSeeOther || !strings.Contains(p.Location(), "/sign-in") {
				t.Errorf("%s: %s = %d to %q, want 303 to sign in", name, path, p.Code, p.Location())
			}
			continue
		}
		if p.Code != http.StatusNotFound || p.find("not-found").Length() != 1 {
			t.Errorf("%s: %s = %d, want the 404 page", name, path, p.Code)
		}
	}
	if b.unread(t, tn, bob) != 1 || b.unread(t, other, cy) != 1 || b.unread(t, tn, me) != 1 {
		t.Errorf("a refused open marked something read")
	}
}

func TestWeb_NotificationsSignedOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	_, me := b.member(t, tn, false, "ada@example.com")
	n := b.notify(t, tn, me, inbox.AddParams{Text: "Hello", Link: "/posts/1"})
	for _, base := range bases {
		br := b.browser(t, tn, base.ownHost)
		tests := []struct{ method, path, next string }{
			{http.MethodGet, "/notifications", "/notifications"},
			{http.MethodGet, "/notifications?unread=1", "/notifications?unread=1"},
			{http.MethodGet, openURL("", n), openURL("", n)},
			{http.MethodPost, "/notifications/read-all", "/notifications"},
			{http.MethodPost, "/notifications/settings", "/notifications"},
			{http.MethodGet, "/notifications/live", "/notifications"},
		}
		for _, tt := range tests {
			p := br.do(tt.method, tt.path, url.Values{"up_to_seq": {"1"}}, nil)
			want := br.base + "/sign-in?next=" + url.QueryEscape(tt.next)
			if p.Code != http.StatusSeeOther || p.Location() != want {
				t.Errorf("%s: %s %s = %d to %q, want 303 to %q", base.name, tt.method, tt.path, p.Code, p.Location(), want)
			}
		}
		p := br.get("/")
		if p.find("header-notifications").Length() != 0 || p.find("live-toast").Length() != 0 || strings.Contains(p.Body, "live.js") {
			t.Errorf("%s: a signed-out page has the bell, the toast or live.js", base.name)
		}
		if _, ok := p.Doc.Find("body").Attr("data-live-base"); ok {
			t.Errorf("%s: a signed-out page tells live.js where to connect", base.name)
		}
	}
	if got := b.unread(t, tn, me); got != 1 {
		t.Errorf("unread = %d, want 1: nothing was marked", got)
	}

	// Signing in from an open link comes back to it.
	br := b.browser(t, tn, false)
	p := br.follow(br.get(openURL("", n)))
	p = br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {p.find("sign-in-form").Find("input[name=next]").AttrOr("value", "")}})
	if want := br.base + openURL("", n); p.Location() != want {
		t.Errorf("sign-in goes to %q, want %q", p.Location(), want)
	}
	if p = br.get(p.Location()); p.Code != http.StatusSeeOther || p.Location() != br.base+"/posts/1" {
		t.Errorf("open after sign-in = %d to %q", p.Code, p.Location())
	}
}

func TestWeb_NotificationSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, true, "ada@example.com")
	digest := func() bool {
		t.Helper()
		s, err := b.inbox.Settings(as(t, tn, me))
		if err != nil {
			t.Fatalf("Settings() = %v", err)
		}
		return s.Digest
	}

	p := br.get("/notifications")
	form := p.find("notification-settings-form")
	if got := form.AttrOr("action", ""); got != "/notifications/settings" {
		t.Errorf("settings action = %q", got)
	}
	if _, checked := form.Find(testID("digest-checkbox")).Attr("checked"); !checked {
		t.Errorf("digest is not ticked by default")
	}

	p = br.submit("/notifications/settings", url.Values{})
	if got := p.text("notice"); got != notices["digest-off"] {
		t.Errorf("notice = %q, want %q", got, notices["digest-off"])
	}
	if _, checked := p.find("digest-checkbox").Attr("checked"); checked || digest() {
		t.Errorf("digest still on after unticking")
	}

	p = br.submit("/notifications/settings", url.Values{"digest": {"on"}})
	if got := p.text("notice"); got != notices["digest-on"] {
		t.Errorf("notice = %q, want %q", got, notices["digest-on"])
	}
	if _, checked := p.find("digest-checkbox").Attr("checked"); !checked || !digest() {
		t.Errorf("digest still off after ticking")
	}

	p = br.post("/notifications/settings", url.Values{"digest": {"maybe"}})
	if p.Code != http.StatusUnprocessableEntity || p.text("error-digest") == "" {
		t.Errorf("digest=maybe = %d, error %q; want 422 with the problem", p.Code, p.text("error-digest"))
	}
	if !digest() {
		t.Errorf("a refused form changed the setting")
	}
}

func TestWeb_NotificationsBellEverywhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	b.notify(t, tn, me, inbox.AddParams{Text: "One"})
	b.notify(t, tn, me, inbox.AddParams{Text: "Two"})
	for _, path := range []string{"/", "/wallet", "/rewards", "/orders", "/profile"} {
		p := br.get(path)
		if p.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", path, p.Code)
		}
		if got := p.text("unread-count"); got != "2" {
			t.Errorf("GET %s: unread-count = %q, want 2", path, got)
		}
		script := p.Doc.Find(`head script[src^="/static/live.js?v="]`)
		if script.Length() != 1 {
			t.Errorf("GET %s: live.js is not loaded", path)
		} else if _, deferred := script.Attr("defer"); !deferred {
			t.Errorf("GET %s: live.js is not deferred", path)
		}
		if p.find("live-toast").AttrOr("role", "") != "status" {
			t.Errorf("GET %s: no live-toast status region", path)
		}
		if p.Doc.Find("script:not([src])").Length() != 0 {
			t.Errorf("GET %s: page has an inline script", path)
		}
	}
}

func TestNew_NotificationDeps(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dir := tenants.NewDirectory(b.svc, discard)
	reg := plugin.NewRegistry()
	without := New(Deps{Plugins: reg, Enablement: dir, Identity: b.identity, Limiter: ratelimit.New(nil), Log: discard})
	tn := b.createTenant(t, tenants.CreateParams{})
	_, me := b.member(t, tn, false, "ada@example.com")
	for _, path := range []string{"/notifications", "/notifications/live"} {
		r := httptest.NewRequestWithContext(as(t, tn, me), http.MethodGet, path, nil)
		w := httptest.NewRecorder()
		without.ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s without the inbox = %d, want 404", path, w.Code)
		}
	}

	for name, d := range map[string]Deps{
		"InboxOnly": {Plugins: reg, Enablement: dir, Identity: b.identity, Inbox: b.inbox},
		"HubOnly":   {Plugins: reg, Enablement: dir, Identity: b.identity, Hub: b.hub},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New() did not panic", name)
				}
			}()
			New(d)
		}()
	}
}

func TestRelativeTime(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{-time.Minute, "just now"},
		{0, "just now"},
		{59 * time.Second, "just now"},
		{time.Minute, "1 minute ago"},
		{59 * time.Minute, "59 minutes ago"},
		{time.Hour, "1 hour ago"},
		{23 * time.Hour, "23 hours ago"},
		{24 * time.Hour, "1 day ago"},
		{6 * 24 * time.Hour, "6 days ago"},
		{7 * 24 * time.Hour, "3 Mar 2025, 13:00"},
	}
	for _, tt := range tests {
		if got := relativeTime(now.Add(-tt.ago), now, berlin); got != tt.want {
			t.Errorf("relativeTime(now-%v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
}

// TestAppLink checks which links the list and the open redirect follow;
// the inbox refuses the others, this is the second line.
func TestAppLink(t *testing.T) {
	t.Parallel()
	for l, want := range map[string]bool{
		"/posts/1":                true,
		"/posts/1?c=2#c2":         true,
		"/":                       true,
		"":                        false,
		"posts/1":                 false,
		"https://evil.example/":   false,
		"//evil.example/":         false,
		`/\evil.example`:          false,
		"javascript:alert(1)":     false,
		"/../t/other":             false,
		"/posts/./1":              false,
		"/posts/1\n":              false,
		"data:text/html,<b>x</b>": false,
	} {
		if got := appLink(l); got != want {
			t.Errorf("appLink(%q) = %v, want %v", l, got, want)
		}
	}
}

// runHub connects b's hub to the database (its own listener connection)
// and runs it until the test ends.
func (b *testBundle) runHub(t *testing.T) {
	t.Helper()
	pc := dbtest.Pool(t).Config().Copy()
	pc.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	l := db.NewListener(pool, discard)
	b.hub.Subscribe(l)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.Run(ctx) })
	wg.Go(func() { _ = b.hub.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	select {
	case <-l.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("listener not ready")
	}
}

// liveMessage is a message of the live stream.
type liveMessage struct {
	Type         string              `json:"type"`
	Notification *inbox.Notification `json:"notification"`
	Unread       *int64              `json:"unread"`
}

// liveConn is a test's live connection: a goroutine reads it into msgs.
type liveConn struct {
	t    *testing.T
	msgs chan liveMessage
}

// dialLive opens br's live stream (query "" or "after=3") as a page of
// origin would ("" sends no Origin), returning the HTTP status when the
// handshake is refused.
func (br *browser) dialLive(query, origin string, header http.Header) (*liveConn, int, error) {
	br.t.Helper()
	u := "ws" + strings.TrimPrefix(br.root, "http") + "/notifications/live"
	if query != "" {
		u += "?" + query
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, res, err := websocket.Dial(br.t.Context(), u, &websocket.DialOptions{HTTPClient: br.c, HTTPHeader: h})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		return nil, status, err
	}
	c := &liveConn{t: br.t, msgs: make(chan liveMessage, 100)}
	go func() {
		defer close(c.msgs)
		for {
			_, b, err := ws.Read(context.WithoutCancel(br.t.Context()))
			if err != nil {
				return
			}
			var m liveMessage
			if err := json.Unmarshal(b, &m); err != nil {
				br.t.Errorf("live message %s: %v", b, err)
				return
			}
			c.msgs <- m
		}
	}()
	br.t.Cleanup(func() { _ = ws.CloseNow() })
	return c, http.StatusSwitchingProtocols, nil
}

// next returns the next message within 5 seconds.
func (c *liveConn) next() liveMessage {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatal("live connection closed")
		}
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatal("no live message within 5s")
	}
	return liveMessage{}
}

// heartbeat waits for the next heartbeat and returns its unread count,
// failing on a notification.
func (c *liveConn) heartbeat() int64 {
	c.t.Helper()
	m := c.next()
	if m.Type != "heartbeat" || m.Unread == nil {
		c.t.Fatalf("message = %+v, want a heartbeat", m)
	}
	return *m.Unread
}

func (c *liveConn) notification() inbox.Notification {
	c.t.Helper()
	m := c.next()
	if m.Type != "notification" || m.Notification == nil {
		c.t.Fatalf("message = %+v, want a notification", m)
	}
	return *m.Notification
}

func TestWeb_NotificationsLive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runHub(t)
	for _, base := range bases {
		t.Run(base.name, func(t *testing.T) {
			t.Parallel()
			tn := b.createTenant(t, tenants.CreateParams{})
			br, me := b.member(t, tn, base.ownHost, "ada@example.com")
			origin := strings.TrimSuffix(br.root, br.base)

			p := br.get("/notifications")
			seq := p.Doc.Find("body").AttrOr("data-live-seq", "")
			c, status, err := br.dialLive("after="+seq, origin, nil)
			if err != nil {
				t.Fatalf("dial = %v (status %d)", err, status)
			}
			if got := c.heartbeat(); got != 0 {
				t.Errorf("first heartbeat unread = %d, want 0", got)
			}

			// A notification committed in a tenant transaction arrives.
			sent := b.notify(t, tn, me, inbox.AddParams{Kind: "coins", Text: "You earned 10 coins.", Link: "/wallet",
				Data: map[string]any{"coins": 10, "balance": 110}})
			got := c.notification()
			if got.ID != sent.ID || got.Seq != 1 || got.Text != sent.Text || got.Link != "/wallet" || got.Data["balance"] != float64(110) {
				t.Errorf("live notification = %+v, want %+v", got, sent)
			}

			// Opening it in the page reaches the connection as the new count.
			if o := br.get(openURL(br.base, sent)); o.Code != http.StatusSeeOther {
				t.Fatalf("open = %d", o.Code)
			}
			if got := c.heartbeat(); got != 0 {
				t.Errorf("heartbeat after opening = %d, want 0", got)
			}

			// Resuming after seq 1 gets what came since, then the count.
			b.notify(t, tn, me, inbox.AddParams{Text: "Two"})
			b.notify(t, tn, me, inbox.AddParams{Text: "Three"})
			c.notification()
			c.notification()
			r, _, err := br.dialLive("after=1", origin, nil)
			if err != nil {
				t.Fatalf("dial after=1 = %v", err)
			}
			if x, y := r.notification(), r.notification(); x.Text != "Two" || y.Text != "Three" {
				t.Errorf("backlog = %q, %q; want Two, Three", x.Text, y.Text)
			}
			if got := r.heartbeat(); got != 2 {
				t.Errorf("heartbeat after the backlog = %d, want 2", got)
			}
		})
	}
}

func TestWeb_NotificationsLiveRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runHub(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	other := b.createTenant(t, tenants.CreateParams{})
	br, _ := b.member(t, tn, false, "ada@example.com")
	theirs, _ := b.member(t, other, false, "bob@example.com")
	const origin = "http://guildhall.test"

	tests := []struct {
		name   string
		br     *browser
		origin string
		header http.Header
		want   int
	}{
		{name: "NoCookie", br: b.browser(t, tn, false), origin: origin, want: http.StatusUnauthorized},
		// The other tenant's session, sent to this tenant (a browser
		// would not even send it: its path is the other tenant's).
		{name: "AnotherTenantsCookie", br: b.browser(t, tn, false), origin: origin,
			header: http.Header{"Cookie": {SessionCookie + "=" + theirs.session()}}, want: http.StatusUnauthorized},
		{name: "CrossSite", br: br, origin: "https://evil.example", want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, status, err := tt.br.dialLive("", tt.origin, tt.header)
			if err == nil || status != tt.want {
				t.Errorf("dial = %v, status %d; want %d", err, status, tt.want)
			}
		})
	}
	if theirs.session() == "" {
		t.Fatal("the other tenant's member has no session")
	}
	// Their cookie does open their own tenant's stream.
	if _, status, err := theirs.dialLive("", origin, nil); err != nil {
		t.Errorf("the other tenant's member on their own tenant: %v (status %d)", err, status)
	}
}
