package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/money"
	"github.com/guildhall/guildhall/tenants"
)

// listView is the tenants list page.
type listView struct {
	Tenants []tenants.Tenant
	Status  string // the status filter, "" for all
	After   string // the cursor this page starts after
	Next    string // the cursor of the next page, "" on the last
	Error   string // a problem with the filter
}

// formValues are a tenant form's fields as submitted (or as stored), kept
// verbatim so a form with errors comes back as the person left it.
type formValues struct {
	Slug         string
	Name         string
	Kind         string
	TimeZone     string
	Currency     string
	PrimaryColor string
	AccentColor  string
	LogoURL      string
	Domains      string // one per line
	Plugins      []string
	Status       string
}

// pluginOption is one checkbox of the plugins field.
type pluginOption struct {
	Name        string
	Title       string
	Description string
}

// tenantForm is the create or edit form with its options and problems.
type tenantForm struct {
	Edit    bool   // editing an existing tenant: no slug or kind, a status
	Action  string // where it posts
	Values  formValues
	Kinds   []string
	Plugins []pluginOption
	// Errors are the problems of each form field (by input name), as
	// sentences; Summary and Other go at the top of the form.
	Errors  map[string][]string
	Summary string
	Other   []string
}

// detailView is the tenant detail page.
type detailView struct {
	Tenant tenants.Tenant
	Saved  bool
	Form   tenantForm
}

func (c *console) listTenants(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := listView{Status: q.Get("status"), After: q.Get("after")}
	ts, next, err := c.tenants.List(r.Context(), tenants.ListParams{
		After: v.After, Status: tenants.Status(v.Status), Limit: c.pageSize,
	})
	status := http.StatusOK
	switch engine.ErrorCode(err) {
	case "":
		v.Tenants, v.Next = ts, next
	case engine.CodeInvalid:
		v.Error = "The filter is not valid: " + problems(err) + "."
		status = http.StatusBadRequest
	default:
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, tenantsPage(c.chrome(r, "Tenants", "tenants"), v))
}

func (c *console) newTenant(w http.ResponseWriter, r *http.Request) {
	kinds := c.plugins.Kinds()
	kind := r.URL.Query().Get("kind")
	if !slices.Contains(kinds, kind) && len(kinds) > 0 {
		kind = kinds[0]
	}
	vals := formValues{
		Kind:         kind,
		PrimaryColor: tenants.DefaultBranding.PrimaryColor,
		AccentColor:  tenants.DefaultBranding.AccentColor,
		Plugins:      []string{kind},
	}
	page := newTenantPage(c.chrome(r, "New tenant", "tenants"), c.createForm(vals))
	if isHTMX(r) {
		// Changing the kind asks for the plugin checkboxes of that kind.
		c.renderFragment(w, r, http.StatusOK, page, pluginsFragment)
		return
	}
	c.render(w, r, http.StatusOK, page)
}

func (c *console) createTenant(w http.ResponseWriter, r *http.Request) {
	vals, err := decodeForm(r)
	if err != nil {
		c.badForm(w, r, err)
		return
	}
	t, err := c.tenants.Create(r.Context(), vals.createParams())
	if err != nil {
		f := c.createForm(vals)
		if !f.setErrors(err, vals) {
			c.fail(w, r, err)
			return
		}
		if isHTMX(r) {
			c.render(w, r, http.StatusUnprocessableEntity, tenantFormView(f))
			return
		}
		c.render(w, r, http.StatusUnprocessableEntity, newTenantPage(c.chrome(r, "New tenant", "tenants"), f))
		return
	}
	redirect(w, r, tenantURL(t.Slug)+"?saved=1")
}

func (c *console) showTenant(w http.ResponseWriter, r *http.Request) {
	t, err := c.tenants.Get(r.Context(), r.PathValue("slug"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, tenantPage(c.chrome(r, t.Name, "tenants"), detailView{
		Tenant: t,
		Saved:  r.URL.Query().Get("saved") == "1",
		Form:   c.editForm(t.Slug, valuesOf(t)),
	}))
}

func (c *console) updateTenant(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	vals, err := decodeForm(r)
	if err != nil {
		c.badForm(w, r, err)
		return
	}
	t, err := c.tenants.Update(r.Context(), slug, vals.updateParams())
	if err != nil {
		f := c.editForm(slug, vals)
		if !f.setErrors(err, vals) {
			c.fail(w, r, err)
			return
		}
		if isHTMX(r) {
			c.render(w, r, http.StatusUnprocessableEntity, tenantFormView(f))
			return
		}
		// The full page shows the tenant as stored beside the form as sent.
		cur, gerr := c.tenants.Get(r.Context(), slug)
		if gerr != nil {
			c.fail(w, r, gerr)
			return
		}
		c.render(w, r, http.StatusUnprocessableEntity, tenantPage(c.chrome(r, cur.Name, "tenants"), detailView{Tenant: cur, Form: f}))
		return
	}
	redirect(w, r, tenantURL(t.Slug)+"?saved=1")
}

// badForm answers a body that could not be parsed as a form at all.
func (c *console) badForm(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusBadRequest, "The form could not be read. Reload the page and try again."
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		status, msg = http.StatusRequestEntityTooLarge, "The form is too large."
	}
	c.render(w, r, status, messagePage(c.chrome(r, "Bad request", ""), messageView{Title: "Bad request", Message: msg}))
}

// redirect sends the browser to target after a successful change: htmx
// follows HX-Redirect, a plain form post follows 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (c *console) createForm(v formValues) tenantForm {
	f := tenantForm{Action: "/console/tenants", Values: v, Kinds: c.plugins.Kinds(), Plugins: c.pluginOptions()}
	if v.Kind != "" && !slices.Contains(f.Kinds, v.Kind) {
		f.Kinds = append(slices.Clone(f.Kinds), v.Kind) // keep what was sent, so its error makes sense
	}
	return f
}

func (c *console) editForm(slug string, v formValues) tenantForm {
	return tenantForm{Edit: true, Action: tenantURL(slug), Values: v, Plugins: c.pluginOptions()}
}

func (c *console) pluginOptions() []pluginOption {
	var out []pluginOption
	for _, p := range c.plugins.All() {
		m := p.Manifest()
		out = append(out, pluginOption{Name: m.Name, Title: m.Title, Description: m.Description})
	}
	return out
}

// decodeForm reads a posted tenant form.
func decodeForm(r *http.Request) (formValues, error) {
	if err := r.ParseForm(); err != nil {
		return formValues{}, err
	}
	f := r.PostForm
	return formValues{
		Slug:         strings.TrimSpace(f.Get("slug")),
		Name:         f.Get("name"),
		Kind:         strings.TrimSpace(f.Get("kind")),
		TimeZone:     strings.TrimSpace(f.Get("time_zone")),
		Currency:     strings.ToUpper(strings.TrimSpace(f.Get("currency"))),
		PrimaryColor: f.Get("primary_color"),
		AccentColor:  f.Get("accent_color"),
		LogoURL:      f.Get("logo_url"),
		Domains:      f.Get("domains"),
		Plugins:      f["plugins"],
		Status:       f.Get("status"),
	}, nil
}

// valuesOf fills a form with a stored tenant.
func valuesOf(t tenants.Tenant) formValues {
	return formValues{
		Slug: t.Slug, Name: t.Name, Kind: t.Kind, TimeZone: t.TimeZone, Currency: t.Currency,
		PrimaryColor: t.Branding.PrimaryColor, AccentColor: t.Branding.AccentColor, LogoURL: t.Branding.LogoURL,
		Domains: strings.Join(t.Domains, "\n"), Plugins: t.Plugins, Status: string(t.Status),
	}
}

// domainList splits the domains field into its non-empty lines. The
// service reports domains[i] against this list.
func (v formValues) domainList() []string {
	var out []string
	for line := range strings.Lines(v.Domains) {
		if d := strings.TrimSpace(line); d != "" {
			out = append(out, d)
		}
	}
	return out
}

func (v formValues) branding() tenants.Branding {
	return tenants.Branding{PrimaryColor: v.PrimaryColor, AccentColor: v.AccentColor, LogoURL: v.LogoURL}
}

// createParams translates the form. No plugin ticked means the plugin of
// the tenant's kind, as the service defaults.
func (v formValues) createParams() tenants.CreateParams {
	p := tenants.CreateParams{
		Slug: v.Slug, Name: v.Name, Kind: v.Kind, TimeZone: v.TimeZone, Currency: v.Currency,
		Branding: v.branding(), Domains: v.domainList(),
	}
	if len(v.Plugins) > 0 {
		p.Plugins = v.Plugins
	}
	return p
}

// updateParams translates the edit form, which always sends every field:
// the tenant becomes exactly what the form shows.
func (v formValues) updateParams() tenants.UpdateParams {
	b := v.branding()
	domains := v.domainList()
	if domains == nil {
		domains = []string{}
	}
	plugins := slices.Clone(v.Plugins)
	if plugins == nil {
		plugins = []string{}
	}
	status := tenants.Status(v.Status)
	return tenants.UpdateParams{
		Name: &v.Name, TimeZone: &v.TimeZone, Currency: &v.Currency, Branding: &b,
		Domains: &domains, Plugins: &plugins, Status: &status,
	}
}

// formFields are the inputs of the tenant form, by name, with the label a
// problem with them is reported under.
var formFields = map[string]string{
	"slug": "Slug", "name": "Name", "kind": "Kind", "time_zone": "Time zone", "currency": "Currency",
	"primary_color": "Primary colour", "accent_color": "Accent colour", "logo_url": "Logo URL",
	"domains": "Domains", "plugins": "Plugins", "status": "Status",
}

// setErrors puts the problems of a service error on the form's fields and
// reports whether err was about the input (invalid or conflict) at all.
func (f *tenantForm) setErrors(err error, v formValues) bool {
	switch engine.ErrorCode(err) {
	case engine.CodeInvalid, engine.CodeConflict:
	default:
		return false
	}
	f.Errors = map[string][]string{}
	fields := engine.ErrorFields(err)
	for _, fe := range fields {
		name, msg := fieldMessage(fe, v)
		if name == "" {
			f.Other = append(f.Other, msg)
			continue
		}
		f.Errors[name] = append(f.Errors[name], msg)
	}
	switch {
	case len(fields) == 1 && engine.ErrorMessage(err) == fields[0].Message:
		// engine.Invalid's message for one field is that field's bare
		// problem ("is required"): say which field instead.
		_, f.Summary = fieldMessage(fields[0], v)
		f.Other = nil
	default:
		f.Summary = sentence(engine.ErrorMessage(err))
		if len(fields) > 1 {
			f.Summary += " Correct the fields marked below."
		}
	}
	return true
}

// fieldMessage maps a service field ("branding.primary_color",
// "domains[2]") to the form input it belongs to and a sentence naming it.
// name is "" for a field the form does not have.
func fieldMessage(fe engine.FieldError, v formValues) (name, msg string) {
	field, index, indexed := strings.Cut(fe.Field, "[")
	field = strings.TrimPrefix(field, "branding.")
	label, ok := formFields[field]
	if !ok {
		return "", sentence(fe.Field + " " + fe.Message)
	}
	if indexed {
		i, _ := strconv.Atoi(strings.TrimSuffix(index, "]"))
		var item string
		switch field {
		case "domains":
			if ds := v.domainList(); i >= 0 && i < len(ds) {
				item = ds[i]
			}
			label = "Domain"
		case "plugins":
			if i >= 0 && i < len(v.Plugins) {
				item = v.Plugins[i]
			}
			label = "Plugin"
		}
		if item != "" {
			label += " " + strconv.Quote(item)
		} else {
			label += fmt.Sprintf(" %d", i+1)
		}
	}
	// The service's messages are predicates ("is required") or, rarely,
	// statements that start with a value ("x.example.com is already used
	// by another tenant"), which must keep its case.
	m := fe.Message
	for _, verb := range []string{"is ", "are ", "must ", "may "} {
		if strings.HasPrefix(m, verb) {
			return field, sentence(label + " " + m)
		}
	}
	return field, sentence(label + ": " + m)
}

// sentence capitalizes s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// problems lists an invalid error's field problems for a one-line message.
func problems(err error) string {
	var out []string
	for _, fe := range engine.ErrorFields(err) {
		out = append(out, fe.Field+" "+fe.Message)
	}
	if len(out) == 0 {
		return engine.ErrorMessage(err)
	}
	return strings.Join(out, "; ")
}

// tenantURL is the console page of the tenant with slug.
func tenantURL(slug string) string { return "/console/tenants/" + url.PathEscape(slug) }

// tenantConsoleURL is the tenant's console on the platform host, where a
// platform admin's session is valid.
func tenantConsoleURL(slug string) string { return "/t/" + url.PathEscape(slug) + "/console/" }

// appURL is the tenant's web app on the platform host.
func appURL(slug string) string { return "/t/" + url.PathEscape(slug) + "/" }

// listURL is a page of the tenants list.
func listURL(status, after string) string {
	return pageURL("/console/tenants", map[string]string{"status": status, "after": after})
}

// commonTimeZones are suggested in the time zone input; any IANA zone the
// server and database know is accepted.
var commonTimeZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
	"Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Zurich",
	"Europe/Vienna", "Europe/Stockholm", "Europe/Warsaw", "Europe/Prague", "Europe/Athens",
	"Europe/Helsinki", "Europe/Istanbul", "Europe/Kyiv", "Africa/Cairo", "Africa/Johannesburg",
	"Africa/Lagos", "Africa/Nairobi", "Asia/Dubai", "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka",
	"Asia/Bangkok", "Asia/Jakarta", "Asia/Singapore", "Asia/Hong_Kong", "Asia/Shanghai",
	"Asia/Manila", "Asia/Seoul", "Asia/Tokyo", "Australia/Perth", "Australia/Adelaide",
	"Australia/Sydney", "Pacific/Auckland", "America/St_Johns", "America/Halifax",
	"America/New_York", "America/Toronto", "America/Chicago", "America/Mexico_City",
	"America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Anchorage",
	"Pacific/Honolulu", "America/Bogota", "America/Lima", "America/Santiago",
	"America/Buenos_Aires", "America/Sao_Paulo",
}

// currencyCodes are suggested in the currency input.
var currencyCodes = money.CurrencyCodes()

// statuses are the choices of the status field and filter.
var statuses = []string{string(tenants.StatusActive), string(tenants.StatusSuspended)}

// pluginsFragment names the plugin checkboxes inside the form: htmx asks
// for just them when the kind changes.
const pluginsFragment = "plugins"

// invalid returns the attributes that mark input name as invalid and point
// to its message, or none.
func (f tenantForm) invalid(name string) templ.Attributes {
	if len(f.Errors[name]) == 0 {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": "error-" + name}
}

// ticked reports whether the plugin checkbox name is checked.
func (f tenantForm) ticked(name string) bool { return slices.Contains(f.Values.Plugins, name) }

// formatTime shows a registry timestamp, in UTC: the console serves many
// time zones.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
