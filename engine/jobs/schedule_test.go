package jobs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q) = %v", name, err)
	}
	return loc
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDue checks when each kind of work comes due, in particular across DST
// changes, where local time and UTC drift by an hour and some local times
// do not exist or occur twice. Berlin changes on the last Sunday of March
// (02:00 CET → 03:00 CEST, at 01:00 UTC) and of October (03:00 CEST → 02:00
// CET, at 01:00 UTC); Havana changes at midnight, so 00:05 is skipped on its
// spring-forward day.
func TestDue(t *testing.T) {
	t.Parallel()
	tenant := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	tests := []struct {
		name string
		zone string
		now  string // UTC
		want []river.JobArgs
	}{
		{
			// 00:04 CET on Sunday 29 March: the 28th's statistics wait one
			// more minute.
			name: "BerlinSpringStatsNotYet", zone: "Europe/Berlin", now: "2026-03-28T23:04:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-27"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-28"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-28"},
			},
		},
		{
			name: "BerlinSpringStatsDue", zone: "Europe/Berlin", now: "2026-03-28T23:05:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-28"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-28"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-28"},
			},
		},
		{
			// 01:00 CET is still standard time: 00:00 UTC.
			name: "BerlinSpringExpiryDue", zone: "Europe/Berlin", now: "2026-03-29T00:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-28"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-29"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-28"},
			},
		},
		{
			// 01:59 CET, the last minute before the jump.
			name: "BerlinSpringCleanupNotYet", zone: "Europe/Berlin", now: "2026-03-29T00:59:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-28"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-29"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-28"},
			},
		},
		{
			// The clock jumps from 02:00 to 03:00 CEST: cleanup (03:00) is due
			// at 01:00 UTC, not at "midnight plus three hours" (02:00 UTC).
			name: "BerlinSpringCleanupAtTheJump", zone: "Europe/Berlin", now: "2026-03-29T01:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-28"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-29"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-29"},
			},
		},
		{
			// Monday 30 March 01:59 CEST: the bonus (02:00) is not due yet,
			// though it would be by CET.
			name: "BerlinMondayAfterSpringBonusNotYet", zone: "Europe/Berlin", now: "2026-03-29T23:59:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-29"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-30"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-29"},
			},
		},
		{
			name: "BerlinMondayAfterSpringBonusDue", zone: "Europe/Berlin", now: "2026-03-30T00:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-29"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-30"},
				WeeklyBonusArgs{TenantID: tenant, WeekStart: "2026-03-23"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-29"},
			},
		},
		{
			// 00:59 CEST on Sunday 25 October.
			name: "BerlinAutumnExpiryNotYet", zone: "Europe/Berlin", now: "2026-10-24T22:59:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-24"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-24"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-24"},
			},
		},
		{
			// 01:00 CEST is 23:00 UTC the day before.
			name: "BerlinAutumnExpiryDue", zone: "Europe/Berlin", now: "2026-10-24T23:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-24"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-25"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-24"},
			},
		},
		{
			// 02:30 CET, the second time the clock shows 02:30 that night:
			// cleanup (03:00) is still to come.
			name: "BerlinAutumnRepeatedHour", zone: "Europe/Berlin", now: "2026-10-25T01:30:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-24"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-25"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-24"},
			},
		},
		{
			// 03:00 CET is 02:00 UTC, an hour later than 03:00 CEST would be.
			name: "BerlinAutumnCleanupDue", zone: "Europe/Berlin", now: "2026-10-25T02:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-24"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-25"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-25"},
			},
		},
		{
			// Monday 26 October 02:00 CET = 01:00 UTC.
			name: "BerlinMondayAfterAutumnBonusNotYet", zone: "Europe/Berlin", now: "2026-10-26T00:59:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-25"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-26"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-25"},
			},
		},
		{
			name: "BerlinMondayAfterAutumnBonusDue", zone: "Europe/Berlin", now: "2026-10-26T01:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-25"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-26"},
				WeeklyBonusArgs{TenantID: tenant, WeekStart: "2026-10-19"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-25"},
			},
		},
		{
			// Tuesday: last week's bonus was Monday's work.
			name: "BerlinTuesdayNoBonus", zone: "Europe/Berlin", now: "2026-10-27T12:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-26"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-27"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-27"},
			},
		},
		{
			// 23:59 CST on 7 March; next, the clock jumps from 00:00 to 01:00.
			name: "HavanaBeforeMidnightJump", zone: "America/Havana", now: "2026-03-08T04:59:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-06"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-07"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-07"},
			},
		},
		{
			// 00:05 never happens on 8 March: statistics come due at the
			// first moment after the gap, 01:00 CDT, together with expiry.
			name: "HavanaSkippedStatsTime", zone: "America/Havana", now: "2026-03-08T05:00:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-07"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-08"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-07"},
			},
		},
		{
			// On 1 November 01:00 CDT becomes 00:00 CST: at 00:02 CST (the
			// second midnight hour) the dispatcher names the period before,
			// whose job already exists, never a new one.
			name: "HavanaRepeatedMidnightHour", zone: "America/Havana", now: "2026-11-01T05:02:00Z",
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-10-30"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-10-31"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-10-31"},
			},
		},
		{
			name: "TokyoNoDST", zone: "Asia/Tokyo", now: "2026-03-29T17:30:00Z", // Monday 02:30 JST
			want: []river.JobArgs{
				DailyStatsArgs{TenantID: tenant, Day: "2026-03-29"},
				ExpireCoinsArgs{TenantID: tenant, Day: "2026-03-30"},
				WeeklyBonusArgs{TenantID: tenant, WeekStart: "2026-03-23"},
				CleanupKeysArgs{TenantID: tenant, Day: "2026-03-29"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := due(tenant, utc(t, tt.now), mustZone(t, tt.zone))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("due(%s in %s) mismatch (-want +got):\n%s", tt.now, tt.zone, diff)
			}
		})
	}
}

// TestDueWindows walks a whole DST week in Berlin minute by minute and checks
// that each period of each kind comes due exactly once, in order, and at the
// local time it should.
func TestDueWindows(t *testing.T) {
	t.Parallel()
	tenant := uuid.New()
	loc := mustZone(t, "Europe/Berlin")
	start := utc(t, "2026-10-22T00:00:00Z")
	end := utc(t, "2026-11-03T00:00:00Z")
	type first struct {
		period string
		at     string // local time it first came due
	}
	seen := map[string][]first{}
	last := map[string]string{}
	for now := start; now.Before(end); now = now.Add(time.Minute) {
		for _, a := range due(tenant, now, loc) {
			kind, period := a.Kind(), periodOf(a)
			if period == last[kind] {
				continue
			}
			if period < last[kind] {
				t.Fatalf("%s went back from %s to %s at %s", kind, last[kind], period, now)
			}
			last[kind] = period
			seen[kind] = append(seen[kind], first{period, now.In(loc).Format("2006-01-02 15:04 Mon")})
		}
	}
	// Expected: the first period each kind shows at start is whatever was
	// latest then; every later one appears exactly at its local time.
	want := map[string]first{
		KindDailyStats:  {"2026-10-25", "2026-10-26 00:05 Mon"},
		KindExpireCoins: {"2026-10-25", "2026-10-25 01:00 Sun"},
		KindCleanupKeys: {"2026-10-25", "2026-10-25 03:00 Sun"},
		KindWeeklyBonus: {"2026-10-26", "2026-11-02 02:00 Mon"},
	}
	for kind, w := range want {
		found := false
		for _, f := range seen[kind] {
			if f.period == w.period {
				found = true
				if f != w {
					t.Errorf("%s for %s first due at %s, want %s", kind, w.period, f.at, w.at)
				}
			}
		}
		if !found {
			t.Errorf("%s for %s never came due; saw %v", kind, w.period, seen[kind])
		}
	}
	for kind, fs := range seen {
		for i := 1; i < len(fs); i++ {
			prev, _ := time.Parse(time.DateOnly, fs[i-1].period)
			cur, _ := time.Parse(time.DateOnly, fs[i].period)
			step := 1
			if kind == KindWeeklyBonus {
				step = 7
			}
			if cur.Sub(prev) != time.Duration(step)*24*time.Hour {
				t.Errorf("%s skipped from %s to %s", kind, fs[i-1].period, fs[i].period)
			}
		}
	}
}

func periodOf(a river.JobArgs) string {
	switch a := a.(type) {
	case DailyStatsArgs:
		return a.Day
	case ExpireCoinsArgs:
		return a.Day
	case WeeklyBonusArgs:
		return a.WeekStart
	case CleanupKeysArgs:
		return a.Day
	}
	return ""
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	for st, rs := range riverStates {
		for _, r := range rs {
			if got := stateOf(r); got != st {
				t.Errorf("stateOf(%s) = %s, want %s", r, got, st)
			}
		}
	}
	if len(States) != len(riverStates) {
		t.Errorf("States lists %d states, riverStates maps %d", len(States), len(riverStates))
	}
}
