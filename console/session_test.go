package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/identity"
)

func TestRoutes_DeclarePermissions(t *testing.T) {
	t.Parallel()
	az, err := authz.New()
	if err != nil {
		t.Fatal(err)
	}
	// The only pages anyone may open.
	public := []string{
		"GET /console/sign-in", "POST /console/sign-in", "GET /console/sign-in/mfa", "POST /console/sign-in/mfa",
		"POST /console/sign-out", " /console/",
	}
	seen := map[string]bool{}
	for _, rt := range Routes() {
		key := rt.Method + " " + rt.Pattern
		if seen[key+" "+string(rt.Section)] {
			t.Errorf("%s is declared twice in section %s", key, rt.Section)
		}
		seen[key+" "+string(rt.Section)] = true
		switch {
		case rt.Permission == "":
			t.Errorf("%s declares no permission", key)
		case rt.Permission == PermissionPublic:
			if !slices.Contains(public, key) {
				t.Errorf("%s is public; only sign-in pages are", key)
			}
			if rt.Section != SectionBoth {
				t.Errorf("public %s is in section %s, want both", key, rt.Section)
			}
		case rt.Section == SectionPlatform:
			if rt.Permission != PermissionPlatform {
				t.Errorf("platform route %s declares %q, want %q", key, rt.Permission, PermissionPlatform)
			}
		case rt.Section == SectionTenant:
			if !slices.Contains(az.Permissions(), rt.Permission) || rt.Permission == authz.Self {
				t.Errorf("tenant route %s declares %q, not a staff permission of the policy", key, rt.Permission)
			}
		default:
			t.Errorf("%s: section %q with permission %q", key, rt.Section, rt.Permission)
		}
	}
	for _, key := range public {
		if !seen[key+" "+string(SectionBoth)] {
			t.Errorf("public route %s is missing", key)
		}
	}
}

// routeTarget is a path that route pattern p matches.
func routeTarget(p string) string {
	return strings.NewReplacer("{$}", "", "{slug}", "no-such-tenant", "{id}", "0190a0a0-0000-7000-8000-000000000000",
		"{type}", "post.created").Replace(p)
}

// TestRoutes_Enforced checks every route of the table against the
// enforcement point: signed out, with the wrong section's session, and
// with roles that do and do not hold its permission.
func TestRoutes_Enforced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	mod := b.member(t, tn, tn.email("mod"), authz.RoleModerator)
	staff := b.browser(t)
	staff.signIn(t, tn.base, mod.Email)
	admin := b.browser(t)
	admin.signInAdmin(t)
	az, _ := authz.New()

	for _, rt := range Routes() {
		if rt.Permission == PermissionPublic {
			continue
		}
		base := ""
		if rt.Section == SectionTenant {
			base = tn.base
		}
		target := base + routeTarget(rt.Pattern)
		var form url.Values
		if rt.Method == http.MethodPost {
			form = url.Values{}
		}
		t.Run(rt.Method+strings.ReplaceAll(rt.Pattern, "/", "_")+"_"+string(rt.Section), func(t *testing.T) {
			w := b.browser(t).do(t, rt.Method, target, form, nil)
			if w.Code != http.StatusSeeOther || !strings.HasPrefix(location(w), base+"/console/sign-in") {
				t.Errorf("signed out: %s %s = %d to %q, want 303 to sign-in", rt.Method, target, w.Code, location(w))
			}
			if rt.Method == http.MethodGet {
				want := base + "/console/sign-in?next=" + url.QueryEscape(routeTarget(rt.Pattern))
				if location(w) != want {
					t.Errorf("signed out: GET %s redirects to %q, want %q", target, location(w), want)
				}
			}
			switch rt.Section {
			case SectionPlatform:
				// A tenant's staff have no session on the platform.
				w := staff.do(t, rt.Method, target, form, nil)
				if w.Code != http.StatusSeeOther || !strings.HasPrefix(location(w), "/console/sign-in") {
					t.Errorf("tenant staff: %s %s = %d, want 303 to sign-in", rt.Method, target, w.Code)
				}
			case SectionTenant:
				w := staff.do(t, rt.Method, target, form, nil)
				may := az.RoleCan(tn.ID.String(), authz.RoleModerator, rt.Permission)
				if refused := w.Code == http.StatusForbidden; refused == may || w.Code == http.StatusSeeOther && strings.Contains(location(w), "sign-in") {
					t.Errorf("moderator: %s %s = %d, want it refused (403) = %v", rt.Method, target, w.Code, !may)
				}
				if !may && doc(t, w).Find(testID("error-page")).Length() != 1 {
					t.Errorf("moderator: 403 for %s %s is not the readable page", rt.Method, target)
				}
				// A platform admin may do anything in a tenant.
				w = admin.do(t, rt.Method, target, form, nil)
				if w.Code == http.StatusForbidden || w.Code == http.StatusSeeOther && strings.Contains(location(w), "sign-in") {
					t.Errorf("platform admin: %s %s = %d to %q", rt.Method, target, w.Code, location(w))
				}
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/console/members?role=admin", "/console/members?role=admin"},
		{"/console/", "/console/"},
		{"/console", "/console/"},
		{"/console/a/../members", "/console/members"},
		{"", ""},
		{"https://evil.example/console/", ""},
		{"//evil.example/console/", ""},
		{"/\\evil.example", ""},
		{"/console/../../evil", ""},
		{"/api/v1/members", ""},
		{"/console/sign-in?next=/console/", ""},
		{"javascript:alert(1)", ""},
		{"/console/members\r\nSet-Cookie: x=y", ""},
		{"console/members", ""},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSignIn_Staff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.followChanges(t)
	tn := b.newTenant(t)

	t.Run("RedirectsThenSignsIn", func(t *testing.T) {
		t.Parallel()
		br := b.browser(t)
		w := br.get(t, tn.base+"/console/audit?action=member.")
		want := tn.base + "/console/sign-in?next=" + url.QueryEscape("/console/audit?action=member.")
		if w.Code != http.StatusSeeOther || location(w) != want {
			t.Fatalf("GET audit signed out = %d to %q, want 303 to %q", w.Code, location(w), want)
		}
		d := doc(t, br.get(t, location(w)))
		form := d.Find(testID("sign-in-form"))
		if form.Find("#email").Length() != 1 || form.Find("#password").Length() != 1 || form.Find(testID("sign-in")).Length() != 1 {
			t.Fatalf("sign-in form lacks #email, #password or the sign-in button")
		}
		if got := form.AttrOr("action", ""); got != tn.base+"/console/sign-in" {
			t.Errorf("form action = %q", got)
		}
		if got := form.Find(`input[name="next"]`).AttrOr("value", ""); got != "/console/audit?action=member." {
			t.Errorf("next = %q", got)
		}
		if !strings.Contains(text(d.Find("h1")), tn.Name) {
			t.Errorf("heading %q does not name the tenant", text(d.Find("h1")))
		}
		w = br.post(t, tn.base+"/console/sign-in", url.Values{"email": {tn.owner.Email}, "password": {password}, "next": {"/console/audit?action=member."}})
		if w.Code != http.StatusSeeOther || location(w) != tn.base+"/console/audit?action=member." {
			t.Fatalf("sign in = %d to %q, want 303 to the audit page; body:\n%s", w.Code, location(w), w.Body.String())
		}
		var ck *http.Cookie
		for _, c := range w.Result().Cookies() {
			if c.Name == cookieTenant {
				ck = c
			}
		}
		if ck == nil || ck.Path != tn.base+"/" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.MaxAge <= 0 {
			t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path %s/, not Secure over http, with a lifetime", ck, tn.base)
		}
		d = doc(t, br.get(t, location(w)))
		if got := text(d.Find(testID("signed-in-as"))); got != tn.owner.Email {
			t.Errorf("signed-in-as = %q, want %q", got, tn.owner.Email)
		}
		for _, id := range []string{"nav-members", "nav-invitations", "nav-api-keys", "nav-audit", "nav-settings"} {
			if d.Find(testID(id)).Length() != 1 {
				t.Errorf("owner's navigation has no %s", id)
			}
		}
		// Signed in, the sign-in page sends the browser on.
		if w := br.get(t, tn.base+"/console/sign-in"); w.Code != http.StatusSeeOther || location(w) != tn.base+"/console/" {
			t.Errorf("sign-in page when signed in = %d to %q", w.Code, location(w))
		}
		// Signing out ends the session.
		w = br.post(t, tn.base+"/console/sign-out", url.Values{})
		if w.Code != http.StatusSeeOther || location(w) != tn.base+"/console/sign-in" {
			t.Errorf("sign out = %d to %q", w.Code, location(w))
		}
		if _, ok := br.cookie(tn.base+"/", cookieTenant); ok {
			t.Errorf("session cookie kept after sign-out")
		}
		eventually(t, 2*time.Second, func() bool {
			r := request(t, http.MethodGet, tn.base+"/console/members", nil, nil)
			r.AddCookie(ck)
			return serveRaw(b, r).Code == http.StatusSeeOther
		}, "the cookie still works after signing out")
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		br := b.browser(t)
		for _, form := range []url.Values{
			{"email": {tn.owner.Email}, "password": {"not the password"}},
			{"email": {"nobody@example.com"}, "password": {password}},
			{"email": {"not an email"}, "password": {""}},
		} {
			w := br.post(t, tn.base+"/console/sign-in", form)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("sign in with %v = %d, want 401", form, w.Code)
			}
			d := doc(t, w)
			if got := text(d.Find(testID("form-error"))); got != "Email or password is incorrect." {
				t.Errorf("form-error = %q", got)
			}
			if got := d.Find("#email").AttrOr("value", ""); got != form.Get("email") {
				t.Errorf("#email = %q, want what was typed", got)
			}
			if len(w.Result().Cookies()) != 0 {
				t.Errorf("failed sign-in set cookies %v", w.Result().Cookies())
			}
		}
	})

	t.Run("MemberIsNotStaff", func(t *testing.T) {
		t.Parallel()
		m := b.member(t, tn, tn.email("member"), authz.RoleMember)
		br := b.browser(t)
		w := br.post(t, tn.base+"/console/sign-in", url.Values{"email": {m.Email}, "password": {password}})
		if w.Code != http.StatusForbidden {
			t.Fatalf("member sign-in = %d, want 403", w.Code)
		}
		if got := text(doc(t, w).Find(testID("form-error"))); got != identity.ErrNotStaff.Message {
			t.Errorf("form-error = %q, want %q", got, identity.ErrNotStaff.Message)
		}
		if _, ok := br.cookie(tn.base+"/", cookieTenant); ok {
			t.Errorf("member got a console cookie")
		}
	})

	t.Run("OpenRedirectRefused", func(t *testing.T) {
		t.Parallel()
		br := b.browser(t)
		w := br.post(t, tn.base+"/console/sign-in", url.Values{"email": {tn.owner.Email}, "password": {password}, "next": {"https://evil.example/"}})
		if w.Code != http.StatusSeeOther || location(w) != tn.base+"/console/" {
			t.Errorf("sign in with an outside next = %d to %q, want the console's home", w.Code, location(w))
		}
	})

	t.Run("SecureOverTLS", func(t *testing.T) {
		t.Parallel()
		r := request(t, http.MethodPost, tn.base+"/console/sign-in", url.Values{"email": {tn.owner.Email}, "password": {password}}, nil)
		r.URL.Scheme = "https"
		w := serveRaw(b, r)
		var ok bool
		for _, c := range w.Result().Cookies() {
			ok = ok || c.Name == cookieTenant && c.Secure
		}
		if !ok {
			t.Errorf("session cookie over https is not Secure: %v", w.Result().Cookies())
		}
	})
}

func TestSignIn_MFA(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	e, err := b.ids.EnrollTOTP(tn.owner.ctx)
	if err != nil {
		t.Fatalf("EnrollTOTP() = %v", err)
	}
	if _, err := b.ids.ConfirmTOTP(tn.owner.ctx, identity.TOTPCode(e.Secret, b.clock.Now())); err != nil {
		t.Fatalf("ConfirmTOTP() = %v", err)
	}
	b.clock.Advance(30 * time.Second) // the confirming code is used

	br := b.browser(t)
	w := br.post(t, tn.base+"/console/sign-in", url.Values{"email": {tn.owner.Email}, "password": {password}, "next": {"/console/settings"}})
	want := tn.base + "/console/sign-in/mfa?next=" + url.QueryEscape("/console/settings")
	if w.Code != http.StatusSeeOther || location(w) != want {
		t.Fatalf("password = %d to %q, want 303 to %q", w.Code, location(w), want)
	}
	if _, ok := br.cookie(tn.base+"/", cookieTenant); ok {
		t.Fatalf("session cookie before the code")
	}
	if w := br.get(t, tn.base+"/console/settings"); w.Code != http.StatusSeeOther {
		t.Errorf("settings before the code = %d, want 303 to sign-in", w.Code)
	}
	d := doc(t, br.get(t, location(w)))
	if d.Find(testID("mfa-form")+" #code").Length() != 1 {
		t.Fatalf("no #code in the MFA form")
	}
	next := d.Find(`input[name="next"]`).AttrOr("value", "")

	w = br.post(t, tn.base+"/console/sign-in/mfa", url.Values{"code": {"000000"}, "next": {next}})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("wrong code = %d, want 401", w.Code)
	}
	if got := text(doc(t, w).Find(testID("form-error"))); got != identity.ErrBadCode.Message {
		t.Errorf("form-error = %q", got)
	}
	w = br.post(t, tn.base+"/console/sign-in/mfa", url.Values{"code": {identity.TOTPCode(e.Secret, b.clock.Now())}, "next": {next}})
	if w.Code != http.StatusSeeOther || location(w) != tn.base+"/console/settings" {
		t.Fatalf("right code = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
	}
	if _, ok := br.cookie(tn.base+"/console/", cookieMFA); ok {
		t.Errorf("MFA cookie kept after sign-in")
	}
	if w := br.get(t, tn.base+"/console/settings"); w.Code != http.StatusOK {
		t.Errorf("settings after the code = %d, want 200", w.Code)
	}

	// Without a pending sign-in there is no code to enter.
	if w := b.browser(t).get(t, tn.base+"/console/sign-in/mfa"); w.Code != http.StatusSeeOther || location(w) != tn.base+"/console/sign-in" {
		t.Errorf("MFA page without a pending sign-in = %d to %q", w.Code, location(w))
	}
}

func TestSignIn_TenantIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, other := b.newTenant(t), b.newTenant(t)
	br := b.browser(t)
	br.signIn(t, a.base, a.owner.Email)
	if w := br.get(t, a.base+"/console/members"); w.Code != http.StatusOK {
		t.Fatalf("own tenant = %d, want 200", w.Code)
	}
	// The browser does not send /t/a/'s cookie to /t/b/ ...
	if w := br.get(t, other.base+"/console/members"); w.Code != http.StatusSeeOther {
		t.Errorf("other tenant with the browser's cookies = %d, want 303 to sign-in", w.Code)
	}
	// ... and the server refuses it when it is sent anyway.
	ck, ok := br.cookie(a.base+"/", cookieTenant)
	if !ok {
		t.Fatal("no session cookie")
	}
	r := request(t, http.MethodGet, other.base+"/console/members", nil, nil)
	r.AddCookie(ck)
	if w := serveRaw(b, r); w.Code != http.StatusSeeOther || !strings.HasPrefix(location(w), other.base+"/console/sign-in") {
		t.Errorf("tenant A's cookie at tenant B = %d to %q, want 303 to B's sign-in", w.Code, location(w))
	}
	// Nor is a tenant session a platform one.
	r = request(t, http.MethodGet, "/console/tenants", nil, nil)
	r.AddCookie(&http.Cookie{Name: cookiePlatform, Value: ck.Value})
	if w := serveRaw(b, r); w.Code != http.StatusSeeOther {
		t.Errorf("tenant cookie as the platform cookie = %d, want 303 to sign-in", w.Code)
	}
}

func TestSignIn_Throttled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	limits := identity.DefaultLimits
	limits.SignInPerMinute = 2
	if _, err := b.ids.SetLimits(tn.owner.ctx, limits); err != nil {
		t.Fatalf("SetLimits() = %v", err)
	}
	br := b.browser(t)
	bad := url.Values{"email": {tn.owner.Email}, "password": {"wrong password"}}
	for range 2 {
		if w := br.post(t, tn.base+"/console/sign-in", bad); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt = %d, want 401", w.Code)
		}
	}
	w := br.post(t, tn.base+"/console/sign-in", url.Values{"email": {tn.owner.Email}, "password": {password}})
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third attempt in a minute = %d, want 429", w.Code)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	if got := text(doc(t, w).Find(testID("form-error"))); !strings.HasPrefix(got, "Too many requests. Try again in") {
		t.Errorf("form-error = %q, want how long to wait", got)
	}
	if _, ok := br.cookie(tn.base+"/", cookieTenant); ok {
		t.Errorf("a throttled sign-in signed in")
	}
	// Another client, and the platform, have their own buckets.
	b.browser(t).signIn(t, tn.base, tn.owner.Email)
	b.browser(t).signInAdmin(t)
}

func TestSignIn_Platform(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	br := b.browser(t)

	w := br.post(t, "/console/sign-in", url.Values{"email": {b.adminEmail}, "password": {"wrong password"}})
	if w.Code != http.StatusUnauthorized || text(doc(t, w).Find(testID("form-error"))) != "Email or password is incorrect." {
		t.Errorf("wrong admin password = %d, %q", w.Code, text(doc(t, w).Find(testID("form-error"))))
	}
	// A tenant's owner is not a platform admin.
	if w := br.post(t, "/console/sign-in", url.Values{"email": {tn.owner.Email}, "password": {password}}); w.Code != http.StatusUnauthorized {
		t.Errorf("tenant owner at the platform = %d, want 401", w.Code)
	}

	w = br.post(t, "/console/sign-in", url.Values{"email": {b.adminEmail}, "password": {password}})
	if w.Code != http.StatusSeeOther || location(w) != "/console/" {
		t.Fatalf("admin sign-in = %d to %q", w.Code, location(w))
	}
	var ck *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == cookiePlatform {
			ck = c
		}
	}
	if ck == nil || ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 {
		t.Fatalf("platform cookie = %+v", ck)
	}
	d := doc(t, br.get(t, "/console/tenants?after="+tn.Slug[:len(tn.Slug)-1]))
	row := d.Find(testID("tenant-row-" + tn.Slug))
	if row.Length() != 1 {
		t.Fatalf("tenant %s not listed", tn.Slug)
	}
	href := row.Find(testID("console-link")).AttrOr("href", "")
	if href != tn.base+"/console/" {
		t.Fatalf("console-link = %q", href)
	}

	// Into the tenant's console, acting as the platform admin: its home is
	// the dashboard, which leads to the members.
	w = br.get(t, href)
	if w.Code != http.StatusOK {
		t.Fatalf("tenant console home = %d", w.Code)
	}
	if got := doc(t, w).Find(testID("nav-members")).AttrOr("href", ""); got != tn.base+"/console/members" {
		t.Fatalf("nav-members = %q", got)
	}
	w = br.get(t, tn.base+"/console/members")
	if w.Code != http.StatusOK {
		t.Fatalf("tenant members as platform admin = %d", w.Code)
	}
	d = doc(t, w)
	if d.Find(testID("member-row-"+tn.owner.Email)).Length() != 1 {
		t.Errorf("owner not listed")
	}
	if d.Find(testID("nav-platform")).Length() != 1 || d.Find(testID("nav-settings")).Length() != 1 {
		t.Errorf("platform admin in a tenant lacks nav-platform or nav-settings")
	}
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	w = br.post(t, tn.base+"/console/members/"+m.ID.String()+"/role", url.Values{"role": {"admin"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("role change by platform admin = %d; body:\n%s", w.Code, w.Body.String())
	}
	if got := b.role(t, tn, m.ID).Role; got != "admin" {
		t.Errorf("role = %s, want admin", got)
	}
	page, err := b.audit.List(tn.ctx, audit.ListParams{Action: "member.role_changed"})
	if err != nil || len(page.Events) == 0 || page.Events[0].Actor != "platform_admin:"+b.adminEmail {
		t.Errorf("role change audited as %+v, %v; want by platform_admin:%s", page.Events, err, b.adminEmail)
	}
	// The platform session is not a tenant session elsewhere: the platform
	// pages refuse tenant paths' sessions and vice versa is covered above.
	if w := br.get(t, "/console/two-step"); w.Code != http.StatusOK {
		t.Errorf("two-step page = %d", w.Code)
	}
}

func TestTwoStep_Platform(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.signInAdmin(t)

	d := doc(t, br.get(t, "/console/two-step"))
	if !strings.Contains(text(d.Find(testID("two-step-status"))), "off") || d.Find(testID("start-two-step")).Length() != 1 {
		t.Fatalf("two-step page does not offer to start")
	}
	w := br.post(t, "/console/two-step", url.Values{})
	if w.Code != http.StatusOK {
		t.Fatalf("start = %d", w.Code)
	}
	d = doc(t, w)
	if src := d.Find(testID("two-step-qr")).AttrOr("src", ""); !strings.HasPrefix(src, "data:image/png;base64,iVBOR") {
		t.Errorf("QR src = %.40q, want a PNG data URL", src)
	}
	secret := text(d.Find(testID("two-step-secret")))
	if len(secret) < 16 {
		t.Fatalf("secret = %q", secret)
	}
	w = br.post(t, "/console/two-step/confirm", url.Values{"code": {"000000"}})
	if w.Code != http.StatusUnprocessableEntity || text(doc(t, w).Find(testID("form-error"))) != "The code is not right." {
		t.Errorf("wrong code = %d, %q", w.Code, text(doc(t, w).Find(testID("form-error"))))
	}
	w = br.post(t, "/console/two-step/confirm", url.Values{"code": {identity.TOTPCode(secret, b.clock.Now())}})
	if w.Code != http.StatusSeeOther || location(w) != "/console/two-step?done=1" {
		t.Fatalf("confirm = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
	}
	if got := text(doc(t, br.get(t, location(w))).Find(testID("two-step-status"))); !strings.Contains(got, "on") {
		t.Errorf("status after confirming = %q", got)
	}

	// The next sign-in asks for a code.
	b.clock.Advance(30 * time.Second)
	br2 := b.browser(t)
	w = br2.post(t, "/console/sign-in", url.Values{"email": {b.adminEmail}, "password": {password}, "next": {"/console/tenants"}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(location(w), "/console/sign-in/mfa") {
		t.Fatalf("sign-in with two-step = %d to %q", w.Code, location(w))
	}
	if _, ok := br2.cookie("/", cookiePlatform); ok {
		t.Errorf("platform cookie before the code")
	}
	w = br2.post(t, "/console/sign-in/mfa", url.Values{"code": {identity.TOTPCode(secret, b.clock.Now())}, "next": {"/console/tenants"}})
	if w.Code != http.StatusSeeOther || location(w) != "/console/tenants" {
		t.Fatalf("code = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
	}
	if w := br2.get(t, "/console/tenants"); w.Code != http.StatusOK {
		t.Errorf("tenants after two-step sign-in = %d", w.Code)
	}
}

func TestSignOut_PlatformAdminInTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	br := b.browser(t)
	br.signInAdmin(t)
	if w := br.post(t, tn.base+"/console/sign-out", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("sign out = %d", w.Code)
	}
	if w := br.get(t, "/console/tenants"); w.Code != http.StatusSeeOther {
		t.Errorf("platform after signing out in a tenant = %d, want 303 to sign-in", w.Code)
	}
}

// serveRaw serves r through the bundle, without a browser's cookies.
func serveRaw(b *testBundle, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	b.front().ServeHTTP(w, r)
	return w
}
