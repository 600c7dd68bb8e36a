package console

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/tenants"
)

// jobsView is the tenant's background jobs: how many are in each state, a
// page of them, and retry for the failed ones.
type jobsView struct {
	Available bool // this server has a job runner
	Counts    jobs.Counts
	Jobs      []jobs.Job
	State     string // the filter; "" for every state
	Cursor    string
	Next      string
	Error     string
	Notice    string
}

func (c *console) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := jobsView{State: q.Get("state"), Cursor: q.Get("cursor")}
	if q.Get("done") == "retried" {
		v.Notice = "Job queued again. It runs within seconds."
	}
	c.jobsPage(w, r, http.StatusOK, v)
}

// jobsPage renders v with the tenant's job counts and the page of jobs its
// filter selects.
func (c *console) jobsPage(w http.ResponseWriter, r *http.Request, status int, v jobsView) {
	if c.jobs == nil {
		c.render(w, r, status, jobsPage(c.chrome(r, "Jobs", "jobs"), v))
		return
	}
	v.Available = true
	tenant := tenantID(r)
	counts, err := c.jobs.Counts(r.Context(), tenant)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Counts = counts
	list, next, err := c.jobs.List(r.Context(), jobs.ListParams{State: jobs.State(v.State), TenantID: tenant, Cursor: v.Cursor, Limit: min(c.pageSize, 100)})
	switch engine.ErrorCode(err) {
	case "":
		v.Jobs, v.Next = list, next
	case engine.CodeInvalid:
		v.Error = "The filter is not valid: " + problems(err) + "."
		status = http.StatusBadRequest
	default:
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, jobsPage(c.chrome(r, "Jobs", "jobs"), v))
}

// retryJob runs a failed, discarded or cancelled job of the tenant again.
// Another tenant's job, or a platform job, is not found here.
func (c *console) retryJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 || c.jobs == nil {
		c.notFound(w, r)
		return
	}
	j, err := c.jobs.Job(r.Context(), id)
	if err == nil && (j.TenantID == nil || *j.TenantID != tenantID(r)) {
		err = jobs.ErrNotFound
	}
	if err == nil {
		_, err = c.jobs.Retry(r.Context(), id)
	}
	switch code := engine.ErrorCode(err); code {
	case "":
		redirect(w, r, consoleBase(r.Context())+"/jobs?done=retried")
	case engine.CodeConflict:
		c.jobsPage(w, r, api.StatusFor(code), jobsView{Error: sentence(engine.ErrorMessage(err))})
	default:
		c.fail(w, r, err)
	}
}

// tenantID is the ID of the request's tenant.
func tenantID(r *http.Request) uuid.UUID {
	t, _ := tenants.FromContext(r.Context())
	return t.ID
}

// retryable reports whether j can be retried.
func retryable(j jobs.Job) bool {
	return j.State == jobs.StateRetrying || j.State == jobs.StateDiscarded || j.State == jobs.StateCancelled
}

// lastError is the message of a job's latest failed attempt.
func lastError(j jobs.Job) string {
	if len(j.Errors) == 0 {
		return ""
	}
	return j.Errors[len(j.Errors)-1].Message
}

// jobsURL is a page of the jobs with the filter of v.
func jobsURL(base string, v jobsView, cursor string) string {
	return pageURL(base+"/jobs", map[string]string{"state": v.State, "cursor": cursor})
}

// stateCounts pairs each state with its count, in the order of
// jobs.States.
func stateCounts(c jobs.Counts) []struct {
	State jobs.State
	N     int
} {
	n := map[jobs.State]int{
		jobs.StateQueued: c.Queued, jobs.StateRunning: c.Running, jobs.StateRetrying: c.Retrying,
		jobs.StateDiscarded: c.Discarded, jobs.StateCompleted: c.Completed, jobs.StateCancelled: c.Cancelled,
	}
	out := make([]struct {
		State jobs.State
		N     int
	}, len(jobs.States))
	for i, s := range jobs.States {
		out[i].State, out[i].N = s, n[s]
	}
	return out
}

// jobStates are the choices of the state filter.
var jobStates = func() []string {
	out := make([]string, len(jobs.States))
	for i, s := range jobs.States {
		out[i] = string(s)
	}
	return out
}()
