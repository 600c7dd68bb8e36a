package rules

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/ledger"
)

// Rule is what an event type earns.
type Rule struct {
	ID        uuid.UUID `json:"id,omitempty" doc:"Empty for a plugin's default rule that was never edited."`
	EventType string    `json:"event_type"`
	Name      string    `json:"name,omitempty"`
	Coins     int64     `json:"coins" doc:"Coins per event before caps."`
	// Condition is a CEL expression over type, member, actor, ref and
	// attributes that must be true for coins to be due.
	Condition string `json:"condition,omitempty"`
	Enabled   bool   `json:"enabled"`
	CapDay    *int64 `json:"cap_day,omitempty" doc:"Most coins a member earns by this rule per tenant-local day."`
	CapWeek   *int64 `json:"cap_week,omitempty"`
	CapMonth  *int64 `json:"cap_month,omitempty"`
	CapTotal  *int64 `json:"cap_total,omitempty"`
	// PairCapDay bounds how many times a day one actor earns a member coins.
	PairCapDay *int `json:"pair_cap_day,omitempty"`
	// Members younger than NewAccountDays earn NewAccountCoins at most.
	NewAccountDays   *int           `json:"new_account_days,omitempty"`
	NewAccountCoins  int64          `json:"new_account_coins"`
	CapPercentByRole map[string]int `json:"cap_percent_by_role,omitempty" doc:"Caps scaled by role, in percent (100: unchanged)."`
	Reversal         string         `json:"reversal" enum:"reverse_remaining,carry_debt" doc:"When coins to take back were spent: take what is left, or also carry the rest as debt."`
	Default          bool           `json:"default" doc:"A plugin's default, not edited by the tenant."`
	UpdatedAt        *time.Time     `json:"updated_at,omitempty"`
}

// Settings are a tenant's coin settings.
type Settings struct {
	MemberDailyCap     int64  `json:"member_daily_cap" doc:"Most coins a member earns per tenant-local day, all rules together."`
	DailyBudget        *int64 `json:"daily_budget,omitempty" doc:"Most coins the whole tenant issues per day."`
	ExpiryDays         *int   `json:"expiry_days,omitempty" doc:"Coins expire this many days after they were earned (unset: never)."`
	BonusCoins         int64  `json:"bonus_coins" doc:"Weekly bonus for active members (0: none)."`
	BonusMinActiveDays int    `json:"bonus_min_active_days" doc:"Days of the week a member must have earned coins on to get the bonus."`
}

// DefaultSettings apply to a tenant that changed none.
var DefaultSettings = Settings{MemberDailyCap: 500, BonusMinActiveDays: 5}

var eventTypeRe = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// celEnv declares what a condition sees.
var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("type", cel.StringType),
		cel.Variable("member", cel.StringType),
		cel.Variable("actor", cel.StringType),
		cel.Variable("ref", cel.StringType),
		cel.Variable("attributes", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// conditionCostLimit bounds the work of one condition evaluation.
const conditionCostLimit = 10_000

// compile checks a condition: it must compile and yield a bool.
func compile(expr string) (cel.Program, error) {
	ast, iss := celEnv.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("the condition gives %s; it must give true or false", ast.OutputType())
	}
	prg, err := celEnv.Program(ast, cel.CostLimit(conditionCostLimit))
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	return prg, nil
}

// Validate reports every problem with r.
func (r Rule) Validate() error {
	var problems []engine.FieldError
	add := func(f, m string) { problems = append(problems, engine.FieldError{Field: f, Message: m}) }
	if !eventTypeRe.MatchString(r.EventType) || len(r.EventType) > 100 {
		add("event_type", "must be dotted lowercase words, such as order.paid")
	}
	if len(r.Name) > 100 {
		add("name", "must be at most 100 characters")
	}
	if r.Coins < 0 || r.Coins > 1_000_000 {
		add("coins", "must be a whole number from 0 to 1000000")
	}
	if r.NewAccountCoins < 0 || r.NewAccountCoins > r.Coins {
		add("new_account_coins", "must be from 0 to the rule's coins")
	}
	for field, v := range map[string]*int64{"cap_day": r.CapDay, "cap_week": r.CapWeek, "cap_month": r.CapMonth, "cap_total": r.CapTotal} {
		if v != nil && (*v < 0 || *v > 1_000_000_000) {
			add(field, "must be from 0 to 1000000000")
		}
	}
	if r.PairCapDay != nil && (*r.PairCapDay < 0 || *r.PairCapDay > 10_000) {
		add("pair_cap_day", "must be from 0 to 10000")
	}
	if r.NewAccountDays != nil && (*r.NewAccountDays < 0 || *r.NewAccountDays > 3650) {
		add("new_account_days", "must be from 0 to 3650")
	}
	for role, pct := range r.CapPercentByRole {
		if authz.Rank(role) == 0 {
			add("cap_percent_by_role."+role, "is not a role (owner, admin, moderator, member)")
		} else if pct < 0 || pct > 10_000 {
			add("cap_percent_by_role."+role, "must be a percentage from 0 to 10000")
		}
	}
	if r.Reversal != ledger.ReverseRemaining && r.Reversal != ledger.CarryDebt {
		add("reversal", "must be reverse_remaining or carry_debt")
	}
	if len(r.Condition) > 2000 {
		add("condition", "must be at most 2000 characters")
	} else if strings.TrimSpace(r.Condition) != "" {
		if _, err := compile(r.Condition); err != nil {
			add("condition", "does not work: "+err.Error())
		}
	}
	return engine.Invalid(problems)
}

// Validate reports every problem with s.
func (s Settings) Validate() error {
	var problems []engine.FieldError
	add := func(f, m string) { problems = append(problems, engine.FieldError{Field: f, Message: m}) }
	if s.MemberDailyCap < 0 || s.MemberDailyCap > 1_000_000_000 {
		add("member_daily_cap", "must be from 0 to 1000000000")
	}
	if s.DailyBudget != nil && (*s.DailyBudget < 0 || *s.DailyBudget > 1_000_000_000_000) {
		add("daily_budget", "must be from 0 to 1000000000000")
	}
	if s.ExpiryDays != nil && (*s.ExpiryDays < 1 || *s.ExpiryDays > 3650) {
		add("expiry_days", "must be from 1 to 3650")
	}
	if s.BonusCoins < 0 || s.BonusCoins > 1_000_000 {
		add("bonus_coins", "must be from 0 to 1000000")
	}
	if s.BonusMinActiveDays < 1 || s.BonusMinActiveDays > 7 {
		add("bonus_min_active_days", "must be from 1 to 7")
	}
	return engine.Invalid(problems)
}

// Event is something a member did that may earn coins.
type Event struct {
	Type           string         `json:"type"`
	Member         uuid.UUID      `json:"member_id"`
	Actor          *uuid.UUID     `json:"actor_id,omitempty"`
	Ref            string         `json:"ref,omitempty"`
	Attributes     map[string]any `json:"attributes,omitempty"`
	OccurredAt     *time.Time     `json:"occurred_at,omitempty"`
	IdempotencyKey string         `json:"-"`
}

// Decision is what an event earned, and why.
type Decision struct {
	EventID       *uuid.UUID `json:"event_id,omitempty"`
	Type          string     `json:"type"`
	Member        uuid.UUID  `json:"member_id"`
	Requested     int64      `json:"requested" doc:"Coins due before caps."`
	Granted       int64      `json:"granted"`
	Reason        string     `json:"reason" doc:"granted, or why less was: rule_day_cap, rule_week_cap, rule_month_cap, rule_total_cap, pair_daily_cap, member_daily_cap, tenant_daily_budget, new_account, condition_false, condition_error, rule_disabled, wallet_frozen, member_banned, member_inactive, nothing_due."`
	TransactionID *uuid.UUID `json:"transaction_id,omitempty"`
	Balance       *int64     `json:"balance,omitempty" doc:"The member's balance after the award."`
	Replayed      bool       `json:"replayed" doc:"True when this answers an idempotency key seen before."`
}
