// Package dbtest gives tests a real, migrated PostgreSQL database, connected
// as the application role so row-level security applies as in production.
// Three levels, cheapest first:
//
//   - Tx: a transaction with a fresh tenant, rolled back at cleanup.
//   - NewTenant: a committed tenant in the shared test database, for tests
//     that need commits (concurrency, HTTP end to end). RLS keeps tests apart.
//   - NewDatabase: a private database cloned from the migrated template, for
//     schema tests and anything that creates objects.
//
// The server is found through GUILDHALL_TEST_DATABASE_URL (a superuser
// connection string), defaulting to postgres@127.0.0.1:5432. When it cannot
// be reached, tests fail: they never skip.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/jobs/riverschema"
	"github.com/guildhall/guildhall/migrations"
)

// DefaultAdminURL is used when GUILDHALL_TEST_DATABASE_URL is not set.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

type shared struct {
	admin    *pgxpool.Config
	template string
	database string
	app      *pgxpool.Pool
	owner    *pgxpool.Pool
}

var (
	setupOnce sync.Once
	setupErr  error
	state     shared
)

// AdminConfig returns the superuser pool config tests use.
func AdminConfig(tb testing.TB) *pgxpool.Config {
	tb.Helper()
	s := setup(tb)
	return s.admin.Copy()
}

func setup(tb testing.TB) *shared {
	tb.Helper()
	setupOnce.Do(func() { setupErr = doSetup() })
	if setupErr != nil {
		tb.Fatalf("test database: %v", setupErr)
	}
	return &state
}

func doSetup() error {
	ctx := context.Background()
	url := os.Getenv("GUILDHALL_TEST_DATABASE_URL")
	if url == "" {
		url = DefaultAdminURL
	}
	admin, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("GUILDHALL_TEST_DATABASE_URL is not a valid connection string")
	}
	migs, err := db.LoadMigrations(migrations.FS)
	if err != nil {
		return err
	}
	h := sha256.New()
	for _, m := range migs {
		h.Write([]byte(m.Checksum))
	}
	// River's migrations are part of the template too (below).
	h.Write([]byte(riverschema.Fingerprint()))
	hash := hex.EncodeToString(h.Sum(nil))[:12]
	state.admin = admin
	state.template = "guildhall_tpl_" + hash
	state.database = "guildhall_test_" + hash

	conn, err := pgx.ConnectConfig(ctx, admin.ConnConfig)
	if err != nil {
		return fmt.Errorf("connect as superuser (start PostgreSQL, or set GUILDHALL_TEST_DATABASE_URL): %w", err)
	}
	defer conn.Close(ctx)

	// One process at a time builds the template; the others find it done.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7260421891)"); err != nil {
		return fmt.Errorf("lock test setup: %w", err)
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(7260421891)") //nolint:errcheck // ends with the session

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", state.template).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		building := state.template + "_build"
		if err := db.DropDatabase(ctx, conn, building); err != nil {
			return err
		}
		if err := db.Bootstrap(ctx, conn, db.BootstrapParams{Database: building}); err != nil {
			return err
		}
		owner, err := pgxpool.NewWithConfig(ctx, db.ConfigAs(admin, db.OwnerRole, "", building))
		if err != nil {
			return err
		}
		_, err = db.Migrate(ctx, owner, migs)
		if err == nil {
			// River's tables, as `guildhall migrate up` creates them after
			// ours (engine/jobs.Migrate is riverschema.Migrate; the leaf
			// package keeps the workers and their services out of dbtest).
			_, err = riverschema.Migrate(ctx, owner)
		}
		owner.Close()
		if err != nil {
			return fmt.Errorf("migrate test template: %w", err)
		}
		// Renamed only once complete, so a crash mid-way never leaves a
		// half-migrated template behind.
		if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s",
			pgx.Identifier{building}.Sanitize(), pgx.Identifier{state.template}.Sanitize())); err != nil {
			return fmt.Errorf("publish test template: %w", err)
		}
	} else if err := db.Bootstrap(ctx, conn, db.BootstrapParams{}); err != nil {
		return err
	}
	if err := db.Bootstrap(ctx, conn, db.BootstrapParams{Database: state.database, Template: state.template}); err != nil {
		return err
	}
	dropStale(ctx, conn, hash)
	if state.app, err = pgxpool.NewWithConfig(ctx, db.ConfigAs(admin, db.AppRole, os.Getenv("GUILDHALL_TEST_APP_PASSWORD"), state.database)); err != nil {
		return err
	}
	if state.owner, err = pgxpool.NewWithConfig(ctx, db.ConfigAs(admin, db.OwnerRole, os.Getenv("GUILDHALL_TEST_OWNER_PASSWORD"), state.database)); err != nil {
		return err
	}
	if err := state.app.Ping(ctx); err != nil {
		return fmt.Errorf("connect as %s: %w", db.AppRole, err)
	}
	return nil
}

// Pool returns a pool on the shared test database, as the application role.
// Do not close it.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return setup(tb).app
}

// OwnerPool returns a pool on the shared test database, as the owner role.
// Do not close it.
func OwnerPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return setup(tb).owner
}

// Tx begins a transaction as the application role, creates a fresh tenant in
// it, sets that tenant, and returns a context carrying it. Everything is
// rolled back when the test ends. Services run unchanged on db.New(tx):
// their own transactions become savepoints.
func Tx(tb testing.TB) (context.Context, pgx.Tx) {
	tb.Helper()
	ctx := tb.Context()
	tx, err := Pool(tb).Begin(ctx)
	if err != nil {
		tb.Fatalf("begin: %v", err)
	}
	tb.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
	id := insertTenant(tb, ctx, tx)
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", id.String()); err != nil {
		tb.Fatalf("set tenant: %v", err)
	}
	return engine.WithTenant(ctx, id), tx
}

// NewTenant commits a tenant with random names in the shared test database
// and returns a context carrying it, and its ID.
func NewTenant(tb testing.TB) (context.Context, uuid.UUID) {
	tb.Helper()
	ctx := tb.Context()
	var id uuid.UUID
	err := pgx.BeginFunc(ctx, Pool(tb), func(tx pgx.Tx) error {
		id = insertTenant(tb, ctx, tx)
		return nil
	})
	if err != nil {
		tb.Fatalf("commit tenant: %v", err)
	}
	return engine.WithTenant(ctx, id), id
}

// RandomSlug returns a tenant slug no other test uses.
func RandomSlug() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t-" + hex.EncodeToString(b)
}

func insertTenant(tb testing.TB, ctx context.Context, tx pgx.Tx) uuid.UUID {
	tb.Helper()
	id := uuid.Must(uuid.NewV7())
	slug := RandomSlug()
	// A tenant is created in a transaction scoped to it, as the registry
	// does: creating it also creates its tenant-owned rows.
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", id.String()); err != nil {
		tb.Fatalf("set tenant: %v", err)
	}
	_, err := tx.Exec(ctx, `
INSERT INTO tenants (id, slug, name, kind, time_zone, currency, plugins)
VALUES ($1, $2, $3, 'social', 'Europe/Berlin', 'EUR', '{social}')`, id, slug, "Test "+slug)
	if err != nil {
		tb.Fatalf("insert tenant: %v", err)
	}
	return id
}

// DatabaseName returns a new name for a test's private database. The
// creating process's ID is in it, so a later run drops the databases of
// test processes that died before their cleanup.
func DatabaseName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("guildhall_t_%d_%s", os.Getpid(), hex.EncodeToString(b))
}

// Database is a private database cloned from the migrated template.
type Database struct {
	Name  string
	App   *pgxpool.Pool // as the application role
	Owner *pgxpool.Pool // as the owner role
	// AppConfig and OwnerConfig connect to it, for code that opens its own
	// pools (the server under test).
	AppConfig   *pgxpool.Config
	OwnerConfig *pgxpool.Config
}

// NewDatabase clones the migrated template into a new database, dropped when
// the test ends.
func NewDatabase(tb testing.TB) *Database {
	tb.Helper()
	s := setup(tb)
	ctx := context.WithoutCancel(tb.Context())
	conn, err := pgx.ConnectConfig(ctx, s.admin.ConnConfig)
	if err != nil {
		tb.Fatalf("connect as superuser: %v", err)
	}
	defer conn.Close(ctx)
	name := DatabaseName()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7260421891)"); err != nil {
		tb.Fatalf("lock: %v", err)
	}
	err = db.Bootstrap(ctx, conn, db.BootstrapParams{Database: name, Template: s.template})
	_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock(7260421891)")
	if err != nil {
		tb.Fatalf("clone template: %v", err)
	}
	d := &Database{
		Name:        name,
		AppConfig:   db.ConfigAs(s.admin, db.AppRole, os.Getenv("GUILDHALL_TEST_APP_PASSWORD"), name),
		OwnerConfig: db.ConfigAs(s.admin, db.OwnerRole, os.Getenv("GUILDHALL_TEST_OWNER_PASSWORD"), name),
	}
	if d.App, err = pgxpool.NewWithConfig(ctx, d.AppConfig.Copy()); err != nil {
		tb.Fatalf("connect: %v", err)
	}
	if d.Owner, err = pgxpool.NewWithConfig(ctx, d.OwnerConfig.Copy()); err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() {
		d.App.Close()
		d.Owner.Close()
		conn, err := pgx.ConnectConfig(ctx, s.admin.ConnConfig)
		if err != nil {
			tb.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if err := db.DropDatabase(ctx, conn, name); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return d
}

// URL returns a connection string for cfg, for code under test that is
// configured with one (DATABASE_URL).
func URL(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	u := &url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", c.Host, c.Port), Path: "/" + c.Database, RawQuery: "sslmode=disable"}
	if strings.HasPrefix(c.Host, "/") {
		u.Host = ""
		u.RawQuery += "&host=" + url.QueryEscape(c.Host) + fmt.Sprintf("&port=%d", c.Port)
	}
	if c.Password != "" {
		u.User = url.UserPassword(c.User, c.Password)
	} else {
		u.User = url.User(c.User)
	}
	return u.String()
}

// dropStale drops what earlier test runs left behind: private databases of
// test processes that are gone, and shared databases and templates of other
// migration sets. A database someone is connected to is left alone (DROP
// without FORCE refuses it).
func dropStale(ctx context.Context, conn *pgx.Conn, hash string) {
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'guildhall\_t\_%' OR datname LIKE 'guildhall\_tpl\_%' OR datname LIKE 'guildhall\_test\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		stale := false
		switch {
		case strings.HasPrefix(n, "guildhall_t_"):
			var pid int
			if _, err := fmt.Sscanf(strings.TrimPrefix(n, "guildhall_t_"), "%d_", &pid); err == nil {
				stale = !processAlive(pid)
			}
		default:
			stale = !strings.HasSuffix(n, "_"+hash) && !strings.HasSuffix(n, "_"+hash+"_build")
		}
		if stale {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize())
		}
	}
}

// processAlive reports whether a process with pid runs on this machine.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}
