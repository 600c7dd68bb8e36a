// Package riverschema applies River's migrations and grants the
// application role what River's client needs. It imports River and pgx
// only, so the test database helper (engine/db/dbtest) can build River's
// tables into its template without pulling in the job workers and the
// services they call. Everything else uses it through engine/jobs.
package riverschema

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/guildhall/guildhall/engine/db"
)

// migrateLock is the advisory lock key that serializes concurrent runs of
// Migrate (River's migrator takes none). It differs from engine/db's.
const migrateLock = 7_260_421_892

// Migrate applies River's pending migrations on pool, which must connect as
// the owner role, then grants the application role (db.AppRole) DML on
// every river_* table and use of River's sequences (River's client inserts,
// fetches, completes and cleans jobs, and keeps its leader and queues in
// tables; LISTEN/NOTIFY and advisory locks need no grant). It returns the
// migrations it applied, as "river_NNN_name", empty when none were pending.
// It is idempotent and safe to run from several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return nil, fmt.Errorf("lock river migrations: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock) //nolint:errcheck // the lock also ends with the session

	m, err := migrator(pool)
	if err != nil {
		return nil, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("apply river migrations: %w", err)
	}
	var applied []string
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river_%03d_%s", v.Version, strings.ReplaceAll(v.Name, " ", "_")))
	}
	// Granted on every run, not only after a migration: a table River adds
	// later is covered, and GRANT is idempotent.
	if err := grant(ctx, conn.Conn()); err != nil {
		return applied, err
	}
	return applied, nil
}

// grant gives the application role exactly DML on River's tables (never
// TRUNCATE, REFERENCES or TRIGGER, as for our own tables) and use of River's
// sequences, in the schema River migrated into (the first of search_path).
func grant(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `
SELECT c.relname, c.relkind::text FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'S') AND c.relname LIKE 'river\_%'
ORDER BY c.relname`)
	if err != nil {
		return fmt.Errorf("list river relations: %w", err)
	}
	type rel struct{ name, kind string }
	rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
		var x rel
		return x, r.Scan(&x.name, &x.kind)
	})
	if err != nil {
		return fmt.Errorf("list river relations: %w", err)
	}
	role := pgx.Identifier{db.AppRole}.Sanitize()
	for _, r := range rels {
		privs := "SELECT, INSERT, UPDATE, DELETE ON TABLE "
		if r.kind == "S" {
			privs = "USAGE, SELECT, UPDATE ON SEQUENCE "
		}
		if _, err := conn.Exec(ctx, "GRANT "+privs+pgx.Identifier{r.name}.Sanitize()+" TO "+role); err != nil {
			return fmt.Errorf("grant %s on %s: %w", db.AppRole, r.name, err)
		}
	}
	return nil
}

// ErrPending is returned by Check when River's migrations are not all
// applied. It wraps db.ErrMigrationsPending, so the server's start-up check
// reports both the same way.
var ErrPending = fmt.Errorf("%w: River's job tables are not up to date: run `guildhall migrate up` as the owner role", db.ErrMigrationsPending)

// Check returns ErrPending unless every River migration is applied. It only
// reads, so it runs as the application role.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := migrator(pool)
	if err != nil {
		return err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check river migrations: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w (%s)", ErrPending, strings.Join(res.Messages, "; "))
	}
	return nil
}

// Fingerprint identifies the River migrations this binary applies (a hash
// of their SQL), for caches of migrated databases such as the test
// template: when River is upgraded with a new migration, it changes.
func Fingerprint() string {
	m, err := migrator(nil)
	if err != nil {
		panic(err) // River's own embedded migrations are unreadable: a broken build
	}
	h := sha256.New()
	for _, v := range m.AllVersions() {
		fmt.Fprintf(h, "%d\x00%s\x00", v.Version, v.SQLUp)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func migrator(pool *pgxpool.Pool) (*rivermigrate.Migrator[pgx.Tx], error) {
	// River's migrator logs each step at info level to its own logger; what
	// was applied is returned instead, for the caller to print.
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	return m, nil
}
