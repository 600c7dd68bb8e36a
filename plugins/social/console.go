package social

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
)

// The console pages of the plugin: the moderation queue, post search,
// member detail with warnings and suspensions, and the social settings.
// The console mounts them in a tenant's section behind the permission
// each declares and answers 404 for a tenant without the plugin; handlers
// only read forms, call the Service (which checks the permission again,
// records the moderation action and audits it) and render through the
// plugin.Frame. Forms post, then redirect (303) to the page they came
// from with ?done= naming what was done; a form the service refuses comes
// back with its problems (422).

// ConsolePages implements plugin.ConsoleProvider.
func (p *Plugin) ConsolePages() []plugin.Page {
	c := &consolePages{svc: p.svc}
	mod, manage := PermissionModerate, PermissionManage
	get, post := http.MethodGet, http.MethodPost
	pages := []plugin.Page{
		{Method: get, Path: "/moderation", Title: "Moderation", Nav: true, Permission: mod, Handler: c.handle(c.queue)},
		{Method: get, Path: "/moderation/search", Title: "Search posts", Permission: mod, Handler: c.handle(c.search)},
		{Method: post, Path: "/moderation/reports/close", Title: "Close reports", Permission: mod, Handler: c.handle(c.closeReports)},
		{Method: get, Path: "/moderation/members/{id}", Title: "Member", Permission: mod, Handler: c.handle(c.member)},
		{Method: post, Path: "/moderation/members/{id}/warn", Title: "Warn", Permission: mod, Handler: c.handle(c.warn)},
		{Method: post, Path: "/moderation/members/{id}/suspend", Title: "Suspend", Permission: mod, Handler: c.handle(c.suspend)},
		{Method: post, Path: "/moderation/members/{id}/unsuspend", Title: "Unsuspend", Permission: mod, Handler: c.handle(c.unsuspend)},
		{Method: get, Path: "/social-settings", Title: "Social settings", Nav: true, Permission: manage, Handler: c.handle(c.settings)},
		{Method: post, Path: "/social-settings", Title: "Social settings", Permission: manage, Handler: c.handle(c.saveSettings)},
	}
	for _, kind := range []string{TargetPost, TargetComment} {
		for _, action := range consoleActions {
			pages = append(pages, plugin.Page{Method: post, Path: "/moderation/" + kind + "s/{id}/" + action, Title: consoleActionTitles[action],
				Permission: mod, Handler: c.handle(c.moderate(kind, action))})
		}
	}
	return pages
}

// consolePages holds the console handlers.
type consolePages struct {
	svc *Service
}

// consoleHandler is a console page's handler with the console's Frame.
type consoleHandler func(w http.ResponseWriter, r *http.Request, f plugin.Frame)

// handle adapts h to the console, which always calls with a Frame.
func (c *consolePages) handle(h consoleHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := plugin.FrameFrom(r.Context())
		if !ok {
			http.Error(w, "This page is shown inside the console.", http.StatusInternalServerError)
			return
		}
		h(w, r, f)
	})
}

// Sections of the console's navigation the pages belong to.
const (
	consoleSectionModeration = "/moderation"
	consoleSectionSettings   = "/social-settings"
)

// render writes a page of the plugin in the console's layout.
func (c *consolePages) render(w http.ResponseWriter, r *http.Request, f plugin.Frame, status int, title, section string, body templ.Component) {
	f.Render(w, r, status, plugin.View{Title: title, Body: body, Section: section, Styles: []string{"console.css"}})
}

// zone is the tenant's time zone, in which pages show times and
// suspensions are typed; ok is false when the failure was answered.
func (c *consolePages) zone(w http.ResponseWriter, r *http.Request, f plugin.Frame) (*time.Location, bool) {
	loc, err := c.svc.Location(r.Context())
	if err != nil {
		f.Fail(w, r, err)
		return nil, false
	}
	return loc, true
}

// pathID reads the {id} of the path; a malformed one is answered with
// notFound.
func (c *consolePages) pathID(w http.ResponseWriter, r *http.Request, f plugin.Frame, notFound error) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		f.Fail(w, r, notFound)
		return uuid.Nil, false
	}
	return id, true
}

var errConsoleForm = &engine.Error{Code: engine.CodeInvalid, Message: "The form could not be read; reload the page and try again."}

// parseForm reads a posted form; ok is false when the failure was
// answered.
func (c *consolePages) parseForm(w http.ResponseWriter, r *http.Request, f plugin.Frame) bool {
	if err := r.ParseForm(); err != nil {
		f.Fail(w, r, errConsoleForm)
		return false
	}
	return true
}

// done redirects (303) to p (a path of the console's tenant section) with
// ?done= naming what was done, which the page confirms.
func (c *consolePages) done(w http.ResponseWriter, r *http.Request, f plugin.Frame, p, what string) {
	sep := "?"
	if strings.Contains(p, "?") {
		sep = "&"
	}
	http.Redirect(w, r, f.Path(r, p+sep+"done="+url.QueryEscape(what)), http.StatusSeeOther)
}

// consoleReturn is where a moderation form sends the moderator back to:
// the page it was on (its "return" input) if that is a moderation page,
// else fallback. It is a path under the console's base, so it cannot leave
// the console; its old ?done= is dropped.
func consoleReturn(raw, fallback string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.Contains(raw, `\`) ||
		(u.Path != consoleSectionModeration && !strings.HasPrefix(u.Path, consoleSectionModeration+"/")) {
		return fallback
	}
	q := u.Query()
	q.Del("done")
	return (&url.URL{Path: u.Path, RawQuery: q.Encode()}).String()
}

// consoleNotices confirm what a form did, by its ?done= value.
var consoleNotices = map[string]string{
	"hide":      "Hidden: members no longer see it, what it earned was taken back and its open reports were resolved.",
	"restore":   "Restored: members see it again. The coins it earned stay taken back.",
	"delete":    "Deleted: members no longer see it, what it earned was taken back and its open reports were resolved. It is purged after the retention period.",
	"resolved":  "Reports resolved.",
	"dismissed": "Reports dismissed.",
	"none":      "Those reports were already closed.",
	"warned":    "Warning sent: the member was notified.",
	"suspended": "Member suspended and notified.",
	"lifted":    "Suspension lifted.",
	"saved":     "Social settings saved. Other servers apply them within 30 seconds.",
}

// consoleURL is path with the non-empty query values of q, in a fixed order.
func consoleURL(path string, q ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(q); i += 2 {
		if q[i+1] != "" {
			v.Set(q[i], q[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// consoleMemberPath is a member's moderation page, relative to the
// console's base.
func consoleMemberPath(id uuid.UUID) string { return "/moderation/members/" + id.String() }

// consoleTime shows t in loc.
func consoleTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2 Jan 2006 15:04 MST")
}

// consoleLocalInput is the value of a datetime-local input for t in loc.
func consoleLocalInput(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02T15:04")
}

// consoleAuthor shows a member: @handle, else their display name.
func consoleAuthor(a *Author) string {
	switch {
	case a == nil:
		return "(purged)"
	case a.Handle != "":
		return "@" + a.Handle
	case a.DisplayName != "":
		return a.DisplayName
	}
	return a.ID.String()
}

// consolePlural picks the word for n.
func consolePlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
