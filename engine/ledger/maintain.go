package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Report is what Verify found wrong with the books of a tenant; empty when
// they are right.
type Report struct {
	Transactions     int                `json:"transactions"`
	Unbalanced       []uuid.UUID        `json:"unbalanced,omitempty" doc:"Transactions whose entries do not sum to zero."`
	UnknownAccounts  []uuid.UUID        `json:"unknown_accounts,omitempty" doc:"Accounts named by entries that do not exist."`
	WrongBalances    []BalanceMismatch  `json:"wrong_balances,omitempty"`
	WrongCounters    []CounterMismatch  `json:"wrong_counters,omitempty" doc:"Daily counters that disagree with the awards granted."`
	OverCap          []CounterMismatch  `json:"over_cap,omitempty" doc:"Member-days above the member daily cap as it is now."`
	DuplicateKeyPays []DuplicateKeyPaid `json:"duplicate_key_pays,omitempty"`
}

// OK reports whether nothing was found.
func (r Report) OK() bool {
	return len(r.Unbalanced) == 0 && len(r.UnknownAccounts) == 0 && len(r.WrongBalances) == 0 && len(r.WrongCounters) == 0 && len(r.OverCap) == 0 && len(r.DuplicateKeyPays) == 0
}

// BalanceMismatch is a wallet whose balance is not the sum of its entries.
type BalanceMismatch struct {
	Account uuid.UUID `json:"account"`
	Balance int64     `json:"balance"`
	Entries int64     `json:"entries"`
}

// CounterMismatch is a member-day whose counter is off.
type CounterMismatch struct {
	Member  uuid.UUID `json:"member"`
	Day     string    `json:"day"`
	Counter int64     `json:"counter"`
	Granted int64     `json:"granted"`
	Cap     int64     `json:"cap,omitempty"`
}

// DuplicateKeyPaid is an idempotency key that paid more than once.
type DuplicateKeyPaid struct {
	Key    string `json:"key"`
	Events int    `json:"events"`
}

// Verify checks the books of the tenant in ctx: every transaction
// balances, every wallet balance equals the sum of its entries, every
// member-day counter equals what was granted that day, no member-day is
// above the member daily cap (as configured now), and no idempotency key
// paid twice.
func (s *Service) Verify(ctx context.Context) (Report, error) {
	var r Report
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM coin_transactions`).Scan(&r.Transactions); err != nil {
			return fmt.Errorf("count transactions: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT transaction_id FROM coin_entries GROUP BY transaction_id HAVING sum(amount) <> 0`)
		if err != nil {
			return fmt.Errorf("check balance of transactions: %w", err)
		}
		if r.Unbalanced, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return fmt.Errorf("check balance of transactions: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT DISTINCT e.account_id FROM coin_entries e
WHERE NOT EXISTS (SELECT FROM coin_accounts a WHERE a.tenant_id = e.tenant_id AND a.id = e.account_id)`)
		if err != nil {
			return fmt.Errorf("check accounts: %w", err)
		}
		if r.UnknownAccounts, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return fmt.Errorf("check accounts: %w", err)
		}
		rows, err = tx.Query(ctx, `
SELECT a.id, a.balance, coalesce(sum(e.amount), 0) FROM coin_accounts a
LEFT JOIN coin_entries e ON e.tenant_id = a.tenant_id AND e.account_id = a.id
WHERE a.kind = 'wallet' GROUP BY a.id, a.balance HAVING a.balance <> coalesce(sum(e.amount), 0)`)
		if err != nil {
			return fmt.Errorf("check wallets: %w", err)
		}
		if r.WrongBalances, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (BalanceMismatch, error) {
			var m BalanceMismatch
			return m, row.Scan(&m.Account, &m.Balance, &m.Entries)
		}); err != nil {
			return fmt.Errorf("check wallets: %w", err)
		}
		// Granted per member and tenant-local day, from the events.
		rows, err = tx.Query(ctx, `
WITH tz AS (SELECT time_zone FROM tenants WHERE id = current_tenant_id()),
granted AS (
	SELECT member_id, (received_at AT TIME ZONE (SELECT time_zone FROM tz))::date AS day, sum(granted) AS amount
	FROM coin_events WHERE granted > 0 GROUP BY 1, 2)
SELECT coalesce(g.member_id, c.member_id), coalesce(g.day, c.period_start)::text, coalesce(c.amount, 0), coalesce(g.amount, 0)
FROM granted g FULL JOIN (SELECT member_id, period_start, amount FROM coin_counters
	WHERE rule_id = '00000000-0000-0000-0000-000000000000' AND period = 'day') c
	ON c.member_id = g.member_id AND c.period_start = g.day
WHERE coalesce(c.amount, 0) <> coalesce(g.amount, 0)`)
		if err != nil {
			return fmt.Errorf("check counters: %w", err)
		}
		if r.WrongCounters, err = pgx.CollectRows(rows, scanCounter); err != nil {
			return fmt.Errorf("check counters: %w", err)
		}
		rows, err = tx.Query(ctx, `
SELECT c.member_id, c.period_start::text, c.amount, c.amount, coalesce((SELECT member_daily_cap FROM coin_settings), 500)
FROM coin_counters c WHERE c.rule_id = '00000000-0000-0000-0000-000000000000' AND c.period = 'day'
	AND c.amount > coalesce((SELECT member_daily_cap FROM coin_settings), 500)`)
		if err != nil {
			return fmt.Errorf("check caps: %w", err)
		}
		if r.OverCap, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (CounterMismatch, error) {
			var m CounterMismatch
			return m, row.Scan(&m.Member, &m.Day, &m.Counter, &m.Granted, &m.Cap)
		}); err != nil {
			return fmt.Errorf("check caps: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT x.event_id::text, count(*) FROM coin_transactions x
WHERE x.kind = 'award' GROUP BY x.event_id HAVING count(*) > 1`)
		if err != nil {
			return fmt.Errorf("check duplicate pays: %w", err)
		}
		r.DuplicateKeyPays, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (DuplicateKeyPaid, error) {
			var d DuplicateKeyPaid
			return d, row.Scan(&d.Key, &d.Events)
		})
		return err
	})
	return r, err
}

func scanCounter(row pgx.CollectableRow) (CounterMismatch, error) {
	var m CounterMismatch
	return m, row.Scan(&m.Member, &m.Day, &m.Counter, &m.Granted)
}

// ExpireCoins expires, in every wallet of the tenant in ctx, the coins
// older than the tenant's expiry period (oldest first, as spending does):
// what the balance holds beyond the credits of the period. It returns the
// coins expired; nothing when expiry is off.
func (s *Service) ExpireCoins(ctx context.Context) (int64, error) {
	var total int64
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var days *int
		if err := tx.QueryRow(ctx, `SELECT expiry_days FROM coin_settings`).Scan(&days); err != nil || days == nil {
			return nil
		}
		cutoff := s.now().Add(-time.Duration(*days) * 24 * time.Hour)
		rows, err := tx.Query(ctx, `
SELECT a.id, a.balance - coalesce((SELECT sum(e.amount) FROM coin_entries e
	WHERE e.tenant_id = a.tenant_id AND e.account_id = a.id AND e.amount > 0 AND e.created_at > $1), 0)
FROM coin_accounts a WHERE a.kind = 'wallet' AND a.balance > 0 ORDER BY a.id`, cutoff)
		if err != nil {
			return fmt.Errorf("find expiring coins: %w", err)
		}
		type due struct {
			id     uuid.UUID
			amount int64
		}
		dues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			return d, r.Scan(&d.id, &d.amount)
		})
		if err != nil {
			return fmt.Errorf("find expiring coins: %w", err)
		}
		for _, d := range dues {
			if d.amount <= 0 {
				continue
			}
			if _, err := Post(ctx, tx, Posting{Kind: KindExpiry, Memo: fmt.Sprintf("Coins older than %d days", *days), Actor: "system",
				SpendFrozen: true, Lines: []Line{{Account: d.id, Amount: -d.amount}, {Account: AccountExpiry, Amount: d.amount}}}); err != nil {
				return err
			}
			total += d.amount
		}
		return nil
	})
	return total, err
}

// DailyStats computes (or recomputes) a tenant-local day's figures: coins
// issued (awards, bonuses, staff grants), coins redeemed (net of refunds)
// and members who earned anything.
func (s *Service) DailyStats(ctx context.Context, day time.Time) error {
	return s.db.InTenant(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
WITH tz AS (SELECT time_zone FROM tenants WHERE id = current_tenant_id()),
bounds AS (SELECT ($1::date)::timestamp AT TIME ZONE (SELECT time_zone FROM tz) AS lo,
	($1::date + 1)::timestamp AT TIME ZONE (SELECT time_zone FROM tz) AS hi)
INSERT INTO coin_daily_stats (tenant_id, day, issued, redeemed, active_members, computed_at)
SELECT current_tenant_id(), $1::date,
	coalesce((SELECT sum(e.amount) FROM coin_entries e, bounds b JOIN coin_accounts a ON true
		WHERE a.tenant_id = e.tenant_id AND a.id = e.account_id AND a.kind = 'wallet' AND e.amount > 0
			AND e.kind IN ('award', 'bonus', 'adjustment') AND e.created_at >= b.lo AND e.created_at < b.hi), 0),
	coalesce((SELECT sum(e.amount) FROM coin_entries e, bounds b
		WHERE e.account_id = coin_system_account('redemptions') AND e.created_at >= b.lo AND e.created_at < b.hi), 0),
	(SELECT count(DISTINCT ev.member_id) FROM coin_events ev, bounds b WHERE ev.received_at >= b.lo AND ev.received_at < b.hi),
	now()
ON CONFLICT (tenant_id, day) DO UPDATE SET issued = EXCLUDED.issued, redeemed = EXCLUDED.redeemed,
	active_members = EXCLUDED.active_members, computed_at = now()`, day.Format("2006-01-02"))
		if err != nil {
			return fmt.Errorf("compute daily stats: %w", err)
		}
		return nil
	})
}

// DayStats is one day's figures.
type DayStats struct {
	Day           string `json:"day"`
	Issued        int64  `json:"issued"`
	Redeemed      int64  `json:"redeemed"`
	ActiveMembers int    `json:"active_members"`
}

// Stats returns the computed days in [from, to], oldest first.
func (s *Service) Stats(ctx context.Context, from, to time.Time) ([]DayStats, error) {
	var out []DayStats
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT day::text, issued, redeemed, active_members FROM coin_daily_stats
WHERE day BETWEEN $1 AND $2 ORDER BY day`, from.Format("2006-01-02"), to.Format("2006-01-02"))
		if err != nil {
			return fmt.Errorf("select stats: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DayStats, error) {
			var d DayStats
			return d, r.Scan(&d.Day, &d.Issued, &d.Redeemed, &d.ActiveMembers)
		})
		return err
	})
	return out, err
}

// WeeklyBonus pays the tenant's weekly bonus for the week starting
// weekStart (a tenant-local Monday) to every member who earned coins on at
// least the configured number of days of it. Each member is paid once per
// week, however often it runs. It returns how many members were paid.
func (s *Service) WeeklyBonus(ctx context.Context, weekStart time.Time) (int, error) {
	paid := 0
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var coins int64
		var minDays int
		err := tx.QueryRow(ctx, `SELECT bonus_coins, bonus_min_active_days FROM coin_settings`).Scan(&coins, &minDays)
		if err != nil || coins <= 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `
WITH tz AS (SELECT time_zone FROM tenants WHERE id = current_tenant_id())
SELECT member_id FROM coin_events
WHERE granted > 0 AND (received_at AT TIME ZONE (SELECT time_zone FROM tz))::date BETWEEN $1::date AND $1::date + 6
	AND member_id NOT IN (SELECT id FROM coin_accounts WHERE frozen_at IS NOT NULL)
GROUP BY member_id HAVING count(DISTINCT (received_at AT TIME ZONE (SELECT time_zone FROM tz))::date) >= $2
ORDER BY member_id`, weekStart.Format("2006-01-02"), minDays)
		if err != nil {
			return fmt.Errorf("find active members: %w", err)
		}
		members, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("find active members: %w", err)
		}
		week := weekStart.Format("2006-01-02")
		for _, m := range members {
			_, replayed, err := Idempotent(ctx, tx, "system:weekly-bonus", week+":"+m.String(), week, func() (uuid.UUID, error) {
				return Post(ctx, tx, Posting{Kind: KindBonus, Memo: "Weekly bonus, week of " + week, Actor: "system",
					Lines: []Line{{Account: m, Amount: coins}, {Account: AccountIssuance, Amount: -coins}}})
			})
			if err != nil {
				return err
			}
			if !replayed {
				paid++
			}
		}
		return nil
	})
	return paid, err
}

// CleanupKeys deletes idempotency keys older than 48 hours.
func (s *Service) CleanupKeys(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, s.now().Add(-48*time.Hour))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
