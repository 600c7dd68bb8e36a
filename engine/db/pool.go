package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// MinServerVersion is the oldest PostgreSQL Guildhall runs on (15.3), as
// server_version_num.
const MinServerVersion = 150003

// Open connects a pool to url and checks the server version. It does not
// check the role: the migrator runs as the owner, the server as the app role
// (see CheckAppRole).
func Open(ctx context.Context, url string, configure func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can quote the URL, password included: keep it out.
		return nil, fmt.Errorf("DATABASE_URL is not a valid PostgreSQL connection string")
	}
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := CheckServer(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// CheckServer fails unless the server answers and is at least
// MinServerVersion.
func CheckServer(ctx context.Context, pool *pgxpool.Pool) error {
	var num int
	var version string
	err := pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int, current_setting('server_version')").Scan(&num, &version)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s:%d: %w", pool.Config().ConnConfig.Host, pool.Config().ConnConfig.Port, err)
	}
	return checkVersion(num, version)
}

// checkVersion refuses servers older than MinServerVersion.
func checkVersion(num int, version string) error {
	if num < MinServerVersion {
		return fmt.Errorf("PostgreSQL %s is too old: Guildhall needs 15.3 or newer", version)
	}
	return nil
}

// CheckAppRole fails unless the pool's role is safe to serve requests as:
// row-level security is the isolation boundary only for a role that is not a
// superuser, has no BYPASSRLS, owns no table and cannot create objects.
func CheckAppRole(ctx context.Context, pool *pgxpool.Pool) error {
	var role string
	var super, bypass bool
	var owned int
	var canCreate bool
	err := pool.QueryRow(ctx, `
SELECT r.rolname, r.rolsuper, r.rolbypassrls,
	(SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')),
	has_schema_privilege(r.oid, 'public', 'CREATE')
FROM pg_roles r WHERE r.rolname = current_user`).Scan(&role, &super, &bypass, &owned, &canCreate)
	if err != nil {
		return fmt.Errorf("check database role: %w", err)
	}
	switch {
	case super:
		return fmt.Errorf("database role %q is a superuser: serve must connect as the application role (%s), which row-level security binds", role, AppRole)
	case bypass:
		return fmt.Errorf("database role %q has BYPASSRLS: serve must connect as the application role (%s)", role, AppRole)
	case owned > 0:
		return fmt.Errorf("database role %q owns %d tables: serve must connect as the application role (%s), not the owner", role, owned, AppRole)
	case canCreate:
		return fmt.Errorf("database role %q may create objects in schema public: run `guildhall migrate up`, which revokes that", role)
	}
	return nil
}
