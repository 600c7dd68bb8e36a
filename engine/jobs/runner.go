package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/jobs/riverschema"
	"github.com/guildhall/guildhall/engine/ledger"
)

// Migrate applies River's migrations as the owner role and grants the
// application role what River's client needs; see riverschema.Migrate.
// `guildhall migrate up` runs it after the embedded migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	return riverschema.Migrate(ctx, pool)
}

// Runner tuning.
const (
	// jobTimeout bounds one attempt of any job (a weekly bonus of a large
	// tenant is the longest); River cancels its context after it.
	jobTimeout = 10 * time.Minute
	// completedRetention is how long River keeps completed and cancelled
	// jobs. It must exceed the longest dispatch window (25 hours) for
	// periodic work to stay unique per period; see periodOpts.
	completedRetention = 48 * time.Hour
	// hardStopWait is how long Stop waits for cancelled jobs to return once
	// its context ended before they finished.
	hardStopWait = 5 * time.Second
	// tenantPage is how many tenants the dispatcher reads at a time.
	tenantPage = 100
)

// Deps are what the Runner's workers use.
type Deps struct {
	Tenants TenantLister // required
	Ledger  *ledger.Service
	Log     *slog.Logger
	Now     func() time.Time // the dispatcher's clock; nil means time.Now
	// Workers holds the workers other packages registered (with
	// river.AddWorker) for their own job kinds; nil when there are none.
	// New adds this package's workers to it.
	Workers *river.Workers
	// MaxWorkers is how many jobs this server runs at once; 0 means 10.
	MaxWorkers int
	// Daily is tenant work other packages need done once a tenant-local
	// day (a plugin's cleanup, the notification digest).
	Daily []Daily
}

// Daily is work done once per tenant-local day for every active tenant
// Applies accepts: Run is called with the tenant in ctx and the date
// (midnight UTC of the civil date), at Hour:Minute in the tenant's time
// zone, as a River job — at least once, retried on error — so Run must be
// idempotent for a day.
type Daily struct {
	Work         string // unique and stable, dotted: social.cleanup
	Hour, Minute int
	// Applies reports whether the tenant in ctx gets this work (say, it
	// enabled the plugin); nil means every tenant. It is asked when the
	// work is dispatched and again before it runs.
	Applies func(ctx context.Context) bool
	Run     func(ctx context.Context, day time.Time) error
}

// Runner is the River client with Guildhall's workers: the server starts it
// to work jobs; any code holding it can enqueue (InsertTx) without starting
// it.
type Runner struct {
	client  *river.Client[pgx.Tx]
	pool    *pgxpool.Pool
	db      *db.DB
	tenants TenantLister
	ledger  *ledger.Service
	log     *slog.Logger
	now     func() time.Time
	zones   sync.Map // time zone name → *time.Location
	// daily is the registered daily work by name; dailyOrder keeps the
	// order of registration for dispatch.
	daily      map[string]Daily
	dailyOrder []string
}

// New builds the Runner on pool, which connects as the application role.
// It does no I/O.
func New(pool *pgxpool.Pool, deps Deps) (*Runner, error) {
	if deps.Tenants == nil || deps.Ledger == nil || deps.Log == nil {
		return nil, errors.New("jobs.New: Deps.Tenants, Ledger and Log are required")
	}
	r := &Runner{pool: pool, db: db.New(pool), tenants: deps.Tenants, ledger: deps.Ledger, log: deps.Log, now: deps.Now, daily: map[string]Daily{}}
	for _, d := range deps.Daily {
		switch {
		case !workRe.MatchString(d.Work):
			return nil, fmt.Errorf("jobs.New: daily work %q: want a dotted lowercase name", d.Work)
		case r.daily[d.Work].Run != nil:
			return nil, fmt.Errorf("jobs.New: daily work %s registered twice", d.Work)
		case d.Hour < 0 || d.Hour > 23 || d.Minute < 0 || d.Minute > 59:
			return nil, fmt.Errorf("jobs.New: daily work %s: %02d:%02d is not a time of day", d.Work, d.Hour, d.Minute)
		case d.Run == nil:
			return nil, fmt.Errorf("jobs.New: daily work %s has no Run", d.Work)
		}
		r.daily[d.Work] = d
		r.dailyOrder = append(r.dailyOrder, d.Work)
	}
	if r.now == nil {
		r.now = time.Now
	}
	workers := deps.Workers
	if workers == nil {
		workers = river.NewWorkers()
	}
	for _, add := range []func() error{
		func() error { return river.AddWorkerSafely(workers, &dispatchWorker{r: r}) },
		func() error { return river.AddWorkerSafely(workers, &dailyStatsWorker{r: r}) },
		func() error { return river.AddWorkerSafely(workers, &expireCoinsWorker{r: r}) },
		func() error { return river.AddWorkerSafely(workers, &weeklyBonusWorker{r: r}) },
		func() error { return river.AddWorkerSafely(workers, &cleanupKeysWorker{r: r}) },
		func() error { return river.AddWorkerSafely(workers, &dailyWorker{r: r}) },
	} {
		if err := add(); err != nil {
			return nil, fmt.Errorf("jobs.New: %w", err)
		}
	}
	maxWorkers := deps.MaxWorkers
	if maxWorkers == 0 {
		maxWorkers = 10
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers: workers,
		// Only the elected leader enqueues periodic jobs; RunOnStart makes a
		// new leader dispatch at once instead of five minutes later.
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(DispatchEvery),
			func() (river.JobArgs, *river.InsertOpts) { return DispatchArgs{}, nil },
			&river.PeriodicJobOpts{ID: KindDispatch, RunOnStart: true})},
		JobTimeout:                  jobTimeout,
		CompletedJobRetentionPeriod: completedRetention,
		CancelledJobRetentionPeriod: completedRetention,
		// REINDEX needs ownership of River's indexes, which the application
		// role lacks by design: River's nightly reindexer would only log
		// permission errors. An operator reindexes as the owner if needed.
		ReindexerIndexNames: []string{},
		ErrorHandler:        &errorLogger{log: deps.Log},
		// River reports each failed attempt at info level and the error
		// handler logs it, with the tenant: keep River's warnings and errors
		// only, so a failure is logged once.
		Logger: slog.New(minLevel{Handler: deps.Log.Handler(), min: slog.LevelWarn}).With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs.New: river client: %w", err)
	}
	r.client = client
	return r, nil
}

// Client returns the River client, for what the Runner does not wrap.
func (r *Runner) Client() *river.Client[pgx.Tx] { return r.client }

// Start checks that River's migrations are applied, then starts working
// jobs until ctx is done or Stop is called. Cancelling ctx stops the runner
// too, without waiting for running jobs.
// Errors: one wrapping db.ErrMigrationsPending when River's tables are not
// up to date.
func (r *Runner) Start(ctx context.Context) error {
	if err := riverschema.Check(ctx, r.pool); err != nil {
		return err
	}
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("start job runner: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish. When ctx
// ends first, it cancels them and waits a few seconds more for them to
// return; they are retried later (River marks them for retry).
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopWait)
	defer cancel()
	if herr := r.client.StopAndCancel(hctx); herr != nil {
		return fmt.Errorf("stop job runner: %w", errors.Join(err, herr))
	}
	return nil
}

// InsertTx enqueues a job in tx, the transaction of the change that causes
// it: the job exists only if tx commits. opts may be nil. A unique job whose
// twin exists is not inserted; the result says so
// (UniqueSkippedAsDuplicate).
func (r *Runner) InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := r.client.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res, nil
}

// Dispatch enqueues the periodic work that has come due for every active
// tenant, by the dispatcher's clock in each tenant's time zone, and returns
// how many jobs it inserted. Work already enqueued for its period is not
// enqueued again, so running it twice (or on two servers) is harmless. The
// periodic dispatch job calls it; a tenant whose time zone is unknown is
// skipped with a warning.
func (r *Runner) Dispatch(ctx context.Context) (int, error) {
	now := r.now()
	inserted := 0
	after := ""
	for {
		page, next, err := r.tenants.ActiveTenants(ctx, after, tenantPage)
		if err != nil {
			return inserted, fmt.Errorf("list tenants: %w", err)
		}
		var params []river.InsertManyParams
		for _, t := range page {
			loc, err := r.location(t.TimeZone)
			if err != nil {
				r.log.WarnContext(engine.WithTenant(ctx, t.ID), "tenant work not dispatched", "time_zone", t.TimeZone, "error", err)
				continue
			}
			for _, args := range due(t.ID, now, loc) {
				params = append(params, river.InsertManyParams{Args: args})
			}
			for _, args := range r.dueDaily(engine.WithTenant(ctx, t.ID), t.ID, now, loc) {
				params = append(params, river.InsertManyParams{Args: args})
			}
		}
		if len(params) > 0 {
			res, err := r.client.InsertMany(ctx, params)
			if err != nil {
				return inserted, fmt.Errorf("enqueue tenant work: %w", err)
			}
			for _, x := range res {
				if !x.UniqueSkippedAsDuplicate {
					inserted++
				}
			}
		}
		if next == "" {
			return inserted, nil
		}
		after = next
	}
}

// location loads (once) the time zone of a tenant.
func (r *Runner) location(name string) (*time.Location, error) {
	if loc, ok := r.zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	r.zones.Store(name, loc)
	return loc, nil
}

// ListParams selects a page of jobs, newest first.
type ListParams struct {
	State    State     // "" for every state
	Kind     string    // "" for every kind
	TenantID uuid.UUID // uuid.Nil for every tenant's and the platform's jobs
	Limit    int       // 1..200; 0 means 50
	Cursor   string    // the next cursor of the previous page
}

// maxListLimit bounds a page of jobs.
const maxListLimit = 200

// List returns a page of jobs of every tenant (the platform console's
// view; filter one tenant's with TenantID) and the cursor of the next page,
// empty when there is none.
// Errors: invalid (state, limit or cursor).
func (r *Runner) List(ctx context.Context, p ListParams) ([]Job, string, error) {
	var problems []engine.FieldError
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > maxListLimit {
		problems = append(problems, engine.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", maxListLimit)})
	}
	states, ok := riverStates[p.State]
	if p.State != "" && !ok {
		problems = append(problems, engine.FieldError{Field: "state", Message: "must be queued, running, retrying, discarded, completed or cancelled"})
	}
	var before int64
	if p.Cursor != "" {
		var err error
		if before, err = strconv.ParseInt(p.Cursor, 10, 64); err != nil || before <= 0 {
			problems = append(problems, engine.FieldError{Field: "cursor", Message: "is not a cursor this list returned"})
		}
	}
	if err := engine.Invalid(problems); err != nil {
		return nil, "", err
	}
	// Ordered by ID alone, newest first, so the cursor is the last ID.
	lp := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(p.Limit + 1)
	if p.State != "" {
		lp = lp.States(states...)
	}
	if p.Kind != "" {
		lp = lp.Kinds(p.Kind)
	}
	if p.TenantID != uuid.Nil {
		// Containment on args uses River's GIN index on river_job.args.
		lp = lp.Where("args @> @tenant_args::jsonb", river.NamedArgs{"tenant_args": tenantFilter(p.TenantID)})
	}
	if before > 0 {
		lp = lp.Where("id < @before_id", river.NamedArgs{"before_id": before})
	}
	res, err := r.client.JobList(ctx, lp)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	rows := res.Jobs
	next := ""
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		next = strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	out := make([]Job, 0, len(rows))
	for _, row := range rows {
		out = append(out, toJob(row))
	}
	return out, next, nil
}

// Counts returns how many jobs are in each state, of one tenant or (with
// uuid.Nil) of all tenants and the platform.
func (r *Runner) Counts(ctx context.Context, tenant uuid.UUID) (Counts, error) {
	var c Counts
	err := r.db.InPlatform(ctx, func(tx pgx.Tx) error {
		byState, err := countJobs(ctx, tx, tenant)
		if err != nil {
			return err
		}
		for rs, n := range byState {
			switch stateOf(rs) {
			case StateQueued:
				c.Queued += n
			case StateRunning:
				c.Running += n
			case StateRetrying:
				c.Retrying += n
			case StateDiscarded:
				c.Discarded += n
			case StateCompleted:
				c.Completed += n
			case StateCancelled:
				c.Cancelled += n
			}
		}
		return nil
	})
	return c, err
}

// Job returns one job.
// Errors: not_found.
// With a tenant in ctx, another tenant's job or a platform job is not_found.
func (r *Runner) Job(ctx context.Context, id int64) (Job, error) {
	row, err := r.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("get job: %w", err)
	}
	j := toJob(row)
	if t, ok := engine.TenantFrom(ctx); ok && (j.TenantID == nil || *j.TenantID != t) {
		// A tenant's staff see only their tenant's jobs.
		return Job{}, ErrNotFound
	}
	return j, nil
}

// Retry makes a failed (retrying), discarded or cancelled job run again now,
// with one more attempt when it had used them all. A tenant's job is retried
// in that tenant's transaction with an audit event (job.retried) naming the
// actor in ctx.
// Errors: not_found; conflict (ErrNotRetryable: queued, running or
// completed).
func (r *Runner) Retry(ctx context.Context, id int64) (Job, error) {
	j, err := r.Job(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if j.State != StateRetrying && j.State != StateDiscarded && j.State != StateCancelled {
		return Job{}, ErrNotRetryable
	}
	retry := func(tx pgx.Tx) error {
		row, err := r.client.JobRetryTx(ctx, tx, id)
		if errors.Is(err, river.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("retry job: %w", err)
		}
		j = toJob(row)
		return nil
	}
	if j.TenantID == nil {
		err = r.db.InPlatform(ctx, retry)
	} else {
		tctx := engine.WithTenant(ctx, *j.TenantID)
		err = r.db.InTenant(tctx, func(tx pgx.Tx) error {
			if err := retry(tx); err != nil {
				return err
			}
			return audit.Record(tctx, tx, "job.retried", "job:"+strconv.FormatInt(id, 10), map[string]any{"kind": j.Kind})
		})
	}
	if err != nil {
		return Job{}, err
	}
	return j, nil
}

// errorLogger logs each failed attempt once, with the job's tenant in the
// context (so the log handler adds tenant_id): a warning while River will
// retry, an error when the job is discarded.
type errorLogger struct {
	log *slog.Logger
}

// HandleError implements river.ErrorHandler.
func (h *errorLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.failed(ctx, job, slog.String("error", err.Error()))
	return nil
}

// HandlePanic implements river.ErrorHandler.
func (h *errorLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.failed(ctx, job, slog.String("error", fmt.Sprintf("panic: %v", panicVal)), slog.String("trace", trace))
	return nil
}

func (h *errorLogger) failed(ctx context.Context, job *rivertype.JobRow, attrs ...slog.Attr) {
	if t := tenantOf(job.EncodedArgs); t != nil {
		ctx = engine.WithTenant(ctx, *t)
	}
	level, msg := slog.LevelWarn, "job failed; will retry"
	if job.Attempt >= job.MaxAttempts {
		level, msg = slog.LevelError, "job failed; discarded"
	}
	attrs = append(attrs, slog.Int64("job_id", job.ID), slog.String("kind", job.Kind),
		slog.Int("attempt", job.Attempt), slog.Int("max_attempts", job.MaxAttempts))
	h.log.LogAttrs(ctx, level, msg, attrs...)
}

// minLevel passes on only records at min or above.
type minLevel struct {
	slog.Handler
	min slog.Level
}

// Enabled implements slog.Handler.
func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs implements slog.Handler.
func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

// WithGroup implements slog.Handler.
func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
