package jobs

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/guildhall/guildhall/engine"
)

// Job kinds of this package. Kinds are stored with each job: never rename
// one without a kind alias.
const (
	KindDispatch    = "jobs.dispatch"
	KindDailyStats  = "coins.daily_stats"
	KindExpireCoins = "coins.expire"
	KindWeeklyBonus = "coins.weekly_bonus"
	KindCleanupKeys = "coins.cleanup_keys"
	KindDaily       = "tenant.daily"
)

// workRe is the shape of a Daily work name.
var workRe = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// DispatchEvery is how often the dispatcher looks for due tenant work.
const DispatchEvery = 5 * time.Minute

// periodMaxAttempts bounds the attempts of periodic tenant work: with River's
// backoff (attempt⁴ seconds) a job still failing after about four hours is
// discarded, and shows in the console, well within its period.
const periodMaxAttempts = 10

// periodOpts makes periodic tenant work unique by its arguments (kind,
// tenant, period) in every state, so neither a second dispatch, a second
// server, nor a job that was discarded or cancelled brings the same period's
// work back: the console's Retry does, deliberately. River deletes completed
// and cancelled jobs after completedRetention and discarded ones after seven
// days, both longer than any dispatch window (at most 25 hours, on the day
// DST ends), so uniqueness lasts as long as the window.
func periodOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: periodMaxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: rivertype.JobStates()},
	}
}

// DispatchArgs is the periodic job that enqueues each tenant's due work.
type DispatchArgs struct{}

// Kind implements river.JobArgs.
func (DispatchArgs) Kind() string { return KindDispatch }

// InsertOpts makes one dispatch per interval however many leaders insert
// it, and no retries: the next one comes DispatchEvery later.
func (DispatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: DispatchEvery}}
}

// DailyStatsArgs computes a tenant's figures of one tenant-local day.
type DailyStatsArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Day      string    `json:"day"` // tenant-local date, YYYY-MM-DD
}

// Kind implements river.JobArgs.
func (DailyStatsArgs) Kind() string { return KindDailyStats }

// InsertOpts makes the job unique per tenant and day.
func (DailyStatsArgs) InsertOpts() river.InsertOpts { return periodOpts() }

// ExpireCoinsArgs expires a tenant's old coins (nothing when the tenant
// lets coins live forever). Day is the tenant-local date of the run, which
// makes it once a day.
type ExpireCoinsArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Day      string    `json:"day"` // YYYY-MM-DD
}

// Kind implements river.JobArgs.
func (ExpireCoinsArgs) Kind() string { return KindExpireCoins }

// InsertOpts makes the job unique per tenant and day.
func (ExpireCoinsArgs) InsertOpts() river.InsertOpts { return periodOpts() }

// WeeklyBonusArgs pays a tenant's weekly bonus for the week starting on the
// tenant-local Monday WeekStart.
type WeeklyBonusArgs struct {
	TenantID  uuid.UUID `json:"tenant_id"`
	WeekStart string    `json:"week_start"` // YYYY-MM-DD, a Monday
}

// Kind implements river.JobArgs.
func (WeeklyBonusArgs) Kind() string { return KindWeeklyBonus }

// InsertOpts makes the job unique per tenant and week.
func (WeeklyBonusArgs) InsertOpts() river.InsertOpts { return periodOpts() }

// CleanupKeysArgs deletes a tenant's expired idempotency keys. Day is the
// tenant-local date of the run, which makes it once a day.
type CleanupKeysArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Day      string    `json:"day"` // YYYY-MM-DD
}

// Kind implements river.JobArgs.
func (CleanupKeysArgs) Kind() string { return KindCleanupKeys }

// InsertOpts makes the job unique per tenant and day.
func (CleanupKeysArgs) InsertOpts() river.InsertOpts { return periodOpts() }

// DailyArgs runs one registered Daily work for a tenant and tenant-local
// date.
type DailyArgs struct {
	Work     string    `json:"work"`
	TenantID uuid.UUID `json:"tenant_id"`
	Day      string    `json:"day"` // YYYY-MM-DD
}

// Kind implements river.JobArgs.
func (DailyArgs) Kind() string { return KindDaily }

// InsertOpts makes the job unique per work, tenant and day.
func (DailyArgs) InsertOpts() river.InsertOpts { return periodOpts() }

// Tenant is what the dispatcher needs of a tenant.
type Tenant struct {
	ID       uuid.UUID
	TimeZone string // IANA name, e.g. Europe/Berlin
}

// TenantLister pages through the active tenants for the dispatcher. The
// engine does not import the tenant registry: cmd adapts tenants.Service.List
// to it (TenantListerFunc). after is "" for the first page; next is "" after
// the last.
type TenantLister interface {
	ActiveTenants(ctx context.Context, after string, limit int) (page []Tenant, next string, err error)
}

// TenantListerFunc adapts a function to TenantLister.
type TenantListerFunc func(ctx context.Context, after string, limit int) ([]Tenant, string, error)

// ActiveTenants calls f.
func (f TenantListerFunc) ActiveTenants(ctx context.Context, after string, limit int) ([]Tenant, string, error) {
	return f(ctx, after, limit)
}

// State is a job's state as the console shows it. Several of River's states
// map to one.
type State string

// The states.
const (
	StateQueued    State = "queued"    // waiting to run: River's available, scheduled and pending
	StateRunning   State = "running"   // running now
	StateRetrying  State = "retrying"  // failed an attempt; River retries it with backoff (River: retryable)
	StateDiscarded State = "discarded" // failed every attempt; runs again only when retried
	StateCompleted State = "completed" // done
	StateCancelled State = "cancelled" // cancelled, by its worker (bad arguments) or an operator
)

// States lists the states in the order the console shows them.
var States = []State{StateQueued, StateRunning, StateRetrying, StateDiscarded, StateCompleted, StateCancelled}

// riverStates maps a State to River's.
var riverStates = map[State][]rivertype.JobState{
	StateQueued:    {rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending},
	StateRunning:   {rivertype.JobStateRunning},
	StateRetrying:  {rivertype.JobStateRetryable},
	StateDiscarded: {rivertype.JobStateDiscarded},
	StateCompleted: {rivertype.JobStateCompleted},
	StateCancelled: {rivertype.JobStateCancelled},
}

// stateOf maps River's state to ours.
func stateOf(s rivertype.JobState) State {
	for st, rs := range riverStates {
		for _, r := range rs {
			if r == s {
				return st
			}
		}
	}
	return State(s)
}

// Job is a job as the console shows it.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	State       State           `json:"state"`
	RiverState  string          `json:"river_state" doc:"River's own state: available, scheduled, pending, running, retryable, discarded, completed or cancelled."`
	TenantID    *uuid.UUID      `json:"tenant_id,omitempty" doc:"The tenant the job works for; none for platform jobs."`
	Args        json.RawMessage `json:"args"`
	Queue       string          `json:"queue"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Errors      []JobError      `json:"errors,omitempty" doc:"Each failed attempt, oldest first."`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	AttemptedAt *time.Time      `json:"attempted_at,omitempty"`
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"`
}

// JobError is a failed attempt.
type JobError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Message string    `json:"message"`
}

// Counts is how many jobs are in each state.
type Counts struct {
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Retrying  int `json:"retrying"`
	Discarded int `json:"discarded"`
	Completed int `json:"completed"`
	Cancelled int `json:"cancelled"`
}

// tenantArgs reads the tenant of any job whose args carry a "tenant_id".
type tenantArgs struct {
	TenantID *uuid.UUID `json:"tenant_id"`
}

// tenantOf returns the tenant of a job, or nil for platform jobs.
func tenantOf(encodedArgs []byte) *uuid.UUID {
	var a tenantArgs
	if json.Unmarshal(encodedArgs, &a) != nil || a.TenantID == nil || *a.TenantID == uuid.Nil {
		return nil
	}
	return a.TenantID
}

func toJob(row *rivertype.JobRow) Job {
	j := Job{
		ID: row.ID, Kind: row.Kind, State: stateOf(row.State), RiverState: string(row.State),
		TenantID: tenantOf(row.EncodedArgs), Args: json.RawMessage(row.EncodedArgs), Queue: row.Queue,
		Attempt: row.Attempt, MaxAttempts: row.MaxAttempts, CreatedAt: row.CreatedAt, ScheduledAt: row.ScheduledAt,
		AttemptedAt: row.AttemptedAt, FinalizedAt: row.FinalizedAt,
	}
	for _, e := range row.Errors {
		j.Errors = append(j.Errors, JobError{At: e.At, Attempt: e.Attempt, Message: e.Error})
	}
	return j
}

// Errors callers branch on.
var (
	ErrNotFound     = &engine.Error{Code: engine.CodeNotFound, Message: "There is no such job."}
	ErrNotRetryable = &engine.Error{Code: engine.CodeConflict, Message: "Only a failed, discarded or cancelled job can be retried."}
)
