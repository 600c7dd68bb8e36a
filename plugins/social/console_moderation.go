package social

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
)

// consoleItem is a post or comment as the moderation pages show it.
type consoleItem struct {
	Kind       string // post or comment
	ID         uuid.UUID
	Text       string
	Author     *Author // nil when purged
	PostedAt   *time.Time
	HiddenAt   *time.Time
	HideReason string
	DeletedAt  *time.Time
	Purged     bool
}

func consolePostItem(p Post) consoleItem {
	a, at := p.Author, p.CreatedAt
	return consoleItem{Kind: TargetPost, ID: p.ID, Text: p.Text, Author: &a, PostedAt: &at, HiddenAt: p.HiddenAt,
		HideReason: p.HideReason, DeletedAt: p.DeletedAt}
}

func consoleCommentItem(c Comment) consoleItem {
	a, at := c.Author, c.CreatedAt
	return consoleItem{Kind: TargetComment, ID: c.ID, Text: c.Text, Author: &a, PostedAt: &at, HiddenAt: c.HiddenAt,
		HideReason: c.HideReason}
}

func consoleTargetItem(t TargetPreview, posted *time.Time) consoleItem {
	return consoleItem{Kind: t.Kind, ID: t.ID, Text: t.Excerpt, Author: t.Author, PostedAt: posted, HiddenAt: t.HiddenAt,
		DeletedAt: t.DeletedAt, Purged: t.Purged}
}

// actionable reports whether moderators can still act on the item.
func (it consoleItem) actionable() bool { return !it.Purged && it.DeletedAt == nil }

// actionPath is the form action of a moderation action on the item.
func (it consoleItem) actionPath(base, action string) string {
	return base + "/moderation/" + it.Kind + "s/" + it.ID.String() + "/" + action
}

// The moderation actions on content, and what their pages are called.
var (
	consoleActions      = []string{"hide", "restore", "delete"}
	consoleActionTitles = map[string]string{"hide": "Hide", "restore": "Restore", "delete": "Delete"}
)

// consoleQueueView is the moderation queue: reported content grouped by target.
type consoleQueueView struct {
	Base   string // the console's tenant section
	Here   string // this page, relative to Base, for the forms' return
	Status string
	Kind   string
	Cursor string
	Next   string
	Groups []ReportGroup
	Loc    *time.Location
	Error  string
	Notice string
}

// url is a page of the queue with v's filters.
func (v consoleQueueView) url(cursor string) string {
	return v.Base + consoleURL("/moderation", "status", v.Status, "kind", v.Kind, "cursor", cursor)
}

// next is the next page, or "" on the last.
func (v consoleQueueView) next() string {
	if v.Next == "" {
		return ""
	}
	return v.url(v.Next)
}

func (c *consolePages) queue(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	loc, ok := c.zone(w, r, f)
	if !ok {
		return
	}
	q := r.URL.Query()
	v := consoleQueueView{Base: f.Path(r, ""), Status: q.Get("status"), Kind: q.Get("kind"), Cursor: q.Get("cursor"), Loc: loc,
		Notice: consoleNotices[q.Get("done")]}
	if v.Status == "" {
		v.Status = ReportOpen
	}
	v.Here = consoleURL("/moderation", "status", v.Status, "kind", v.Kind, "cursor", v.Cursor)
	page, err := c.svc.ReportGroups(r.Context(), ReportGroupsParams{Status: v.Status, Kind: v.Kind, Cursor: v.Cursor})
	status := http.StatusOK
	switch engine.ErrorCode(err) {
	case "":
		v.Groups, v.Next = page.Groups, page.Next
	case engine.CodeInvalid:
		v.Error, status = "The filter is not valid. "+consoleProblems(err), http.StatusBadRequest
	default:
		f.Fail(w, r, err)
		return
	}
	c.render(w, r, f, status, "Moderation", consoleSectionModeration, consoleQueuePage(v))
}

// consoleSearchView is post search with its results.
type consoleSearchView struct {
	Base     string
	Here     string
	Query    string
	Cursor   string
	Next     string
	Searched bool
	Posts    []Post
	Loc      *time.Location
	Error    string
	Notice   string
}

func (v consoleSearchView) url(cursor string) string {
	return v.Base + consoleURL("/moderation/search", "q", v.Query, "cursor", cursor)
}

func (v consoleSearchView) next() string {
	if v.Next == "" {
		return ""
	}
	return v.url(v.Next)
}

func (c *consolePages) search(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	loc, ok := c.zone(w, r, f)
	if !ok {
		return
	}
	q := r.URL.Query()
	v := consoleSearchView{Base: f.Path(r, ""), Query: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor"), Loc: loc,
		Notice: consoleNotices[q.Get("done")]}
	v.Here = consoleURL("/moderation/search", "q", v.Query, "cursor", v.Cursor)
	status := http.StatusOK
	if v.Query != "" {
		page, err := c.svc.Search(r.Context(), SearchParams{Query: v.Query, Cursor: v.Cursor})
		switch engine.ErrorCode(err) {
		case "":
			v.Searched, v.Posts, v.Next = true, page.Posts, page.Next
		case engine.CodeInvalid:
			v.Error, status = "The search is not valid. "+consoleProblems(err), http.StatusBadRequest
		default:
			f.Fail(w, r, err)
			return
		}
	}
	c.render(w, r, f, status, "Search posts", consoleSectionModeration, consoleSearchPage(v))
}

// consoleActionView is a moderation action the service refused, as a form to
// correct: the content, its reason and the problem.
type consoleActionView struct {
	Base   string
	Return string
	Action string
	Item   consoleItem
	Form   *consoleForm
	Error  string
	Loc    *time.Location
}

// moderate is the handler of an action (hide, restore, delete) on a kind
// of content (post, comment).
func (c *consolePages) moderate(kind, action string) consoleHandler {
	notFound := error(ErrPostNotFound)
	if kind == TargetComment {
		notFound = ErrCommentNotFound
	}
	return func(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
		id, ok := c.pathID(w, r, f, notFound)
		if !ok || !c.parseForm(w, r, f) {
			return
		}
		form := newConsoleForm(r.PostForm)
		p := ModerateParams{Kind: kind, Target: id, Reason: form.raw("reason")}
		back := consoleReturn(form.raw("return"), consoleSectionModeration)
		var err error
		switch action {
		case "hide":
			err = c.svc.Hide(r.Context(), p)
		case "restore":
			err = c.svc.Restore(r.Context(), p)
		default:
			err = c.svc.DeleteAsModerator(r.Context(), p)
		}
		if engine.ErrorCode(err) != engine.CodeInvalid {
			if err != nil {
				f.Fail(w, r, err)
				return
			}
			c.done(w, r, f, back, action)
			return
		}
		v := consoleActionView{Base: f.Path(r, ""), Return: back, Action: action, Form: form}
		v.Error = form.merge(err, map[string]string{"reason": "reason"}, map[string]string{"reason": "Reason"}, "Nothing was changed.")
		if v.Loc, ok = c.zone(w, r, f); !ok {
			return
		}
		if kind == TargetPost {
			pst, err := c.svc.Post(r.Context(), id)
			if err != nil {
				f.Fail(w, r, err)
				return
			}
			v.Item = consolePostItem(pst)
		} else {
			cm, err := c.svc.Comment(r.Context(), id)
			if err != nil {
				f.Fail(w, r, err)
				return
			}
			v.Item = consoleCommentItem(cm)
		}
		title := consoleActionTitles[action] + " " + kind
		c.render(w, r, f, http.StatusUnprocessableEntity, title, consoleSectionModeration, consoleActionPage(v, title))
	}
}

// consoleCloseView is a closing of reports the service refused, as a form to
// correct.
type consoleCloseView struct {
	Base    string
	Return  string
	Reports []string
	Form    *consoleForm
	Error   string
}

// closeReports resolves or dismisses the reports ticked in a queue entry.
func (c *consolePages) closeReports(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	if !c.parseForm(w, r, f) {
		return
	}
	form := newConsoleForm(r.PostForm)
	p := ResolveReportsParams{Status: form.text("status"), Note: form.raw("note")}
	back := consoleReturn(form.raw("return"), consoleSectionModeration)
	for _, raw := range r.PostForm["report"] {
		id, err := uuid.Parse(raw)
		if err != nil {
			f.Fail(w, r, errConsoleForm)
			return
		}
		p.Reports = append(p.Reports, id)
	}
	v := consoleCloseView{Base: f.Path(r, ""), Return: back, Reports: r.PostForm["report"], Form: form}
	if len(p.Reports) == 0 {
		form.Errors["report"] = "Tick at least one report."
		v.Error = form.summary("No report was closed.")
		c.render(w, r, f, http.StatusUnprocessableEntity, "Close reports", consoleSectionModeration, consoleClosePage(v))
		return
	}
	n, err := c.svc.ResolveReports(r.Context(), p)
	switch engine.ErrorCode(err) {
	case "":
		what := p.Status
		if n == 0 {
			what = "none"
		}
		c.done(w, r, f, back, what)
	case engine.CodeInvalid:
		v.Error = form.merge(err, map[string]string{"note": "note", "reports": "report", "status": "status"},
			map[string]string{"note": "Note", "report": "Reports", "status": "Decision"}, "No report was closed.")
		c.render(w, r, f, http.StatusUnprocessableEntity, "Close reports", consoleSectionModeration, consoleClosePage(v))
	default:
		f.Fail(w, r, err)
	}
}
