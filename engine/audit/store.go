package audit

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Record appends an event for the tenant of tx, by the actor in ctx. Call it
// inside the transaction of the change it records.
func Record(ctx context.Context, tx pgx.Tx, action, target string, details map[string]any) error {
	a := ActorFrom(ctx)
	if details == nil {
		details = map[string]any{}
	}
	var ip *netip.Addr
	if a.IP.IsValid() {
		ip = &a.IP
	}
	_, err := tx.Exec(ctx, `
INSERT INTO audit_events (tenant_id, id, actor, action, target, details, ip, user_agent)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7)`,
		uuid.Must(uuid.NewV7()), a.Name, action, target, details, ip, a.UserAgent)
	if err != nil {
		return fmt.Errorf("record audit event %s: %w", action, err)
	}
	return nil
}

type eventRow struct {
	ID         uuid.UUID      `db:"id"`
	OccurredAt time.Time      `db:"occurred_at"`
	Actor      string         `db:"actor"`
	Action     string         `db:"action"`
	Target     string         `db:"target"`
	Details    map[string]any `db:"details"`
	IP         *netip.Addr    `db:"ip"`
	UserAgent  string         `db:"user_agent"`
}

// filter selects events; empty fields select everything.
type filter struct {
	Action string // an action, or a prefix ending in "." (member.)
	Actor  string
	Target string
	Since  *time.Time
	Until  *time.Time
	Before *Cursor
}

// listEvents returns up to limit events of the tenant of tx matching f,
// newest first.
func listEvents(ctx context.Context, tx pgx.Tx, f filter, limit int) ([]Event, error) {
	sql := `SELECT id, occurred_at, actor, action, target, details, ip, user_agent FROM audit_events WHERE true`
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	switch {
	case strings.HasSuffix(f.Action, "."):
		sql += ` AND starts_with(action, ` + arg(f.Action) + `)`
	case f.Action != "":
		sql += ` AND action = ` + arg(f.Action)
	}
	if f.Actor != "" {
		sql += ` AND actor = ` + arg(f.Actor)
	}
	if f.Target != "" {
		sql += ` AND target = ` + arg(f.Target)
	}
	if f.Since != nil {
		sql += ` AND occurred_at >= ` + arg(*f.Since)
	}
	if f.Until != nil {
		sql += ` AND occurred_at < ` + arg(*f.Until)
	}
	if f.Before != nil {
		sql += ` AND (occurred_at, id) < (` + arg(f.Before.At) + `, ` + arg(f.Before.ID) + `)`
	}
	sql += fmt.Sprintf(` ORDER BY occurred_at DESC, id DESC LIMIT %d`, limit)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[eventRow])
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	out := make([]Event, len(rs))
	for i, r := range rs {
		out[i] = Event{ID: r.ID, OccurredAt: r.OccurredAt, Actor: r.Actor, Action: r.Action, Target: r.Target, Details: r.Details, UserAgent: r.UserAgent}
		if r.IP != nil {
			out[i].IP = r.IP.String()
		}
	}
	return out, nil
}
