package social

import (
	"net/http"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
)

// consoleMemberView is a member as moderators see them, with the forms to
// warn, suspend and unsuspend.
type consoleMemberView struct {
	Base     string
	Here     string // this page, relative to Base
	Activity MemberActivity
	Summary  ModerationSummary
	Loc      *time.Location
	Now      time.Time
	Notice   string
	// The forms, as typed when the service refused them.
	Warn         *consoleForm
	WarnError    string
	Suspend      *consoleForm
	SuspendError string
}

// Inputs and labels of the member forms: both have a reason, so each form
// names its own.
var (
	consoleWarnInputs    = map[string]string{"reason": "warn_reason"}
	consoleSuspendInputs = map[string]string{"reason": "suspend_reason", "until": "until"}
	consoleMemberLabels  = map[string]string{"warn_reason": "Reason", "suspend_reason": "Reason", "until": "Suspended until"}
)

func (c *consolePages) member(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	c.memberPage(w, r, f, http.StatusOK, func(v *consoleMemberView) { v.Notice = consoleNotices[r.URL.Query().Get("done")] })
}

// memberPage renders the member of the path with status; edit adds what
// the request has to say.
func (c *consolePages) memberPage(w http.ResponseWriter, r *http.Request, f plugin.Frame, status int, edit func(*consoleMemberView)) {
	id, ok := c.pathID(w, r, f, ErrMemberNotFound)
	if !ok {
		return
	}
	loc, ok := c.zone(w, r, f)
	if !ok {
		return
	}
	act, err := c.svc.MemberActivity(r.Context(), id)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	sum, err := c.svc.ModerationSummary(r.Context(), id)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	v := consoleMemberView{Base: f.Path(r, ""), Here: consoleMemberPath(id), Activity: act, Summary: sum, Loc: loc, Now: c.svc.now(),
		Warn: newConsoleForm(nil), Suspend: newConsoleForm(nil)}
	v.Suspend.Values["until"] = consoleLocalInput(v.Now.Add(7*24*time.Hour), loc)
	edit(&v)
	c.render(w, r, f, status, consoleAuthor(&act.Profile.Member), consoleSectionModeration, consoleMemberPage(v))
}

func (c *consolePages) warn(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	id, ok := c.pathID(w, r, f, ErrMemberNotFound)
	if !ok || !c.parseForm(w, r, f) {
		return
	}
	form := newConsoleForm(r.PostForm)
	err := c.svc.Warn(r.Context(), WarnParams{Member: id, Reason: form.raw("warn_reason")})
	switch engine.ErrorCode(err) {
	case "":
		c.done(w, r, f, consoleMemberPath(id), "warned")
	case engine.CodeInvalid:
		summary := form.merge(err, consoleWarnInputs, consoleMemberLabels, "No warning was sent.")
		c.memberPage(w, r, f, http.StatusUnprocessableEntity, func(v *consoleMemberView) { v.Warn, v.WarnError = form, summary })
	default:
		f.Fail(w, r, err)
	}
}

// suspend suspends the member until a time typed in the tenant's time
// zone.
func (c *consolePages) suspend(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	id, ok := c.pathID(w, r, f, ErrMemberNotFound)
	if !ok || !c.parseForm(w, r, f) {
		return
	}
	loc, ok := c.zone(w, r, f)
	if !ok {
		return
	}
	form := newConsoleForm(r.PostForm)
	p := SuspendParams{Member: id, Reason: form.raw("suspend_reason"), Until: form.localTime("until", consoleMemberLabels["until"], loc)}
	var err error
	if len(form.Errors) == 0 {
		err = c.svc.Suspend(r.Context(), p)
		switch engine.ErrorCode(err) {
		case "":
			c.done(w, r, f, consoleMemberPath(id), "suspended")
			return
		case engine.CodeInvalid:
		default:
			f.Fail(w, r, err)
			return
		}
	}
	summary := form.merge(err, consoleSuspendInputs, consoleMemberLabels, "The member was not suspended.")
	c.memberPage(w, r, f, http.StatusUnprocessableEntity, func(v *consoleMemberView) { v.Suspend, v.SuspendError = form, summary })
}

func (c *consolePages) unsuspend(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	id, ok := c.pathID(w, r, f, ErrMemberNotFound)
	if !ok {
		return
	}
	if err := c.svc.Unsuspend(r.Context(), id); err != nil {
		f.Fail(w, r, err)
		return
	}
	c.done(w, r, f, consoleMemberPath(id), "lifted")
}
