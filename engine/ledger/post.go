package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

// Line is one entry of a Posting.
type Line struct {
	Account uuid.UUID
	Amount  int64
	Kind    string // defaults to the posting's kind
}

// Posting is a transaction to write. Its lines must sum to zero.
type Posting struct {
	ID         uuid.UUID // zero: a new UUIDv7
	Kind       string
	Memo       string
	EventID    *uuid.UUID
	RuleID     *uuid.UUID
	OrderID    *uuid.UUID
	ReversesID *uuid.UUID
	Shortfall  int64
	Actor      string
	Lines      []Line
	// SpendFrozen lets the posting take coins from a frozen wallet (staff
	// deductions); nothing else debits a frozen wallet.
	SpendFrozen bool
}

// Post writes p in tx: the transaction, its entries and the wallets'
// balances. A wallet debit that would go below zero fails with
// ErrInsufficientFunds (and ErrFrozen for a frozen wallet); the caller's
// transaction must then roll back. Wallets are locked in ID order, so
// postings touching several wallets cannot deadlock each other.
func Post(ctx context.Context, tx pgx.Tx, p Posting) (uuid.UUID, error) {
	var sum int64
	for _, l := range p.Lines {
		if l.Amount == 0 {
			return uuid.Nil, fmt.Errorf("post %s: zero line", p.Kind)
		}
		sum += l.Amount
	}
	if sum != 0 || len(p.Lines) < 2 {
		return uuid.Nil, fmt.Errorf("post %s: lines do not balance", p.Kind)
	}
	if p.ID == uuid.Nil {
		p.ID = uuid.Must(uuid.NewV7())
	}
	// Wallet balances first, in ID order: this takes the row locks.
	wallets := map[uuid.UUID]int64{}
	for _, l := range p.Lines {
		if _, system := systemKinds[l.Account]; !system {
			wallets[l.Account] += l.Amount
		}
	}
	ids := make([]uuid.UUID, 0, len(wallets))
	for id := range wallets {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range ids {
		if err := applyToWallet(ctx, tx, id, wallets[id], p.SpendFrozen); err != nil {
			return uuid.Nil, err
		}
	}
	for id := range systemAccountsOf(p.Lines) {
		if _, err := tx.Exec(ctx, `INSERT INTO coin_accounts (tenant_id, id, kind) VALUES (current_tenant_id(), $1, $2) ON CONFLICT DO NOTHING`,
			id, systemKinds[id]); err != nil {
			return uuid.Nil, fmt.Errorf("ensure %s account: %w", systemKinds[id], err)
		}
	}
	_, err := tx.Exec(ctx, `
INSERT INTO coin_transactions (tenant_id, id, kind, memo, event_id, rule_id, order_id, reverses_id, shortfall, actor)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, p.Kind, p.Memo, p.EventID, p.RuleID, p.OrderID, p.ReversesID, p.Shortfall, p.Actor)
	if err != nil {
		if name, _ := db.Constraint(err); name == "coin_transactions_reverses_key" {
			return uuid.Nil, ErrAlreadyReversed
		}
		return uuid.Nil, fmt.Errorf("insert transaction: %w", err)
	}
	for i, l := range p.Lines {
		kind := l.Kind
		if kind == "" {
			kind = p.Kind
		}
		_, err := tx.Exec(ctx, `
INSERT INTO coin_entries (tenant_id, id, transaction_id, account_id, amount, kind)
VALUES (current_tenant_id(), coin_entry_id($1, $2), $1, $3, $4, $5)`, p.ID, i+1, l.Account, l.Amount, kind)
		if err != nil {
			return uuid.Nil, fmt.Errorf("insert entry: %w", err)
		}
	}
	return p.ID, nil
}

func systemAccountsOf(lines []Line) map[uuid.UUID]bool {
	out := map[uuid.UUID]bool{}
	for _, l := range lines {
		if _, ok := systemKinds[l.Account]; ok {
			out[l.Account] = true
		}
	}
	return out
}

// applyToWallet adds delta to a wallet, creating it when missing.
func applyToWallet(ctx context.Context, tx pgx.Tx, id uuid.UUID, delta int64, spendFrozen bool) error {
	if _, err := tx.Exec(ctx, `INSERT INTO coin_accounts (tenant_id, id, kind, balance) VALUES (current_tenant_id(), $1, 'wallet', 0) ON CONFLICT DO NOTHING`, id); err != nil {
		if name, _ := db.Constraint(err); name == "coin_accounts_user_fkey" {
			return &engine.Error{Code: engine.CodeNotFound, Message: "No member has that ID.", Err: err}
		}
		return fmt.Errorf("ensure wallet: %w", err)
	}
	var frozen bool
	err := tx.QueryRow(ctx, `
UPDATE coin_accounts SET balance = balance + $2, updated_at = now()
WHERE id = $1 AND balance + $2 >= 0 AND ($2 >= 0 OR frozen_at IS NULL OR $3)
RETURNING frozen_at IS NOT NULL`, id, delta, spendFrozen).Scan(&frozen)
	if errors.Is(err, pgx.ErrNoRows) {
		var isFrozen bool
		if err := tx.QueryRow(ctx, `SELECT frozen_at IS NOT NULL FROM coin_accounts WHERE id = $1`, id).Scan(&isFrozen); err == nil && isFrozen {
			return ErrFrozen
		}
		return ErrInsufficientFunds
	}
	if err != nil {
		return fmt.Errorf("update wallet: %w", err)
	}
	return nil
}

// RequestHash is the hash stored with an idempotency key: of the request's
// JSON.
func RequestHash(request any) []byte {
	b, _ := json.Marshal(request)
	sum := sha256.Sum256(b)
	return sum[:]
}

// CheckKey validates an idempotency key.
func CheckKey(key string) error {
	if key == "" || len(key) > 200 {
		return ErrNoKey
	}
	return nil
}

// Idempotent runs fn once per (scope, key) in tx and returns its result;
// a repeated call with the same request returns the stored result (replayed
// is true), with another request ErrKeyReused. A concurrent duplicate waits
// for the first transaction (the key's unique index) and then replays.
func Idempotent[T any](ctx context.Context, tx pgx.Tx, scope, key string, request any, fn func() (T, error)) (out T, replayed bool, err error) {
	if err := CheckKey(key); err != nil {
		return out, false, err
	}
	hash := RequestHash(request)
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash) VALUES (current_tenant_id(), $1, $2, $3) ON CONFLICT DO NOTHING`,
		scope, key, hash)
	if err != nil {
		return out, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var stored []byte
		var resp []byte
		if err := tx.QueryRow(ctx, `SELECT request_hash, response FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).Scan(&stored, &resp); err != nil {
			return out, false, fmt.Errorf("read idempotency key: %w", err)
		}
		if !slices.Equal(stored, hash) || resp == nil {
			return out, false, ErrKeyReused
		}
		if err := json.Unmarshal(resp, &out); err != nil {
			return out, false, fmt.Errorf("decode stored answer: %w", err)
		}
		return out, true, nil
	}
	out, err = fn()
	if err != nil {
		return out, false, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return out, false, fmt.Errorf("encode answer: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET response = $3 WHERE scope = $1 AND key = $2`, scope, key, b); err != nil {
		return out, false, fmt.Errorf("store answer: %w", err)
	}
	return out, false, nil
}

// Scope is the idempotency scope of an operation by the caller in ctx.
func Scope(ctx context.Context, operation string) string {
	caller := "system"
	if p, ok := engine.PrincipalFrom(ctx); ok && p.Name != "" {
		caller = p.Name
	}
	return caller + ":" + operation
}
