package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

func TestWeb_SignUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, base := range bases {
		t.Run(base.name, func(t *testing.T) {
			tn := b.createTenant(t, tenants.CreateParams{})
			br := b.browser(t, tn, base.ownHost)

			p := br.get("/sign-up")
			if p.Code != http.StatusOK {
				t.Fatalf("GET /sign-up = %d", p.Code)
			}
			f := p.find("sign-up-form")
			if got := f.AttrOr("action", ""); got != br.base+"/sign-up" {
				t.Errorf("form action = %q, want %q", got, br.base+"/sign-up")
			}
			for _, id := range []string{"display_name", "email", "password"} {
				if f.Find("input#"+id+"[name="+id+"]").Length() != 1 {
					t.Errorf("sign-up form has no input %s", id)
				}
			}

			p = br.post("/sign-up", url.Values{"display_name": {""}, "email": {"not an address"}, "password": {"short"}})
			if p.Code != http.StatusUnprocessableEntity {
				t.Fatalf("invalid sign-up = %d, want 422", p.Code)
			}
			for _, id := range []string{"error-display_name", "error-email", "error-password"} {
				if p.text(id) == "" {
					t.Errorf("invalid sign-up shows no %s", id)
				}
			}
			if got := p.find("sign-up-form").Find("input#email").AttrOr("value", ""); got != "not an address" {
				t.Errorf("email shown again = %q", got)
			}
			if got := p.find("sign-up-form").Find("input#password").AttrOr("value", ""); got != "" {
				t.Errorf("password shown again = %q, want nothing", got)
			}

			p = br.post("/sign-up", url.Values{"display_name": {"Ada"}, "email": {"ada@example.com"}, "password": {testPassword}})
			if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location(), br.base+"/verify?") {
				t.Fatalf("sign-up = %d to %q, want 303 to %s/verify", p.Code, p.Location(), br.base)
			}
			p = br.follow(p)
			if got := p.find("verify-form").Find("input#email").AttrOr("value", ""); got != "ada@example.com" {
				t.Errorf("verify form email = %q, want it prefilled", got)
			}
			code := b.lastCode(t, "ada@example.com")

			p = br.post("/verify", url.Values{"email": {"ada@example.com"}, "code": {otherCode(code)}})
			if p.Code != http.StatusUnprocessableEntity || p.text("form-error") != identity.ErrBadCode.Message {
				t.Errorf("wrong code = %d %q, want 422 %q", p.Code, p.text("form-error"), identity.ErrBadCode.Message)
			}
			if br.session() != "" {
				t.Errorf("a wrong code signed in")
			}

			p = br.post("/verify", url.Values{"email": {"ada@example.com"}, "code": {code}})
			if p.Code != http.StatusSeeOther || p.Location() != br.base+"/?notice=welcome" {
				t.Fatalf("verify = %d to %q, want 303 to %s/?notice=welcome", p.Code, p.Location(), br.base)
			}
			c := p.cookie(SessionCookie)
			if c == nil {
				t.Fatal("verify set no session cookie")
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != br.base+"/" || c.Secure ||
				c.MaxAge < 29*24*3600 || c.MaxAge > 31*24*3600 {
				t.Errorf("session cookie = %+v, want HttpOnly, Lax, path %s/, about 30 days, not Secure over http", c, br.base)
			}
			p = br.follow(p)
			if got := p.text("current-user"); got != "Ada" {
				t.Errorf("current-user = %q, want Ada", got)
			}
			if p.text("notice") == "" {
				t.Errorf("no welcome notice")
			}
			if got := p.find("profile-link").AttrOr("href", ""); got != br.base+"/profile" {
				t.Errorf("profile link = %q", got)
			}
			if got := p.find("sign-out-form").AttrOr("action", ""); got != br.base+"/sign-out" {
				t.Errorf("sign-out form action = %q", got)
			}
		})
	}
}

func TestWeb_VerifyResend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.browser(t, tn, false)
	br.submit("/sign-up", url.Values{"display_name": {"Ada"}, "email": {"ada@example.com"}, "password": {testPassword}})
	first := b.lastCode(t, "ada@example.com")
	p := br.submit("/verify/resend", url.Values{"email": {"ada@example.com"}})
	if p.text("notice") == "" || p.find("verify-form").Length() != 1 {
		t.Errorf("resend answered no notice or no form")
	}
	if len(b.outbox.Emails()) != 2 {
		t.Fatalf("emails = %d, want 2", len(b.outbox.Emails()))
	}
	second := b.lastCode(t, "ada@example.com")
	if first != second {
		if p := br.post("/verify", url.Values{"email": {"ada@example.com"}, "code": {first}}); p.Code != http.StatusUnprocessableEntity {
			t.Errorf("the replaced code = %d, want 422", p.Code)
		}
	}
	br.submit("/verify", url.Values{"email": {"ada@example.com"}, "code": {second}})
	if br.currentUser() != "Ada" {
		t.Errorf("not signed in with the new code")
	}
}

func TestWeb_SignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	b.account(t, tn, "ada@example.com", "Ada")

	t.Run("WrongPasswordAndUnknownEmailAlike", func(t *testing.T) {
		br := b.browser(t, tn, false)
		wrong := br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {"not the password"}})
		unknown := br.post("/sign-in", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
		if wrong.Code != http.StatusUnprocessableEntity || wrong.Code != unknown.Code {
			t.Errorf("status: wrong password %d, unknown email %d, want both 422", wrong.Code, unknown.Code)
		}
		if w, u := wrong.text("form-error"), unknown.text("form-error"); w != identity.ErrBadCredentials.Message || w != u {
			t.Errorf("messages: wrong password %q, unknown email %q, want both %q", w, u, identity.ErrBadCredentials.Message)
		}
		if wrong.find("sign-in-form").Length() != 1 || wrong.find("sign-in-form").Find("input#password").AttrOr("value", "") != "" {
			t.Errorf("the form is not shown again, or shows the password")
		}
		if br.session() != "" {
			t.Errorf("a failed sign-in set a session")
		}
	})

	t.Run("Blank", func(t *testing.T) {
		br := b.browser(t, tn, true)
		p := br.post("/sign-in", url.Values{"email": {""}, "password": {""}})
		if p.Code != http.StatusUnprocessableEntity || p.text("error-email") == "" || p.text("error-password") == "" {
			t.Errorf("blank sign-in = %d, email %q, password %q", p.Code, p.text("error-email"), p.text("error-password"))
		}
	})

	t.Run("Success", func(t *testing.T) {
		for _, base := range bases {
			br := b.browser(t, tn, base.ownHost)
			p := br.post("/sign-in", url.Values{"email": {"Ada@Example.com"}, "password": {testPassword}})
			if p.Code != http.StatusSeeOther || p.Location() != br.base+"/" {
				t.Fatalf("%s: sign-in = %d to %q, want 303 to %s/", base.name, p.Code, p.Location(), br.base)
			}
			if got := br.currentUser(); got != "Ada" {
				t.Errorf("%s: current-user = %q", base.name, got)
			}
			// A signed-in user has no business on the sign-in page.
			if p := br.get("/sign-in"); p.Code != http.StatusSeeOther {
				t.Errorf("%s: GET /sign-in signed in = %d, want 303", base.name, p.Code)
			}
		}
	})

	t.Run("Next", func(t *testing.T) {
		tests := []struct{ next, want string }{
			{"/profile", "/profile"},
			{"/feed?x=1", "/feed?x=1"},
			{"https://evil.example/", "/"},
			{"//evil.example/", "/"},
			{`/\evil.example`, "/"},
		}
		for _, tt := range tests {
			br := b.browser(t, tn, false)
			p := br.get("/sign-in?next=" + url.QueryEscape(tt.next))
			want := safeNext(tt.next)
			if got := p.find("sign-in-form").Find("input[name=next]").AttrOr("value", ""); got != want {
				t.Errorf("next %q: hidden next = %q, want %q", tt.next, got, want)
			}
			p = br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {tt.next}})
			if p.Location() != br.base+tt.want {
				t.Errorf("next %q: sign-in goes to %q, want %q", tt.next, p.Location(), br.base+tt.want)
			}
		}
	})

	t.Run("Unverified", func(t *testing.T) {
		// A tenant of its own: the ones above used up the sign-in budget.
		tn := b.createTenant(t, tenants.CreateParams{})
		ctx := tenants.WithContext(t.Context(), tn, "")
		if err := b.identity.SignUp(ctx, identity.SignUpParams{Email: "new@example.com", Password: testPassword, DisplayName: "New"}); err != nil {
			t.Fatal(err)
		}
		br := b.browser(t, tn, false)
		p := br.post("/sign-in", url.Values{"email": {"new@example.com"}, "password": {testPassword}, "next": {"/profile"}})
		if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location(), br.base+"/verify?") {
			t.Fatalf("unverified sign-in = %d to %q, want 303 to /verify", p.Code, p.Location())
		}
		p = br.follow(p)
		if p.text("notice") != notices["unverified"] {
			t.Errorf("notice = %q, want %q", p.text("notice"), notices["unverified"])
		}
		f := p.find("verify-form")
		if f.Find("input#email").AttrOr("value", "") != "new@example.com" || f.Find("input[name=next]").AttrOr("value", "") != "/profile" {
			t.Errorf("verify form does not carry the email and next")
		}
		p = br.post("/verify", url.Values{"email": {"new@example.com"}, "code": {b.lastCode(t, "new@example.com")}, "next": {"/profile"}})
		if p.Location() != br.base+"/profile" {
			t.Errorf("verify goes to %q, want %s/profile", p.Location(), br.base)
		}
	})
}

func TestWeb_SignInWithCode(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	b.account(t, tn, "ada@example.com", "Ada")
	br := b.browser(t, tn, false)
	emails := len(b.outbox.Emails())

	p := br.get("/sign-in")
	if got := p.find("code-link").AttrOr("href", ""); got != br.base+"/sign-in/code" {
		t.Errorf("code link = %q", got)
	}
	p = br.get("/sign-in/code")
	if p.find("code-form").Find("input#email").Length() != 1 {
		t.Fatalf("step 1 has no email input")
	}
	unknown := br.post("/sign-in/code", url.Values{"step": {"request"}, "email": {"nobody@example.com"}})
	p = br.post("/sign-in/code", url.Values{"step": {"request"}, "email": {"ada@example.com"}})
	if p.Code != http.StatusOK || unknown.Code != p.Code || p.text("notice") != unknown.text("notice") {
		t.Errorf("code request: known %d %q, unknown %d %q, want the same answer", p.Code, p.text("notice"), unknown.Code, unknown.text("notice"))
	}
	if got := len(b.outbox.Emails()) - emails; got != 1 {
		t.Errorf("emails sent = %d, want 1 (none to an unknown address)", got)
	}
	f := p.find("code-form")
	if f.Find("input#code").Length() != 1 || f.Find("input[name=email]").AttrOr("value", "") != "ada@example.com" {
		t.Fatalf("step 2 has no code input or lost the email")
	}
	code := b.lastCode(t, "ada@example.com")
	p = br.post("/sign-in/code", url.Values{"step": {"verify"}, "email": {"ada@example.com"}, "code": {otherCode(code)}})
	if p.Code != http.StatusUnprocessableEntity || p.text("form-error") != identity.ErrBadCode.Message {
		t.Errorf("wrong code = %d %q", p.Code, p.text("form-error"))
	}
	p = br.post("/sign-in/code", url.Values{"step": {"verify"}, "email": {"ada@example.com"}, "code": {code}})
	if p.Code != http.StatusSeeOther || p.Location() != br.base+"/" {
		t.Fatalf("code sign-in = %d to %q", p.Code, p.Location())
	}
	if br.currentUser() != "Ada" {
		t.Errorf("not signed in")
	}
}

func TestWeb_MFA(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.signedInBrowser(t, tn, false, "ada@example.com", "Ada")

	// Enrol on the profile page.
	p := br.get("/profile")
	if p.text("totp-status") == "" || p.find("totp-enroll").Length() != 1 {
		t.Fatalf("profile has no enrol form")
	}
	p = br.post("/profile/totp", url.Values{})
	if p.Code != http.StatusOK {
		t.Fatalf("enrol = %d", p.Code)
	}
	if src := p.find("totp-qr").AttrOr("src", ""); !strings.HasPrefix(src, "data:image/png;base64,iVBOR") {
		t.Errorf("QR src = %.40q, want a PNG data URL", src)
	}
	secret := p.text("totp-secret")
	if len(secret) < 16 {
		t.Fatalf("secret = %q", secret)
	}
	confirm := func(code string) url.Values {
		f := p.find("totp-confirm-form")
		return url.Values{"totp_code": {code}, "secret": {f.Find("input[name=secret]").AttrOr("value", "")}, "qr": {f.Find("input[name=qr]").AttrOr("value", "")}}
	}
	wrong := otherCode(identity.TOTPCode(secret, b.clock.Now()))
	q := br.post("/profile/totp/confirm", confirm(wrong))
	if q.Code != http.StatusUnprocessableEntity || q.text("error-totp_code") == "" {
		t.Errorf("wrong first code = %d %q, want 422 with error-totp_code", q.Code, q.text("error-totp_code"))
	}
	if q.text("totp-secret") != secret || q.find("totp-qr").Length() != 1 {
		t.Errorf("the enrolment is not shown again after a wrong code")
	}
	p = br.post("/profile/totp/confirm", confirm(identity.TOTPCode(secret, b.clock.Now())))
	if p.Code != http.StatusOK {
		t.Fatalf("confirm = %d %q", p.Code, p.text("form-error"))
	}
	var recovery []string
	p.find("recovery-codes").Find("li").Each(func(_ int, s *goquery.Selection) { recovery = append(recovery, text(s)) })
	if len(recovery) != 10 {
		t.Fatalf("recovery codes = %v, want 10", recovery)
	}
	if br.get("/profile").find("recovery-codes").Length() != 0 {
		t.Errorf("recovery codes shown twice")
	}

	// Sign-in now asks for the code.
	br.submit("/sign-out", url.Values{})
	p = br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {"/profile"}})
	if p.Code != http.StatusSeeOther || p.Location() != br.base+"/sign-in/mfa?next=%2Fprofile" {
		t.Fatalf("sign-in with TOTP = %d to %q, want the MFA page", p.Code, p.Location())
	}
	if c := p.cookie(MFACookie); c == nil || !c.HttpOnly || c.Path != br.base+"/" || c.MaxAge != 300 || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("MFA cookie = %+v, want HttpOnly, Lax, path %s/, 5 minutes", c, br.base)
	}
	if p.cookie(SessionCookie) != nil || br.session() != "" {
		t.Errorf("a session before the second factor")
	}
	p = br.follow(p)
	if p.find("mfa-form").Find("input#code").Length() != 1 {
		t.Fatalf("no MFA form")
	}
	b.clock.Advance(30 * time.Second)
	code := identity.TOTPCode(secret, b.clock.Now())
	p = br.post("/sign-in/mfa", url.Values{"code": {otherCode(code)}, "next": {"/profile"}})
	if p.Code != http.StatusUnprocessableEntity || p.text("form-error") != identity.ErrBadCode.Message {
		t.Errorf("wrong TOTP = %d %q", p.Code, p.text("form-error"))
	}
	p = br.post("/sign-in/mfa", url.Values{"code": {code}, "next": {"/profile"}})
	if p.Code != http.StatusSeeOther || p.Location() != br.base+"/profile" {
		t.Fatalf("MFA = %d to %q", p.Code, p.Location())
	}
	if c := p.cookie(MFACookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("MFA cookie not cleared: %+v", c)
	}
	if br.currentUser() != "Ada" {
		t.Fatalf("not signed in after MFA")
	}

	// The same code twice is refused.
	br.submit("/sign-out", url.Values{})
	br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	p = br.post("/sign-in/mfa", url.Values{"code": {code}})
	if p.Code != http.StatusUnprocessableEntity || br.session() != "" {
		t.Errorf("replayed TOTP = %d, session %v, want 422 and none", p.Code, br.session() != "")
	}
	// A recovery code works, once.
	p = br.post("/sign-in/mfa", url.Values{"code": {recovery[0]}})
	if p.Code != http.StatusSeeOther || br.currentUser() != "Ada" {
		t.Fatalf("recovery code = %d", p.Code)
	}

	// New recovery codes, then off with one of them.
	b.clock.Advance(30 * time.Second)
	p = br.post("/profile/totp/recovery-codes", url.Values{"regenerate_code": {identity.TOTPCode(secret, b.clock.Now())}})
	var fresh []string
	p.find("recovery-codes").Find("li").Each(func(_ int, s *goquery.Selection) { fresh = append(fresh, text(s)) })
	if p.Code != http.StatusOK || len(fresh) != 10 || fresh[0] == recovery[0] {
		t.Fatalf("regenerate = %d, %v", p.Code, fresh)
	}
	p = br.post("/profile/totp/disable", url.Values{"disable_code": {recovery[1]}})
	if p.Code != http.StatusUnprocessableEntity || p.text("error-disable_code") == "" {
		t.Errorf("disable with an old recovery code = %d, want 422 with error-disable_code", p.Code)
	}
	p = br.submit("/profile/totp/disable", url.Values{"disable_code": {fresh[1]}})
	if p.text("notice") != notices["totp-disabled"] || p.find("totp-enroll").Length() != 1 {
		t.Errorf("after disabling: notice %q, enrol form %d", p.text("notice"), p.find("totp-enroll").Length())
	}
	br.submit("/sign-out", url.Values{})
	if p := br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}); p.Location() != br.base+"/" {
		t.Errorf("sign-in without TOTP goes to %q", p.Location())
	}
}

func TestWeb_MFAWithoutChallenge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.browser(t, tn, false)
	if p := br.get("/sign-in/mfa"); p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location(), br.base+"/sign-in?") {
		t.Errorf("GET /sign-in/mfa without a challenge = %d to %q", p.Code, p.Location())
	}
	if p := br.post("/sign-in/mfa", url.Values{"code": {"123456"}}); p.Code != http.StatusSeeOther {
		t.Errorf("POST /sign-in/mfa without a challenge = %d", p.Code)
	}
	// A forged challenge cookie is only a wrong code.
	u, _ := url.Parse(br.root + "/")
	br.c.Jar.SetCookies(u, []*http.Cookie{{Name: MFACookie, Value: "ghm_forged", Path: br.base + "/"}})
	if p := br.post("/sign-in/mfa", url.Values{"code": {"123456"}}); p.Code != http.StatusUnprocessableEntity {
		t.Errorf("forged challenge = %d, want 422", p.Code)
	}
}

func TestWeb_ResetPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	b.account(t, tn, "ada@example.com", "Ada")
	br := b.browser(t, tn, true)

	if got := br.get("/sign-in").find("forgot-link").AttrOr("href", ""); got != "/forgot-password" {
		t.Errorf("forgot link = %q", got)
	}
	known := br.post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	unknown := br.post("/forgot-password", url.Values{"email": {"nobody@example.com"}})
	if known.Code != http.StatusSeeOther || unknown.Code != known.Code ||
		strings.Replace(unknown.Location(), "nobody", "ada", 1) != known.Location() {
		t.Errorf("forgot-password: known %d %q, unknown %d %q, want the same answer", known.Code, known.Location(), unknown.Code, unknown.Location())
	}
	p := br.follow(known)
	if p.text("notice") != notices["code-sent"] || p.find("reset-form").Find("input#email").AttrOr("value", "") != "ada@example.com" {
		t.Errorf("reset page: notice %q, email not prefilled", p.text("notice"))
	}
	if _, ok := b.outbox.LastEmailTo("nobody@example.com"); ok {
		t.Errorf("a code was sent to an address without an account")
	}
	code := b.lastCode(t, "ada@example.com")
	const newPassword = "a brand new passphrase"

	p = br.post("/reset-password", url.Values{"email": {"ada@example.com"}, "code": {code}, "new_password": {"short"}})
	if p.Code != http.StatusUnprocessableEntity || p.text("error-new_password") == "" {
		t.Errorf("short password = %d %q", p.Code, p.text("error-new_password"))
	}
	p = br.post("/reset-password", url.Values{"email": {"ada@example.com"}, "code": {otherCode(code)}, "new_password": {newPassword}})
	if p.Code != http.StatusUnprocessableEntity || p.text("form-error") != identity.ErrBadCode.Message {
		t.Errorf("wrong code = %d %q", p.Code, p.text("form-error"))
	}
	p = br.post("/reset-password", url.Values{"email": {"ada@example.com"}, "code": {code}, "new_password": {newPassword}})
	if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/sign-in?") {
		t.Fatalf("reset = %d to %q", p.Code, p.Location())
	}
	if p = br.follow(p); p.text("notice") != notices["password-reset"] {
		t.Errorf("notice = %q", p.text("notice"))
	}
	if p := br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}); p.Code != http.StatusUnprocessableEntity {
		t.Errorf("old password = %d, want 422", p.Code)
	}
	br.signIn("ada@example.com", newPassword)
	if br.currentUser() != "Ada" {
		t.Errorf("new password does not sign in")
	}
}

func TestWeb_SignOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.signedInBrowser(t, tn, false, "ada@example.com", "Ada")
	cookie := br.session()

	p := br.post("/sign-out", url.Values{})
	if p.Code != http.StatusSeeOther || p.Location() != br.base+"/?notice=signed-out" {
		t.Fatalf("sign-out = %d to %q", p.Code, p.Location())
	}
	if c := p.cookie(SessionCookie); c == nil || c.MaxAge >= 0 || c.Path != br.base+"/" {
		t.Errorf("sign-out does not clear the cookie: %+v", c)
	}
	p = br.follow(p)
	if p.find("current-user").Length() != 0 || p.find("sign-in-link").AttrOr("href", "") != br.base+"/sign-in" {
		t.Errorf("still shown as signed in")
	}

	// The old cookie no longer opens anything, once the access cache has
	// let go of it (at once with LISTEN/NOTIFY; here by outliving it).
	b.clock.Advance(2 * time.Minute)
	other := b.browser(t, tn, false)
	p = other.do(http.MethodGet, "/profile", nil, http.Header{"Cookie": {SessionCookie + "=" + cookie}})
	if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location(), br.base+"/sign-in?") {
		t.Errorf("old cookie on /profile = %d to %q, want a redirect to sign in", p.Code, p.Location())
	}
	if c := p.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("the revoked cookie is not cleared: %+v", c)
	}

	// Signing in over a session ends the old one.
	br.signIn("ada@example.com", testPassword)
	old := br.session()
	br.signIn("ada@example.com", testPassword)
	if br.session() == old || br.currentUser() != "Ada" {
		t.Fatalf("second sign-in did not replace the session")
	}
	b.clock.Advance(2 * time.Minute)
	if p := other.do(http.MethodGet, "/", nil, http.Header{"Cookie": {SessionCookie + "=" + old}}); p.find("current-user").Length() != 0 {
		t.Errorf("the replaced session still works")
	}
}

func TestWeb_CrossOriginRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.signedInBrowser(t, tn, false, "ada@example.com", "Ada")
	for name, h := range map[string]http.Header{
		"SecFetchSite": {"Sec-Fetch-Site": {"cross-site"}},
		"Origin":       {"Origin": {"https://evil.example"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := br.do(http.MethodPost, "/profile", url.Values{"display_name": {"Hacked"}, "avatar_url": {""}}, h)
			if p.Code != http.StatusForbidden || p.find("cross-origin").Length() != 1 {
				t.Errorf("cross-site profile change = %d, want 403 with the refusal page", p.Code)
			}
			p = br.do(http.MethodPost, "/sign-out", url.Values{}, h)
			if p.Code != http.StatusForbidden {
				t.Errorf("cross-site sign-out = %d, want 403", p.Code)
			}
			if got := br.currentUser(); got != "Ada" {
				t.Errorf("after cross-site posts, current-user = %q, want Ada unchanged and signed in", got)
			}
		})
	}
	// The same post from the app itself goes through.
	p := br.do(http.MethodPost, "/profile", url.Values{"display_name": {"Ada L."}, "avatar_url": {""}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if p.Code != http.StatusSeeOther {
		t.Errorf("same-origin post = %d, want 303", p.Code)
	}
}

func TestWeb_Throttle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.browser(t, tn, false)
	for i := range throttleLimit.Burst {
		if p := br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}}); p.Code != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d = %d, want 422", i+1, p.Code)
		}
	}
	p := br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}})
	if p.Code != http.StatusTooManyRequests {
		t.Fatalf("attempt %d = %d, want 429", throttleLimit.Burst+1, p.Code)
	}
	if p.Header.Get("Retry-After") == "" || p.find("too-many-requests").Length() != 1 || !strings.Contains(p.text("message"), "Try again in") {
		t.Errorf("429: Retry-After %q, message %q", p.Header.Get("Retry-After"), p.text("message"))
	}
	if p.find("too-many-requests").Find("a").AttrOr("href", "") != br.base+"/sign-in" {
		t.Errorf("429 page does not link back to the sign-in page")
	}
	// Code sign-in shares the sign-in budget; sign-up and code requests
	// have their own, and so does every other tenant.
	if p := br.post("/sign-in/code", url.Values{"step": {"verify"}, "email": {"ada@example.com"}, "code": {"123456"}}); p.Code != http.StatusTooManyRequests {
		t.Errorf("code sign-in after the limit = %d, want 429", p.Code)
	}
	if p := br.post("/sign-up", url.Values{"display_name": {""}}); p.Code != http.StatusUnprocessableEntity {
		t.Errorf("sign-up after the sign-in limit = %d, want 422", p.Code)
	}
	if p := br.post("/sign-in/code", url.Values{"step": {"request"}, "email": {"ada@example.com"}}); p.Code != http.StatusOK {
		t.Errorf("code request after the sign-in limit = %d, want 200", p.Code)
	}
	other := b.browser(t, b.createTenant(t, tenants.CreateParams{}), false)
	if p := other.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}}); p.Code != http.StatusUnprocessableEntity {
		t.Errorf("another tenant's sign-in = %d, want 422", p.Code)
	}
}

func TestWeb_ProfileNeedsSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	b.account(t, tn, "ada@example.com", "Ada")
	for _, base := range bases {
		t.Run(base.name, func(t *testing.T) {
			br := b.browser(t, tn, base.ownHost)
			p := br.get("/profile")
			if p.Code != http.StatusSeeOther || p.Location() != br.base+"/sign-in?next=%2Fprofile" {
				t.Fatalf("GET /profile signed out = %d to %q", p.Code, p.Location())
			}
			for _, path := range []string{"/profile", "/profile/password", "/profile/delete", "/profile/totp"} {
				if p := br.post(path, url.Values{}); p.Code != http.StatusSeeOther || p.Location() != br.base+"/sign-in?next=%2Fprofile" {
					t.Errorf("POST %s signed out = %d to %q", path, p.Code, p.Location())
				}
			}
			p = br.follow(p)
			if got := p.find("sign-in-form").Find("input[name=next]").AttrOr("value", ""); got != "/profile" {
				t.Errorf("sign-in form next = %q, want /profile", got)
			}
			p = br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {"/profile"}})
			if p.Location() != br.base+"/profile" {
				t.Errorf("sign-in goes to %q, want %s/profile", p.Location(), br.base)
			}
			if p = br.follow(p); p.find("profile-form").Length() != 1 {
				t.Errorf("no profile page after signing in")
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		next string
		want string
	}{
		{"/profile", "/profile"},
		{"/invitations/ghi_abc-DEF_123", "/invitations/ghi_abc-DEF_123"},
		{"/feed?tab=following#top", "/feed?tab=following#top"},
		{"", ""},
		{"profile", ""},
		{"https://evil.example/profile", ""},
		{"//evil.example/profile", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/\r\nLocation: x", ""},
		{"javascript:alert(1)", ""},
		{"/../t/other/", ""},
		{"/%2e%2e/t/other/", ""},
		{"/./profile", ""},
		{"/" + strings.Repeat("a", 3000), ""},
	}
	for _, tt := range tests {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

func TestWeb_EscapesUserText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	const name = `<script>alert(1)</script>`
	br := b.signedInBrowser(t, tn, false, "ada@example.com", name)
	for _, path := range []string{"/", "/profile", "/missing"} {
		p := br.get(path)
		if strings.Contains(p.Body, name) {
			t.Errorf("GET %s renders the display name unescaped", path)
		}
		if got := p.text("current-user"); got != name {
			t.Errorf("GET %s: current-user = %q, want %q", path, got, name)
		}
		if p.Doc.Find("script:not([src])").Length() != 0 {
			t.Errorf("GET %s has an inline script", path)
		}
	}
}

func TestWeb_SessionScopedToTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ta := b.createTenant(t, tenants.CreateParams{})
	tb := b.createTenant(t, tenants.CreateParams{})
	br := b.signedInBrowser(t, ta, false, "ada@example.com", "Ada")

	// The jar does not send /t/a/'s cookie to /t/b/...
	if p := br.get("/t/" + tb.Slug + "/profile"); p.Code != http.StatusSeeOther {
		t.Errorf("/t/b/profile with a's cookie jar = %d, want a redirect to sign in", p.Code)
	}
	// ...and b does not accept it when it is sent anyway.
	other := b.browser(t, tb, false)
	p := other.do(http.MethodGet, "/profile", nil, http.Header{"Cookie": {SessionCookie + "=" + br.session()}})
	if p.Code != http.StatusSeeOther || p.Location() != other.base+"/sign-in?next=%2Fprofile" {
		t.Errorf("a's cookie on /t/b/profile = %d to %q, want a redirect to sign in", p.Code, p.Location())
	}
	if c := p.cookie(SessionCookie); c == nil || c.MaxAge >= 0 || c.Path != other.base+"/" {
		t.Errorf("b does not clear a's cookie under its own path: %+v", c)
	}
	// Nor does b on its own host.
	own := b.browser(t, tb, true)
	if p := own.do(http.MethodGet, "/", nil, http.Header{"Cookie": {SessionCookie + "=" + br.session()}}); p.find("current-user").Length() != 0 {
		t.Errorf("b's own host accepts a's cookie")
	}
	if br.currentUser() != "Ada" {
		t.Errorf("a's session stopped working")
	}
}

func TestWeb_Invitation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	b.account(t, tn, "owner@example.com", "Owner")
	ctx := tenants.WithContext(t.Context(), tn, "")
	si, err := b.identity.SignInWithPassword(ctx, identity.SignInParams{Email: "owner@example.com", Password: testPassword, Client: identity.Client{Kind: identity.KindAPI}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.identity.AuthenticateBearer(ctx, si.Tokens.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := b.identity.Invite(engine.WithPrincipal(ctx, p), "mod@example.com", "moderator")
	if err != nil {
		t.Fatal(err)
	}
	path := "/invitations/" + inv.Link[strings.LastIndex(inv.Link, "/")+1:]

	br := b.browser(t, tn, false)
	page := br.get(path)
	if page.Code != http.StatusOK || page.find("accept-form").Length() != 0 {
		t.Fatalf("signed-out invitation page = %d, accept form %d", page.Code, page.find("accept-form").Length())
	}
	want := br.base + "/sign-up?next=" + url.QueryEscape(path)
	if got := page.find("invitation-sign-up").AttrOr("href", ""); got != want {
		t.Errorf("sign-up link = %q, want %q", got, want)
	}
	if got := page.find("invitation-sign-in").AttrOr("href", ""); got != br.base+"/sign-in?next="+url.QueryEscape(path) {
		t.Errorf("sign-in link = %q", got)
	}
	if p := br.post(path, url.Values{}); p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location(), br.base+"/sign-in?") {
		t.Errorf("accepting signed out = %d to %q, want a redirect to sign in", p.Code, p.Location())
	}

	// Sign up from the link and come back to it.
	page = br.submit("/sign-up", url.Values{"display_name": {"Mod"}, "email": {"mod@example.com"}, "password": {testPassword}, "next": {path}})
	page = br.post("/verify", url.Values{"email": {"mod@example.com"}, "code": {b.lastCode(t, "mod@example.com")}, "next": {path}})
	if page.Location() != br.base+path {
		t.Fatalf("verify goes to %q, want the invitation", page.Location())
	}
	page = br.follow(page)
	if page.find("accept-form").Length() != 1 {
		t.Fatalf("no accept form when signed in")
	}
	page = br.submit(path, url.Values{})
	if page.text("notice") != notices["invitation-accepted"] {
		t.Errorf("notice = %q", page.text("notice"))
	}
	me := b.me(t, br)
	if me.Role != "moderator" {
		t.Errorf("role after accepting = %q, want moderator", me.Role)
	}
	page = br.post(path, url.Values{})
	if page.Code != http.StatusUnprocessableEntity || page.text("form-error") != identity.ErrInvitation.Message {
		t.Errorf("accepting twice = %d %q", page.Code, page.text("form-error"))
	}
}

// me returns the account br is signed in to.
func (b *testBundle) me(t *testing.T, br *browser) identity.User {
	t.Helper()
	slug := strings.TrimPrefix(br.base, "/t/")
	if slug == "" {
		slug = strings.TrimSuffix(strings.TrimPrefix(br.root, "http://"), ".guildhall.test")
	}
	tn, err := b.svc.Get(t.Context(), slug)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenants.WithContext(t.Context(), tn, "")
	p, err := b.identity.AuthenticateCookie(ctx, br.session(), identity.KindWeb)
	if err != nil {
		t.Fatalf("AuthenticateCookie() = %v", err)
	}
	u, err := b.identity.Me(engine.WithPrincipal(ctx, p))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestWeb_PluginPageSeesPrincipal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.signedInBrowser(t, tn, false, "ada@example.com", "Ada")
	me := b.me(t, br)
	if p := br.get("/feed"); !strings.Contains(p.Body, "page Feed for user:"+me.ID.String()) {
		t.Errorf("plugin page = %q, want it to see the principal", p.Body)
	}
	if diff := cmp.Diff("page Feed", b.browser(t, tn, false).get("/feed").Body); diff != "" {
		t.Errorf("signed-out plugin page (-want +got):\n%s", diff)
	}
}

func TestSetCookie(t *testing.T) {
	t.Parallel()
	tn := tenants.Tenant{Slug: "club", Status: tenants.StatusActive}
	tests := []struct {
		name       string
		url        string
		base       string
		wantPath   string
		wantSecure bool
	}{
		{"PlainHTTP", "http://guildhall.test/t/club/sign-in", "/t/club", "/t/club/", false},
		{"TLS", "https://club.guildhall.test/sign-in", "", "/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(tenants.WithContext(t.Context(), tn, tt.base), http.MethodPost, tt.url, nil)
			w := httptest.NewRecorder()
			setCookie(w, r, SessionCookie, "ghs_x", sessionMaxAge)
			c := w.Result().Cookies()[0]
			if c.Path != tt.wantPath || c.Secure != tt.wantSecure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 30*24*3600 {
				t.Errorf("cookie = %+v, want path %s, secure %v, HttpOnly, Lax, 30 days", c, tt.wantPath, tt.wantSecure)
			}
		})
	}
	// A proxy that terminated TLS, as api.Forwarded reports it.
	r := httptest.NewRequestWithContext(tenants.WithContext(t.Context(), tn, ""), http.MethodPost, "http://club.guildhall.test/sign-in", nil)
	r.URL.Scheme = "https"
	w := httptest.NewRecorder()
	clearCookie(w, r, MFACookie)
	if c := w.Result().Cookies()[0]; !c.Secure || c.MaxAge >= 0 {
		t.Errorf("cleared cookie behind TLS = %+v, want Secure and expired", c)
	}
}
