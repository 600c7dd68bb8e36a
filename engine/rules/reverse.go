package rules

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/ledger"
)

// Reversal is one award taken back because what earned it was undone.
type Reversal struct {
	EventID       uuid.UUID `json:"event_id"`
	Member        uuid.UUID `json:"member_id"`
	Type          string    `json:"type"`
	Granted       int64     `json:"granted"`
	TransactionID uuid.UUID `json:"transaction_id" doc:"The reversal transaction."`
	Shortfall     int64     `json:"shortfall" doc:"Coins that could not be taken back because they were spent."`
}

// ReverseRef reverses every award made for ref (a post, a like: what the
// events' ref names) or for one of its children (refs below it, separated
// by "/": "post:1/like:2" is a child of "post:1") that is not reversed yet
// — for everyone it paid — following each rule's reversal policy. It is
// idempotent by key; a ref with nothing left to reverse gives an empty
// list.
// Errors: invalid.
func (s *Service) ReverseRef(ctx context.Context, ref, key string) ([]Reversal, error) {
	var out []Reversal
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.ReverseRefTx(ctx, tx, ref, key)
		return err
	})
	return out, err
}

// ReverseRefTx is ReverseRef in the caller's tenant transaction, so that
// undoing the cause (deleting a post, withdrawing a like) and reversing
// what it earned commit together.
func (s *Service) ReverseRefTx(ctx context.Context, tx pgx.Tx, ref, key string) ([]Reversal, error) {
	ref = strings.TrimSpace(ref)
	var problems []engine.FieldError
	if ref == "" || len(ref) > 200 {
		problems = append(problems, engine.FieldError{Field: "ref", Message: "is required (at most 200 characters)"})
	}
	if err := ledger.CheckKey(key); err != nil {
		problems = append(problems, engine.ErrorFields(err)...)
	}
	if err := engine.Invalid(problems); err != nil {
		return nil, err
	}
	out, _, err := ledger.Idempotent(ctx, tx, source(ctx)+":reversals", key, ref, func() ([]Reversal, error) {
		return reverseRef(ctx, tx, ref)
	})
	return out, err
}

// likeEscaper escapes LIKE's wildcards.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func reverseRef(ctx context.Context, tx pgx.Tx, ref string) ([]Reversal, error) {
	rows, err := tx.Query(ctx, `
SELECT ev.id, ev.member_id, ev.type, ev.granted, ev.transaction_id, coalesce(r.reversal, 'reverse_remaining')
FROM coin_events ev LEFT JOIN coin_rules r ON r.tenant_id = ev.tenant_id AND r.id = ev.rule_id
WHERE (ev.ref = $1 OR ev.ref LIKE $2) AND ev.ref <> '' AND ev.reversed_at IS NULL AND ev.transaction_id IS NOT NULL
ORDER BY ev.member_id, ev.id FOR UPDATE OF ev`, ref, likeEscaper.Replace(ref)+"/%")
	if err != nil {
		return nil, fmt.Errorf("select awards of %s: %w", ref, err)
	}
	type award struct {
		Reversal
		tx     uuid.UUID
		policy string
	}
	awards, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (award, error) {
		var a award
		return a, r.Scan(&a.EventID, &a.Member, &a.Type, &a.Granted, &a.tx, &a.policy)
	})
	if err != nil {
		return nil, fmt.Errorf("select awards of %s: %w", ref, err)
	}
	out := []Reversal{}
	for _, a := range awards {
		id, err := ledger.ReverseTx(ctx, tx, a.tx, "Undone: "+a.Type, a.policy)
		if err != nil {
			return nil, err
		}
		if err := tx.QueryRow(ctx, `SELECT shortfall FROM coin_transactions WHERE id = $1`, id).Scan(&a.Shortfall); err != nil {
			return nil, fmt.Errorf("read reversal: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE coin_events SET reversed_at = now() WHERE id = $1`, a.EventID); err != nil {
			return nil, fmt.Errorf("mark event reversed: %w", err)
		}
		a.TransactionID = id
		out = append(out, a.Reversal)
	}
	return out, nil
}

// EventRecord is a received event with its decision.
type EventRecord struct {
	ID            uuid.UUID      `json:"id"`
	Type          string         `json:"type"`
	Member        uuid.UUID      `json:"member_id"`
	Actor         *uuid.UUID     `json:"actor_id,omitempty"`
	Ref           string         `json:"ref,omitempty"`
	Attributes    map[string]any `json:"attributes"`
	OccurredAt    time.Time      `json:"occurred_at"`
	ReceivedAt    time.Time      `json:"received_at"`
	Source        string         `json:"source"`
	Requested     int64          `json:"requested"`
	Granted       int64          `json:"granted"`
	Reason        string         `json:"reason"`
	TransactionID *uuid.UUID     `json:"transaction_id,omitempty"`
	ReversedAt    *time.Time     `json:"reversed_at,omitempty"`
}

// ListEventsParams selects events, newest first.
type ListEventsParams struct {
	Member *uuid.UUID
	Type   string
	Before *time.Time // received before
	Limit  int        // 1..100; 0 means 50
}

// ListEvents returns received events with their decisions.
// Errors: invalid.
func (s *Service) ListEvents(ctx context.Context, p ListEventsParams) ([]EventRecord, error) {
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > 100 {
		return nil, engine.Invalid([]engine.FieldError{{Field: "limit", Message: "must be between 1 and 100"}})
	}
	sql := `SELECT id, type, member_id, actor_id, ref, attributes, occurred_at, received_at, source, requested, granted, reason,
	transaction_id, reversed_at FROM coin_events WHERE true`
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if p.Member != nil {
		sql += ` AND member_id = ` + arg(*p.Member)
	}
	if p.Type != "" {
		sql += ` AND type = ` + arg(p.Type)
	}
	if p.Before != nil {
		sql += ` AND received_at < ` + arg(*p.Before)
	}
	sql += fmt.Sprintf(` ORDER BY received_at DESC, id DESC LIMIT %d`, p.Limit)
	var out []EventRecord
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("list events: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventRecord, error) {
			var e EventRecord
			return e, r.Scan(&e.ID, &e.Type, &e.Member, &e.Actor, &e.Ref, &e.Attributes, &e.OccurredAt, &e.ReceivedAt, &e.Source,
				&e.Requested, &e.Granted, &e.Reason, &e.TransactionID, &e.ReversedAt)
		})
		return err
	})
	return out, err
}
