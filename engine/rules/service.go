package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
)

// NotifyChannel carries the tenant ID whose rules or settings changed.
const NotifyChannel = "guildhall_rules_changed"

// ruleSetTTL bounds how long a cached rule set is used without a
// notification.
const ruleSetTTL = time.Minute

// Service manages rules and awards events for the tenant in ctx.
type Service struct {
	db *db.DB
	// eventTypes returns the event types the plugins enabled for the tenant
	// in ctx declare, with their default coins.
	eventTypes func(ctx context.Context) []plugin.EventType
	now        func() time.Time

	mu    sync.RWMutex
	cache map[uuid.UUID]*ruleSet
}

// NewService returns the rules service.
func NewService(d *db.DB, eventTypes func(ctx context.Context) []plugin.EventType, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if eventTypes == nil {
		eventTypes = func(context.Context) []plugin.EventType { return nil }
	}
	return &Service{db: d, eventTypes: eventTypes, now: now, cache: map[uuid.UUID]*ruleSet{}}
}

// ruleSet is a tenant's rules, ready to evaluate.
type ruleSet struct {
	rules    map[string]*compiled
	settings Settings
	loaded   time.Time
}

type compiled struct {
	Rule
	prg cel.Program
}

// Subscribe drops a tenant's cached rule set when its rules change.
func (s *Service) Subscribe(l *db.Listener) {
	l.Subscribe(NotifyChannel, func(_ context.Context, n db.Notification) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if n.Resync {
			s.cache = map[uuid.UUID]*ruleSet{}
			return
		}
		if id, err := uuid.Parse(n.Payload); err == nil {
			delete(s.cache, id)
		}
	})
}

// set returns the tenant's rule set, from the cache when fresh.
func (s *Service) set(ctx context.Context) (*ruleSet, error) {
	tenant, ok := engine.TenantFrom(ctx)
	if !ok {
		return nil, db.ErrNoTenant
	}
	s.mu.RLock()
	rs := s.cache[tenant]
	s.mu.RUnlock()
	if rs != nil && s.now().Sub(rs.loaded) < ruleSetTTL {
		return rs, nil
	}
	rules, settings, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	rs = &ruleSet{rules: map[string]*compiled{}, settings: settings, loaded: s.now()}
	for _, r := range rules {
		c := &compiled{Rule: r}
		if strings.TrimSpace(r.Condition) != "" {
			// A stored condition that no longer compiles (it was checked on
			// save) answers condition_error rather than paying.
			c.prg, _ = compile(r.Condition)
			if c.prg == nil {
				c.Enabled = false
			}
		}
		rs.rules[r.EventType] = c
	}
	s.mu.Lock()
	s.cache[tenant] = rs
	s.mu.Unlock()
	return rs, nil
}

// load reads the stored rules, adds the plugins' defaults for the types
// without one, and the settings.
func (s *Service) load(ctx context.Context) ([]Rule, Settings, error) {
	var rules []Rule
	settings := DefaultSettings
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		if rules, err = selectRules(ctx, tx); err != nil {
			return err
		}
		settings, err = selectSettings(ctx, tx)
		return err
	})
	if err != nil {
		return nil, Settings{}, err
	}
	have := map[string]bool{}
	for _, r := range rules {
		have[r.EventType] = true
	}
	for _, et := range s.eventTypes(ctx) {
		if !have[et.Type] {
			rules = append(rules, Rule{EventType: et.Type, Name: et.Description, Coins: et.DefaultCoins, Enabled: true,
				Reversal: ledger.ReverseRemaining, Default: true})
			have[et.Type] = true
		}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].EventType < rules[j].EventType })
	return rules, settings, nil
}

// Rules returns the tenant's rules: stored ones and the enabled plugins'
// defaults.
func (s *Service) Rules(ctx context.Context) ([]Rule, error) {
	rules, _, err := s.load(ctx)
	return rules, err
}

// ErrUnknownEventType answers an event whose type has no rule.
var ErrUnknownEventType = &engine.Error{Code: engine.CodeInvalid, Message: "No rule handles this event type.",
	Fields: []engine.FieldError{{Field: "type", Message: "is not an event type of this community (see list-event-types)"}}}

// Rule returns the rule of an event type.
// Errors: not_found.
func (s *Service) Rule(ctx context.Context, eventType string) (Rule, error) {
	rules, err := s.Rules(ctx)
	if err != nil {
		return Rule{}, err
	}
	for _, r := range rules {
		if r.EventType == eventType {
			return r, nil
		}
	}
	return Rule{}, &engine.Error{Code: engine.CodeNotFound, Message: "No rule handles this event type."}
}

// PutRule creates or replaces the rule of r.EventType, audited. A
// condition must compile and give a boolean.
// Errors: invalid.
func (s *Service) PutRule(ctx context.Context, r Rule) (Rule, error) {
	if r.Reversal == "" {
		r.Reversal = ledger.ReverseRemaining
	}
	if r.CapPercentByRole == nil {
		r.CapPercentByRole = map[string]int{}
	}
	r.Condition = strings.TrimSpace(r.Condition)
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	var out Rule
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		before, _ := selectRule(ctx, tx, r.EventType)
		id, err := upsertRule(ctx, tx, r)
		if err != nil {
			return err
		}
		if out, err = selectRule(ctx, tx, r.EventType); err != nil {
			return err
		}
		details := map[string]any{"rule": out}
		if before.ID != uuid.Nil {
			details["before"] = before
		}
		return audit.Record(ctx, tx, "rules.changed", "rule:"+r.EventType, map[string]any{"id": id, "rule": details})
	})
	s.forget(ctx)
	return out, err
}

// DeleteRule removes the tenant's rule of an event type; a plugin's type
// falls back to its default.
// Errors: not_found.
func (s *Service) DeleteRule(ctx context.Context, eventType string) error {
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM coin_rules WHERE event_type = $1`, eventType)
		if err != nil {
			return fmt.Errorf("delete rule: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return &engine.Error{Code: engine.CodeNotFound, Message: "This community has no rule of its own for that event type."}
		}
		return audit.Record(ctx, tx, "rules.deleted", "rule:"+eventType, nil)
	})
	s.forget(ctx)
	return err
}

// Settings returns the tenant's coin settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	var out Settings
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = selectSettings(ctx, tx)
		return err
	})
	return out, err
}

// SetSettings replaces the tenant's coin settings, audited. A new member
// daily cap applies from the next award, judged against what was already
// granted today.
// Errors: invalid.
func (s *Service) SetSettings(ctx context.Context, st Settings) (Settings, error) {
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		before, err := selectSettings(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO coin_settings (tenant_id, member_daily_cap, daily_budget, expiry_days, bonus_coins, bonus_min_active_days, updated_at)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, now())
ON CONFLICT (tenant_id) DO UPDATE SET member_daily_cap = $1, daily_budget = $2, expiry_days = $3, bonus_coins = $4,
	bonus_min_active_days = $5, updated_at = now()`, st.MemberDailyCap, st.DailyBudget, st.ExpiryDays, st.BonusCoins, st.BonusMinActiveDays)
		if err != nil {
			return fmt.Errorf("set coin settings: %w", err)
		}
		return audit.Record(ctx, tx, "settings.coins_changed", "settings:coins", map[string]any{"from": before, "to": st})
	})
	s.forget(ctx)
	return st, err
}

// forget drops this server's cached rule set of the tenant in ctx at once
// (other servers hear it through the notification).
func (s *Service) forget(ctx context.Context) {
	if t, ok := engine.TenantFrom(ctx); ok {
		s.mu.Lock()
		delete(s.cache, t)
		s.mu.Unlock()
	}
}

// EventTypeInfo is an event type the tenant can receive.
type EventTypeInfo struct {
	Type        string `json:"type"`
	Description string `json:"description"`
	Coins       int64  `json:"coins" doc:"Coins per event before caps."`
	Custom      bool   `json:"custom" doc:"Declared by the tenant's own rule, not by a plugin."`
	Enabled     bool   `json:"enabled"`
}

// EventTypes lists the event types of the tenant: its plugins' and its own.
func (s *Service) EventTypes(ctx context.Context) ([]EventTypeInfo, error) {
	rules, err := s.Rules(ctx)
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, et := range s.eventTypes(ctx) {
		declared[et.Type] = true
	}
	out := make([]EventTypeInfo, len(rules))
	for i, r := range rules {
		out[i] = EventTypeInfo{Type: r.EventType, Description: r.Name, Coins: r.Coins, Custom: !declared[r.EventType], Enabled: r.Enabled}
	}
	return out, nil
}

// Limits of the events API.
const (
	MaxBatch          = 1000
	MaxAttributesSize = 16 << 10
)

// check validates an event and returns what condition evaluation needs.
func check(e Event, field string) []engine.FieldError {
	var problems []engine.FieldError
	add := func(f, m string) { problems = append(problems, engine.FieldError{Field: field + f, Message: m}) }
	if !eventTypeRe.MatchString(e.Type) || len(e.Type) > 100 {
		add("type", "must be dotted lowercase words, such as order.paid")
	}
	if e.Member == uuid.Nil {
		add("member_id", "is required")
	}
	if len(e.Ref) > 200 {
		add("ref", "must be at most 200 characters")
	}
	if b, _ := json.Marshal(e.Attributes); len(b) > MaxAttributesSize {
		add("attributes", "must be at most 16 KiB of JSON")
	}
	if err := ledger.CheckKey(e.IdempotencyKey); err != nil {
		add("idempotency_key", "is required (1 to 200 characters; use a UUIDv7)")
	}
	return problems
}

// due evaluates the rule of e: the coins due before caps and, when none,
// why. It returns ErrUnknownEventType for a type without a rule.
func (rs *ruleSet) due(e Event) (*compiled, int64, string, error) {
	r := rs.rules[e.Type]
	if r == nil {
		return nil, 0, "", ErrUnknownEventType
	}
	if !r.Enabled {
		return r, 0, "rule_disabled", nil
	}
	if r.prg != nil {
		actor := ""
		if e.Actor != nil {
			actor = e.Actor.String()
		}
		attrs := e.Attributes
		if attrs == nil {
			attrs = map[string]any{}
		}
		out, _, err := r.prg.Eval(map[string]any{"type": e.Type, "member": e.Member.String(), "actor": actor, "ref": e.Ref, "attributes": attrs})
		if err != nil {
			return r, 0, "condition_error", nil
		}
		if ok, _ := out.Value().(bool); !ok {
			return r, 0, "condition_false", nil
		}
	}
	return r, r.Coins, "", nil
}

// awardCall queues the coin_award call of e.
func (s *Service) awardCall(b *pgx.Batch, scope, source string, e Event, r *compiled, coins int64, reason string) {
	var ruleID *uuid.UUID
	if r != nil && r.ID != uuid.Nil {
		ruleID = &r.ID
	}
	occurred := s.now()
	if e.OccurredAt != nil {
		occurred = *e.OccurredAt
	}
	attrs := e.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	b.Queue(`SELECT event_id, requested, granted, reason, transaction_id, balance, replayed, mismatch
FROM coin_award($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), scope, e.IdempotencyKey, ledger.RequestHash(e),
		e.Type, e.Member, e.Actor, e.Ref, attrs, occurred, source, ruleID, coins, reason)
}

func readDecision(br pgx.BatchResults, e Event) (Decision, error) {
	d := Decision{Type: e.Type, Member: e.Member}
	var mismatch bool
	err := br.QueryRow().Scan(&d.EventID, &d.Requested, &d.Granted, &d.Reason, &d.TransactionID, &d.Balance, &d.Replayed, &mismatch)
	if err != nil {
		return Decision{}, fmt.Errorf("award: %w", err)
	}
	switch {
	case mismatch:
		return Decision{}, ledger.ErrKeyReused
	case d.Reason == "unknown_member":
		return Decision{}, ErrUnknownMember
	}
	return d, nil
}

// ErrUnknownMember answers an event for someone who is not a member.
var ErrUnknownMember = &engine.Error{Code: engine.CodeInvalid, Message: "No member has that ID.",
	Fields: []engine.FieldError{{Field: "member_id", Message: "is not a member of this community"}}}

// source names who sends events: the principal, or a plugin.
func source(ctx context.Context) string {
	if p, ok := engine.PrincipalFrom(ctx); ok && p.Name != "" {
		return p.Name
	}
	return audit.ActorFrom(ctx).Name
}

// Award decides and records what e earns, in one database call: caps,
// counters, the event, the ledger transaction and the balance.
// Errors: invalid (the event, an unknown type or member, a reused key).
func (s *Service) Award(ctx context.Context, e Event) (Decision, error) {
	if err := engine.Invalid(check(e, "")); err != nil {
		return Decision{}, err
	}
	rs, err := s.set(ctx)
	if err != nil {
		return Decision{}, err
	}
	r, coins, reason, err := rs.due(e)
	if err != nil {
		return Decision{}, err
	}
	src := source(ctx)
	b := &pgx.Batch{}
	s.awardCall(b, src+":events", src, e, r, coins, reason)
	var d Decision
	err = s.db.InTenantBatch(ctx, b, func(br pgx.BatchResults) error {
		var err error
		d, err = readDecision(br, e)
		return err
	})
	return d, err
}

// AwardTx is Award in the caller's tenant transaction, for a plugin whose
// change and award must commit together (a post and what it earned): the
// award is one statement on tx, and rolls back with it.
// Errors: invalid (the event, an unknown type or member, a reused key).
func (s *Service) AwardTx(ctx context.Context, tx pgx.Tx, e Event) (Decision, error) {
	if err := engine.Invalid(check(e, "")); err != nil {
		return Decision{}, err
	}
	rs, err := s.set(ctx)
	if err != nil {
		return Decision{}, err
	}
	r, coins, reason, err := rs.due(e)
	if err != nil {
		return Decision{}, err
	}
	src := source(ctx)
	b := &pgx.Batch{}
	s.awardCall(b, src+":events", src, e, r, coins, reason)
	br := tx.SendBatch(ctx, b)
	d, err := readDecision(br, e)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("award: %w", cerr)
	}
	return d, err
}

// Result is one event's outcome in a batch.
type Result struct {
	Decision *Decision     `json:"decision,omitempty"`
	Error    *engine.Error `json:"-"`
}

// AwardBatch awards up to MaxBatch events in one database round trip and
// transaction. Events of one member keep their order; invalid events get
// their own error and do not stop the others.
// Errors: invalid (an empty or oversized batch).
func (s *Service) AwardBatch(ctx context.Context, events []Event) ([]Result, error) {
	if len(events) == 0 || len(events) > MaxBatch {
		return nil, engine.Invalid([]engine.FieldError{{Field: "events", Message: fmt.Sprintf("must hold 1 to %d events", MaxBatch)}})
	}
	rs, err := s.set(ctx)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(events))
	src := source(ctx)
	// Members' wallets are locked in member order, so concurrent batches
	// cannot deadlock; each member's events keep their order.
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return slices.Compare(events[order[a]].Member[:], events[order[b]].Member[:]) < 0
	})
	b := &pgx.Batch{}
	var queued []int
	for _, i := range order {
		e := events[i]
		if problems := check(e, fmt.Sprintf("events[%d].", i)); len(problems) > 0 {
			results[i].Error = engine.Invalid(problems).(*engine.Error)
			continue
		}
		r, coins, reason, err := rs.due(e)
		if err != nil {
			ee, _ := errors.AsType[*engine.Error](err)
			results[i].Error = ee
			continue
		}
		s.awardCall(b, src+":events", src, e, r, coins, reason)
		queued = append(queued, i)
	}
	if len(queued) == 0 {
		return results, nil
	}
	err = s.db.InTenantBatch(ctx, b, func(br pgx.BatchResults) error {
		for _, i := range queued {
			d, err := readDecision(br, events[i])
			if ee, ok := errors.AsType[*engine.Error](err); ok {
				results[i] = Result{Error: ee}
				continue
			}
			if err != nil {
				return err
			}
			results[i] = Result{Decision: &d}
		}
		return nil
	})
	return results, err
}

// errDryRun rolls a dry run back.
var errDryRun = errors.New("dry run")

// DryRun answers what e would earn now, by running the real award in a
// transaction that is rolled back: nothing is written.
// Errors: invalid.
func (s *Service) DryRun(ctx context.Context, e Event) (Decision, error) {
	if e.IdempotencyKey == "" {
		e.IdempotencyKey = "dry-run:" + uuid.NewString()
	}
	if err := engine.Invalid(check(e, "")); err != nil {
		return Decision{}, err
	}
	rs, err := s.set(ctx)
	if err != nil {
		return Decision{}, err
	}
	r, coins, reason, err := rs.due(e)
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		s.awardCall(b, "dry-run", source(ctx), e, r, coins, reason)
		br := tx.SendBatch(ctx, b)
		d, err = readDecision(br, e)
		_ = br.Close()
		if err != nil {
			return err
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		d.EventID, d.TransactionID = nil, nil
		return d, nil
	}
	return d, err
}
