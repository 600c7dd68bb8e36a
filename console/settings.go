package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/identity"
)

// limitField is one input of the request limits form, named as the
// service names the field.
type limitField struct {
	Name  string
	Label string
	Hint  string
	get   func(*identity.Limits) *int
}

var limitFields = []limitField{
	{"user_per_second", "Requests per second per user", "Each signed-in member.", func(l *identity.Limits) *int { return &l.UserPerSecond }},
	{"api_key_per_second", "Requests per second per API key", "Each integration key.", func(l *identity.Limits) *int { return &l.APIKeyPerSecond }},
	{"ip_per_second", "Requests per second per IP address", "Everything from one address.", func(l *identity.Limits) *int { return &l.IPPerSecond }},
	{"sign_in_per_minute", "Sign-in attempts per minute per IP address", "The app, the API and this console.", func(l *identity.Limits) *int { return &l.SignInPerMinute }},
	{"codes_per_hour", "One-time codes per hour per IP address", "Codes sent by email or SMS.", func(l *identity.Limits) *int { return &l.CodesPerHour }},
}

// settingsView is the settings page: the request limits form.
type settingsView struct {
	Fields []limitField
	Values map[string]string // by field name, as typed
	Errors map[string]string
	Error  string
	Saved  bool
}

func (c *console) settingsPage(w http.ResponseWriter, r *http.Request) {
	l, err := c.identity.TenantLimits(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := settingsView{Fields: limitFields, Values: map[string]string{}, Saved: r.URL.Query().Get("saved") == "1"}
	for _, f := range limitFields {
		v.Values[f.Name] = strconv.Itoa(*f.get(&l))
	}
	c.render(w, r, http.StatusOK, settingsPage(c.chrome(r, "Settings", "settings"), v))
}

func (c *console) saveSettings(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	v := settingsView{Fields: limitFields, Values: map[string]string{}, Errors: map[string]string{}}
	labels := map[string]string{}
	var l identity.Limits
	for _, f := range limitFields {
		labels[f.Name] = f.Label
		raw := strings.TrimSpace(r.PostForm.Get(f.Name))
		v.Values[f.Name] = raw
		n, err := strconv.Atoi(raw)
		if err != nil {
			v.Errors[f.Name] = sentence(f.Label + " must be a whole number")
			continue
		}
		*f.get(&l) = n
	}
	if len(v.Errors) > 0 {
		// Report the range problems of the other fields too, all at once.
		c.settingsInvalid(w, r, v, l.Validate(), labels)
		return
	}
	_, err := c.identity.SetLimits(r.Context(), l)
	switch engine.ErrorCode(err) {
	case "":
		redirect(w, r, consoleBase(r.Context())+"/settings?saved=1")
	case engine.CodeInvalid:
		c.settingsInvalid(w, r, v, err, labels)
	default:
		c.fail(w, r, err)
	}
}

// settingsInvalid shows the form again with the problems of v and those of
// err (a field already wrong keeps its own), and saves nothing.
func (c *console) settingsInvalid(w http.ResponseWriter, r *http.Request, v settingsView, err error, labels map[string]string) {
	errs, _ := formProblems(err, labels)
	for name, msg := range errs {
		if v.Errors[name] == "" {
			v.Errors[name] = msg
		}
	}
	v.Error = "Nothing was saved. Correct the fields marked below."
	if len(v.Errors) == 1 {
		for _, msg := range v.Errors {
			v.Error = "Nothing was saved. " + msg
		}
	}
	c.renderPage(w, r, http.StatusUnprocessableEntity, settingsPage(c.chrome(r, "Settings", "settings"), v))
}
