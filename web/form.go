package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine"
)

// form is what a form shows besides its inputs: the values sent (to show
// them again), each field's problem and a message about the whole form.
type form struct {
	Values map[string]string
	Errors map[string]string // input name → sentence to show beside it
	Error  string            // about the whole form
	fields []string
}

// newForm is an empty form with the named inputs.
func newForm(fields ...string) form {
	return form{Values: map[string]string{}, Errors: map[string]string{}, fields: fields}
}

// postedForm is the form with the named inputs as r posted it.
func postedForm(r *http.Request, fields ...string) form {
	f := newForm(fields...)
	for _, name := range fields {
		f.Values[name] = r.PostFormValue(name)
	}
	return f
}

// Get returns the value of input name.
func (f form) Get(name string) string { return f.Values[name] }

// Set sets the value of input name.
func (f form) Set(name, value string) { f.Values[name] = value }

// Fail records a problem with input name.
func (f form) Fail(name, sentence string) { f.Errors[name] = sentence }

// Invalid reports whether the form has problems to show.
func (f form) Invalid() bool { return len(f.Errors) > 0 || f.Error != "" }

// Require records every named input left blank.
func (f form) Require(names ...string) {
	for _, n := range names {
		if strings.TrimSpace(f.Values[n]) == "" {
			f.Fail(n, label(n)+" is required.")
		}
	}
}

// shown is the value an input of type typ shows again: never a password.
func (f form) shown(name, typ string) string {
	if typ == "password" {
		return ""
	}
	return f.Values[name]
}

// invalid returns the attributes that mark input name as invalid and point
// to its message, or none.
func (f form) invalid(name string) templ.Attributes {
	if f.Errors[name] == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": "error-" + name}
}

func (f form) has(name string) bool {
	for _, n := range f.fields {
		if n == name {
			return true
		}
	}
	return false
}

// labels name inputs in sentences about them.
var labels = map[string]string{
	"email":            "Email",
	"password":         "Password",
	"display_name":     "Display name",
	"code":             "Code",
	"new_password":     "New password",
	"current_password": "Current password",
	"avatar_url":       "Avatar URL",
	"phone":            "Phone number",
	"phone_code":       "Code",
	"totp_code":        "Code",
	"disable_code":     "Code",
	"regenerate_code":  "Code",
	"name":             "Name",
	"line1":            "Street",
	"line2":            "Address line 2",
	"city":             "City",
	"postal_code":      "Postal code",
	"country":          "Country",
	"idempotency_key":  "Form key",
	"kind":             "Kind",
	"from":             "From",
	"to":               "To",
}

func label(name string) string {
	if l, ok := labels[name]; ok {
		return l
	}
	return strings.ReplaceAll(name, "_", " ")
}

// fail shows err on f and returns the status to answer with the form:
// each field problem beside its input (rename maps the service's name of
// a field to the form's input when they differ), any other safe message
// above the form. A form that comes back with its problems is 422, but for
// refusals (403, banned) and throttling (429); an internal error is logged
// here, once, and shown as a generic message with 500.
func (a *app) fail(r *http.Request, f *form, err error, rename map[string]string) int {
	code := engine.ErrorCode(err)
	if code == engine.CodeInternal {
		a.log.ErrorContext(r.Context(), "web form", "error", err)
		f.Error = "Something went wrong on our side. Please try again in a moment."
		return http.StatusInternalServerError
	}
	fields := engine.ErrorFields(err)
	for _, fe := range fields {
		name := fe.Field
		if n, ok := rename[name]; ok {
			name = n
		}
		sentence := label(name) + " " + fe.Message + "."
		if f.has(name) {
			f.Fail(name, sentence)
		} else if f.Error == "" {
			f.Error = sentence
		}
	}
	if len(fields) == 0 {
		f.Error = engine.ErrorMessage(err)
	}
	switch code {
	case engine.CodeForbidden:
		return http.StatusForbidden
	case engine.CodeRateLimited:
		return http.StatusTooManyRequests
	default:
		return http.StatusUnprocessableEntity
	}
}

// pathWith is path under base with query (pairs of name and value; empty
// values left out).
func pathWith(base, path string, query ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(query); i += 2 {
		if query[i+1] != "" {
			q.Set(query[i], query[i+1])
		}
	}
	s := base + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}
