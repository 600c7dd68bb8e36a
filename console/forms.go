package console

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/authz"
)

// formProblems maps the field problems of a service error to a form's
// inputs, whose names are the service's field names ("scopes[2]" belongs
// to "scopes"); labels names each input in the messages. It returns a
// sentence per input with a problem and a summary for the top of the form.
func formProblems(err error, labels map[string]string) (errs map[string]string, summary string) {
	errs = map[string]string{}
	var other []string
	fields := engine.ErrorFields(err)
	for _, fe := range fields {
		name, _, _ := strings.Cut(fe.Field, "[")
		label, ok := labels[name]
		if !ok {
			other = append(other, sentence(fe.Field+" "+fe.Message))
			continue
		}
		msg := labelled(label, fe.Message)
		if errs[name] != "" {
			msg = errs[name] + " " + msg
		}
		errs[name] = msg
	}
	switch {
	case len(fields) == 1 && len(other) == 0:
		for _, m := range errs {
			summary = m
		}
	case len(fields) > 1:
		summary = sentence(engine.ErrorMessage(err)) + " Correct the fields marked below."
		if len(other) > 0 {
			summary += " " + strings.Join(other, " ")
		}
	default:
		summary = sentence(engine.ErrorMessage(err))
		if len(other) > 0 && summary != other[0] {
			summary += " " + strings.Join(other, " ")
		}
	}
	return errs, summary
}

// labelled makes a sentence of a service's problem with the input label:
// its messages are predicates ("must be …") or statements that start with
// a value ("x is not a scope").
func labelled(label, msg string) string {
	for _, verb := range []string{"is ", "are ", "must ", "may "} {
		if strings.HasPrefix(msg, verb) {
			return sentence(label + " " + msg)
		}
	}
	return sentence(label + ": " + msg)
}

// pathID reads the {id} of the request's path; ok is false (and a 404 page
// is written) when it is not a UUID.
func (c *console) pathID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.notFound(w, r)
		return uuid.Nil, false
	}
	return id, true
}

// viewerRank is the rank a principal acts with in the tenant; a platform
// admin outranks owners.
func viewerRank(p engine.Principal) int {
	if p.Kind == engine.PrincipalPlatform {
		return authz.Rank(authz.RoleOwner) + 1
	}
	return authz.Rank(p.Role)
}

// mayManage mirrors the identity service's rule for what the console
// offers: owners (and platform admins) manage everyone, others only the
// roles below their own. The service enforces it; this only decides which
// forms and choices to show.
func mayManage(p engine.Principal, role string) bool {
	rank := viewerRank(p)
	return rank >= authz.Rank(authz.RoleOwner) || authz.Rank(role) < rank
}

// grantable returns the roles p may give, highest first.
func grantable(p engine.Principal) []string {
	var out []string
	for _, role := range authz.Roles {
		if mayManage(p, role) {
			out = append(out, role)
		}
	}
	return out
}

// formatDate shows the day of t, in UTC.
func formatDate(t time.Time) string { return t.UTC().Format("2006-01-02") }

// formatOptional shows t, or a dash when there is none.
func formatOptional(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return formatTime(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// invalid returns the attributes that mark input name as invalid and point
// to its message, or none.
func invalid(errs map[string]string, name string) templ.Attributes {
	if errs[name] == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": "error-" + name}
}

// formReader reads a posted form: it keeps every value as typed (to show
// the form again) and notes the problems found while reading numbers and
// dates, by input name, before any service sees them.
type formReader struct {
	form   url.Values
	Values map[string]string
	Errors map[string]string
}

func newFormReader(form url.Values) *formReader {
	return &formReader{form: form, Values: map[string]string{}, Errors: map[string]string{}}
}

// text returns input name, trimmed.
func (f *formReader) text(name string) string {
	v := strings.TrimSpace(f.form.Get(name))
	f.Values[name] = v
	return v
}

// raw returns input name as typed (a textarea whose spaces matter).
func (f *formReader) raw(name string) string {
	v := f.form.Get(name)
	f.Values[name] = v
	return v
}

// checked reports whether checkbox name was ticked.
func (f *formReader) checked(name string) bool {
	on := f.form.Get(name) != ""
	if on {
		f.Values[name] = "on"
	}
	return on
}

// integer reads a required whole number.
func (f *formReader) integer(name, label string) int64 {
	v := f.optInteger(name, label)
	if v == nil {
		if f.Errors[name] == "" {
			f.Errors[name] = sentence(label + " is required")
		}
		return 0
	}
	return *v
}

// optInteger reads a whole number; an empty input is nil.
func (f *formReader) optInteger(name, label string) *int64 {
	raw := f.text(name)
	if raw == "" {
		return nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		f.Errors[name] = sentence(label + " must be a whole number")
		return nil
	}
	return &n
}

// optInt is optInteger for int fields.
func (f *formReader) optInt(name, label string) *int {
	v := f.optInteger(name, label)
	if v == nil {
		return nil
	}
	if *v < math.MinInt32 || *v > math.MaxInt32 {
		f.Errors[name] = sentence(label + " is too large")
		return nil
	}
	n := int(*v)
	return &n
}

// optTime reads a datetime-local input (2006-01-02T15:04) in loc; an
// empty input is nil.
func (f *formReader) optTime(name, label string, loc *time.Location) *time.Time {
	raw := f.text(name)
	if raw == "" {
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
			return &t
		}
	}
	f.Errors[name] = sentence(label + " must be a date and time such as 2030-12-31T18:00")
	return nil
}

// merge adds the field problems of a service error to the form's: rename
// maps a service field to its input (nil: the same name), labels names
// each input in the messages, and an input keeps the problem it already
// has. It returns the summary for the top of the form, which starts with
// prefix ("Nothing was saved.").
func (f *formReader) merge(err error, labels map[string]string, rename func(string) string, prefix string) string {
	var other []string
	fresh := map[string]bool{}
	fields := engine.ErrorFields(err)
	for _, fe := range fields {
		field := fe.Field
		if rename != nil {
			field = rename(field)
		}
		name, _, _ := strings.Cut(field, "[")
		label, ok := labels[name]
		if !ok {
			other = append(other, sentence(field+" "+fe.Message))
			continue
		}
		msg := labelled(label, fe.Message)
		switch {
		case f.Errors[name] == "":
			f.Errors[name], fresh[name] = msg, true
		case fresh[name] && !strings.Contains(f.Errors[name], msg):
			f.Errors[name] += " " + msg
		}
	}
	if err != nil && len(fields) == 0 {
		other = append(other, sentence(engine.ErrorMessage(err)))
	}
	return f.summary(prefix, other...)
}

// summary is the sentence at the top of a form with problems.
func (f *formReader) summary(prefix string, other ...string) string {
	out := prefix
	switch len(f.Errors) {
	case 0:
	case 1:
		for _, msg := range f.Errors {
			out += " " + msg
		}
	default:
		out += " Correct the fields marked below."
	}
	if len(other) > 0 {
		out += " " + strings.Join(other, " ")
	}
	return strings.TrimSpace(out)
}

// newKey is a fresh idempotency key for a form that moves coins: the form
// carries it, so submitting the same form twice applies it once.
func newKey() string { return uuid.Must(uuid.NewV7()).String() }

// can reports whether the viewer of r holds permission.
func (c *console) can(r *http.Request, permission string) bool {
	s, ok := sessionFrom(r.Context())
	return ok && c.authz.Can(s.Principal, permission)
}

// formatCoins shows a number of coins with thousands separators.
func formatCoins(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "−" + b.String()
	}
	return b.String()
}

// signedCoins shows an amount with its sign: +5, −3.
func signedCoins(n int64) string {
	if n > 0 {
		return "+" + formatCoins(n)
	}
	return formatCoins(n)
}

// optional shows a number, or text when there is none.
func optional[T int | int64](v *T, none string) string {
	if v == nil {
		return none
	}
	return strconv.FormatInt(int64(*v), 10)
}

// numberValue is the value of an input for an optional number.
func numberValue[T int | int64](v *T) string { return optional(v, "") }
