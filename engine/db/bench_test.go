package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

// BenchmarkTenantTransaction measures what tenant isolation costs: a small
// read by primary key through InTenant (tenant set-up plus row-level
// security) against the same transaction (BEGIN, the read, COMMIT) on a
// table without RLS, interleaved in one run so both see the same machine.
// It reports both times and their ratio (target: at most 1.10).
func BenchmarkTenantTransaction(b *testing.B) {
	d := dbtest.NewDatabase(b)
	ctx := context.Background()
	if _, err := d.Owner.Exec(ctx, `
CREATE TABLE bench_plain (id uuid PRIMARY KEY, actor text NOT NULL);
GRANT SELECT, INSERT ON bench_plain TO guildhall_app`); err != nil {
		b.Fatal(err)
	}
	tenant := uuid.Must(uuid.NewV7())
	row := uuid.Must(uuid.NewV7())
	tctx := engine.WithTenant(ctx, tenant)
	store := db.New(d.App)
	err := store.InTenant(tctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, slug, name, kind, time_zone, currency) VALUES ($1, 'bench', 'Bench', 'social', 'UTC', 'EUR')`, tenant); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_events (tenant_id, id, actor, action) VALUES ($1, $2, 'bench', 'bench.row')`, tenant, row); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO bench_plain (id, actor) VALUES ($1, 'bench')`, row)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	var actor string
	plain := func() {
		if err := pgx.BeginFunc(ctx, d.App, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT actor FROM bench_plain WHERE id = $1`, row).Scan(&actor)
		}); err != nil {
			b.Fatal(err)
		}
	}
	scoped := func() {
		if err := store.InTenant(tctx, func(tx pgx.Tx) error {
			// The same statement as the plain read: row-level security adds
			// the tenant condition, which is what is measured.
			return tx.QueryRow(ctx, `SELECT actor FROM audit_events WHERE id = $1`, row).Scan(&actor)
		}); err != nil {
			b.Fatal(err)
		}
	}
	for range 200 { // warm the pool and the plan caches
		plain()
		scoped()
	}
	var tPlain, tScoped time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Alternate which goes first, so neither always runs on a warmer
		// connection.
		first, second, d1, d2 := plain, scoped, &tPlain, &tScoped
		if i%2 == 1 {
			first, second, d1, d2 = scoped, plain, &tScoped, &tPlain
		}
		s := time.Now()
		first()
		m := time.Now()
		second()
		*d1 += m.Sub(s)
		*d2 += time.Since(m)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tPlain.Nanoseconds())/n, "plain-ns/tx")
	b.ReportMetric(float64(tScoped.Nanoseconds())/n, "tenant-ns/tx")
	b.ReportMetric(float64(tScoped)/float64(tPlain), "tenant/plain")
	b.Logf("tenant transaction / plain transaction = %.3f (plain %v, tenant %v per transaction)",
		float64(tScoped)/float64(tPlain), tPlain/time.Duration(b.N), tScoped/time.Duration(b.N))
}
