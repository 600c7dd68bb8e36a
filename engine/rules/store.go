package rules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

type ruleRow struct {
	ID               uuid.UUID      `db:"id"`
	EventType        string         `db:"event_type"`
	Name             string         `db:"name"`
	Coins            int64          `db:"coins"`
	Condition        string         `db:"condition"`
	Enabled          bool           `db:"enabled"`
	CapDay           *int64         `db:"cap_day"`
	CapWeek          *int64         `db:"cap_week"`
	CapMonth         *int64         `db:"cap_month"`
	CapTotal         *int64         `db:"cap_total"`
	PairCapDay       *int           `db:"pair_cap_day"`
	NewAccountDays   *int           `db:"new_account_days"`
	NewAccountCoins  int64          `db:"new_account_coins"`
	CapPercentByRole map[string]int `db:"cap_percent_by_role"`
	Reversal         string         `db:"reversal"`
	UpdatedAt        time.Time      `db:"updated_at"`
}

func (r ruleRow) rule() Rule {
	at := r.UpdatedAt
	return Rule{
		ID: r.ID, EventType: r.EventType, Name: r.Name, Coins: r.Coins, Condition: r.Condition, Enabled: r.Enabled,
		CapDay: r.CapDay, CapWeek: r.CapWeek, CapMonth: r.CapMonth, CapTotal: r.CapTotal, PairCapDay: r.PairCapDay,
		NewAccountDays: r.NewAccountDays, NewAccountCoins: r.NewAccountCoins, CapPercentByRole: r.CapPercentByRole,
		Reversal: r.Reversal, UpdatedAt: &at,
	}
}

const selectRuleSQL = `SELECT id, event_type, name, coins, condition, enabled, cap_day, cap_week, cap_month, cap_total,
	pair_cap_day, new_account_days, new_account_coins, cap_percent_by_role, reversal, updated_at FROM coin_rules`

func selectRules(ctx context.Context, tx pgx.Tx) ([]Rule, error) {
	rows, err := tx.Query(ctx, selectRuleSQL+` ORDER BY event_type`)
	if err != nil {
		return nil, fmt.Errorf("select rules: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[ruleRow])
	if err != nil {
		return nil, fmt.Errorf("select rules: %w", err)
	}
	out := make([]Rule, len(rs))
	for i, r := range rs {
		out[i] = r.rule()
	}
	return out, nil
}

func selectRule(ctx context.Context, tx pgx.Tx, eventType string) (Rule, error) {
	rows, err := tx.Query(ctx, selectRuleSQL+` WHERE event_type = $1`, eventType)
	if err != nil {
		return Rule{}, fmt.Errorf("select rule: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ruleRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return Rule{}, nil
	}
	if err != nil {
		return Rule{}, fmt.Errorf("select rule: %w", err)
	}
	return r.rule(), nil
}

func upsertRule(ctx context.Context, tx pgx.Tx, r Rule) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `
INSERT INTO coin_rules (tenant_id, id, event_type, name, coins, condition, enabled, cap_day, cap_week, cap_month, cap_total,
	pair_cap_day, new_account_days, new_account_coins, cap_percent_by_role, reversal)
VALUES (current_tenant_id(), @id, @event_type, @name, @coins, @condition, @enabled, @cap_day, @cap_week, @cap_month, @cap_total,
	@pair_cap_day, @new_account_days, @new_account_coins, @cap_percent_by_role, @reversal)
ON CONFLICT (tenant_id, event_type) DO UPDATE SET name = @name, coins = @coins, condition = @condition, enabled = @enabled,
	cap_day = @cap_day, cap_week = @cap_week, cap_month = @cap_month, cap_total = @cap_total, pair_cap_day = @pair_cap_day,
	new_account_days = @new_account_days, new_account_coins = @new_account_coins, cap_percent_by_role = @cap_percent_by_role,
	reversal = @reversal, updated_at = now()
RETURNING id`, pgx.NamedArgs{
		"id": uuid.Must(uuid.NewV7()), "event_type": r.EventType, "name": r.Name, "coins": r.Coins, "condition": r.Condition,
		"enabled": r.Enabled, "cap_day": r.CapDay, "cap_week": r.CapWeek, "cap_month": r.CapMonth, "cap_total": r.CapTotal,
		"pair_cap_day": r.PairCapDay, "new_account_days": r.NewAccountDays, "new_account_coins": r.NewAccountCoins,
		"cap_percent_by_role": r.CapPercentByRole, "reversal": r.Reversal,
	}).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("upsert rule: %w", err)
	}
	return id, nil
}

func selectSettings(ctx context.Context, tx pgx.Tx) (Settings, error) {
	s := DefaultSettings
	err := tx.QueryRow(ctx, `SELECT member_daily_cap, daily_budget, expiry_days, bonus_coins, bonus_min_active_days FROM coin_settings`).
		Scan(&s.MemberDailyCap, &s.DailyBudget, &s.ExpiryDays, &s.BonusCoins, &s.BonusMinActiveDays)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Settings{}, fmt.Errorf("select coin settings: %w", err)
	}
	return s, nil
}
