package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OwnerRole is the role that runs migrations and owns every table, as
// Bootstrap creates it. In production any role may own the database; only
// AppRole's name is fixed.
const OwnerRole = "guildhall_owner"

// bootstrapLock serializes Bootstrap across processes (roles are global to
// the cluster, and CREATE ROLE races).
const bootstrapLock = 7_260_421_890

// BootstrapParams says what Bootstrap creates. Empty passwords leave a
// role's password as it is (fine with trust or peer authentication).
type BootstrapParams struct {
	Database      string
	OwnerPassword string
	AppPassword   string
	// Template, when set, is the database the new one is copied from.
	Template string
}

// Bootstrap creates what a development or test cluster needs, as a
// superuser: the owner role, the application role (able to log in, no
// superuser, no BYPASSRLS), and the database owned by the owner role. Each
// step is skipped when already done, so it is safe to repeat.
func Bootstrap(ctx context.Context, admin *pgx.Conn, p BootstrapParams) error {
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", bootstrapLock); err != nil {
		return fmt.Errorf("lock bootstrap: %w", err)
	}
	defer admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", bootstrapLock) //nolint:errcheck // the lock also ends with the session

	roles := []struct{ name, attrs, password string }{
		{OwnerRole, "LOGIN NOSUPERUSER NOBYPASSRLS", p.OwnerPassword},
		{AppRole, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE", p.AppPassword},
	}
	for _, r := range roles {
		var exists bool
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", r.name).Scan(&exists); err != nil {
			return fmt.Errorf("look up role %s: %w", r.name, err)
		}
		verb := "ALTER"
		if !exists {
			verb = "CREATE"
		}
		sql := verb + " ROLE " + pgx.Identifier{r.name}.Sanitize() + " " + r.attrs
		if r.password != "" {
			sql += " PASSWORD " + quoteLiteral(r.password)
		}
		if _, err := admin.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s role %s: %w", verb, r.name, err)
		}
	}
	if p.Database == "" {
		return nil
	}
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", p.Database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", p.Database, err)
	}
	if exists {
		return nil
	}
	sql := "CREATE DATABASE " + pgx.Identifier{p.Database}.Sanitize() + " OWNER " + pgx.Identifier{OwnerRole}.Sanitize()
	if p.Template != "" {
		sql += " TEMPLATE " + pgx.Identifier{p.Template}.Sanitize()
	}
	if _, err := admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create database %s: %w", p.Database, err)
	}
	// Database privileges are not copied from a template; the first
	// migration revokes these too, for databases made by other means.
	if _, err := admin.Exec(ctx, "REVOKE CREATE, TEMPORARY ON DATABASE "+pgx.Identifier{p.Database}.Sanitize()+" FROM PUBLIC"); err != nil {
		return fmt.Errorf("restrict database %s: %w", p.Database, err)
	}
	return nil
}

// DropDatabase drops name, disconnecting anyone still connected.
func DropDatabase(ctx context.Context, admin *pgx.Conn, name string) error {
	_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// ConfigAs returns a copy of cfg that logs in as user (with password, when
// not empty) to database.
func ConfigAs(cfg *pgxpool.Config, user, password, database string) *pgxpool.Config {
	c := cfg.Copy()
	c.ConnConfig.User = user
	c.ConnConfig.Password = password
	c.ConnConfig.Database = database
	return c
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
