package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

// authView is a page of the sign-up and sign-in flows: one form, and
// where to go once signed in.
type authView struct {
	Brand brand
	Form  form
	// Next is the app path to go to once signed in ("" for home); it
	// passed safeNext.
	Next string
	Base string
	// Step is the code sign-in's step: "request" (ask for a code) or
	// "verify" (enter it).
	Step string
}

// action is the URL a form of the page posts to.
func (v authView) action(path string) templ.SafeURL { return templ.SafeURL(v.Base + path) }

// url links to another page of the flow, keeping Next.
func (v authView) url(path string, query ...string) templ.SafeURL {
	return templ.SafeURL(pathWith(v.Base, path, append(query, "next", v.Next)...))
}

func (a *app) authView(r *http.Request, f form) authView {
	return authView{Brand: a.pageBrand(r), Form: f, Next: safeNext(r.FormValue("next")), Base: tenants.BasePath(r.Context())}
}

// signedInAlready sends a signed-in user on from a sign-in or sign-up
// page, and reports whether it did.
func signedInAlready(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := userFrom(r.Context()); !ok {
		return false
	}
	redirect(w, r, after(r.Context(), r.FormValue("next")))
	return true
}

// finishSignIn completes a successful first or second factor: the session
// cookie and on to next (or home with notice); or, when the account wants
// its TOTP code, the MFA cookie and on to the MFA page.
func (a *app) finishSignIn(w http.ResponseWriter, r *http.Request, si identity.SignIn, next, notice string) {
	ctx := r.Context()
	if si.MFARequired {
		setCookie(w, r, MFACookie, si.MFAToken, mfaMaxAge)
		redirect(w, r, link(ctx, "/sign-in/mfa", "next", next))
		return
	}
	if _, err := r.Cookie(MFACookie); err == nil {
		clearCookie(w, r, MFACookie)
	}
	if _, ok := userFrom(ctx); ok {
		// Signing in over a session replaces it: end the old one rather
		// than leave it valid behind a cookie that is gone.
		if err := a.identity.SignOut(ctx); err != nil {
			a.log.WarnContext(ctx, "end replaced web session", "error", err)
		}
	}
	setCookie(w, r, SessionCookie, si.Cookie, sessionMaxAge)
	if safeNext(next) == "" && notice != "" {
		redirect(w, r, link(ctx, "/", "notice", notice))
		return
	}
	redirect(w, r, after(ctx, next))
}

func (a *app) signUpPage(w http.ResponseWriter, r *http.Request) {
	if signedInAlready(w, r) {
		return
	}
	a.render(w, r, http.StatusOK, signUpPage(a.authView(r, newForm("display_name", "email", "password"))))
}

func (a *app) signUp(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, throttleSignUp, "/sign-up") {
		return
	}
	v := a.authView(r, postedForm(r, "display_name", "email", "password"))
	f := v.Form
	// The service checks every field at once.
	err := a.identity.SignUp(r.Context(), identity.SignUpParams{
		Email: f.Get("email"), Password: f.Get("password"), DisplayName: f.Get("display_name"),
	})
	if err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, signUpPage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/verify", "email", f.Get("email"), "next", v.Next))
}

func (a *app) verifyPage(w http.ResponseWriter, r *http.Request) {
	f := newForm("email", "code")
	f.Set("email", r.URL.Query().Get("email"))
	a.render(w, r, http.StatusOK, verifyPage(a.authView(r, f)))
}

func (a *app) verify(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, throttleSignIn, "/verify") {
		return
	}
	v := a.authView(r, postedForm(r, "email", "code"))
	v.Form.Require("email", "code")
	if v.Form.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, verifyPage(v))
		return
	}
	si, err := a.identity.VerifyEmail(r.Context(), v.Form.Get("email"), v.Form.Get("code"), client(r))
	if err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, verifyPage(v))
		return
	}
	a.finishSignIn(w, r, si, v.Next, "welcome")
}

func (a *app) resendVerification(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, throttleCodes, "/verify") {
		return
	}
	v := a.authView(r, postedForm(r, "email", "code"))
	v.Form.Require("email")
	if v.Form.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, verifyPage(v))
		return
	}
	if err := a.identity.RequestCode(r.Context(), identity.CodeParams{Purpose: "verify_email", Email: v.Form.Get("email")}); err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, verifyPage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/verify", "email", v.Form.Get("email"), "next", v.Next, "notice", "code-sent"))
}

func (a *app) signInPage(w http.ResponseWriter, r *http.Request) {
	if signedInAlready(w, r) {
		return
	}
	f := newForm("email", "password")
	f.Set("email", r.URL.Query().Get("email"))
	a.render(w, r, http.StatusOK, signInPage(a.authView(r, f)))
}

func (a *app) signIn(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, throttleSignIn, "/sign-in") {
		return
	}
	v := a.authView(r, postedForm(r, "email", "password"))
	v.Form.Require("email", "password")
	if v.Form.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, signInPage(v))
		return
	}
	si, err := a.identity.SignInWithPassword(r.Context(), identity.SignInParams{
		Email: v.Form.Get("email"), Password: v.Form.Get("password"), Client: client(r),
	})
	switch {
	case errors.Is(err, identity.ErrEmailUnverified):
		// The service has sent a new verification code.
		redirect(w, r, link(r.Context(), "/verify", "email", v.Form.Get("email"), "next", v.Next, "notice", "unverified"))
	case err != nil:
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, signInPage(v))
	default:
		a.finishSignIn(w, r, si, v.Next, "")
	}
}

func (a *app) codePage(w http.ResponseWriter, r *http.Request) {
	if signedInAlready(w, r) {
		return
	}
	f := newForm("email")
	f.Set("email", r.URL.Query().Get("email"))
	v := a.authView(r, f)
	v.Step = "request"
	a.render(w, r, http.StatusOK, codePage(v))
}

// signInWithCode is both steps of signing in with an emailed code: asking
// for it (step=request), then entering it (step=verify).
func (a *app) signInWithCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.PostFormValue("step") != "verify" {
		if !a.allow(w, r, throttleCodes, "/sign-in/code") {
			return
		}
		v := a.authView(r, postedForm(r, "email"))
		v.Step = "request"
		v.Form.Require("email")
		if v.Form.Invalid() {
			a.render(w, r, http.StatusUnprocessableEntity, codePage(v))
			return
		}
		if err := a.identity.RequestCode(ctx, identity.CodeParams{Purpose: "sign_in", Email: v.Form.Get("email")}); err != nil {
			status := a.fail(r, &v.Form, err, nil)
			a.render(w, r, status, codePage(v))
			return
		}
		v.Step = "verify"
		v.Form = newForm("email", "code")
		v.Form.Set("email", r.PostFormValue("email"))
		v.Brand.Notice = notices["code-sent"]
		a.render(w, r, http.StatusOK, codePage(v))
		return
	}
	if !a.allow(w, r, throttleSignIn, "/sign-in/code") {
		return
	}
	v := a.authView(r, postedForm(r, "email", "code"))
	v.Step = "verify"
	v.Form.Require("email", "code")
	if v.Form.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, codePage(v))
		return
	}
	si, err := a.identity.SignInWithCode(ctx, v.Form.Get("email"), v.Form.Get("code"), client(r))
	if err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, codePage(v))
		return
	}
	a.finishSignIn(w, r, si, v.Next, "")
}

func (a *app) mfaPage(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(MFACookie); err != nil {
		redirect(w, r, link(r.Context(), "/sign-in", "next", safeNext(r.FormValue("next")), "notice", "mfa-expired"))
		return
	}
	a.render(w, r, http.StatusOK, mfaPage(a.authView(r, newForm("code"))))
}

func (a *app) completeMFA(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, throttleSignIn, "/sign-in/mfa") {
		return
	}
	v := a.authView(r, postedForm(r, "code"))
	c, err := r.Cookie(MFACookie)
	if err != nil {
		redirect(w, r, link(r.Context(), "/sign-in", "next", v.Next, "notice", "mfa-expired"))
		return
	}
	v.Form.Require("code")
	if v.Form.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, mfaPage(v))
		return
	}
	si, err := a.identity.CompleteMFA(r.Context(), c.Value, v.Form.Get("code"), client(r))
	if err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, mfaPage(v))
		return
	}
	a.finishSignIn(w, r, si, v.Next, "")
}

func (a *app) forgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	f := newForm("email")
	f.Set("email", r.URL.Query().Get("email"))
	a.render(w, r, http.StatusOK, forgotPasswordPage(a.authView(r, f)))
}

func (a *app) forgotPassword(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, throttleCodes, "/forgot-password") {
		return
	}
	v := a.authView(r, postedForm(r, "email"))
	v.Form.Require("email")
	if v.Form.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, forgotPasswordPage(v))
		return
	}
	if err := a.identity.RequestCode(r.Context(), identity.CodeParams{Purpose: "reset_password", Email: v.Form.Get("email")}); err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, forgotPasswordPage(v))
		return
	}
	// The same answer whether or not the address has an account.
	redirect(w, r, link(r.Context(), "/reset-password", "email", v.Form.Get("email"), "notice", "code-sent"))
}

func (a *app) resetPasswordPage(w http.ResponseWriter, r *http.Request) {
	f := newForm("email", "code", "new_password")
	f.Set("email", r.URL.Query().Get("email"))
	a.render(w, r, http.StatusOK, resetPasswordPage(a.authView(r, f)))
}

func (a *app) resetPassword(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, throttleSignIn, "/reset-password") {
		return
	}
	v := a.authView(r, postedForm(r, "email", "code", "new_password"))
	v.Form.Require("email", "code", "new_password")
	if v.Form.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, resetPasswordPage(v))
		return
	}
	err := a.identity.ResetPassword(r.Context(), identity.ResetPasswordParams{
		Email: v.Form.Get("email"), Code: v.Form.Get("code"), NewPassword: v.Form.Get("new_password"),
	})
	if err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, resetPasswordPage(v))
		return
	}
	// Every session of the account has ended, this browser's included.
	clearCookie(w, r, SessionCookie)
	redirect(w, r, link(r.Context(), "/sign-in", "email", v.Form.Get("email"), "notice", "password-reset"))
}

func (a *app) signOut(w http.ResponseWriter, r *http.Request) {
	if _, ok := userFrom(r.Context()); ok {
		if err := a.identity.SignOut(r.Context()); err != nil {
			a.log.ErrorContext(r.Context(), "sign out", "error", err)
		}
	}
	clearCookie(w, r, SessionCookie)
	redirect(w, r, link(r.Context(), "/", "notice", "signed-out"))
}

// invitationView is the page an invitation link opens.
type invitationView struct {
	Brand brand
	Form  form
	// User is the signed-in user's name; "" when signed out.
	User   string
	Action templ.SafeURL
	SignIn templ.SafeURL
	SignUp templ.SafeURL
}

func (a *app) invitationView(r *http.Request, f form) invitationView {
	ctx := r.Context()
	here := "/invitations/" + url.PathEscape(r.PathValue("token"))
	v := invitationView{
		Brand:  a.pageBrand(r),
		Form:   f,
		Action: templ.SafeURL(link(ctx, here)),
		SignIn: templ.SafeURL(link(ctx, "/sign-in", "next", here)),
		SignUp: templ.SafeURL(link(ctx, "/sign-up", "next", here)),
	}
	if u, ok := userFrom(ctx); ok {
		v.User = u.DisplayName
	}
	return v
}

func (a *app) invitationPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, invitationPage(a.invitationView(r, newForm())))
}

func (a *app) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	v := a.invitationView(r, newForm())
	if v.User == "" {
		redirect(w, r, string(v.SignIn))
		return
	}
	if _, err := a.identity.AcceptInvitation(r.Context(), r.PathValue("token")); err != nil {
		status := a.fail(r, &v.Form, err, nil)
		a.render(w, r, status, invitationPage(v))
		return
	}
	redirect(w, r, link(r.Context(), "/", "notice", "invitation-accepted"))
}
