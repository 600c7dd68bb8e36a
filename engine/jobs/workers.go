package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/guildhall/guildhall/engine"
)

// Each worker checks its args, puts the tenant in ctx and calls one ledger
// service method, which opens the tenant transaction (InTenant). An error
// goes back to River, which retries with backoff; errorLogger logs it.

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	r *Runner
}

// Work implements river.Worker.
func (w *dispatchWorker) Work(ctx context.Context, _ *river.Job[DispatchArgs]) error {
	n, err := w.r.Dispatch(ctx)
	if n > 0 {
		w.r.log.DebugContext(ctx, "tenant work enqueued", "jobs", n)
	}
	return err
}

type dailyStatsWorker struct {
	river.WorkerDefaults[DailyStatsArgs]
	r *Runner
}

// Work implements river.Worker.
func (w *dailyStatsWorker) Work(ctx context.Context, job *river.Job[DailyStatsArgs]) error {
	ctx, day, err := w.r.tenantDay(ctx, job.JobRow, job.Args.TenantID, job.Args.Day)
	if err != nil {
		return err
	}
	return w.r.ledger.DailyStats(ctx, day)
}

type expireCoinsWorker struct {
	river.WorkerDefaults[ExpireCoinsArgs]
	r *Runner
}

// Work implements river.Worker.
func (w *expireCoinsWorker) Work(ctx context.Context, job *river.Job[ExpireCoinsArgs]) error {
	ctx, _, err := w.r.tenantDay(ctx, job.JobRow, job.Args.TenantID, job.Args.Day)
	if err != nil {
		return err
	}
	n, err := w.r.ledger.ExpireCoins(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.r.log.InfoContext(ctx, "coins expired", "coins", n)
	}
	return nil
}

type weeklyBonusWorker struct {
	river.WorkerDefaults[WeeklyBonusArgs]
	r *Runner
}

// Work implements river.Worker.
func (w *weeklyBonusWorker) Work(ctx context.Context, job *river.Job[WeeklyBonusArgs]) error {
	ctx, week, err := w.r.tenantDay(ctx, job.JobRow, job.Args.TenantID, job.Args.WeekStart)
	if err != nil {
		return err
	}
	if week.Weekday() != time.Monday {
		return w.r.cancel(ctx, job.JobRow, fmt.Errorf("week_start %s is not a Monday", job.Args.WeekStart))
	}
	n, err := w.r.ledger.WeeklyBonus(ctx, week)
	if err != nil {
		return err
	}
	if n > 0 {
		w.r.log.InfoContext(ctx, "weekly bonus paid", "week_start", job.Args.WeekStart, "members", n)
	}
	return nil
}

type cleanupKeysWorker struct {
	river.WorkerDefaults[CleanupKeysArgs]
	r *Runner
}

// Work implements river.Worker.
func (w *cleanupKeysWorker) Work(ctx context.Context, job *river.Job[CleanupKeysArgs]) error {
	ctx, _, err := w.r.tenantDay(ctx, job.JobRow, job.Args.TenantID, job.Args.Day)
	if err != nil {
		return err
	}
	n, err := w.r.ledger.CleanupKeys(ctx)
	if err != nil {
		return err
	}
	w.r.log.DebugContext(ctx, "idempotency keys deleted", "keys", n)
	return nil
}

type dailyWorker struct {
	river.WorkerDefaults[DailyArgs]
	r *Runner
}

// Work implements river.Worker.
func (w *dailyWorker) Work(ctx context.Context, job *river.Job[DailyArgs]) error {
	d, ok := w.r.daily[job.Args.Work]
	if !ok {
		return w.r.cancel(ctx, job.JobRow, fmt.Errorf("no daily work %q is registered on this server", job.Args.Work))
	}
	ctx, day, err := w.r.tenantDay(ctx, job.JobRow, job.Args.TenantID, job.Args.Day)
	if err != nil {
		return err
	}
	if d.Applies != nil && !d.Applies(ctx) {
		w.r.log.DebugContext(ctx, "daily work no longer applies", "work", d.Work)
		return nil
	}
	return d.Run(ctx, day)
}

// tenantDay checks a periodic job's args and returns ctx carrying its
// tenant, and its date. Args that can never work cancel the job instead of
// retrying it.
func (r *Runner) tenantDay(ctx context.Context, job *rivertype.JobRow, tenant uuid.UUID, day string) (context.Context, time.Time, error) {
	if tenant == uuid.Nil {
		return ctx, time.Time{}, r.cancel(ctx, job, errors.New("the job's args carry no tenant_id"))
	}
	ctx = engine.WithTenant(ctx, tenant)
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return ctx, time.Time{}, r.cancel(ctx, job, fmt.Errorf("the job's date %q is not YYYY-MM-DD", day))
	}
	return ctx, d, nil
}

// cancel logs why a job can never succeed and cancels it (River does not
// call the error handler for a cancelled job).
func (r *Runner) cancel(ctx context.Context, job *rivertype.JobRow, err error) error {
	r.log.ErrorContext(ctx, "job cancelled", "job_id", job.ID, "kind", job.Kind, "error", err)
	return river.JobCancel(err)
}
