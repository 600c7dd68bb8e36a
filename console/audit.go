package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
)

// auditView is a page of the tenant's audit log.
type auditView struct {
	Events []audit.Event
	Filter auditFilter
	Cursor string // the cursor this page starts at
	Next   string // the next page's cursor, "" on the last
	Error  string // a problem with the filters
}

// auditFilter is the filter form as typed: since and until are days
// (YYYY-MM-DD, UTC), both included.
type auditFilter struct {
	Action string
	Actor  string
	Target string
	Since  string
	Until  string
}

func (c *console) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := auditView{Cursor: q.Get("cursor"), Filter: auditFilter{
		Action: strings.TrimSpace(q.Get("action")), Actor: strings.TrimSpace(q.Get("actor")),
		Target: strings.TrimSpace(q.Get("target")), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")),
	}}
	p := audit.ListParams{Action: v.Filter.Action, Actor: v.Filter.Actor, Target: v.Filter.Target, Cursor: v.Cursor, Limit: min(c.pageSize, 100)}
	var bad []string
	if v.Filter.Since != "" {
		day, err := time.Parse(time.DateOnly, v.Filter.Since)
		if err != nil {
			bad = append(bad, "from must be a date such as 2030-12-31")
		}
		p.Since = &day
	}
	if v.Filter.Until != "" {
		day, err := time.Parse(time.DateOnly, v.Filter.Until)
		if err != nil {
			bad = append(bad, "to must be a date such as 2030-12-31")
		}
		end := day.AddDate(0, 0, 1) // the whole day
		p.Until = &end
	}
	if len(bad) > 0 {
		v.Error = "The filter is not valid: " + strings.Join(bad, "; ") + "."
		c.render(w, r, http.StatusBadRequest, auditPage(c.chrome(r, "Audit log", "audit"), v))
		return
	}
	page, err := c.audit.List(r.Context(), p)
	status := http.StatusOK
	switch engine.ErrorCode(err) {
	case "":
		v.Events, v.Next = page.Events, page.Next
	case engine.CodeInvalid:
		v.Error = "The filter is not valid: " + auditProblems(err) + "."
		status = http.StatusBadRequest
	default:
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, auditPage(c.chrome(r, "Audit log", "audit"), v))
}

// auditProblems names the service's fields as the form labels them.
func auditProblems(err error) string {
	var out []string
	for _, fe := range engine.ErrorFields(err) {
		field := map[string]string{"since": "from", "until": "to", "cursor": "the page"}[fe.Field]
		if field == "" {
			field = fe.Field
		}
		msg := fe.Message
		if fe.Field == "since" && strings.Contains(msg, "before until") {
			msg = "must be on or before to"
		}
		out = append(out, field+" "+msg)
	}
	if len(out) == 0 {
		return engine.ErrorMessage(err)
	}
	return strings.Join(out, "; ")
}

// auditURL is a page of the log with the filters of v.
func auditURL(base string, f auditFilter, cursor string) string {
	return pageURL(base+"/audit", map[string]string{"action": f.Action, "actor": f.Actor, "target": f.Target, "since": f.Since, "until": f.Until, "cursor": cursor})
}

// details shows an event's details as compact JSON.
func details(e audit.Event) string {
	if len(e.Details) == 0 {
		return ""
	}
	b, err := json.Marshal(e.Details)
	if err != nil {
		return ""
	}
	return string(b)
}
