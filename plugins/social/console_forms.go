package social

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine"
)

// consoleForm reads a posted console form: it keeps every value as typed
// (to show the form again) and the problems found, by input name — those
// of reading numbers and dates first, then the service's.
type consoleForm struct {
	form   url.Values
	Values map[string]string
	Errors map[string]string
}

func newConsoleForm(form url.Values) *consoleForm {
	return &consoleForm{form: form, Values: map[string]string{}, Errors: map[string]string{}}
}

// text returns input name, trimmed.
func (f *consoleForm) text(name string) string {
	v := strings.TrimSpace(f.form.Get(name))
	f.Values[name] = v
	return v
}

// raw returns input name as typed.
func (f *consoleForm) raw(name string) string {
	v := f.form.Get(name)
	f.Values[name] = v
	return v
}

// checked reports whether checkbox name was ticked.
func (f *consoleForm) checked(name string) bool {
	on := f.form.Get(name) != ""
	if on {
		f.Values[name] = "on"
	}
	return on
}

// integer reads a required whole number.
func (f *consoleForm) integer(name, label string) int {
	raw := f.text(name)
	if raw == "" {
		f.Errors[name] = label + " is required."
		return 0
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		f.Errors[name] = label + " must be a whole number."
		return 0
	}
	return int(n)
}

// localTime reads a required datetime-local input (2006-01-02T15:04) in
// loc.
func (f *consoleForm) localTime(name, label string, loc *time.Location) time.Time {
	raw := f.text(name)
	if raw == "" {
		f.Errors[name] = label + " is required."
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
			return t
		}
	}
	f.Errors[name] = label + " must be a date and time such as 2030-12-31T18:00."
	return time.Time{}
}

// merge adds the field problems of a service error: inputs maps a service
// field to its input (a field missing from it goes to the summary),
// labels names each input. An input keeps the problem it already has. It
// returns the summary for the top of the form, starting with prefix.
func (f *consoleForm) merge(err error, inputs, labels map[string]string, prefix string) string {
	var other []string
	for _, fe := range engine.ErrorFields(err) {
		field, _, _ := strings.Cut(fe.Field, "[")
		name, ok := inputs[field]
		if !ok {
			other = append(other, consoleSentence(fe.Field+" "+fe.Message))
			continue
		}
		if f.Errors[name] == "" {
			f.Errors[name] = consoleLabelled(labels[name], fe.Message)
		}
	}
	if err != nil && len(engine.ErrorFields(err)) == 0 {
		other = append(other, consoleSentence(engine.ErrorMessage(err)))
	}
	return f.summary(prefix, other...)
}

// summary is the sentence at the top of a form with problems.
func (f *consoleForm) summary(prefix string, other ...string) string {
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

// consoleLabelled makes a sentence of a service's problem with the input's
// label: the messages are predicates ("must be …", "is required").
func consoleLabelled(label, msg string) string {
	for _, verb := range []string{"is ", "are ", "must ", "may ", "contains ", "cannot "} {
		if strings.HasPrefix(msg, verb) {
			return consoleSentence(label + " " + msg)
		}
	}
	return consoleSentence(label + ": " + msg)
}

// consoleSentence capitalises s and ends it with a full stop.
func consoleSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// consoleProblems is the field problems of a service error, a sentence
// each, or its message.
func consoleProblems(err error) string {
	var out []string
	for _, fe := range engine.ErrorFields(err) {
		out = append(out, consoleSentence(fe.Field+" "+fe.Message))
	}
	if len(out) == 0 {
		return consoleSentence(engine.ErrorMessage(err))
	}
	return strings.Join(out, " ")
}

// consoleInvalid returns the attributes that mark input name as invalid
// and point to its message, or none.
func consoleInvalid(errs map[string]string, name string) templ.Attributes {
	if errs[name] == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": "error-" + name}
}
