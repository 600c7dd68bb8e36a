package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/engine/secret"
	"github.com/guildhall/guildhall/migrations"
)

// benchDatabase is the fresh database a bench runs on: bootstrapped with
// the owner and application roles, migrated (ours and River's), with a
// pool of each role. Close drops it unless it is kept.
type benchDatabase struct {
	Name  string
	Owner *pgxpool.Pool // for bulk seeding and reference scripts
	App   *pgxpool.Pool // what the server uses: 32 connections
	// URL connects as the application role (pgbench).
	URL   string
	admin *pgx.Conn // the superuser's, on the server's admin database
	close []func()
}

// newBenchDatabase makes a benchDatabase on the server of adminURL (a
// superuser; the local server when empty).
func newBenchDatabase(ctx context.Context, adminURL string, keep bool) (_ *benchDatabase, err error) {
	if adminURL == "" {
		adminURL = localServerURL
	}
	admin, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		return nil, usagef("DATABASE_URL is not a valid PostgreSQL connection string")
	}
	conn, err := pgx.ConnectConfig(ctx, admin.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	b := &benchDatabase{Name: "guildhall_bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", ""), admin: conn}
	b.close = append(b.close, func() { conn.Close(context.WithoutCancel(ctx)) })
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	pw := randomHex(16)
	if err := db.Bootstrap(ctx, conn, db.BootstrapParams{Database: b.Name, OwnerPassword: pw, AppPassword: pw}); err != nil {
		return nil, err
	}
	if !keep {
		b.close = append(b.close, func() { _ = db.DropDatabase(context.WithoutCancel(ctx), conn, b.Name) })
	}
	if b.Owner, err = pgxpool.NewWithConfig(ctx, db.ConfigAs(admin, db.OwnerRole, pw, b.Name)); err != nil {
		return nil, err
	}
	b.close = append(b.close, b.Owner.Close)
	migs, err := db.LoadMigrations(migrations.FS)
	if err == nil {
		_, err = db.Migrate(ctx, b.Owner, migs)
	}
	if err == nil {
		_, err = jobs.Migrate(ctx, b.Owner)
	}
	if err != nil {
		return nil, err
	}
	appCfg := db.ConfigAs(admin, db.AppRole, pw, b.Name)
	appCfg.MaxConns = 32
	b.URL = dbtestURL(appCfg)
	if b.App, err = pgxpool.NewWithConfig(ctx, appCfg); err != nil {
		return nil, err
	}
	b.close = append(b.close, b.App.Close)
	return b, nil
}

// Checkpoint writes every dirty page out now, so that the write-back of a
// bulk seed does not land in the measurement that follows it.
func (b *benchDatabase) Checkpoint(ctx context.Context) error {
	if _, err := b.admin.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Close closes the pools and drops the database unless it is kept.
func (b *benchDatabase) Close() {
	for i := len(b.close) - 1; i >= 0; i-- {
		b.close[i]()
	}
	b.close = nil
}

// benchConfig is the server configuration benches run with: local hosts,
// throwaway keys, uploads in a temporary directory.
func benchConfig() Config {
	keys := []secret.Key{secret.NewKey("bench")}
	return Config{BaseURL: &url.URL{Scheme: "http", Host: "localhost"}, BaseDomain: "localhost", SecretKeys: keys, JWTKeys: keys,
		ShutdownTimeout: 5 * time.Second, RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20,
		BlobStore: filepath.Join(os.TempDir(), "guildhall-bench-blobs"), BlobBaseURL: "/files"}
}
