package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/migrations"
)

func runMigrate(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "migrate", args, map[string]func(context.Context, env, []string) error{
		"up":     runMigrateUp,
		"status": runMigrateStatus,
	})
}

// openMigrations parses a migrate subcommand's flags and returns the
// embedded migrations and a pool on DATABASE_URL.
func openMigrations(ctx context.Context, e env, name, usage string, args []string) ([]db.Migration, *pgxpool.Pool, error) {
	fs := newFlagSet(e, name, usage)
	cfg, err := parseConfig(fs, args, configFlags(fs, e.getenv, "database-url"))
	if err != nil {
		return nil, nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, nil, usagef("DATABASE_URL is not set: %s needs a connection string for the owner role", name)
	}
	migs, err := db.LoadMigrations(migrations.FS)
	if err != nil {
		return nil, nil, err
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, nil)
	if err != nil {
		return nil, nil, err
	}
	return migs, pool, nil
}

func runMigrateUp(ctx context.Context, e env, args []string) error {
	migs, pool, err := openMigrations(ctx, e, "migrate up", "migrate up [flags]\n\nApplies the migrations the database lacks, each in its own transaction.\nDATABASE_URL must connect as the owner role (it will own every table).\nCreates the application role guildhall_app (NOLOGIN) when it is missing and the owner may create roles.", args)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := db.Migrate(ctx, pool, migs)
	for _, m := range applied {
		fmt.Fprintf(e.stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	if err != nil {
		return err
	}
	river, err := jobs.Migrate(ctx, pool)
	for _, name := range river {
		fmt.Fprintf(e.stdout, "applied job queue migration %s\n", name)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 && len(river) == 0 {
		fmt.Fprintf(e.stdout, "database is up to date (%d migrations)\n", len(migs))
	}
	return nil
}

func runMigrateStatus(ctx context.Context, e env, args []string) error {
	migs, pool, err := openMigrations(ctx, e, "migrate status", "migrate status [flags]\n\nLists every migration and when it was applied.", args)
	if err != nil {
		return err
	}
	defer pool.Close()
	states, err := db.MigrationStatus(ctx, pool, migs)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	pending := 0
	for _, s := range states {
		at := "pending"
		if s.AppliedAt != nil {
			at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		} else {
			pending++
		}
		fmt.Fprintf(tw, "%04d\t%s\t%s\n", s.Version, s.Name, at)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d applied, %d pending\n", len(states)-pending, pending)
	return nil
}
