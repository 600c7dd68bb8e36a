package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

// fixtures insert one row into a tenant table for tenant $1 with ID $2. Every
// tenant table needs one: TestIsolation fails for a table without.
var fixtures = map[string]string{
	"audit_events": `INSERT INTO audit_events (tenant_id, id, actor, action) VALUES ($1, $2, 'test', 'test.fixture')`,
	"users":        `INSERT INTO users (tenant_id, id, email, display_name) VALUES ($1, $2::uuid, $2::uuid::text || '@example.com', 'Fixture')`,
	"memberships":  withUser(`INSERT INTO memberships (tenant_id, user_id) SELECT tenant_id, id FROM u`),
	"sessions": withUser(`INSERT INTO sessions (tenant_id, id, user_id, kind, expires_at)
		SELECT tenant_id, id, id, 'api', now() + interval '1 day' FROM u`),
	"refresh_tokens": withUser(`, s AS (INSERT INTO sessions (tenant_id, id, user_id, kind, expires_at)
		SELECT tenant_id, id, id, 'api', now() + interval '1 day' FROM u RETURNING tenant_id, id)
		INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, expires_at)
		SELECT tenant_id, uuid_send(id), id, now() + interval '1 day' FROM s`),
	"one_time_codes": `INSERT INTO one_time_codes (tenant_id, id, purpose, channel, destination, code_hash, expires_at)
		VALUES ($1, $2::uuid, 'sign_in', 'email', $2::uuid::text || '@example.com', '\x00', now() + interval '10 minutes')`,
	"mfa_challenges": withUser(`INSERT INTO mfa_challenges (tenant_id, id, user_id, token_hash, kind, expires_at)
		SELECT tenant_id, id, id, uuid_send(id), 'api', now() + interval '5 minutes' FROM u`),
	"recovery_codes": withUser(`INSERT INTO recovery_codes (tenant_id, user_id, code_hash) SELECT tenant_id, id, uuid_send(id) FROM u`),
	"api_keys": `INSERT INTO api_keys (tenant_id, id, name, prefix, secret_hash, scopes)
		VALUES ($1, $2, 'fixture', substr(md5($2::uuid::text), 1, 8), '\x00', '{events:write}')`,
	"invitations": `INSERT INTO invitations (tenant_id, id, email, role, token_hash, expires_at)
		VALUES ($1, $2::uuid, $2::uuid::text || '@example.com', 'member', uuid_send($2::uuid), now() + interval '7 days')`,
	"coin_accounts":     withUser(`INSERT INTO coin_accounts (tenant_id, id, kind, balance) SELECT tenant_id, id, 'wallet', 0 FROM u`),
	"coin_transactions": `INSERT INTO coin_transactions (tenant_id, id, kind, actor) VALUES ($1, $2, 'award', 'test')`,
	"coin_entries": `WITH a AS (INSERT INTO coin_accounts (tenant_id, id, kind) VALUES ($1, $2, 'issuance') RETURNING tenant_id, id),
		x AS (INSERT INTO coin_transactions (tenant_id, id, kind, actor) SELECT tenant_id, id, 'award', 'test' FROM a RETURNING tenant_id, id)
		INSERT INTO coin_entries (tenant_id, id, transaction_id, account_id, amount, kind)
		SELECT x.tenant_id, coin_entry_id(x.id, n), x.id, x.id, CASE n WHEN 1 THEN 5 ELSE -5 END, 'award' FROM x, generate_series(1, 2) n`,
	"coin_settings":      `INSERT INTO coin_settings (tenant_id) SELECT $1 WHERE $2::uuid IS NOT NULL`,
	"coin_rules":         `INSERT INTO coin_rules (tenant_id, id, event_type, coins) VALUES ($1, $2, 'fixture.done', 5)`,
	"coin_counters":      `INSERT INTO coin_counters (tenant_id, member_id, rule_id, period, period_start, amount) VALUES ($1, $2, $2, 'day', current_date, 5)`,
	"coin_pair_counters": `INSERT INTO coin_pair_counters (tenant_id, actor_id, member_id, rule_id, day, awards) VALUES ($1, $2, $2, $2, current_date, 1)`,
	"coin_budget":        `INSERT INTO coin_budget (tenant_id, day, amount) SELECT $1, current_date, 5 WHERE $2::uuid IS NOT NULL`,
	"coin_events": withUser(`INSERT INTO coin_events (tenant_id, id, type, member_id, occurred_at, source, requested, granted, reason)
		SELECT tenant_id, id, 'fixture.done', id, now(), 'test', 0, 0, 'nothing_due' FROM u`),
	"idempotency_keys": `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash) VALUES ($1, 'test', $2::uuid::text, '\x00')`,
	"coin_daily_stats": `INSERT INTO coin_daily_stats (tenant_id, day, issued, redeemed, active_members) SELECT $1, current_date, 1, 0, 1 WHERE $2::uuid IS NOT NULL`,
	"reward_codes": `WITH r AS (INSERT INTO rewards (tenant_id, id, name, kind, price) VALUES ($1, $2, 'Fixture', 'coupon', 10) RETURNING tenant_id, id)
		INSERT INTO reward_codes (tenant_id, reward_id, id, code) SELECT tenant_id, id, id, 'FIXTURE' FROM r`,
	"rewards": `INSERT INTO rewards (tenant_id, id, name, kind, price) VALUES ($1, $2, 'Fixture', 'digital', 10)`,
	"orders": withUser(`, r AS (INSERT INTO rewards (tenant_id, id, name, kind, price) SELECT tenant_id, id, 'Fixture', 'digital', 10 FROM u RETURNING tenant_id, id),
		x AS (INSERT INTO coin_transactions (tenant_id, id, kind, actor, order_id) SELECT tenant_id, id, 'redemption', 'test', id FROM r RETURNING tenant_id, id)
		INSERT INTO orders (tenant_id, id, reward_id, member_id, coins, redemption_id) SELECT tenant_id, id, id, id, 10, id FROM x`),
	"tenant_limits": `INSERT INTO tenant_limits (tenant_id, user_per_second, api_key_per_second, ip_per_second, sign_in_per_minute, codes_per_hour)
		SELECT $1, 1000, 1000, 2000, 10, 5 WHERE $2::uuid IS NOT NULL`,
	// The social plugin (0010_social.sql).
	"social_settings": `INSERT INTO social_settings (tenant_id) SELECT $1 WHERE $2::uuid IS NOT NULL`,
	"social_profiles": withProfile(`SELECT 1`),
	"social_posts":    withPost(`SELECT 1`),
	"social_images": withProfile(`INSERT INTO social_images (tenant_id, id, owner_id, key, content_type, width, height, size)
		SELECT tenant_id, member_id, member_id, member_id::text || '.png', 'image/png', 1, 1, 1 FROM p`),
	"social_likes":       withPost(`INSERT INTO social_likes (tenant_id, post_id, member_id) SELECT tenant_id, id, author_id FROM x`),
	"social_first_likes": withPost(`INSERT INTO social_first_likes (tenant_id, post_id, member_id) SELECT tenant_id, id, author_id FROM x`),
	"social_comments": withPost(`INSERT INTO social_comments (tenant_id, id, post_id, author_id, text)
		SELECT tenant_id, id, id, author_id, 'Fixture' FROM x`),
	"social_follows": withProfile(`, u2 AS (INSERT INTO users (tenant_id, id, email, display_name)
			SELECT tenant_id, gen_random_uuid(), member_id::text || '.2@example.com', 'Fixture' FROM p RETURNING tenant_id, id),
		p2 AS (INSERT INTO social_profiles (tenant_id, member_id, handle)
			SELECT tenant_id, id, 'h' || substr(md5(id::text), 1, 12) FROM u2 RETURNING tenant_id, member_id)
		INSERT INTO social_follows (tenant_id, follower_id, followee_id) SELECT p.tenant_id, p.member_id, p2.member_id FROM p, p2`),
	"social_reports": withUser(`INSERT INTO social_reports (tenant_id, id, target_kind, target_id, reporter_id, reason)
		SELECT tenant_id, id, 'post', id, id, 'Fixture' FROM u`),
	"social_moderation_actions": withUser(`INSERT INTO social_moderation_actions (tenant_id, id, actor, action, target_kind, target_id, member_id)
		SELECT tenant_id, id, 'test', 'warn', 'member', id, id FROM u`),
	"social_badges": withProfile(`INSERT INTO social_badges (tenant_id, member_id, badge) SELECT tenant_id, member_id, 'first_post' FROM p`),
	"inbox_members": withUser(`INSERT INTO inbox_members (tenant_id, member_id, last_seq) SELECT tenant_id, id, 1 FROM u`),
	"notifications": withUser(`INSERT INTO notifications (tenant_id, id, member_id, seq, kind, text)
		SELECT tenant_id, id, id, 1, 'like', 'Fixture liked your post' FROM u`),
}

// withUser prefixes sql with a CTE u that inserts a user for tenant $1 with
// ID $2; sql inserts the table's row from it (or, starting with a comma,
// adds CTEs of its own first).
func withUser(sql string) string {
	sep := " "
	if strings.HasPrefix(sql, ",") {
		sep = ""
	}
	return `WITH u AS (INSERT INTO users (tenant_id, id, email, display_name)
		VALUES ($1, $2::uuid, $2::uuid::text || '@example.com', 'Fixture') RETURNING tenant_id, id)` + sep + sql
}

// withProfile is withUser plus a CTE p inserting the user's social
// profile; sql continues from it (a statement, or more CTEs starting with a
// comma). "SELECT 1" leaves just the profile.
func withProfile(sql string) string {
	sep := " "
	if strings.HasPrefix(sql, ",") {
		sep = ""
	}
	return withUser(`, p AS (INSERT INTO social_profiles (tenant_id, member_id, handle)
		SELECT tenant_id, id, 'h' || substr(md5(id::text), 1, 12) FROM u RETURNING tenant_id, member_id)`) + sep + sql
}

// withPost is withProfile plus a CTE x inserting a post by the user, with
// the user's ID; sql inserts from x.
func withPost(sql string) string {
	return withProfile(`, x AS (INSERT INTO social_posts (tenant_id, id, author_id, text)
		SELECT tenant_id, member_id, member_id, 'Fixture' FROM p RETURNING tenant_id, id, author_id) ` + sql)
}

// denied reports whether err is PostgreSQL refusing the statement for lack
// of privilege or by a row-level security policy (both 42501).
func denied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == db.CodeInsufficientPriv
}

// exec runs sql in its own tenant transaction and returns the rows it
// affected; a refusal is reported as denied, not as a failure.
func exec(t *testing.T, d *db.DB, ctx context.Context, sql string, args ...any) (affected int64, wasDenied bool) {
	t.Helper()
	err := d.InTenant(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		affected = tag.RowsAffected()
		return err
	})
	if denied(err) {
		return 0, true
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return affected, false
}

func count(t *testing.T, d *db.DB, ctx context.Context, table string, platform bool) int {
	t.Helper()
	var n int
	fn := func(tx pgx.Tx) error { return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n) }
	var err error
	if platform {
		err = d.InPlatform(ctx, fn)
	} else {
		err = d.InTenant(ctx, fn)
	}
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestIsolation proves, for every tenant table, that tenant B can neither
// read nor change tenant A's rows, even with SQL that has no tenant filter,
// and that without a tenant nothing is visible or writable.
func TestIsolation(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	d := db.New(pool)
	for _, table := range tenantTables(t, dbtest.OwnerPool(t)) {
		t.Run(table, func(t *testing.T) {
			t.Parallel()
			insert, ok := fixtures[table]
			if !ok {
				t.Fatalf("no fixture for tenant table %s: add one to fixtures", table)
			}
			ctxA, idA := dbtest.NewTenant(t)
			ctxB, idB := dbtest.NewTenant(t)
			rowA := uuid.Must(uuid.NewV7())
			if _, d := exec(t, d, ctxA, insert, idA, rowA); d {
				t.Fatalf("tenant A cannot insert its own row")
			}
			if _, d := exec(t, d, ctxB, insert, idB, uuid.Must(uuid.NewV7())); d {
				t.Fatalf("tenant B cannot insert its own row")
			}

			// A fixture may insert more than one row (entries come in pairs).
			nA := count(t, d, ctxA, table, false)
			nB := count(t, d, ctxB, table, false)
			if nA == 0 || nB != nA {
				t.Fatalf("A sees %d rows and B %d after inserting one fixture each", nA, nB)
			}
			var n int
			_ = d.InTenant(ctxB, func(tx pgx.Tx) error {
				return tx.QueryRow(ctxB, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", idA).Scan(&n)
			})
			if n != 0 {
				t.Errorf("B reads %d of A's rows by filtering on A's tenant_id", n)
			}
			if affected, _ := exec(t, d, ctxB, "UPDATE "+table+" SET tenant_id = tenant_id"); affected > int64(nB) {
				t.Errorf("B's unfiltered UPDATE touched %d rows, want at most its own %d", affected, nB)
			}
			if _, refused := exec(t, d, ctxB, "UPDATE "+table+" SET tenant_id = $1", idA); !refused {
				// Affecting nothing is as good as being refused only if
				// B's own row did not move to A.
				if count(t, d, ctxB, table, false) != nB {
					t.Errorf("B moved its row into A")
				}
			}
			if _, refused := exec(t, d, ctxB, insert, idA, uuid.Must(uuid.NewV7())); !refused {
				t.Errorf("B inserted a row for A")
			}
			if affected, _ := exec(t, d, ctxB, "DELETE FROM "+table+" WHERE tenant_id = $1", idA); affected != 0 {
				t.Errorf("B deleted %d of A's rows", affected)
			}
			_, _ = exec(t, d, ctxB, "DELETE FROM "+table)

			// No tenant: nothing visible, nothing writable.
			if n := count(t, d, ctxA, table, true); n != 0 {
				t.Errorf("a platform transaction sees %d rows, want 0", n)
			}
			err := d.InPlatform(ctxA, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctxA, insert, idA, uuid.Must(uuid.NewV7()))
				return err
			})
			if !denied(err) {
				t.Errorf("platform insert = %v, want refused", err)
			}
			// A plain transaction on a fresh connection, no set_config at all.
			conn, err := pgx.ConnectConfig(ctxA, pool.Config().ConnConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctxA)
			if err := conn.QueryRow(ctxA, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("count with no tenant ever set = %d, %v; want 0, nil", n, err)
			}

			// A's row is still there, still A's.
			if n := count(t, d, ctxA, table, false); n != nA {
				t.Errorf("A's rows after B's attempts: found %d, want %d", n, nA)
			}
		})
	}
}

// TestPooledConnectionCarriesNoTenant hammers one pooled connection with
// transactions of two tenants, platform transactions, failed transactions
// and bare transactions: each must see exactly its own canary rows.
func TestPooledConnectionCarriesNoTenant(t *testing.T) {
	t.Parallel()
	cfg := dbtest.Pool(t).Config().Copy()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	d := db.New(pool)
	ctxA, idA := dbtest.NewTenant(t)
	ctxB, idB := dbtest.NewTenant(t)
	for _, c := range []struct {
		ctx context.Context
		id  uuid.UUID
	}{{ctxA, idA}, {ctxB, idB}} {
		if _, refused := exec(t, d, c.ctx, fixtures["audit_events"], c.id, uuid.Must(uuid.NewV7())); refused {
			t.Fatal("canary insert refused")
		}
	}
	seen := func(tx pgx.Tx, ctx context.Context) []uuid.UUID {
		rows, err := tx.Query(ctx, "SELECT DISTINCT tenant_id FROM audit_events")
		if err != nil {
			t.Fatalf("read canaries: %v", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			t.Fatalf("read canaries: %v", err)
		}
		return ids
	}
	wantOnly := func(step string, got []uuid.UUID, want ...uuid.UUID) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: saw tenants %v, want %v", step, got, want)
		}
	}
	for i := range 300 {
		switch i % 5 {
		case 0:
			_ = d.InTenant(ctxA, func(tx pgx.Tx) error { wantOnly("A", seen(tx, ctxA), idA); return nil })
		case 1:
			_ = d.InTenant(ctxB, func(tx pgx.Tx) error { wantOnly("B", seen(tx, ctxB), idB); return nil })
		case 2:
			_ = d.InPlatform(ctxA, func(tx pgx.Tx) error { wantOnly("platform", seen(tx, ctxA)); return nil })
		case 3:
			// A transaction of A that fails must not leave A behind.
			_ = d.InTenant(ctxA, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctxA, "SELECT 1/0")
				return err
			})
			tx, err := pool.Begin(ctxB)
			if err != nil {
				t.Fatal(err)
			}
			wantOnly("bare after failed A", seen(tx, ctxB))
			_ = tx.Rollback(ctxB)
		case 4:
			// A bare transaction right after a committed one of B.
			tx, err := pool.Begin(ctxA)
			if err != nil {
				t.Fatal(err)
			}
			wantOnly("bare", seen(tx, ctxA))
			_ = tx.Rollback(ctxA)
		}
	}
}
