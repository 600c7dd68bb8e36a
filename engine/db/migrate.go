package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AppRole is the role the server connects as (or a member of it). Migrations
// grant it DML on each table; it owns nothing.
const AppRole = "guildhall_app"

// Migration is one embedded SQL file.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

// MigrationState is a migration and whether (and when) it was applied.
type MigrationState struct {
	Migration
	AppliedAt *time.Time
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// LoadMigrations reads NNNN_name.sql files from fsys, in order. Numbers must
// start at 0001 and have no gaps; any other .sql name is an error.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	migs := make([]Migration, 0, len(names))
	for i, name := range names {
		m := migrationName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
		}
		version, _ := strconv.Atoi(m[1])
		if version != i+1 {
			return nil, fmt.Errorf("migration %s: want number %04d (no gaps)", name, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		migs = append(migs, Migration{Version: version, Name: m[2], SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	return migs, nil
}

// migrateLock is the advisory lock key that serializes concurrent migrators.
const migrateLock = 7_260_421_889

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     NOT NULL,
	name       text        NOT NULL,
	checksum   text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
)`

// Migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction, and returns the ones it applied. It must run as
// the owner role. It is idempotent and safe to run from several processes at
// once (an advisory lock serializes them). It refuses to run when an applied
// migration's file has changed, or when the database has migrations this
// binary does not know.
func Migrate(ctx context.Context, pool *pgxpool.Pool, migs []Migration) ([]Migration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock) //nolint:errcheck // the lock also ends with the session

	if err := ensureAppRole(ctx, conn.Conn()); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	if _, err := conn.Exec(ctx, "GRANT SELECT ON schema_migrations TO "+AppRole); err != nil {
		return nil, fmt.Errorf("grant schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	if err := checkApplied(migs, applied); err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range migs {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return done, err
		}
		done = append(done, m)
	}
	return done, nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m Migration) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
			m.Version, m.Name, m.Checksum)
		if err != nil {
			return fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		return nil
	})
}

// ensureAppRole creates the application role when it is missing and the
// owner may create roles. A role created here cannot log in: the operator
// grants it to the login role the server uses (or gives it LOGIN).
func ensureAppRole(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", AppRole).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", AppRole, err)
	}
	if exists {
		return nil
	}
	_, err := conn.Exec(ctx, "CREATE ROLE "+AppRole+" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
	if err != nil {
		return fmt.Errorf("role %s does not exist and could not be created (create it as described in the README, or give the migrating role CREATEROLE): %w", AppRole, err)
	}
	return nil
}

func appliedMigrations(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) (map[int]MigrationState, error) {
	rows, err := q.Query(ctx, `SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := map[int]MigrationState{}
	for rows.Next() {
		var s MigrationState
		var at time.Time
		if err := rows.Scan(&s.Version, &s.Name, &s.Checksum, &at); err != nil {
			return nil, fmt.Errorf("scan schema_migrations: %w", err)
		}
		s.AppliedAt = &at
		applied[s.Version] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

func checkApplied(migs []Migration, applied map[int]MigrationState) error {
	for v, a := range applied {
		if v > len(migs) {
			return fmt.Errorf("the database has migration %04d_%s, which this binary does not know: run a newer guildhall", v, a.Name)
		}
		if m := migs[v-1]; m.Checksum != a.Checksum {
			return fmt.Errorf("migration %04d_%s was changed after it was applied: migrations are forward-only, add a new one", v, m.Name)
		}
	}
	return nil
}

// ErrMigrationsPending is returned by CheckMigrations when the database is
// behind the binary.
var ErrMigrationsPending = errors.New("migrations pending")

// MigrationStatus reports every known migration and whether it is applied.
func MigrationStatus(ctx context.Context, pool *pgxpool.Pool, migs []Migration) ([]MigrationState, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return nil, fmt.Errorf("look up schema_migrations: %w", err)
	}
	applied := map[int]MigrationState{}
	if exists {
		var err error
		if applied, err = appliedMigrations(ctx, pool); err != nil {
			return nil, err
		}
	}
	if err := checkApplied(migs, applied); err != nil {
		return nil, err
	}
	states := make([]MigrationState, len(migs))
	for i, m := range migs {
		states[i] = MigrationState{Migration: m, AppliedAt: applied[m.Version].AppliedAt}
	}
	return states, nil
}

// CheckMigrations returns an error wrapping ErrMigrationsPending, naming how
// many are missing, unless every migration is applied.
func CheckMigrations(ctx context.Context, pool *pgxpool.Pool, migs []Migration) error {
	states, err := MigrationStatus(ctx, pool, migs)
	if err != nil {
		return err
	}
	pending := 0
	for _, s := range states {
		if s.AppliedAt == nil {
			pending++
		}
	}
	if pending > 0 {
		return fmt.Errorf("%w: %d of %d migrations are not applied: run `guildhall migrate up` as the owner role", ErrMigrationsPending, pending, len(migs))
	}
	return nil
}
