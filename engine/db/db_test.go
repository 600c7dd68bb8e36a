package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

func currentTenant(t *testing.T, ctx context.Context, tx pgx.Tx) *uuid.UUID {
	t.Helper()
	var id *uuid.UUID
	if err := tx.QueryRow(ctx, "SELECT current_tenant_id()").Scan(&id); err != nil {
		t.Fatalf("current_tenant_id(): %v", err)
	}
	return id
}

func TestDB_InTenant(t *testing.T) {
	t.Parallel()
	d := db.New(dbtest.Pool(t))

	t.Run("SetsTheTenantOfTheContext", func(t *testing.T) {
		ctx, id := dbtest.NewTenant(t)
		err := d.InTenant(ctx, func(tx pgx.Tx) error {
			if got := currentTenant(t, ctx, tx); got == nil || *got != id {
				t.Errorf("current_tenant_id() = %v, want %v", got, id)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("InTenant() = %v", err)
		}
	})

	t.Run("NoTenantIsAnError", func(t *testing.T) {
		called := false
		err := d.InTenant(t.Context(), func(pgx.Tx) error { called = true; return nil })
		if !errors.Is(err, db.ErrNoTenant) || engine.ErrorCode(err) != engine.CodeNotFound {
			t.Errorf("InTenant(no tenant) = %v, want ErrNoTenant", err)
		}
		if called {
			t.Errorf("InTenant(no tenant) ran the callback")
		}
	})

	t.Run("NilTenantIsNoTenant", func(t *testing.T) {
		err := d.InTenant(engine.WithTenant(t.Context(), uuid.Nil), func(pgx.Tx) error { return nil })
		if !errors.Is(err, db.ErrNoTenant) {
			t.Errorf("InTenant(nil UUID) = %v, want ErrNoTenant", err)
		}
	})

	t.Run("RollsBackWhenTheCallbackFails", func(t *testing.T) {
		ctx, _ := dbtest.NewTenant(t)
		boom := errors.New("boom")
		err := d.InTenant(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO audit_events (tenant_id, id, actor, action) VALUES (current_tenant_id(), $1, 'test', 'test.rolled_back')`, uuid.Must(uuid.NewV7())); err != nil {
				t.Fatalf("insert: %v", err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTenant() = %v, want boom", err)
		}
		var n int
		_ = d.InTenant(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&n)
		})
		if n != 0 {
			t.Errorf("rows after a failed callback = %d, want 0", n)
		}
	})

	t.Run("RetriesSerializationFailures", func(t *testing.T) {
		ctx, _ := dbtest.NewTenant(t)
		calls := 0
		err := d.InTenant(ctx, func(tx pgx.Tx) error {
			calls++
			if calls < 3 {
				_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`)
				return err
			}
			return nil
		})
		if err != nil || calls != 3 {
			t.Errorf("InTenant() = %v after %d calls, want nil after 3", err, calls)
		}
	})

	t.Run("GivesUpAfterMaxAttempts", func(t *testing.T) {
		ctx, _ := dbtest.NewTenant(t)
		calls := 0
		err := d.InTenant(ctx, func(tx pgx.Tx) error {
			calls++
			_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$`)
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "40P01" || calls != db.MaxAttempts {
			t.Errorf("InTenant() = %v after %d calls, want 40P01 after %d", err, calls, db.MaxAttempts)
		}
	})

	t.Run("OtherErrorsAreNotRetried", func(t *testing.T) {
		ctx, _ := dbtest.NewTenant(t)
		calls := 0
		_ = d.InTenant(ctx, func(tx pgx.Tx) error {
			calls++
			_, err := tx.Exec(ctx, `SELECT 1/0`)
			return err
		})
		if calls != 1 {
			t.Errorf("calls = %d, want 1", calls)
		}
	})

	t.Run("InsideATestTransaction", func(t *testing.T) {
		// dbtest.Tx hands out a pgx.Tx; InTenant then runs in a savepoint
		// and sets the tenant with a separate statement.
		ctx, tx := dbtest.Tx(t)
		id, _ := engine.TenantFrom(ctx)
		err := db.New(tx).InTenant(ctx, func(tx pgx.Tx) error {
			if got := currentTenant(t, ctx, tx); got == nil || *got != id {
				t.Errorf("current_tenant_id() = %v, want %v", got, id)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("InTenant() = %v", err)
		}
	})
}

func TestDB_InPlatform(t *testing.T) {
	t.Parallel()
	d := db.New(dbtest.Pool(t))
	ctx, _ := dbtest.NewTenant(t)
	// Even with a tenant in ctx, a platform transaction has none.
	err := d.InPlatform(ctx, func(tx pgx.Tx) error {
		if got := currentTenant(t, ctx, tx); got != nil {
			t.Errorf("current_tenant_id() = %v, want NULL", got)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			t.Errorf("platform transaction sees no tenants in the registry")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InPlatform() = %v", err)
	}
}
