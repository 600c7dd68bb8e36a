package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/tenants"
)

// clock is the dispatcher's settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the records whose message is msg.
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// pingArgs is a test job: it fails its first Fail attempts.
type pingArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Fail     int       `json:"fail"`
	N        int       `json:"n"`
}

func (pingArgs) Kind() string { return "test.ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	mu     sync.Mutex
	runs   map[int64]int
	tenant map[int64]uuid.UUID
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.runs[job.ID]++
	w.tenant[job.ID] = job.Args.TenantID
	if w.runs[job.ID] <= job.Args.Fail {
		return fmt.Errorf("ping %d failed on purpose", job.ID)
	}
	return nil
}

func (w *pingWorker) Runs(id int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runs[id]
}

type testBundle struct {
	ctx     context.Context
	d       *dbtest.Database
	db      *db.DB
	runner  *jobs.Runner
	clock   *clock
	logs    *logBuffer
	pings   *pingWorker
	ledger  *ledger.Service
	tenants *tenants.Service
}

// setup builds a Runner on a private database (River's tables are shared by
// every tenant, so tests that look at all jobs need their own), connected as
// the application role, with the dispatcher's clock at now.
func setup(t *testing.T, d *dbtest.Database, now time.Time, daily ...jobs.Daily) testBundle {
	t.Helper()
	b := testBundle{
		ctx:   t.Context(),
		d:     d,
		db:    db.New(d.App),
		clock: &clock{t: now},
		logs:  &logBuffer{},
		pings: &pingWorker{runs: map[int64]int{}, tenant: map[int64]uuid.UUID{}},
	}
	b.ledger = ledger.NewService(b.db, nil)
	b.tenants = tenants.NewService(b.db, plugin.NewRegistry(), "guildhall.test")
	workers := river.NewWorkers()
	river.AddWorker(workers, b.pings)
	log := slog.New(engine.NewLogHandler(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var err error
	b.runner, err = jobs.New(d.App, jobs.Deps{
		Tenants: activeTenants(b.tenants, 1), Ledger: b.ledger, Log: log, Now: b.clock.Now, Workers: workers, Daily: daily,
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return b
}

// activeTenants adapts the tenant registry as cmd does; page is small here
// so that the dispatcher's paging is exercised.
func activeTenants(svc *tenants.Service, page int) jobs.TenantLister {
	return jobs.TenantListerFunc(func(ctx context.Context, after string, _ int) ([]jobs.Tenant, string, error) {
		ts, next, err := svc.List(ctx, tenants.ListParams{After: after, Status: tenants.StatusActive, Limit: page})
		out := make([]jobs.Tenant, 0, len(ts))
		for _, t := range ts {
			out = append(out, jobs.Tenant{ID: t.ID, TimeZone: t.TimeZone})
		}
		return out, next, err
	})
}

// start starts the runner; it is stopped when the test ends.
func (b testBundle) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.runner.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start() = %v", err)
	}
	t.Cleanup(func() {
		defer cancel()
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		if err := b.runner.Stop(stop); err != nil {
			t.Errorf("Stop() = %v", err)
		}
	})
}

// newTenant commits a tenant in the test database, created in a transaction
// scoped to it as the registry does.
func (b testBundle) newTenant(t *testing.T, tz string, status tenants.Status) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	slug := dbtest.RandomSlug()
	err := b.db.InTenant(engine.WithTenant(b.ctx, id), func(tx pgx.Tx) error {
		_, err := tx.Exec(b.ctx, `
INSERT INTO tenants (id, slug, name, kind, time_zone, currency, plugins, status)
VALUES ($1, $2, $3, 'social', $4, 'EUR', '{social}', $5)`, id, slug, "Test "+slug, tz, string(status))
		return err
	})
	if err != nil {
		t.Fatalf("insert tenant: %v", err)
	}
	return id
}

// waitState waits until job id is in state.
func (b testBundle) waitState(t *testing.T, id int64, state jobs.State) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := b.runner.Job(b.ctx, id)
		if err != nil {
			t.Fatalf("Job(%d) = %v", id, err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s (%s), want %s; errors %+v", id, j.State, j.RiverState, state, j.Errors)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// insert enqueues args in a committed tenant transaction.
func (b testBundle) insert(t *testing.T, tenant uuid.UUID, args river.JobArgs, opts *river.InsertOpts) int64 {
	t.Helper()
	var id int64
	err := b.db.InTenant(engine.WithTenant(b.ctx, tenant), func(tx pgx.Tx) error {
		res, err := b.runner.InsertTx(b.ctx, tx, args, opts)
		if err != nil {
			return err
		}
		id = res.Job.ID
		return nil
	})
	if err != nil {
		t.Fatalf("InsertTx(%s) = %v", args.Kind(), err)
	}
	return id
}

// all lists every job, newest first.
func (b testBundle) all(t *testing.T, p jobs.ListParams) []jobs.Job {
	t.Helper()
	var out []jobs.Job
	for {
		page, next, err := b.runner.List(b.ctx, p)
		if err != nil {
			t.Fatalf("List(%+v) = %v", p, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		p.Cursor = next
	}
}

func TestRunner_InsertTx(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.NewDatabase(t), time.Now())
	b.start(t)
	tenant := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
	ctx := engine.WithTenant(b.ctx, tenant)

	errRollback := errors.New("roll back")
	var rolledBack int64
	err := b.db.InTenant(ctx, func(tx pgx.Tx) error {
		res, err := b.runner.InsertTx(ctx, tx, pingArgs{TenantID: tenant, N: 1}, nil)
		if err != nil {
			return err
		}
		rolledBack = res.Job.ID
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTenant() = %v, want the rollback", err)
	}
	committed := b.insert(t, tenant, pingArgs{TenantID: tenant, N: 2}, nil)

	j := b.waitState(t, committed, jobs.StateCompleted)
	if j.TenantID == nil || *j.TenantID != tenant || j.Kind != "test.ping" {
		t.Errorf("committed job = %+v, want test.ping of tenant %s", j, tenant)
	}
	if n := b.pings.Runs(committed); n != 1 {
		t.Errorf("committed job ran %d times, want 1", n)
	}
	// The committed job came later and has run: the rolled-back one would
	// have been fetched first, had it existed.
	if n := b.pings.Runs(rolledBack); n != 0 {
		t.Errorf("rolled-back job ran %d times, want never", n)
	}
	if _, err := b.runner.Job(b.ctx, rolledBack); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Job(rolled back) = %v, want ErrNotFound", err)
	}
	if got := b.all(t, jobs.ListParams{Kind: "test.ping"}); len(got) != 1 || got[0].ID != committed {
		t.Errorf("List(test.ping) = %+v, want only the committed job", got)
	}
}

// period names a tenant's periodic job for comparison.
func period(t *testing.T, j jobs.Job, names map[uuid.UUID]string) string {
	t.Helper()
	var a struct {
		Day       string `json:"day"`
		WeekStart string `json:"week_start"`
	}
	if err := json.Unmarshal(j.Args, &a); err != nil {
		t.Fatal(err)
	}
	tenant := "platform"
	if j.TenantID != nil {
		tenant = names[*j.TenantID]
	}
	return fmt.Sprintf("%s %s %s%s", tenant, j.Kind, a.Day, a.WeekStart)
}

func TestRunner_Dispatch(t *testing.T) {
	t.Parallel()
	// Monday 30 March 2026, 01:30 UTC: 03:30 CEST in Berlin (the morning
	// after the change to summer time), 21:30 EDT on Sunday in New York.
	b := setup(t, dbtest.NewDatabase(t), time.Date(2026, 3, 30, 1, 30, 0, 0, time.UTC))
	berlin := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
	newYork := b.newTenant(t, "America/New_York", tenants.StatusActive)
	b.newTenant(t, "Asia/Tokyo", tenants.StatusSuspended)
	names := map[uuid.UUID]string{berlin: "berlin", newYork: "new_york"}

	dispatched := func(t *testing.T) []string {
		t.Helper()
		var out []string
		for _, j := range b.all(t, jobs.ListParams{}) {
			out = append(out, period(t, j, names))
		}
		slices.Sort(out)
		return out
	}
	// Two dispatchers at once, as on two servers: each period's job is
	// inserted once between them.
	twice := func(t *testing.T) int {
		t.Helper()
		var wg sync.WaitGroup
		counts := make([]int, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() { counts[i], errs[i] = b.runner.Dispatch(b.ctx) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("Dispatch() = %v", err)
		}
		return counts[0] + counts[1]
	}

	if n := twice(t); n != 7 {
		t.Errorf("first dispatch inserted %d jobs, want 7", n)
	}
	want := []string{
		"berlin coins.cleanup_keys 2026-03-30",
		"berlin coins.daily_stats 2026-03-29",
		"berlin coins.expire 2026-03-30",
		"berlin coins.weekly_bonus 2026-03-23",
		"new_york coins.cleanup_keys 2026-03-29",
		"new_york coins.daily_stats 2026-03-28",
		"new_york coins.expire 2026-03-29",
	}
	if diff := cmp.Diff(want, dispatched(t)); diff != "" {
		t.Errorf("jobs after the first dispatch (-want +got):\n%s", diff)
	}

	if n, err := b.runner.Dispatch(b.ctx); err != nil || n != 0 {
		t.Errorf("Dispatch() again = %d, %v; want nothing new", n, err)
	}
	b.clock.Set(time.Date(2026, 3, 30, 1, 35, 0, 0, time.UTC))
	if n, err := b.runner.Dispatch(b.ctx); err != nil || n != 0 {
		t.Errorf("Dispatch() five minutes later = %d, %v; want nothing new", n, err)
	}

	// A day later: Tuesday 03:30 in Berlin, Monday 21:30 in New York, whose
	// bonus for last week is now due.
	b.clock.Set(time.Date(2026, 3, 31, 1, 30, 0, 0, time.UTC))
	if n := twice(t); n != 7 {
		t.Errorf("next day's dispatch inserted %d jobs, want 7", n)
	}
	want = append(want,
		"berlin coins.cleanup_keys 2026-03-31",
		"berlin coins.daily_stats 2026-03-30",
		"berlin coins.expire 2026-03-31",
		"new_york coins.cleanup_keys 2026-03-30",
		"new_york coins.daily_stats 2026-03-29",
		"new_york coins.expire 2026-03-30",
		"new_york coins.weekly_bonus 2026-03-23",
	)
	slices.Sort(want)
	if diff := cmp.Diff(want, dispatched(t)); diff != "" {
		t.Errorf("jobs after the next day's dispatch (-want +got):\n%s", diff)
	}

	c, err := b.runner.Counts(b.ctx, berlin)
	if err != nil || c != (jobs.Counts{Queued: 7}) {
		t.Errorf("Counts(berlin) = %+v, %v; want 7 queued", c, err)
	}
	if got := b.all(t, jobs.ListParams{TenantID: newYork, State: jobs.StateQueued, Kind: jobs.KindWeeklyBonus}); len(got) != 1 {
		t.Errorf("List(new_york, queued, weekly bonus) = %d jobs, want 1", len(got))
	}
}

var socialTypes = []plugin.EventType{{Type: "post.created", Description: "Publishing a post", DefaultCoins: 10}}

func TestRunner_WorkersActInTheirTenant(t *testing.T) {
	t.Parallel()
	// The dispatcher's clock is far in the past: the dispatch that runs at
	// start touches only periods of 2001, away from this test's data.
	b := setup(t, dbtest.NewDatabase(t), time.Date(2001, 1, 3, 12, 0, 0, 0, time.UTC))
	ids := identitytest.New(t, b.db, identity.Config{})
	rs := rules.NewService(b.db, func(context.Context) []plugin.EventType { return socialTypes }, nil)

	type member struct {
		ctx context.Context
		id  uuid.UUID
	}
	seed := func(tenant uuid.UUID) member {
		ctx := engine.WithTenant(b.ctx, tenant)
		if _, err := rs.SetSettings(ctx, rules.Settings{MemberDailyCap: 500, BonusCoins: 50, BonusMinActiveDays: 1}); err != nil {
			t.Fatalf("SetSettings() = %v", err)
		}
		u, _, err := ids.Service.SeedUser(ctx, identity.SeedUserParams{Email: "m@example.com", DisplayName: "M", Password: "correct horse battery", Role: "member"})
		if err != nil {
			t.Fatalf("SeedUser() = %v", err)
		}
		d, err := rs.Award(ctx, rules.Event{Type: "post.created", Member: u.ID, IdempotencyKey: uuid.Must(uuid.NewV7()).String()})
		if err != nil || d.Granted != 10 {
			t.Fatalf("Award() = %+v, %v", d, err)
		}
		return member{ctx, u.ID}
	}
	a := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
	other := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
	ma, mo := seed(a), seed(other)
	b.start(t)

	berlin, _ := time.LoadLocation("Europe/Berlin")
	today := time.Now().In(berlin)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	bonus := b.insert(t, a, jobs.WeeklyBonusArgs{TenantID: a, WeekStart: monday.Format(time.DateOnly)}, nil)
	b.waitState(t, bonus, jobs.StateCompleted)
	// Statistics after the bonus, so that they count it.
	stats := b.insert(t, a, jobs.DailyStatsArgs{TenantID: a, Day: today.Format(time.DateOnly)}, nil)
	b.waitState(t, stats, jobs.StateCompleted)

	balance := func(m member) int64 {
		w, err := b.ledger.Wallet(m.ctx, m.id)
		if err != nil {
			t.Fatalf("Wallet() = %v", err)
		}
		return w.Balance
	}
	if got := balance(ma); got != 60 {
		t.Errorf("balance in the bonus's tenant = %d, want 10 earned + 50 bonus", got)
	}
	if got := balance(mo); got != 10 {
		t.Errorf("balance in the other tenant = %d, want 10 (no bonus)", got)
	}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	if got, err := b.ledger.Stats(ma.ctx, day, day); err != nil || len(got) != 1 || got[0].Issued != 60 || got[0].ActiveMembers != 1 {
		t.Errorf("Stats(tenant) = %+v, %v; want today's: 60 issued, 1 active member", got, err)
	}
	if got, err := b.ledger.Stats(mo.ctx, day, day); err != nil || len(got) != 0 {
		t.Errorf("Stats(other tenant) = %+v, %v; want none", got, err)
	}
	if lines := b.logs.lines(t, "weekly bonus paid"); len(lines) != 1 || lines[0]["tenant_id"] != a.String() || lines[0]["members"] != 1.0 {
		t.Errorf("logged bonus = %v, want one line for tenant %s paying 1 member", lines, a)
	}

	// A second bonus job for the same week is refused as a duplicate.
	err := b.db.InTenant(ma.ctx, func(tx pgx.Tx) error {
		res, err := b.runner.InsertTx(ma.ctx, tx, jobs.WeeklyBonusArgs{TenantID: a, WeekStart: monday.Format(time.DateOnly)}, nil)
		if err == nil && !res.UniqueSkippedAsDuplicate {
			t.Errorf("second bonus job for the week was inserted (id %d)", res.Job.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunner_Retry(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.NewDatabase(t), time.Now())
	b.start(t)
	tenant := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)

	id := b.insert(t, tenant, pingArgs{TenantID: tenant, Fail: 1}, &river.InsertOpts{MaxAttempts: 1})
	j := b.waitState(t, id, jobs.StateDiscarded)
	if len(j.Errors) != 1 || !strings.Contains(j.Errors[0].Message, "failed on purpose") {
		t.Errorf("discarded job errors = %+v", j.Errors)
	}

	t.Run("FailureLoggedOnce", func(t *testing.T) {
		lines := b.logs.lines(t, "job failed; discarded")
		if len(lines) != 1 {
			t.Fatalf("logged %d failures, want 1; log:\n%s", len(lines), b.logs)
		}
		l := lines[0]
		if l["level"] != "ERROR" || l["job_id"] != float64(id) || l["tenant_id"] != tenant.String() || l["kind"] != "test.ping" {
			t.Errorf("failure log = %v", l)
		}
		if strings.Contains(b.logs.String(), "Job errored") {
			t.Errorf("River logged the failure too:\n%s", b.logs)
		}
	})

	t.Run("ListedAndCounted", func(t *testing.T) {
		got := b.all(t, jobs.ListParams{State: jobs.StateDiscarded, TenantID: tenant})
		if len(got) != 1 || got[0].ID != id || got[0].RiverState != "discarded" {
			t.Errorf("List(discarded, tenant) = %+v", got)
		}
		if got := b.all(t, jobs.ListParams{State: jobs.StateDiscarded, TenantID: uuid.Must(uuid.NewV7())}); len(got) != 0 {
			t.Errorf("List(discarded, other tenant) = %+v, want none", got)
		}
		// The dispatch at start enqueues the tenant's periodic work too.
		c, err := b.runner.Counts(b.ctx, tenant)
		if err != nil || c.Discarded != 1 {
			t.Errorf("Counts(tenant) = %+v, %v; want 1 discarded", c, err)
		}
		if c, err := b.runner.Counts(b.ctx, uuid.Must(uuid.NewV7())); err != nil || c != (jobs.Counts{}) {
			t.Errorf("Counts(other tenant) = %+v, %v; want none", c, err)
		}
	})

	staff := audit.WithActor(b.ctx, audit.Actor{Name: "platform:ops"})
	got, err := b.runner.Retry(staff, id)
	if err != nil || got.State != jobs.StateQueued && got.State != jobs.StateRunning && got.State != jobs.StateCompleted {
		t.Fatalf("Retry() = %+v, %v; want the job queued again", got, err)
	}
	j = b.waitState(t, id, jobs.StateCompleted)
	if n := b.pings.Runs(id); n != 2 {
		t.Errorf("job ran %d times, want 2 (the failure and the retry)", n)
	}
	if j.Attempt != 2 || j.MaxAttempts != 2 {
		t.Errorf("retried job attempt %d of %d, want 2 of 2", j.Attempt, j.MaxAttempts)
	}
	var audited int
	err = b.db.InTenant(engine.WithTenant(b.ctx, tenant), func(tx pgx.Tx) error {
		return tx.QueryRow(b.ctx, `SELECT count(*) FROM audit_events WHERE action = 'job.retried' AND target = $1 AND actor = 'platform:ops'`,
			fmt.Sprintf("job:%d", id)).Scan(&audited)
	})
	if err != nil || audited != 1 {
		t.Errorf("audit events for the retry = %d, %v; want 1", audited, err)
	}

	t.Run("CompletedIsNotRetried", func(t *testing.T) {
		if _, err := b.runner.Retry(staff, id); !errors.Is(err, jobs.ErrNotRetryable) {
			t.Errorf("Retry(completed) = %v, want ErrNotRetryable", err)
		}
	})
	t.Run("OtherTenantScope", func(t *testing.T) {
		other := engine.WithTenant(staff, uuid.Must(uuid.NewV7()))
		if _, err := b.runner.Job(other, id); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("Job(other tenant's ctx) = %v, want ErrNotFound", err)
		}
		if _, err := b.runner.Retry(other, id); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("Retry(other tenant's ctx) = %v, want ErrNotFound", err)
		}
		if j, err := b.runner.Job(engine.WithTenant(staff, tenant), id); err != nil || j.ID != id {
			t.Errorf("Job(own tenant's ctx) = %+v, %v", j, err)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		if _, err := b.runner.Retry(staff, id+1000); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("Retry(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestRunner_List(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.NewDatabase(t), time.Now())
	tenant := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
	var ids []int64
	for i := range 3 {
		ids = append(ids, b.insert(t, tenant, pingArgs{TenantID: tenant, N: i}, nil))
	}

	page, next, err := b.runner.List(b.ctx, jobs.ListParams{TenantID: tenant, Limit: 2})
	if err != nil || len(page) != 2 || next == "" || page[0].ID != ids[2] || page[1].ID != ids[1] {
		t.Fatalf("List(limit 2) = %+v, %q, %v; want the two newest and a cursor", page, next, err)
	}
	page, next, err = b.runner.List(b.ctx, jobs.ListParams{TenantID: tenant, Limit: 2, Cursor: next})
	if err != nil || len(page) != 1 || next != "" || page[0].ID != ids[0] {
		t.Errorf("List(next page) = %+v, %q, %v; want the oldest and no cursor", page, next, err)
	}
	if page[0].State != jobs.StateQueued || page[0].RiverState != "available" || page[0].TenantID == nil || *page[0].TenantID != tenant {
		t.Errorf("queued job = %+v", page[0])
	}

	for name, p := range map[string]jobs.ListParams{
		"BadState":  {State: "stuck"},
		"BadLimit":  {Limit: 1000},
		"BadCursor": {Cursor: "abc"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := b.runner.List(b.ctx, p); engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("List(%+v) = %v, want invalid", p, err)
			}
		})
	}
}

func TestRunner_Daily(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		runs []string
		fail = true
	)
	skip := map[uuid.UUID]bool{}
	work := jobs.Daily{
		Work: "test.sweep", Hour: 4, Minute: 30,
		Applies: func(ctx context.Context) bool {
			id, _ := engine.TenantFrom(ctx)
			mu.Lock()
			defer mu.Unlock()
			return !skip[id]
		},
		Run: func(ctx context.Context, day time.Time) error {
			id, ok := engine.TenantFrom(ctx)
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return errors.New("swept too early")
			}
			runs = append(runs, fmt.Sprintf("%v %s %v", ok, day.Format(time.DateOnly), id))
			return nil
		},
	}
	// 03:00 UTC on 30 March 2026: 05:00 in Berlin (due today), 23:00 the
	// day before in New York (due yesterday).
	b := setup(t, dbtest.NewDatabase(t), time.Date(2026, 3, 30, 3, 0, 0, 0, time.UTC), work)
	berlin := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
	newYork := b.newTenant(t, "America/New_York", tenants.StatusActive)
	skipped := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
	mu.Lock()
	skip[skipped] = true
	mu.Unlock()

	if _, err := b.runner.Dispatch(b.ctx); err != nil {
		t.Fatal(err)
	}
	names := map[uuid.UUID]string{berlin: "berlin", newYork: "new_york", skipped: "skipped"}
	var got []string
	for _, j := range b.all(t, jobs.ListParams{Kind: jobs.KindDaily}) {
		got = append(got, period(t, j, names))
	}
	slices.Sort(got)
	want := []string{"berlin tenant.daily 2026-03-30", "new_york tenant.daily 2026-03-29"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("daily jobs (-want +got):\n%s", diff)
	}
	if n, err := b.runner.Dispatch(b.ctx); err != nil || n != 0 {
		t.Errorf("Dispatch() again = %d, %v; want nothing new", n, err)
	}

	// Run: the first attempt fails and is retried; each runs in its tenant.
	b.start(t)
	for _, j := range b.all(t, jobs.ListParams{Kind: jobs.KindDaily}) {
		if j.State == jobs.StateRetrying {
			if _, err := b.runner.Retry(b.ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		}
		b.waitState(t, j.ID, jobs.StateCompleted)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(runs)
	want = []string{fmt.Sprintf("true 2026-03-29 %v", newYork), fmt.Sprintf("true 2026-03-30 %v", berlin)}
	slices.Sort(want)
	if diff := cmp.Diff(want, runs); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestNew_RefusesBadDaily(t *testing.T) {
	t.Parallel()
	run := func(context.Context, time.Time) error { return nil }
	for name, d := range map[string][]jobs.Daily{
		"BadName":   {{Work: "Sweep", Run: run}},
		"Twice":     {{Work: "a.b", Run: run}, {Work: "a.b", Run: run}},
		"BadHour":   {{Work: "a.b", Hour: 24, Run: run}},
		"NoRun":     {{Work: "a.b"}},
		"BadMinute": {{Work: "a.b", Minute: -1, Run: run}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := jobs.New(dbtest.Pool(t), jobs.Deps{Tenants: activeTenants(nil, 1), Ledger: &ledger.Service{}, Log: slog.Default(), Daily: d})
			if err == nil {
				t.Errorf("New(%+v) = nil error", d)
			}
		})
	}
}
