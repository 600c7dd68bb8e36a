package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

func TestWeb_Profile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br := b.signedInBrowser(t, tn, true, "ada@example.com", "Ada")

	p := br.get("/profile")
	f := p.find("profile-form")
	if f.Find("input#display_name").AttrOr("value", "") != "Ada" || f.AttrOr("action", "") != "/profile" {
		t.Fatalf("profile form = %q action %q", f.Find("input#display_name").AttrOr("value", ""), f.AttrOr("action", ""))
	}
	if p.text("profile-email") != "ada@example.com" {
		t.Errorf("profile-email = %q", p.text("profile-email"))
	}

	t.Run("UpdateProfile", func(t *testing.T) {
		p := br.post("/profile", url.Values{"display_name": {"  "}, "avatar_url": {"http://insecure.example/a.png"}})
		if p.Code != http.StatusUnprocessableEntity || p.text("error-display_name") == "" || p.text("error-avatar_url") == "" {
			t.Errorf("invalid profile = %d, display_name %q, avatar_url %q", p.Code, p.text("error-display_name"), p.text("error-avatar_url"))
		}
		if got := p.find("profile-form").Find("input#avatar_url").AttrOr("value", ""); got != "http://insecure.example/a.png" {
			t.Errorf("avatar shown again = %q", got)
		}
		// A boosted form's answer must not leave its action in the address bar.
		p = br.do(http.MethodPost, "/profile", url.Values{"display_name": {""}}, http.Header{"HX-Request": {"true"}})
		if p.Code != http.StatusUnprocessableEntity || p.Header.Get("HX-Push-Url") != "false" {
			t.Errorf("htmx post = %d, HX-Push-Url %q", p.Code, p.Header.Get("HX-Push-Url"))
		}

		p = br.post("/profile", url.Values{"display_name": {"Ada Lovelace"}, "avatar_url": {"https://cdn.example.com/ada.png"}})
		if p.Code != http.StatusSeeOther || p.Location() != "/profile?notice=profile-saved" {
			t.Fatalf("update = %d to %q", p.Code, p.Location())
		}
		p = br.follow(p)
		if p.text("notice") != notices["profile-saved"] || p.text("current-user") != "Ada Lovelace" ||
			p.find("avatar").AttrOr("src", "") != "https://cdn.example.com/ada.png" {
			t.Errorf("after update: notice %q, current-user %q, avatar %q", p.text("notice"), p.text("current-user"), p.find("avatar").AttrOr("src", ""))
		}
	})

	t.Run("ChangePassword", func(t *testing.T) {
		p := br.post("/profile/password", url.Values{"current_password": {"not it at all"}, "new_password": {"another good passphrase"}})
		if p.Code != http.StatusUnprocessableEntity || p.text("error-current_password") == "" {
			t.Errorf("wrong current password = %d %q", p.Code, p.text("error-current_password"))
		}
		p = br.post("/profile/password", url.Values{"current_password": {testPassword}, "new_password": {"password"}})
		if p.Code != http.StatusUnprocessableEntity || p.text("error-new_password") == "" {
			t.Errorf("weak new password = %d %q", p.Code, p.text("error-new_password"))
		}
		if p.find("password-form").Find("input#current_password").AttrOr("value", "") != "" {
			t.Errorf("the current password is shown again")
		}
		p = br.submit("/profile/password", url.Values{"current_password": {testPassword}, "new_password": {"another good passphrase"}})
		if p.text("notice") != notices["password-changed"] {
			t.Errorf("notice = %q", p.text("notice"))
		}
		if br.currentUser() == "" {
			t.Errorf("changing the password signed this session out")
		}
		other := b.browser(t, tn, false)
		if p := other.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}); p.Code != http.StatusUnprocessableEntity {
			t.Errorf("old password = %d, want 422", p.Code)
		}
		other.signIn("ada@example.com", "another good passphrase")
		if other.currentUser() == "" {
			t.Errorf("new password does not sign in")
		}
	})

	t.Run("Phone", func(t *testing.T) {
		p := br.post("/profile/phone", url.Values{"phone": {"0151 123"}})
		if p.Code != http.StatusUnprocessableEntity || p.text("error-phone") == "" {
			t.Errorf("bad number = %d %q", p.Code, p.text("error-phone"))
		}
		const phone = "+4915112345678"
		p = br.post("/profile/phone", url.Values{"phone": {phone}})
		if p.Code != http.StatusOK || p.find("phone-confirm-form").Find("input#phone_code").Length() != 1 {
			t.Fatalf("code request = %d, no confirm form", p.Code)
		}
		sms, ok := b.outbox.LastSMSTo(phone)
		if !ok {
			t.Fatal("no text message")
		}
		code := codeRe.FindString(sms.Text)
		p = br.post("/profile/phone/confirm", url.Values{"phone": {phone}, "phone_code": {otherCode(code)}})
		if p.Code != http.StatusUnprocessableEntity || p.text("form-error") != identity.ErrBadCode.Message {
			t.Errorf("wrong code = %d %q", p.Code, p.text("form-error"))
		}
		p = br.submit("/profile/phone/confirm", url.Values{"phone": {phone}, "phone_code": {code}})
		if p.text("current-phone") != phone || p.text("notice") != notices["phone-saved"] {
			t.Errorf("after confirming: phone %q, notice %q", p.text("current-phone"), p.text("notice"))
		}
		p = br.submit("/profile/phone/remove", url.Values{})
		if p.find("current-phone").Length() != 0 {
			t.Errorf("phone not removed")
		}
	})
}

func TestWeb_DeleteAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	// The first account of a tenant is its owner, and a tenant keeps one.
	owner := b.signedInBrowser(t, tn, false, "owner@example.com", "Owner")
	p := owner.post("/profile/delete", url.Values{"password": {testPassword}})
	if p.Code != http.StatusUnprocessableEntity || p.text("form-error") != identity.ErrLastOwner.Message {
		t.Errorf("last owner deleting = %d %q, want 422 %q", p.Code, p.text("form-error"), identity.ErrLastOwner.Message)
	}
	if owner.currentUser() != "Owner" {
		t.Errorf("the refused deletion signed the owner out")
	}

	member := b.signedInBrowser(t, tn, false, "member@example.com", "Member")
	p = member.post("/profile/delete", url.Values{"password": {"not my password"}})
	if p.Code != http.StatusUnprocessableEntity || p.text("error-password") == "" {
		t.Errorf("wrong password = %d %q", p.Code, p.text("error-password"))
	}
	p = member.post("/profile/delete", url.Values{"password": {testPassword}})
	if p.Code != http.StatusSeeOther || p.Location() != member.base+"/?notice=account-deleted" {
		t.Fatalf("delete = %d to %q", p.Code, p.Location())
	}
	if c := p.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("session cookie not cleared: %+v", c)
	}
	p = member.follow(p)
	if p.text("notice") != notices["account-deleted"] || p.find("current-user").Length() != 0 {
		t.Errorf("after deleting: notice %q, current-user %q", p.text("notice"), p.text("current-user"))
	}
	if p := member.post("/sign-in", url.Values{"email": {"member@example.com"}, "password": {testPassword}}); p.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(p.text("form-error"), "incorrect") {
		t.Errorf("sign-in to a deleted account = %d %q", p.Code, p.text("form-error"))
	}
}
