package console

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/tenants"
)

// badgesPlugin is an add-on with console pages that render through the
// console's Frame.
type badgesPlugin struct{ testPlugin }

func (badgesPlugin) Assets() fs.FS { return fstest.MapFS{"badges.css": {Data: []byte("p{}")}} }

func (badgesPlugin) ConsolePages() []plugin.Page {
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _ := plugin.FrameFrom(r.Context())
		switch r.URL.Query().Get("fail") {
		case "missing":
			f.Fail(w, r, engine.Errorf(engine.CodeNotFound, "No such badge."))
			return
		case "limited":
			f.Fail(w, r, ratelimit.Refused(ratelimit.Decision{Limit: 1, RetryAfter: 30 * time.Second}))
			return
		case "invalid":
			f.Fail(w, r, engine.Errorf(engine.CodeInvalid, "A badge needs a name."))
			return
		}
		p, _ := engine.PrincipalFrom(r.Context())
		f.Render(w, r, http.StatusOK, plugin.View{Title: "Badges", Section: "/badges", Styles: []string{"badges.css"},
			Body: templ.Raw(fmt.Sprintf(`<p data-testid="badges-body">for %s, <a href="%s">award</a></p>`, p.Name, f.Path(r, "/badges/award")))})
	})
	award := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "awarded") })
	return []plugin.Page{
		{Method: "GET", Path: "/badges", Title: "Badges", Nav: true, Permission: "members:read", Handler: show},
		{Method: "POST", Path: "/badges/award", Permission: "members:manage", Handler: award},
	}
}

func TestConsole_PluginPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{Slug: "badges-" + strings.ToLower(time.Now().Format("150405.000000"))[7:], Plugins: []string{"social", "badges"}})
	base := "/t/" + tn.Slug
	tc := &tenant{Tenant: tn, ctx: engine.WithTenant(t.Context(), tn.ID), base: base}
	tc.owner = b.signUp(t, tc, tc.email("owner"))
	mod := b.member(t, tc, tc.email("mod"), authz.RoleModerator)

	owner := b.browser(t)
	owner.signIn(t, base, tc.owner.Email)
	w := owner.get(t, base+"/console/badges")
	d := doc(t, w)
	if w.Code != 200 || !strings.Contains(text(d.Find(testID("badges-body"))), "for ") {
		t.Fatalf("plugin page = %d:\n%s", w.Code, w.Body)
	}
	if got := d.Find(testID("badges-body")+" a").AttrOr("href", ""); got != base+"/console/badges/award" {
		t.Errorf("Frame.Path = %q", got)
	}
	nav := d.Find(testID("nav-badges-badges"))
	if nav.AttrOr("href", "") != base+"/console/badges" || nav.AttrOr("aria-current", "") != "page" {
		t.Errorf("plugin nav entry = href %q aria-current %q", nav.AttrOr("href", ""), nav.AttrOr("aria-current", ""))
	}
	if d.Find(`link[rel="stylesheet"][href^="/static/plugins/badges/badges.css?v="]`).Length() != 1 {
		t.Errorf("the page's stylesheet is not linked")
	}
	if got := d.Find("title").Text(); !strings.HasPrefix(got, "Badges · ") {
		t.Errorf("title = %q", got)
	}
	if w := owner.post(t, base+"/console/badges/award", url.Values{}); w.Code != 200 || w.Body.String() != "awarded" {
		t.Errorf("POST plugin page = %d %q", w.Code, w.Body)
	}

	for _, tt := range []struct {
		fail   string
		status int
		want   string
	}{
		{"missing", 404, "There is no console page at this address."},
		{"limited", 429, "Try again in 30 seconds"},
		{"invalid", 422, "A badge needs a name."},
	} {
		w := owner.get(t, base+"/console/badges?fail="+tt.fail)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("Fail(%s) = %d, want %d with %q", tt.fail, w.Code, tt.status, tt.want)
		}
		if tt.fail == "limited" && w.Header().Get("Retry-After") != "30" {
			t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
		}
	}

	// Permissions: a moderator may read but not award.
	mb := b.browser(t)
	mb.signIn(t, base, mod.Email)
	if w := mb.get(t, base+"/console/badges"); w.Code != 200 {
		t.Errorf("moderator GET = %d, want 200", w.Code)
	}
	if w := mb.post(t, base+"/console/badges/award", url.Values{}); w.Code != http.StatusForbidden {
		t.Errorf("moderator POST = %d, want 403", w.Code)
	}
	// Signed out: to sign in and back.
	if w := b.browser(t).get(t, base+"/console/badges"); w.Code != http.StatusSeeOther || !strings.Contains(location(w), "/console/sign-in?next=") {
		t.Errorf("signed out = %d to %q", w.Code, location(w))
	}

	// A tenant without the plugin has neither the page nor the nav entry.
	other := b.newTenant(t)
	ob := b.browser(t)
	ob.signIn(t, other.base, other.owner.Email)
	if w := ob.get(t, other.base+"/console/badges"); w.Code != http.StatusNotFound {
		t.Errorf("plugin page without the plugin = %d, want 404", w.Code)
	}
	if d := doc(t, ob.get(t, other.base+"/console/members")); d.Find(testID("nav-badges-badges")).Length() != 0 {
		t.Errorf("nav entry shown to a tenant without the plugin")
	}
	// Nor does the platform section.
	admin := b.browser(t)
	admin.signInAdmin(t)
	if w := admin.get(t, "/console/badges"); w.Code != http.StatusNotFound {
		t.Errorf("platform GET = %d, want 404", w.Code)
	}
}
