package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// clock is a tenant-local time of day.
type clock struct{ hour, minute int }

// When each tenant's periodic work comes due, in its own time zone.
var (
	statsAt   = clock{0, 5} // the previous day's statistics
	expiryAt  = clock{1, 0}
	bonusAt   = clock{2, 0} // on Mondays, for the week before
	cleanupAt = clock{3, 0}
)

// lastDay returns the tenant-local date on which the local clock last showed
// at, as of now: today when the clock has reached at, else yesterday. Dates
// are civil dates, held as midnight UTC (so AddDate never meets DST).
//
// It compares the wall clock's fields instead of adding durations to local
// midnight, which is what keeps it right across DST: on a day at never
// occurs (skipped by clocks going forward), the work comes due at the first
// moment after the gap; on a day it occurs twice (clocks going back), at the
// first; and a 23- or 25-hour day shifts nothing.
func lastDay(now time.Time, loc *time.Location, at clock) time.Time {
	l := now.In(loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	if l.Hour() < at.hour || (l.Hour() == at.hour && l.Minute() < at.minute) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// due returns the periodic work of a tenant in loc whose local time has come
// by now, for the latest period of each kind. Enqueued with the args' unique
// options, each period's job is inserted once, by whichever dispatch first
// sees it due; later dispatches in the same window find it and insert
// nothing.
func due(tenant uuid.UUID, now time.Time, loc *time.Location) []river.JobArgs {
	out := []river.JobArgs{
		DailyStatsArgs{TenantID: tenant, Day: date(lastDay(now, loc, statsAt).AddDate(0, 0, -1))},
		ExpireCoinsArgs{TenantID: tenant, Day: date(lastDay(now, loc, expiryAt))},
	}
	if d := lastDay(now, loc, bonusAt); d.Weekday() == time.Monday {
		out = append(out, WeeklyBonusArgs{TenantID: tenant, WeekStart: date(d.AddDate(0, 0, -7))})
	}
	return append(out, CleanupKeysArgs{TenantID: tenant, Day: date(lastDay(now, loc, cleanupAt))})
}

// dueDaily returns the registered daily work of the tenant in ctx whose
// local time has come by now, for the latest day.
func (r *Runner) dueDaily(ctx context.Context, tenant uuid.UUID, now time.Time, loc *time.Location) []river.JobArgs {
	var out []river.JobArgs
	for _, name := range r.dailyOrder {
		d := r.daily[name]
		if d.Applies != nil && !d.Applies(ctx) {
			continue
		}
		out = append(out, DailyArgs{Work: d.Work, TenantID: tenant, Day: date(lastDay(now, loc, clock{d.Hour, d.Minute}))})
	}
	return out
}

func date(d time.Time) string { return d.Format(time.DateOnly) }
