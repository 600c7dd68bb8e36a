package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/identity"
)

// options returns the values of a select's options.
func options(s *goquery.Selection) []string {
	var out []string
	s.Find("option").Each(func(_ int, o *goquery.Selection) { out = append(out, o.AttrOr("value", "")) })
	return out
}

func TestMembers_List(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.console.pageSize = 2
	tn := b.newTenant(t)
	admin := b.member(t, tn, tn.email("admin"), authz.RoleAdmin)
	mod := b.member(t, tn, tn.email("mod"), authz.RoleModerator)
	banned := b.member(t, tn, tn.email("zed"), authz.RoleMember)
	if _, err := b.ids.Ban(tn.owner.ctx, banned.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.signIn(t, tn.base, mod.Email)

	rows := func(d *goquery.Document) []string {
		var out []string
		d.Find(testID("members-table") + " tbody tr[data-testid]").Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimPrefix(s.AttrOr("data-testid", ""), "member-row-"))
		})
		return out
	}

	w := br.get(t, tn.base+"/console/members")
	if w.Code != http.StatusOK {
		t.Fatalf("members = %d", w.Code)
	}
	d := doc(t, w)
	if diff := cmp.Diff([]string{tn.owner.Email, admin.Email}, rows(d)); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	row := d.Find(testID("member-row-" + admin.Email))
	if got := text(row.Find(testID("member-role"))); got != "admin" {
		t.Errorf("admin's role = %q", got)
	}
	if href := row.Find(testID("member-link")).AttrOr("href", ""); href != tn.base+"/console/members/"+admin.ID.String() {
		t.Errorf("member-link = %q", href)
	}
	next := d.Find(testID("next-page")).AttrOr("href", "")
	if !strings.HasPrefix(next, tn.base+"/console/members?cursor=") {
		t.Fatalf("next-page = %q", next)
	}
	d = doc(t, br.get(t, next))
	if diff := cmp.Diff([]string{mod.Email, banned.Email}, rows(d)); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	if d.Find(testID("member-row-"+banned.Email)+" "+testID("member-banned")).Length() != 1 {
		t.Errorf("banned member not marked")
	}
	if d.Find(testID("first-page")).Length() != 1 {
		t.Errorf("no first-page link on the second page")
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"role=moderator", []string{mod.Email}},
		{"banned=yes", []string{banned.Email}},
		{"q=" + url.QueryEscape("zed@"), []string{banned.Email}},
		{"role=admin&banned=no", []string{admin.Email}},
	} {
		d := doc(t, br.get(t, tn.base+"/console/members?"+tt.query))
		if diff := cmp.Diff(tt.want, rows(d)); diff != "" {
			t.Errorf("?%s (-want +got):\n%s", tt.query, diff)
		}
	}
	if _, ok := doc(t, br.get(t, tn.base+"/console/members?role=moderator")).Find(`#role-filter option[value="moderator"]`).Attr("selected"); !ok {
		t.Errorf("role filter does not keep its choice")
	}
	for _, q := range []string{"role=emperor", "banned=maybe", "cursor=nonsense"} {
		w := br.get(t, tn.base+"/console/members?"+q)
		if w.Code != http.StatusBadRequest || text(doc(t, w).Find(testID("form-error"))) == "" {
			t.Errorf("?%s = %d, want 400 with a form-error", q, w.Code)
		}
	}

	// A moderator sees members but may not change them.
	d = doc(t, br.get(t, tn.base+"/console/members/"+banned.ID.String()))
	if d.Find(testID("role-form")).Length() != 0 || d.Find(testID("ban-form")).Length() != 0 || d.Find(testID("unban-form")).Length() != 0 {
		t.Errorf("moderator is offered forms")
	}
	if !strings.Contains(text(d.Find(testID("member-status"))), "spam") {
		t.Errorf("ban reason not shown: %q", text(d.Find(testID("member-status"))))
	}
	for _, id := range []string{"nav-invitations", "nav-api-keys", "nav-settings"} {
		if d.Find(testID(id)).Length() != 0 {
			t.Errorf("moderator's navigation shows %s", id)
		}
	}
	if w := br.get(t, tn.base+"/console/members/not-a-uuid"); w.Code != http.StatusNotFound {
		t.Errorf("member with a bad id = %d, want 404", w.Code)
	}
}

func TestMembers_ChangeRole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	admin := b.member(t, tn, tn.email("admin"), authz.RoleAdmin)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	owner := b.browser(t)
	owner.signIn(t, tn.base, tn.owner.Email)
	adminBr := b.browser(t)
	adminBr.signIn(t, tn.base, admin.Email)
	memberURL := tn.base + "/console/members/" + m.ID.String()

	t.Run("OwnerChangesRole", func(t *testing.T) {
		d := doc(t, owner.get(t, memberURL))
		if diff := cmp.Diff(authz.Roles, options(d.Find("#role"))); diff != "" {
			t.Errorf("owner's role choices (-want +got):\n%s", diff)
		}
		if _, ok := d.Find(`#role option[value="member"]`).Attr("selected"); !ok {
			t.Errorf("current role not selected")
		}
		if d.Find(testID("change-role")).Length() != 1 {
			t.Fatalf("no change-role button")
		}
		w := owner.post(t, memberURL+"/role", url.Values{"role": {"moderator"}})
		if w.Code != http.StatusSeeOther || location(w) != memberURL+"?done=role" {
			t.Fatalf("change role = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
		}
		if got := b.role(t, tn, m.ID).Role; got != "moderator" {
			t.Errorf("role = %s, want moderator", got)
		}
		d = doc(t, owner.get(t, location(w)))
		if text(d.Find(testID("notice"))) != "Role changed." || text(d.Find("dd "+testID("member-role"))) != "moderator" {
			t.Errorf("page after the change: notice %q, role %q", text(d.Find(testID("notice"))), text(d.Find("dd "+testID("member-role"))))
		}
	})

	t.Run("AdminCannotMakeOwner", func(t *testing.T) {
		d := doc(t, adminBr.get(t, memberURL))
		if diff := cmp.Diff([]string{"moderator", "member"}, options(d.Find("#role"))); diff != "" {
			t.Errorf("admin's role choices (-want +got):\n%s", diff)
		}
		w := adminBr.post(t, memberURL+"/role", url.Values{"role": {"owner"}})
		if w.Code != http.StatusForbidden {
			t.Fatalf("admin makes an owner = %d, want 403", w.Code)
		}
		d = doc(t, w)
		if got := text(d.Find(testID("role-error"))); got != identity.ErrForbidden.Message {
			t.Errorf("role-error = %q", got)
		}
		if d.Find(testID("role-form")).Length() != 1 {
			t.Errorf("the refusal is not shown with the form")
		}
		if got := b.role(t, tn, m.ID).Role; got != "moderator" {
			t.Errorf("role = %s, want moderator (unchanged)", got)
		}
		// Nor may an admin touch the owner.
		d = doc(t, adminBr.get(t, tn.base+"/console/members/"+tn.owner.ID.String()))
		if d.Find(testID("role-form")).Length() != 0 || d.Find(testID("cannot-manage")).Length() != 1 {
			t.Errorf("admin is offered to change the owner")
		}
	})

	t.Run("LastOwnerStays", func(t *testing.T) {
		w := owner.post(t, tn.base+"/console/members/"+tn.owner.ID.String()+"/role", url.Values{"role": {"admin"}})
		if w.Code != http.StatusConflict {
			t.Fatalf("last owner steps down = %d, want 409", w.Code)
		}
		if got := text(doc(t, w).Find(testID("role-error"))); got != identity.ErrLastOwner.Message {
			t.Errorf("role-error = %q", got)
		}
		if got := b.role(t, tn, tn.owner.ID).Role; got != "owner" {
			t.Errorf("owner's role = %s", got)
		}
	})

	t.Run("UnknownRole", func(t *testing.T) {
		w := owner.post(t, memberURL+"/role", url.Values{"role": {"emperor"}})
		if w.Code != http.StatusUnprocessableEntity || !strings.HasPrefix(text(doc(t, w).Find(testID("role-error"))), "Role must be") {
			t.Errorf("unknown role = %d, %q", w.Code, text(doc(t, w).Find(testID("role-error"))))
		}
	})
}

func TestMembers_Ban(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	memberURL := tn.base + "/console/members/" + m.ID.String()

	d := doc(t, br.get(t, memberURL))
	if d.Find(testID("ban-form")+" #reason").Length() != 1 || d.Find(testID("ban")).Length() != 1 {
		t.Fatalf("no ban form with #reason")
	}
	w := br.post(t, memberURL+"/ban", url.Values{"reason": {"Spam links"}})
	if w.Code != http.StatusSeeOther || location(w) != memberURL+"?done=banned" {
		t.Fatalf("ban = %d to %q", w.Code, location(w))
	}
	if u := b.role(t, tn, m.ID); !u.Banned || u.BanReason != "Spam links" {
		t.Errorf("after ban: %+v", u)
	}
	d = doc(t, br.get(t, location(w)))
	if d.Find(testID("unban")).Length() != 1 || d.Find(testID("ban-form")).Length() != 0 {
		t.Errorf("banned member's page does not offer to lift the ban")
	}
	w = br.post(t, memberURL+"/unban", url.Values{})
	if w.Code != http.StatusSeeOther || location(w) != memberURL+"?done=unbanned" {
		t.Fatalf("unban = %d to %q", w.Code, location(w))
	}
	if u := b.role(t, tn, m.ID); u.Banned {
		t.Errorf("still banned after unban")
	}

	// The owner's own page has no ban form; posting it anyway is refused.
	d = doc(t, br.get(t, tn.base+"/console/members/"+tn.owner.ID.String()))
	if d.Find(testID("ban-form")).Length() != 0 {
		t.Errorf("own page offers to ban yourself")
	}
	w = br.post(t, tn.base+"/console/members/"+tn.owner.ID.String()+"/ban", url.Values{"reason": {"oops"}})
	if w.Code != http.StatusForbidden {
		t.Errorf("banning yourself = %d, want 403", w.Code)
	}
	if u := b.role(t, tn, tn.owner.ID); u.Banned {
		t.Errorf("owner banned themselves")
	}
	if w := br.post(t, tn.base+"/console/members/0190a0a0-0000-7000-8000-000000000000/ban", url.Values{}); w.Code != http.StatusNotFound {
		t.Errorf("ban of an unknown member = %d, want 404", w.Code)
	}
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	admin := b.member(t, tn, tn.email("admin"), authz.RoleAdmin)
	br := b.browser(t)
	br.signIn(t, tn.base, admin.Email)
	page := tn.base + "/console/invitations"

	d := doc(t, br.get(t, page))
	if diff := cmp.Diff([]string{"moderator", "member"}, options(d.Find(testID("invite-form")+" #role"))); diff != "" {
		t.Errorf("admin's invitation roles (-want +got):\n%s", diff)
	}
	invitee := tn.email("new")
	for _, tt := range []struct {
		name   string
		header http.Header
	}{{"Plain", nil}, {"HTMX", htmx}} {
		t.Run(tt.name, func(t *testing.T) {
			w := br.do(t, http.MethodPost, page, url.Values{"email": {invitee}, "role": {"moderator"}}, tt.header)
			if w.Code != http.StatusOK {
				t.Fatalf("invite = %d; body:\n%s", w.Code, w.Body.String())
			}
			if full := strings.Contains(w.Body.String(), "<html"); full != (tt.header == nil) {
				t.Errorf("full page = %v, want %v", full, tt.header == nil)
			}
			d := doc(t, w)
			if link := text(d.Find(testID("invitation-link"))); !strings.HasPrefix(link, "https://app.example/invitations/ghi_") {
				t.Errorf("invitation-link = %q", link)
			}
			if got := text(d.Find(testID("invitation-row-"+invitee) + " td:nth-child(2)")); got != "moderator" {
				t.Errorf("listed role = %q", got)
			}
		})
	}
	// A new invitation to the same address replaces the pending one.
	d = doc(t, br.get(t, page))
	if d.Find(testID("invitation-link")).Length() != 0 {
		t.Errorf("the link is shown again")
	}
	if n := d.Find(testID("invitation-row-" + invitee)).Length(); n != 1 {
		t.Fatalf("rows for %s = %d, want 1", invitee, n)
	}

	t.Run("Invalid", func(t *testing.T) {
		w := br.do(t, http.MethodPost, page, url.Values{"email": {"not an email"}, "role": {"moderator"}}, htmx)
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("bad email = %d, want 422", w.Code)
		}
		d := doc(t, w)
		if d.Find(testID("error-email")).Length() != 1 || d.Find("#email").AttrOr("aria-invalid", "") != "true" {
			t.Errorf("no inline problem for the email")
		}
		if got := d.Find("#email").AttrOr("value", ""); got != "not an email" {
			t.Errorf("#email = %q, want what was typed", got)
		}
		w = br.post(t, page, url.Values{"email": {tn.email("boss")}, "role": {"owner"}})
		if w.Code != http.StatusForbidden || text(doc(t, w).Find(testID("error-role"))) == "" {
			t.Errorf("admin invites an owner = %d, want 403 with error-role", w.Code)
		}
		invs, _ := b.ids.ListInvitations(tn.ctx)
		if len(invs) != 1 {
			t.Errorf("invitations = %+v, want only the first", invs)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		form := d.Find(testID("invitation-row-"+invitee) + " form")
		action := form.AttrOr("action", "")
		if !strings.HasPrefix(action, page+"/") || form.Find(testID("revoke-invitation")).Length() != 1 {
			t.Fatalf("revoke form action = %q", action)
		}
		w := br.post(t, action, url.Values{})
		if w.Code != http.StatusSeeOther || location(w) != page+"?done=revoked" {
			t.Fatalf("revoke = %d to %q", w.Code, location(w))
		}
		d := doc(t, br.get(t, location(w)))
		if d.Find(testID("invitation-row-"+invitee)).Length() != 0 || text(d.Find(testID("notice"))) != "Invitation revoked." {
			t.Errorf("revoked invitation still listed, or no notice")
		}
		if w := br.post(t, action, url.Values{}); w.Code != http.StatusNotFound {
			t.Errorf("revoking twice = %d, want 404", w.Code)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	page := tn.base + "/console/api-keys"

	d := doc(t, br.get(t, page))
	az, _ := authz.New()
	var scopes []string
	d.Find(testID("api-key-form") + ` input[name="scopes"]`).Each(func(_ int, s *goquery.Selection) {
		scopes = append(scopes, s.AttrOr("value", ""))
	})
	if diff := cmp.Diff(az.ScopePermissions(), scopes); diff != "" {
		t.Errorf("scope checkboxes (-want +got):\n%s", diff)
	}

	expires := b.clock.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
	w := br.post(t, page, url.Values{"name": {"Shop"}, "scopes": {"wallets:read", "events:write"}, "expires_at": {expires}})
	if w.Code != http.StatusOK {
		t.Fatalf("create = %d; body:\n%s", w.Code, w.Body.String())
	}
	d = doc(t, w)
	token := text(d.Find(testID("api-key-token")))
	if !strings.HasPrefix(token, "ghk_") {
		t.Fatalf("api-key-token = %q", token)
	}
	p, err := b.ids.AuthenticateBearer(tn.ctx, token)
	if err != nil || !slices.Equal(p.Scopes, []string{"events:write", "wallets:read"}) {
		t.Fatalf("the token authenticates as %+v, %v", p, err)
	}
	prefix := strings.Split(token, "_")[1]
	row := d.Find(testID("api-key-row-" + prefix))
	if got := text(row.Find(testID("api-key-name"))); got != "Shop" {
		t.Errorf("listed name = %q", got)
	}
	// It works through the chosen day: it expires as the next begins.
	end := b.clock.Now().UTC().AddDate(0, 1, 1).Format(time.DateOnly) + " 00:00 UTC"
	if !strings.Contains(row.Text(), "events:write, wallets:read") || !strings.Contains(row.Text(), end) {
		t.Errorf("row does not show scopes and expiry: %q", row.Text())
	}

	// Shown once.
	w = br.get(t, page)
	if strings.Contains(w.Body.String(), token) || doc(t, w).Find(testID("api-key-token")).Length() != 0 {
		t.Errorf("the token is shown again")
	}

	// Revoked.
	action := doc(t, w).Find(testID("api-key-row-"+prefix)+" form").AttrOr("action", "")
	w = br.post(t, action, url.Values{})
	if w.Code != http.StatusSeeOther || location(w) != page+"?done=revoked" {
		t.Fatalf("revoke = %d to %q", w.Code, location(w))
	}
	d = doc(t, br.get(t, location(w)))
	row = d.Find(testID("api-key-row-" + prefix))
	if got := text(row.Find(testID("api-key-status"))); got != "revoked" || row.Find(testID("revoke-api-key")).Length() != 0 {
		t.Errorf("after revoking: status %q, revoke button %d", got, row.Find(testID("revoke-api-key")).Length())
	}
	keys, _ := b.ids.ListAPIKeys(tn.ctx)
	if len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Errorf("keys = %+v, want the one, revoked", keys)
	}

	t.Run("Invalid", func(t *testing.T) {
		for _, tt := range []struct {
			form url.Values
			want []string
		}{
			{url.Values{"name": {""}}, []string{"error-name", "error-scopes"}},
			{url.Values{"name": {"x"}, "scopes": {"self:use"}}, []string{"error-scopes"}},
			{url.Values{"name": {"x"}, "scopes": {"wallets:read"}, "expires_at": {"soon"}}, []string{"error-expires_at"}},
			{url.Values{"name": {"x"}, "scopes": {"wallets:read"}, "expires_at": {"2001-01-01"}}, []string{"error-expires_at"}},
		} {
			w := br.do(t, http.MethodPost, page, tt.form, htmx)
			if w.Code != http.StatusUnprocessableEntity {
				t.Errorf("%v = %d, want 422", tt.form, w.Code)
				continue
			}
			d := doc(t, w)
			var got []string
			d.Find(`[data-testid^="error-"]`).Each(func(_ int, s *goquery.Selection) { got = append(got, s.AttrOr("data-testid", "")) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%v: field errors (-want +got):\n%s", tt.form, diff)
			}
			if d.Find(testID("api-key-token")).Length() != 0 || text(d.Find(testID("form-error"))) == "" {
				t.Errorf("%v: token shown or no form-error", tt.form)
			}
		}
		if keys, _ := b.ids.ListAPIKeys(tn.ctx); len(keys) != 1 {
			t.Errorf("keys = %d, want 1: nothing created", len(keys))
		}
	})
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.console.pageSize = 3
	tn := b.newTenant(t)
	m1 := b.member(t, tn, tn.email("m1"), authz.RoleMember)
	m2 := b.member(t, tn, tn.email("m2"), authz.RoleMember)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	for _, m := range []account{m1, m2} {
		if w := br.post(t, tn.base+"/console/members/"+m.ID.String()+"/role", url.Values{"role": {"moderator"}}); w.Code != http.StatusSeeOther {
			t.Fatalf("role change = %d", w.Code)
		}
	}
	page := tn.base + "/console/audit"
	rows := func(d *goquery.Document) [][3]string {
		var out [][3]string
		d.Find(testID("audit-row")).Each(func(_ int, s *goquery.Selection) {
			out = append(out, [3]string{text(s.Find(testID("audit-actor"))), text(s.Find(testID("audit-action"))), text(s.Find(testID("audit-target")))})
		})
		return out
	}

	d := doc(t, br.get(t, page+"?action=member.role_changed"))
	actor := "user:" + tn.owner.ID.String()
	want := [][3]string{{actor, "member.role_changed", "user:" + m2.ID.String()}, {actor, "member.role_changed", "user:" + m1.ID.String()}}
	if diff := cmp.Diff(want, rows(d)); diff != "" {
		t.Errorf("role changes (-want +got):\n%s", diff)
	}
	if got := text(d.Find(testID("audit-row")).First().Find(testID("audit-details"))); got != `{"from":"member","to":"moderator"}` {
		t.Errorf("details = %q", got)
	}
	if got := d.Find(testID("audit-row")).First().Find("td").Last().Text(); got != br.ip {
		t.Errorf("client IP = %q, want %s", got, br.ip)
	}
	if got := d.Find("#action").AttrOr("value", ""); got != "member.role_changed" {
		t.Errorf("#action = %q", got)
	}

	d = doc(t, br.get(t, page+"?target="+url.QueryEscape("user:"+m1.ID.String())+"&action=member."))
	for _, r := range rows(d) {
		if r[2] != "user:"+m1.ID.String() {
			t.Errorf("target filter shows %v", r)
		}
	}
	// The owner signed in twice: verifying their email, and here.
	d = doc(t, br.get(t, page+"?actor="+url.QueryEscape(actor)+"&action=auth.signed_in"))
	if got := rows(d); len(got) != 2 || got[0][1] != "auth.signed_in" {
		t.Errorf("the owner's sign-ins: %v", got)
	}
	if got := text(d.Find(testID("audit-details")).First()); !strings.Contains(got, `"kind":"console"`) {
		t.Errorf("latest sign-in details = %q, want the console's", got)
	}

	// Paging, three at a time, through every event of today.
	today := b.clock.Now().UTC().Format(time.DateOnly)
	all, err := b.audit.List(tn.ctx, audit.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	next := page + "?since=" + today + "&until=" + today
	for pages := 0; next != ""; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		d := doc(t, br.get(t, next))
		seen += len(rows(d))
		next = d.Find(testID("next-page")).AttrOr("href", "")
		if next != "" && (!strings.Contains(next, "since="+today) || !strings.Contains(next, "cursor=")) {
			t.Errorf("next-page %q loses the filter or has no cursor", next)
		}
	}
	if seen != len(all.Events) {
		t.Errorf("paged through %d events, want %d", seen, len(all.Events))
	}
	if got := rows(doc(t, br.get(t, page+"?until=2001-01-01"))); len(got) != 0 {
		t.Errorf("until 2001: %v", got)
	}

	for _, q := range []string{"since=yesterday", "since=2030-01-02&until=2030-01-01", "cursor=bad"} {
		w := br.get(t, page+"?"+q)
		if w.Code != http.StatusBadRequest || !strings.HasPrefix(text(doc(t, w).Find(testID("form-error"))), "The filter is not valid") {
			t.Errorf("?%s = %d, %q", q, w.Code, text(doc(t, w).Find(testID("form-error"))))
		}
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.followChanges(t)
	tn := b.newTenant(t)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	page := tn.base + "/console/settings"

	d := doc(t, br.get(t, page))
	if got := d.Find("#sign_in_per_minute").AttrOr("value", ""); got != "10" {
		t.Errorf("#sign_in_per_minute = %q, want the default 10", got)
	}
	form := url.Values{"user_per_second": {"500"}, "api_key_per_second": {"400"}, "ip_per_second": {"900"}, "sign_in_per_minute": {"20"}, "codes_per_hour": {"3"}}

	t.Run("Invalid", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("user_per_second", "0")
		bad.Set("codes_per_hour", "lots")
		for _, header := range []http.Header{nil, htmx} {
			w := br.do(t, http.MethodPost, page, bad, header)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("invalid limits = %d, want 422", w.Code)
			}
			d := doc(t, w)
			if got := text(d.Find(testID("error-user_per_second"))); got != "Requests per second per user must be between 1 and 100000." {
				t.Errorf("error-user_per_second = %q", got)
			}
			if got := text(d.Find(testID("error-codes_per_hour"))); !strings.Contains(got, "must be a whole number") {
				t.Errorf("error-codes_per_hour = %q", got)
			}
			if got := d.Find("#codes_per_hour").AttrOr("value", ""); got != "lots" {
				t.Errorf("#codes_per_hour = %q, want what was typed", got)
			}
			if !strings.HasPrefix(text(d.Find(testID("form-error"))), "Nothing was saved.") {
				t.Errorf("form-error = %q", text(d.Find(testID("form-error"))))
			}
		}
		l, err := b.ids.TenantLimits(tn.ctx)
		if err != nil || l != identity.DefaultLimits {
			t.Errorf("limits = %+v, %v; want the defaults, unchanged", l, err)
		}
	})

	t.Run("Saves", func(t *testing.T) {
		w := br.do(t, http.MethodPost, page, form, htmx)
		if w.Code != http.StatusOK || w.Header().Get("HX-Redirect") != page+"?saved=1" {
			t.Fatalf("save = %d, HX-Redirect %q", w.Code, w.Header().Get("HX-Redirect"))
		}
		want := identity.Limits{UserPerSecond: 500, APIKeyPerSecond: 400, IPPerSecond: 900, SignInPerMinute: 20, CodesPerHour: 3}
		events, err := b.audit.List(tn.ctx, audit.ListParams{Action: "settings.limits_changed"})
		if err != nil || len(events.Events) != 1 || events.Events[0].Actor != "user:"+tn.owner.ID.String() {
			t.Fatalf("limits change audited: %+v, %v", events.Events, err)
		}
		// The page shows the limits as every server applies them, within a
		// second.
		eventually(t, 2*time.Second, func() bool {
			l, err := b.ids.TenantLimits(tn.ctx)
			return err == nil && l == want
		}, "the new limits do not apply")
		d := doc(t, br.get(t, tn.base+"/console/settings?saved=1"))
		if d.Find(testID("saved-notice")).Length() != 1 {
			t.Errorf("no saved-notice")
		}
		if got := d.Find("#user_per_second").AttrOr("value", ""); got != "500" {
			t.Errorf("#user_per_second = %q, want 500", got)
		}
	})
}

func TestTenant_CrossSitePostRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	for _, tt := range []struct {
		target string
		form   url.Values
	}{
		{"/console/members/" + m.ID.String() + "/role", url.Values{"role": {"admin"}}},
		{"/console/members/" + m.ID.String() + "/ban", url.Values{"reason": {"x"}}},
		{"/console/api-keys", url.Values{"name": {"evil"}, "scopes": {"wallets:read"}}},
		{"/console/invitations", url.Values{"email": {tn.email("evil")}, "role": {"admin"}}},
		{"/console/settings", url.Values{"user_per_second": {"1"}, "api_key_per_second": {"1"}, "ip_per_second": {"1"}, "sign_in_per_minute": {"1"}, "codes_per_hour": {"1"}}},
		{"/console/sign-out", url.Values{}},
	} {
		w := br.do(t, http.MethodPost, tn.base+tt.target, tt.form, crossSite)
		if w.Code != http.StatusForbidden || doc(t, w).Find(testID("error-page")).Length() != 1 {
			t.Errorf("cross-site POST %s = %d, want the 403 page", tt.target, w.Code)
		}
	}
	if u := b.role(t, tn, m.ID); u.Role != "member" || u.Banned {
		t.Errorf("member changed: %+v", u)
	}
	if keys, _ := b.ids.ListAPIKeys(tn.ctx); len(keys) != 0 {
		t.Errorf("keys created: %+v", keys)
	}
	if invs, _ := b.ids.ListInvitations(tn.ctx); len(invs) != 0 {
		t.Errorf("invitations created: %+v", invs)
	}
	if w := br.get(t, tn.base+"/console/members"); w.Code != http.StatusOK {
		t.Errorf("still signed in? members = %d", w.Code)
	}
	// The same form from the console itself works.
	if w := br.do(t, http.MethodPost, tn.base+"/console/members/"+m.ID.String()+"/role", url.Values{"role": {"admin"}},
		http.Header{"Sec-Fetch-Site": {"same-origin"}}); w.Code != http.StatusSeeOther {
		t.Errorf("same-origin POST = %d, want 303", w.Code)
	}
}

func TestTenant_Branding(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	d := doc(t, br.get(t, tn.base+"/console/members"))
	style := d.Find("body").AttrOr("style", "")
	if !strings.Contains(style, "--brand:"+tn.Branding.PrimaryColor) && !strings.Contains(style, "--brand: "+tn.Branding.PrimaryColor) {
		t.Errorf("body style = %q, want the tenant's primary colour", style)
	}
	if got := d.Find(testID("nav-members")).AttrOr("aria-current", ""); got != "page" {
		t.Errorf("nav-members aria-current = %q", got)
	}
	for _, id := range []string{"nav-members", "nav-invitations", "nav-api-keys", "nav-audit", "nav-settings"} {
		if href := d.Find(testID(id)).AttrOr("href", ""); !strings.HasPrefix(href, tn.base+"/console/") {
			t.Errorf("%s href = %q, want under %s/console/", id, href, tn.base)
		}
	}
	if d.Find("script:not([src])").Length() != 0 {
		t.Errorf("inline script")
	}
}

func TestReadableOn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"#000000", "#ffffff"}, {"#ffffff", "#1d2330"}, {"#3b5bdb", "#ffffff"}, {"#f59f00", "#1d2330"}, {"bad", "#ffffff"},
	} {
		if got := readableOn(tt.in); got != tt.want {
			t.Errorf("readableOn(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
