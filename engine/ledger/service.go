package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
)

// Service reads and writes the ledger of the tenant in ctx.
type Service struct {
	db  *db.DB
	now func() time.Time
}

// NewService returns the ledger service.
func NewService(d *db.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, now: now}
}

// DB returns the service's database, for packages posting in their own
// transactions (rewards, jobs).
func (s *Service) DB() *db.DB { return s.db }

// Wallet returns a member's wallet (empty when they never had coins), with
// the coins that expire when the tenant lets them.
// Errors: not_found (no such member).
func (s *Service) Wallet(ctx context.Context, member uuid.UUID) (Wallet, error) {
	w := Wallet{MemberID: member}
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM users WHERE id = $1)`, member).Scan(&exists); err != nil {
			return fmt.Errorf("look up member: %w", err)
		}
		if !exists {
			return ErrNotFound
		}
		err := tx.QueryRow(ctx, `SELECT balance, debt, frozen_at FROM coin_accounts WHERE id = $1 AND kind = 'wallet'`, member).
			Scan(&w.Balance, &w.Debt, &w.FrozenAt)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("select wallet: %w", err)
		}
		var days *int
		if err := tx.QueryRow(ctx, `SELECT expiry_days FROM coin_settings`).Scan(&days); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("select expiry: %w", err)
		}
		if days == nil || w.Balance == 0 {
			return nil
		}
		w.Expiring, err = expiring(ctx, tx, member, w.Balance, *days, s.now())
		return err
	})
	return w, err
}

// expiring works out which of a wallet's coins expire when. Spending uses
// the oldest coins first, so the wallet holds its most recent credits: walk
// them newest first until they make up the balance; each expires its
// lifetime after it was earned. Coins older than every recent credit expire
// at the next expiry run.
func expiring(ctx context.Context, tx pgx.Tx, member uuid.UUID, balance int64, days int, now time.Time) ([]Expiry, error) {
	life := time.Duration(days) * 24 * time.Hour
	rows, err := tx.Query(ctx, `SELECT created_at, amount FROM coin_entries
WHERE account_id = $1 AND amount > 0 AND created_at > $2 ORDER BY created_at DESC, id DESC`, member, now.Add(-life))
	if err != nil {
		return nil, fmt.Errorf("select credits: %w", err)
	}
	type credit struct {
		at     time.Time
		amount int64
	}
	credits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (credit, error) {
		var c credit
		return c, r.Scan(&c.at, &c.amount)
	})
	if err != nil {
		return nil, fmt.Errorf("select credits: %w", err)
	}
	var out []Expiry
	left := balance
	for _, c := range credits {
		if left == 0 {
			break
		}
		take := min(left, c.amount)
		out = append(out, Expiry{At: c.at.Add(life), Amount: take})
		left -= take
	}
	if left > 0 {
		out = append(out, Expiry{At: now, Amount: left})
	}
	// Oldest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// HistoryParams selects a page of a wallet's history.
type HistoryParams struct {
	Member uuid.UUID
	Kinds  []string   // entry kinds; empty for all
	Since  *time.Time // at or after
	Until  *time.Time // before
	Cursor string
	Limit  int // 1..100; 0 means 50
}

// HistoryPage is a page of entries, newest first.
type HistoryPage struct {
	Entries []Entry
	Next    string
}

type historyCursor struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// History returns a page of a wallet's entries, newest first, each with why
// it happened.
// Errors: invalid.
func (s *Service) History(ctx context.Context, p HistoryParams) (HistoryPage, error) {
	var problems []engine.FieldError
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > 100 {
		problems = append(problems, engine.FieldError{Field: "limit", Message: "must be between 1 and 100"})
	}
	for i, k := range p.Kinds {
		switch k {
		case KindAward, KindBonus, KindRedemption, KindRefund, KindAdjustment, KindReversal, KindExpiry, "debt_repayment":
		default:
			problems = append(problems, engine.FieldError{Field: fmt.Sprintf("kind[%d]", i), Message: "is not an entry kind"})
		}
	}
	var after *historyCursor
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		var c historyCursor
		if err != nil || json.Unmarshal(b, &c) != nil || c.ID == uuid.Nil {
			problems = append(problems, engine.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
		}
		after = &c
	}
	if err := engine.Invalid(problems); err != nil {
		return HistoryPage{}, err
	}
	sql := `SELECT e.id, e.transaction_id, e.kind, e.amount, x.memo, x.event_id, x.rule_id, x.order_id, x.reverses_id, e.created_at
FROM coin_entries e JOIN coin_transactions x ON x.tenant_id = e.tenant_id AND x.id = e.transaction_id
WHERE e.account_id = $1`
	args := []any{p.Member}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(p.Kinds) > 0 {
		sql += ` AND e.kind = ANY(` + arg(p.Kinds) + `)`
	}
	if p.Since != nil {
		sql += ` AND e.created_at >= ` + arg(*p.Since)
	}
	if p.Until != nil {
		sql += ` AND e.created_at < ` + arg(*p.Until)
	}
	if after != nil {
		sql += ` AND (e.created_at, e.id) < (` + arg(after.At) + `, ` + arg(after.ID) + `)`
	}
	sql += fmt.Sprintf(` ORDER BY e.created_at DESC, e.id DESC LIMIT %d`, p.Limit+1)
	var page HistoryPage
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("select history: %w", err)
		}
		page.Entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
			var e Entry
			return e, r.Scan(&e.ID, &e.TransactionID, &e.Kind, &e.Amount, &e.Memo, &e.EventID, &e.RuleID, &e.OrderID, &e.ReversesID, &e.CreatedAt)
		})
		if err != nil {
			return fmt.Errorf("select history: %w", err)
		}
		if len(page.Entries) > p.Limit {
			page.Entries = page.Entries[:p.Limit]
			last := page.Entries[len(page.Entries)-1]
			b, _ := json.Marshal(historyCursor{At: last.CreatedAt, ID: last.ID})
			page.Next = base64.RawURLEncoding.EncodeToString(b)
		}
		return nil
	})
	return page, err
}

// Transaction returns one transaction with all its entries.
// Errors: not_found.
func (s *Service) Transaction(ctx context.Context, id uuid.UUID) (Transaction, error) {
	var t Transaction
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = selectTransaction(ctx, tx, id)
		return err
	})
	return t, err
}

func selectTransaction(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Transaction, error) {
	var t Transaction
	err := tx.QueryRow(ctx, `
SELECT x.id, x.kind, x.memo, x.event_id, x.rule_id, x.order_id, x.reverses_id, x.shortfall, x.actor, x.created_at,
	(SELECT r.id FROM coin_transactions r WHERE r.tenant_id = x.tenant_id AND r.reverses_id = x.id)
FROM coin_transactions x WHERE x.id = $1`, id).
		Scan(&t.ID, &t.Kind, &t.Memo, &t.EventID, &t.RuleID, &t.OrderID, &t.ReversesID, &t.Shortfall, &t.Actor, &t.CreatedAt, &t.ReversedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return Transaction{}, ErrNotFound
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("select transaction: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT e.id, e.account_id, a.kind, e.amount, e.kind FROM coin_entries e
JOIN coin_accounts a ON a.tenant_id = e.tenant_id AND a.id = e.account_id WHERE e.transaction_id = $1 ORDER BY e.id`, id)
	if err != nil {
		return Transaction{}, fmt.Errorf("select entries: %w", err)
	}
	t.Entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PostedEntry, error) {
		var e PostedEntry
		return e, r.Scan(&e.ID, &e.AccountID, &e.Account, &e.Amount, &e.Kind)
	})
	if err != nil {
		return Transaction{}, fmt.Errorf("select entries: %w", err)
	}
	return t, nil
}

// AdjustParams grants (Amount > 0) or deducts (Amount < 0) coins.
type AdjustParams struct {
	Member         uuid.UUID
	Amount         int64
	Reason         string
	IdempotencyKey string
}

// MaxAdjustment bounds one staff grant or deduction.
const MaxAdjustment = 1_000_000_000

// Adjust grants or deducts coins by staff, with a reason, audited. A
// deduction cannot take a wallet below zero; it works on frozen wallets.
// Errors: invalid, not_found (member), conflict (insufficient funds).
func (s *Service) Adjust(ctx context.Context, p AdjustParams) (Transaction, error) {
	var problems []engine.FieldError
	reason := strings.TrimSpace(p.Reason)
	if p.Amount == 0 || p.Amount > MaxAdjustment || p.Amount < -MaxAdjustment {
		problems = append(problems, engine.FieldError{Field: "amount", Message: fmt.Sprintf("must be a whole number of coins, not zero, between -%d and %d", MaxAdjustment, MaxAdjustment)})
	}
	if reason == "" || len(reason) > 500 {
		problems = append(problems, engine.FieldError{Field: "reason", Message: "is required (at most 500 characters)"})
	}
	if err := CheckKey(p.IdempotencyKey); err != nil {
		problems = append(problems, engine.ErrorFields(err)...)
	}
	if err := engine.Invalid(problems); err != nil {
		return Transaction{}, err
	}
	var out Transaction
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, _, err = Idempotent(ctx, tx, Scope(ctx, "adjust"), p.IdempotencyKey, p, func() (Transaction, error) {
			id, err := Post(ctx, tx, Posting{
				Kind: KindAdjustment, Memo: reason, Actor: audit.ActorFrom(ctx).Name, SpendFrozen: true,
				Lines: []Line{{Account: p.Member, Amount: p.Amount}, {Account: AccountAdjustments, Amount: -p.Amount}},
			})
			if err != nil {
				return Transaction{}, err
			}
			action := "coins.granted"
			if p.Amount < 0 {
				action = "coins.deducted"
			}
			if err := audit.Record(ctx, tx, action, "user:"+p.Member.String(), map[string]any{"amount": p.Amount, "reason": reason, "transaction": id}); err != nil {
				return Transaction{}, err
			}
			return selectTransaction(ctx, tx, id)
		})
		return err
	})
	return out, err
}

// Reversal policies: what to do with coins already spent.
const (
	ReverseRemaining = "reverse_remaining" // take back what is left; record the shortfall
	CarryDebt        = "carry_debt"        // also carry the shortfall as debt
)

// ReverseParams reverses a transaction.
type ReverseParams struct {
	TransactionID  uuid.UUID
	Reason         string
	Policy         string // ReverseRemaining (default) or CarryDebt
	IdempotencyKey string
}

// Reverse reverses a transaction by staff, audited: coins it gave are taken
// back as far as the wallet holds them (the rest is the shortfall, carried
// as debt under CarryDebt), coins it took are given back. A transaction is
// reversed once; reversals are not reversed.
// Errors: invalid, not_found, conflict (already reversed).
func (s *Service) Reverse(ctx context.Context, p ReverseParams) (Transaction, error) {
	var problems []engine.FieldError
	if p.Policy == "" {
		p.Policy = ReverseRemaining
	}
	if p.Policy != ReverseRemaining && p.Policy != CarryDebt {
		problems = append(problems, engine.FieldError{Field: "policy", Message: "must be reverse_remaining or carry_debt"})
	}
	if strings.TrimSpace(p.Reason) == "" || len(p.Reason) > 500 {
		problems = append(problems, engine.FieldError{Field: "reason", Message: "is required (at most 500 characters)"})
	}
	if err := CheckKey(p.IdempotencyKey); err != nil {
		problems = append(problems, engine.ErrorFields(err)...)
	}
	if err := engine.Invalid(problems); err != nil {
		return Transaction{}, err
	}
	var out Transaction
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, _, err = Idempotent(ctx, tx, Scope(ctx, "reverse"), p.IdempotencyKey, p, func() (Transaction, error) {
			id, err := ReverseTx(ctx, tx, p.TransactionID, strings.TrimSpace(p.Reason), p.Policy)
			if err != nil {
				return Transaction{}, err
			}
			if err := audit.Record(ctx, tx, "coins.reversed", "transaction:"+p.TransactionID.String(),
				map[string]any{"reason": p.Reason, "policy": p.Policy, "reversal": id}); err != nil {
				return Transaction{}, err
			}
			return selectTransaction(ctx, tx, id)
		})
		return err
	})
	return out, err
}

// ReverseTx reverses transaction id in tx (see Reverse) and returns the
// reversal's ID. The rules engine uses it when what earned coins is undone.
func ReverseTx(ctx context.Context, tx pgx.Tx, id uuid.UUID, memo, policy string) (uuid.UUID, error) {
	orig, err := selectTransaction(ctx, tx, id)
	if err != nil {
		return uuid.Nil, err
	}
	if orig.Kind == KindReversal {
		return uuid.Nil, &engine.Error{Code: engine.CodeConflict, Message: "A reversal cannot be reversed."}
	}
	if orig.ReversedBy != nil {
		return uuid.Nil, ErrAlreadyReversed
	}
	// Net movement per account; debt repayments restore the debt.
	net := map[uuid.UUID]int64{}
	var repaid int64
	var wallet uuid.UUID
	var counter uuid.UUID
	for _, e := range orig.Entries {
		net[e.AccountID] += e.Amount
		if e.Account == "wallet" {
			wallet = e.AccountID
			if e.Kind == "debt_repayment" {
				repaid -= e.Amount
			}
		} else if counter == uuid.Nil {
			counter = e.AccountID
		}
	}
	if wallet == uuid.Nil || counter == uuid.Nil {
		return uuid.Nil, &engine.Error{Code: engine.CodeConflict, Message: "That transaction moved no member's coins."}
	}
	give := -net[wallet] // what the reversal moves into the wallet
	var shortfall int64
	if give < 0 {
		var balance int64
		if err := tx.QueryRow(ctx, `SELECT balance FROM coin_accounts WHERE id = $1 FOR UPDATE`, wallet).Scan(&balance); err != nil {
			return uuid.Nil, fmt.Errorf("lock wallet: %w", err)
		}
		if -give > balance {
			shortfall = -give - balance
			give = -balance
		}
	}
	rid := uuid.Must(uuid.NewV7())
	p := Posting{ID: rid, Kind: KindReversal, Memo: memo, EventID: orig.EventID, RuleID: orig.RuleID, OrderID: orig.OrderID,
		ReversesID: &orig.ID, Shortfall: shortfall, Actor: audit.ActorFrom(ctx).Name, SpendFrozen: true}
	if give != 0 {
		p.Lines = []Line{{Account: wallet, Amount: give}, {Account: counter, Amount: -give}}
	} else {
		// Nothing left to take: a zero-sum marker keeps the link.
		p.Lines = nil
	}
	if p.Lines == nil {
		if err := insertMarker(ctx, tx, p); err != nil {
			return uuid.Nil, err
		}
	} else if _, err := Post(ctx, tx, p); err != nil {
		return uuid.Nil, err
	}
	debt := repaid
	if policy == CarryDebt {
		debt += shortfall
	}
	if debt != 0 {
		if _, err := tx.Exec(ctx, `UPDATE coin_accounts SET debt = debt + $2, updated_at = now() WHERE id = $1`, wallet, debt); err != nil {
			return uuid.Nil, fmt.Errorf("carry debt: %w", err)
		}
	}
	return rid, nil
}

// insertMarker writes a reversal that moves nothing (everything was spent),
// so the original still shows as reversed, with its shortfall.
func insertMarker(ctx context.Context, tx pgx.Tx, p Posting) error {
	_, err := tx.Exec(ctx, `
INSERT INTO coin_transactions (tenant_id, id, kind, memo, event_id, rule_id, order_id, reverses_id, shortfall, actor)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, p.Kind, p.Memo, p.EventID, p.RuleID, p.OrderID, p.ReversesID, p.Shortfall, p.Actor)
	if name, _ := db.Constraint(err); name == "coin_transactions_reverses_key" {
		return ErrAlreadyReversed
	}
	if err != nil {
		return fmt.Errorf("insert reversal: %w", err)
	}
	return nil
}

// SetFrozen freezes or unfreezes a member's wallet, audited. A frozen
// wallet neither earns nor spends; staff can still adjust it.
// Errors: not_found.
func (s *Service) SetFrozen(ctx context.Context, member uuid.UUID, frozen bool, reason string) (Wallet, error) {
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if err := applyToWalletNoop(ctx, tx, member); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE coin_accounts SET frozen_at = CASE WHEN $2 THEN coalesce(frozen_at, now()) END, updated_at = now()
WHERE id = $1 AND (frozen_at IS NOT NULL) <> $2`, member, frozen)
		if err != nil {
			return fmt.Errorf("freeze wallet: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		action := map[bool]string{true: "wallet.frozen", false: "wallet.unfrozen"}[frozen]
		return audit.Record(ctx, tx, action, "user:"+member.String(), map[string]any{"reason": truncate(reason, 500)})
	})
	if err != nil {
		return Wallet{}, err
	}
	return s.Wallet(ctx, member)
}

// applyToWalletNoop makes sure the member's wallet exists.
func applyToWalletNoop(ctx context.Context, tx pgx.Tx, member uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO coin_accounts (tenant_id, id, kind, balance) VALUES (current_tenant_id(), $1, 'wallet', 0) ON CONFLICT DO NOTHING`, member)
	if name, _ := db.Constraint(err); name == "coin_accounts_user_fkey" {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("ensure wallet: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
