package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

// profileView is the signed-in user's account page: one form per change.
type profileView struct {
	Brand    brand
	Base     string
	User     identity.User
	Profile  form // display_name, avatar_url
	Password form // current_password, new_password
	Phone    form // phone: asks for a code
	// PhoneConfirm is shown once a code was texted: phone (hidden),
	// phone_code.
	PhoneConfirm *form
	// TOTPStart turns enrolment on; Enrollment is the secret waiting for
	// its first code, with TOTPConfirm.
	TOTPStart   form
	Enrollment  *enrollment
	TOTPConfirm form // totp_code
	TOTPDisable form // disable_code
	Regenerate  form // regenerate_code
	// RecoveryCodes are shown once, right after they are made.
	RecoveryCodes []string
	Delete        form // password
}

// enrollment is a TOTP secret as the page shows it.
type enrollment struct {
	Secret string
	// QR is the PNG of the otpauth:// URI, base64.
	QR string
}

// QRURL is the QR code as an image URL.
func (e enrollment) QRURL() string { return "data:image/png;base64," + e.QR }

// action is the URL a form of the page posts to.
func (v profileView) action(path string) templ.SafeURL { return templ.SafeURL(v.Base + path) }

// profileUser returns the signed-in user, or sends the browser to sign in
// and back to the profile, and reports false.
func profileUser(w http.ResponseWriter, r *http.Request) (identity.User, bool) {
	u, ok := userFrom(r.Context())
	if !ok {
		redirect(w, r, link(r.Context(), "/sign-in", "next", "/profile"))
	}
	return u, ok
}

func (a *app) profileView(r *http.Request, u identity.User) profileView {
	v := profileView{
		Brand:       a.pageBrand(r),
		Base:        tenants.BasePath(r.Context()),
		User:        u,
		Profile:     newForm("display_name", "avatar_url"),
		Password:    newForm("current_password", "new_password"),
		Phone:       newForm("phone"),
		TOTPStart:   newForm(),
		TOTPConfirm: newForm("totp_code", "secret", "qr"),
		TOTPDisable: newForm("disable_code"),
		Regenerate:  newForm("regenerate_code"),
		Delete:      newForm("password"),
	}
	v.Profile.Set("display_name", u.DisplayName)
	v.Profile.Set("avatar_url", u.AvatarURL)
	v.Phone.Set("phone", u.Phone)
	return v
}

// me re-reads the signed-in user after a change.
func (a *app) me(r *http.Request, u identity.User) identity.User {
	if fresh, err := a.identity.Me(r.Context()); err == nil {
		return fresh
	}
	return u
}

// signedOut reports whether err says the session ended while the request
// ran (signed out elsewhere, deleted, banned); the browser is then sent to
// sign in again.
func signedOut(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, identity.ErrUnauthenticated) && !errors.Is(err, identity.ErrBanned) {
		return false
	}
	clearCookie(w, r, SessionCookie)
	redirect(w, r, link(r.Context(), "/sign-in", "next", "/profile"))
	return true
}

func (a *app) profilePage(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	a.render(w, r, http.StatusOK, profilePage(a.profileView(r, u)))
}

func (a *app) updateProfile(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	v.Profile = postedForm(r, "display_name", "avatar_url")
	name, avatar := v.Profile.Get("display_name"), v.Profile.Get("avatar_url")
	_, err := a.identity.UpdateProfile(r.Context(), identity.ProfileParams{DisplayName: &name, AvatarURL: &avatar})
	if err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.Profile, err, nil)
		a.render(w, r, status, profilePage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/profile", "notice", "profile-saved"))
}

func (a *app) changePassword(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	v.Password = postedForm(r, "current_password", "new_password")
	v.Password.Require("new_password")
	if v.Password.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, profilePage(v))
		return
	}
	err := a.identity.ChangePassword(r.Context(), v.Password.Get("current_password"), v.Password.Get("new_password"))
	if err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.Password, err, nil)
		a.render(w, r, status, profilePage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/profile", "notice", "password-changed"))
}

func (a *app) requestPhoneCode(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok || !a.allow(w, r, throttleCodes, "/profile") {
		return
	}
	v := a.profileView(r, u)
	v.Phone = postedForm(r, "phone")
	v.Phone.Require("phone")
	if v.Phone.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, profilePage(v))
		return
	}
	if err := a.identity.RequestPhoneCode(r.Context(), v.Phone.Get("phone")); err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.Phone, err, nil)
		a.render(w, r, status, profilePage(v))
		return
	}
	confirm := newForm("phone", "phone_code")
	confirm.Set("phone", v.Phone.Get("phone"))
	v.PhoneConfirm = &confirm
	v.Brand.Notice = "We have sent a code by text message. Enter it below to confirm the number."
	a.render(w, r, http.StatusOK, profilePage(v))
}

func (a *app) confirmPhone(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok || !a.allow(w, r, throttleSignIn, "/profile") {
		return
	}
	v := a.profileView(r, u)
	confirm := postedForm(r, "phone", "phone_code")
	v.PhoneConfirm = &confirm
	// An empty number would remove the phone: that has its own button.
	confirm.Require("phone", "phone_code")
	if confirm.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, profilePage(v))
		return
	}
	if _, err := a.identity.SetPhone(r.Context(), confirm.Get("phone"), confirm.Get("phone_code")); err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, v.PhoneConfirm, err, map[string]string{"code": "phone_code"})
		a.render(w, r, status, profilePage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/profile", "notice", "phone-saved"))
}

func (a *app) removePhone(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	if _, err := a.identity.SetPhone(r.Context(), "", ""); err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.Phone, err, nil)
		a.render(w, r, status, profilePage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/profile", "notice", "phone-removed"))
}

func (a *app) enrollTOTP(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	e, err := a.identity.EnrollTOTP(r.Context())
	if err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.TOTPStart, err, nil)
		a.render(w, r, status, profilePage(v))
		return
	}
	v.Enrollment = &enrollment{Secret: e.Secret, QR: base64.StdEncoding.EncodeToString(e.QRPNG)}
	a.render(w, r, http.StatusOK, profilePage(v))
}

var (
	base32Re = regexp.MustCompile(`^[A-Z2-7]{16,128}=*$`)
	pngMagic = []byte("\x89PNG\r\n\x1a\n")
)

// postedEnrollment is the enrolment the confirm form carries back (to show
// it again when the code was wrong), or nil when it is not one we made.
func postedEnrollment(f form) *enrollment {
	secret, qr := f.Get("secret"), f.Get("qr")
	if !base32Re.MatchString(secret) || len(qr) > 64<<10 {
		return nil
	}
	png, err := base64.StdEncoding.DecodeString(qr)
	if err != nil || !bytes.HasPrefix(png, pngMagic) {
		return nil
	}
	return &enrollment{Secret: secret, QR: qr}
}

func (a *app) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	v.TOTPConfirm = postedForm(r, "totp_code", "secret", "qr")
	v.Enrollment = postedEnrollment(v.TOTPConfirm)
	v.TOTPConfirm.Require("totp_code")
	if v.TOTPConfirm.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, profilePage(v))
		return
	}
	codes, err := a.identity.ConfirmTOTP(r.Context(), v.TOTPConfirm.Get("totp_code"))
	if err != nil {
		if signedOut(w, r, err) {
			return
		}
		if v.Enrollment == nil {
			// Without the enrolment to show again, the error goes where
			// enrolment starts.
			status := a.fail(r, &v.TOTPStart, err, nil)
			a.render(w, r, status, profilePage(v))
			return
		}
		status := a.fail(r, &v.TOTPConfirm, err, map[string]string{"code": "totp_code"})
		a.render(w, r, status, profilePage(v))
		return
	}
	v = a.profileView(r, a.me(r, u))
	v.RecoveryCodes = codes
	v.Brand.Notice = "Two-step sign-in is on. Save your recovery codes now: they are shown only this once."
	a.render(w, r, http.StatusOK, profilePage(v))
}

func (a *app) disableTOTP(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	v.TOTPDisable = postedForm(r, "disable_code")
	v.TOTPDisable.Require("disable_code")
	if v.TOTPDisable.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, profilePage(v))
		return
	}
	if err := a.identity.DisableTOTP(r.Context(), v.TOTPDisable.Get("disable_code")); err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.TOTPDisable, err, map[string]string{"code": "disable_code"})
		a.render(w, r, status, profilePage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/profile", "notice", "totp-disabled"))
}

func (a *app) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	v.Regenerate = postedForm(r, "regenerate_code")
	v.Regenerate.Require("regenerate_code")
	if v.Regenerate.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, profilePage(v))
		return
	}
	codes, err := a.identity.RegenerateRecoveryCodes(r.Context(), v.Regenerate.Get("regenerate_code"))
	if err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.Regenerate, err, map[string]string{"code": "regenerate_code"})
		a.render(w, r, status, profilePage(v))
		return
	}
	v.RecoveryCodes = codes
	v.Brand.Notice = "New recovery codes: the old ones no longer work. Save these now: they are shown only this once."
	a.render(w, r, http.StatusOK, profilePage(v))
}

func (a *app) deleteAccount(w http.ResponseWriter, r *http.Request) {
	u, ok := profileUser(w, r)
	if !ok {
		return
	}
	v := a.profileView(r, u)
	v.Delete = postedForm(r, "password")
	if err := a.identity.DeleteAccount(r.Context(), v.Delete.Get("password")); err != nil {
		if signedOut(w, r, err) {
			return
		}
		status := a.fail(r, &v.Delete, err, nil)
		a.render(w, r, status, profilePage(v))
		return
	}
	clearCookie(w, r, SessionCookie)
	redirect(w, r, link(r.Context(), "/", "notice", "account-deleted"))
}
