package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/plugins/social"
	"github.com/guildhall/guildhall/tenants"
)

func runLedger(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "ledger", args, map[string]func(context.Context, env, []string) error{
		"verify": runLedgerVerify,
	})
}

// errBooksWrong makes verify exit 1 after its report.
var errBooksWrong = errors.New("the books are not right (see the report above)")

func runLedgerVerify(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "ledger verify", "ledger verify [--tenant SLUG] [--json]\n\nChecks the coin ledger of every tenant (or one): every transaction balances, every wallet\nbalance equals the sum of its entries, daily counters match the awards, no member is over the\ndaily cap on any day, no event paid twice. Exits 1 with a report when something is wrong.")
	load := configFlags(fs, e.getenv, "database-url")
	slug := fs.String("tenant", "", "only this tenant")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	cfg, err := parseConfig(fs, args, load)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return usagef("DATABASE_URL is not set")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := db.New(pool)
	ts := tenants.NewService(store, newPlugins(social.Deps{}), "")
	svc := ledger.NewService(store, nil)
	var list []tenants.Tenant
	if *slug != "" {
		t, err := ts.Get(ctx, *slug)
		if err != nil {
			return err
		}
		list = []tenants.Tenant{t}
	} else {
		after := ""
		for {
			page, next, err := ts.List(ctx, tenants.ListParams{After: after, Limit: 100})
			if err != nil {
				return err
			}
			list = append(list, page...)
			if next == "" {
				break
			}
			after = next
		}
	}
	bad := 0
	reports := map[string]ledger.Report{}
	for _, t := range list {
		r, err := svc.Verify(engine.WithTenant(ctx, t.ID))
		if err != nil {
			return fmt.Errorf("verify %s: %w", t.Slug, err)
		}
		reports[t.Slug] = r
		if !r.OK() {
			bad++
		}
		if !*asJSON {
			status := "ok"
			if !r.OK() {
				status = "WRONG"
			}
			fmt.Fprintf(e.stdout, "%-30s %6d transactions  %s\n", t.Slug, r.Transactions, status)
			for _, u := range r.Unbalanced {
				fmt.Fprintf(e.stdout, "  transaction %s does not balance\n", u)
			}
			for _, a := range r.UnknownAccounts {
				fmt.Fprintf(e.stdout, "  entries name account %s, which does not exist\n", a)
			}
			for _, w := range r.WrongBalances {
				fmt.Fprintf(e.stdout, "  wallet %s: balance %d, entries sum to %d\n", w.Account, w.Balance, w.Entries)
			}
			for _, c := range r.WrongCounters {
				fmt.Fprintf(e.stdout, "  member %s on %s: counter %d, granted %d\n", c.Member, c.Day, c.Counter, c.Granted)
			}
			for _, c := range r.OverCap {
				fmt.Fprintf(e.stdout, "  member %s on %s: earned %d, over the daily cap of %d\n", c.Member, c.Day, c.Counter, c.Cap)
			}
			for _, d := range r.DuplicateKeyPays {
				fmt.Fprintf(e.stdout, "  event %s paid %d times\n", d.Key, d.Events)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	}
	if bad > 0 {
		return errBooksWrong
	}
	return nil
}
