package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/tenants"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	ctx := t.Context()

	t.Run("TemplateIsMigrated", func(t *testing.T) {
		applied, err := jobs.Migrate(ctx, d.Owner)
		if err != nil || len(applied) != 0 {
			t.Errorf("Migrate() on the test template = %q, %v; want nothing to do", applied, err)
		}
	})

	// Take River's schema away, as on a database that never had it.
	m, err := rivermigrate.New(riverpgxv5.New(d.Owner), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1}); err != nil {
		t.Fatalf("remove River's schema: %v", err)
	}

	t.Run("StartRefusesWithoutTables", func(t *testing.T) {
		b := setup(t, d, time.Now())
		err := b.runner.Start(ctx)
		if !errors.Is(err, db.ErrMigrationsPending) {
			t.Errorf("Start() = %v, want ErrMigrationsPending", err)
		}
	})

	applied, err := jobs.Migrate(ctx, d.Owner)
	if err != nil {
		t.Fatalf("Migrate() = %v", err)
	}
	if len(applied) == 0 || applied[0] != "river_001_create_river_migration" {
		t.Errorf("Migrate() applied %q, want River's migrations from river_001_create_river_migration", applied)
	}
	if again, err := jobs.Migrate(ctx, d.Owner); err != nil || len(again) != 0 {
		t.Errorf("Migrate() again = %q, %v; want nothing to do", again, err)
	}

	t.Run("AppRoleHasExactlyDML", func(t *testing.T) {
		rows, err := d.Owner.Query(ctx, `
SELECT c.relname, c.relkind::text,
	CASE WHEN c.relkind = 'S' THEN has_sequence_privilege($1, c.oid, 'USAGE') AND has_sequence_privilege($1, c.oid, 'UPDATE')
		ELSE has_table_privilege($1, c.oid, 'SELECT') AND has_table_privilege($1, c.oid, 'INSERT')
			AND has_table_privilege($1, c.oid, 'UPDATE') AND has_table_privilege($1, c.oid, 'DELETE') END,
	c.relkind <> 'S' AND (has_table_privilege($1, c.oid, 'TRUNCATE') OR has_table_privilege($1, c.oid, 'REFERENCES')
		OR has_table_privilege($1, c.oid, 'TRIGGER'))
FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S') AND c.relname LIKE 'river\_%'`, db.AppRole)
		if err != nil {
			t.Fatal(err)
		}
		type rel struct {
			name, kind string
			dml, more  bool
		}
		rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
			var x rel
			return x, r.Scan(&x.name, &x.kind, &x.dml, &x.more)
		})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rels {
			names = append(names, r.name)
			if !r.dml || r.more {
				t.Errorf("%s on %s: needed privileges %v, extra privileges %v; want all and none", db.AppRole, r.name, r.dml, r.more)
			}
		}
		for _, want := range []string{"river_job", "river_leader", "river_queue", "river_migration", "river_job_id_seq"} {
			if !strings.Contains(strings.Join(names, " "), want) {
				t.Errorf("River relations %v lack %s", names, want)
			}
		}
	})

	t.Run("AppRoleWorksAJob", func(t *testing.T) {
		b := setup(t, d, time.Now())
		b.start(t)
		tenant := b.newTenant(t, "Europe/Berlin", tenants.StatusActive)
		id := b.insert(t, tenant, pingArgs{TenantID: tenant}, nil)
		b.waitState(t, id, jobs.StateCompleted)
		if n := b.pings.Runs(id); n != 1 {
			t.Errorf("job ran %d times, want 1", n)
		}
	})
}
