package main

import (
	"context"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/migrations"
)

var serverSettings = []string{"database-url", "addr", "base-url", "base-domain", "log-level", "log-format",
	"trusted-proxies", "platform-token", "shutdown-timeout", "request-timeout", "max-body-bytes", "db-max-conns",
	"secret-keys", "jwt-keys", "smtp-url", "sms-url", "sms-token", "blob-store", "blob-base-url"}

func runServe(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "serve", "serve [flags]\n\nServes the REST API, the OpenAPI document and docs, and the tenants' web apps.\nDATABASE_URL must connect as the application role (guildhall_app or a member of it).")
	cfg, err := parseConfig(fs, args, configFlags(fs, e.getenv, serverSettings...))
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return usagef("DATABASE_URL is not set: serve needs a connection string for the application role")
	}
	if len(cfg.SecretKeys) == 0 || len(cfg.JWTKeys) == 0 {
		return usagef("GUILDHALL_SECRET_KEYS and GUILDHALL_JWT_KEYS must be set (make keys with: guildhall keys new)")
	}
	log := newLogger(cfg, e.stderr, "json")
	pool, err := openAppPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	a, err := newApp(cfg, log, pool)
	if err != nil {
		ln.Close()
		return err
	}
	return a.serve(ctx, ln)
}

// openAppPool opens the server's pool and refuses to go on unless the
// server is new enough, the role is safe to serve as, and the schema is
// current.
func openAppPool(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pool, err := db.Open(ctx, cfg.DatabaseURL, func(pc *pgxpool.Config) { pc.MaxConns = cfg.DBMaxConns })
	if err != nil {
		return nil, err
	}
	migs, err := db.LoadMigrations(migrations.FS)
	if err == nil {
		err = db.CheckAppRole(ctx, pool)
	}
	if err == nil {
		err = db.CheckMigrations(ctx, pool, migs)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
