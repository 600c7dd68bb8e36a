package rules

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/ledger"
)

// BacktestDays is how far back a backtest replays.
const BacktestDays = 30

// Backtest is what an edited rule set would have issued over the last
// BacktestDays days, next to what was issued.
type Backtest struct {
	Since     time.Time          `json:"since"`
	Events    int                `json:"events"`
	Issued    int64              `json:"issued" doc:"Coins the events were granted."`
	Simulated int64              `json:"simulated" doc:"Coins the edited rules would have granted."`
	ByType    []BacktestTypeLine `json:"by_type"`
	ByDay     []BacktestDayLine  `json:"by_day"`
}

// BacktestTypeLine compares one event type.
type BacktestTypeLine struct {
	Type      string `json:"type"`
	Events    int    `json:"events"`
	Issued    int64  `json:"issued"`
	Simulated int64  `json:"simulated"`
}

// BacktestDayLine compares one tenant-local day.
type BacktestDayLine struct {
	Day       string `json:"day"`
	Issued    int64  `json:"issued"`
	Simulated int64  `json:"simulated"`
}

// Backtest replays the tenant's events of the last BacktestDays days, in
// the order received, through rules (the edited set: every rule the
// tenant would have; types without one earn nothing) and settings, with
// the same checks as an award: conditions, new-account limits, caps per
// period scaled by role, actor→member limits, the member daily cap and the
// tenant budget. Members' roles and ages are taken as they are now; bans
// and freezes are not replayed. Nothing is written.
// Errors: invalid (a rule or the settings).
func (s *Service) Backtest(ctx context.Context, rules []Rule, settings Settings) (Backtest, error) {
	set := &ruleSet{rules: map[string]*compiled{}, settings: settings}
	var problems []engine.FieldError
	for i, r := range rules {
		if r.Reversal == "" {
			r.Reversal = ledger.ReverseRemaining
		}
		if err := r.Validate(); err != nil {
			for _, f := range engine.ErrorFields(err) {
				problems = append(problems, engine.FieldError{Field: fmt.Sprintf("rules[%d].%s", i, f.Field), Message: f.Message})
			}
			continue
		}
		c := &compiled{Rule: r}
		if r.Condition != "" {
			c.prg, _ = compile(r.Condition)
		}
		set.rules[r.EventType] = c
	}
	if err := settings.Validate(); err != nil {
		for _, f := range engine.ErrorFields(err) {
			problems = append(problems, engine.FieldError{Field: "settings." + f.Field, Message: f.Message})
		}
	}
	if err := engine.Invalid(problems); err != nil {
		return Backtest{}, err
	}
	out := Backtest{Since: s.now().Add(-BacktestDays * 24 * time.Hour)}
	byType := map[string]*BacktestTypeLine{}
	byDay := map[string]*BacktestDayLine{}
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var tzName string
		if err := tx.QueryRow(ctx, `SELECT time_zone FROM tenants WHERE id = current_tenant_id()`).Scan(&tzName); err != nil {
			return fmt.Errorf("select time zone: %w", err)
		}
		loc, err := time.LoadLocation(tzName)
		if err != nil {
			loc = time.UTC
		}
		members := map[uuid.UUID]struct {
			created time.Time
			role    string
		}{}
		rows, err := tx.Query(ctx, `SELECT u.id, u.created_at, m.role FROM users u JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id`)
		if err != nil {
			return fmt.Errorf("select members: %w", err)
		}
		for rows.Next() {
			var id uuid.UUID
			var m struct {
				created time.Time
				role    string
			}
			if err := rows.Scan(&id, &m.created, &m.role); err != nil {
				rows.Close()
				return fmt.Errorf("select members: %w", err)
			}
			members[id] = m
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("select members: %w", err)
		}
		sim := newSimulator(set, loc)
		rows, err = tx.Query(ctx, `SELECT type, member_id, actor_id, ref, attributes, received_at, granted FROM coin_events
WHERE received_at >= $1 ORDER BY received_at, id`, out.Since)
		if err != nil {
			return fmt.Errorf("select events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e Event
			var at time.Time
			var granted int64
			if err := rows.Scan(&e.Type, &e.Member, &e.Actor, &e.Ref, &e.Attributes, &at, &granted); err != nil {
				return fmt.Errorf("select events: %w", err)
			}
			m := members[e.Member]
			g := sim.award(e, at, m.created, m.role)
			out.Events++
			out.Issued += granted
			out.Simulated += g
			t := byType[e.Type]
			if t == nil {
				t = &BacktestTypeLine{Type: e.Type}
				byType[e.Type] = t
			}
			t.Events++
			t.Issued += granted
			t.Simulated += g
			day := at.In(loc).Format("2006-01-02")
			d := byDay[day]
			if d == nil {
				d = &BacktestDayLine{Day: day}
				byDay[day] = d
			}
			d.Issued += granted
			d.Simulated += g
		}
		return rows.Err()
	})
	if err != nil {
		return Backtest{}, err
	}
	for _, t := range byType {
		out.ByType = append(out.ByType, *t)
	}
	sort.Slice(out.ByType, func(i, j int) bool { return out.ByType[i].Type < out.ByType[j].Type })
	for _, d := range byDay {
		out.ByDay = append(out.ByDay, *d)
	}
	sort.Slice(out.ByDay, func(i, j int) bool { return out.ByDay[i].Day < out.ByDay[j].Day })
	return out, nil
}

// simulator replays awards in memory with the award's checks.
type simulator struct {
	set      *ruleSet
	loc      *time.Location
	counters map[string]int64
	pairs    map[string]int
	budget   map[string]int64
}

func newSimulator(set *ruleSet, loc *time.Location) *simulator {
	return &simulator{set: set, loc: loc, counters: map[string]int64{}, pairs: map[string]int{}, budget: map[string]int64{}}
}

func (s *simulator) award(e Event, at time.Time, created time.Time, role string) int64 {
	r, g, _, err := s.set.due(e)
	if err != nil || g <= 0 {
		return 0
	}
	if r.NewAccountDays != nil && created.After(at.Add(-time.Duration(*r.NewAccountDays)*24*time.Hour)) && g > r.NewAccountCoins {
		g = r.NewAccountCoins
	}
	pct := int64(100)
	if p, ok := r.CapPercentByRole[role]; ok {
		pct = int64(p)
	}
	local := at.In(s.loc)
	day := local.Format("2006-01-02")
	y, w := local.ISOWeek()
	periods := []struct {
		name string
		cap  *int64
	}{{"day:" + day, r.CapDay}, {fmt.Sprintf("week:%d-%d", y, w), r.CapWeek}, {"month:" + local.Format("2006-01"), r.CapMonth}, {"total", r.CapTotal}}
	prefix := e.Member.String() + ":" + e.Type + ":"
	for _, p := range periods {
		if p.cap != nil {
			g = min(g, max(*p.cap*pct/100-s.counters[prefix+p.name], 0))
		}
	}
	pairKey := ""
	if r.PairCapDay != nil && e.Actor != nil {
		pairKey = e.Actor.String() + ">" + prefix + day
		if s.pairs[pairKey] >= *r.PairCapDay {
			g = 0
		}
	}
	memberKey := e.Member.String() + "::day:" + day
	g = min(g, max(s.set.settings.MemberDailyCap-s.counters[memberKey], 0))
	if s.set.settings.DailyBudget != nil {
		g = min(g, max(*s.set.settings.DailyBudget-s.budget[day], 0))
	}
	if g <= 0 {
		return 0
	}
	for _, p := range periods {
		if p.cap != nil {
			s.counters[prefix+p.name] += g
		}
	}
	if pairKey != "" {
		s.pairs[pairKey]++
	}
	s.counters[memberKey] += g
	s.budget[day] += g
	return g
}
