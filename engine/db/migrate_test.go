package db_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/migrations"
)

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []string
		wantErr string
	}{
		{
			name:  "InOrder",
			files: fstest.MapFS{"0002_b.sql": {Data: []byte("b")}, "0001_a.sql": {Data: []byte("a")}},
			want:  []string{"a", "b"},
		},
		{
			name:    "Gap",
			files:   fstest.MapFS{"0001_a.sql": {}, "0003_c.sql": {}},
			wantErr: "want number 0002",
		},
		{
			name:    "BadName",
			files:   fstest.MapFS{"0001_a.sql": {}, "2_b.sql": {}},
			wantErr: "not named NNNN_name.sql",
		},
		{
			name:    "NotFromOne",
			files:   fstest.MapFS{"0002_b.sql": {}},
			wantErr: "want number 0001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			migs, err := db.LoadMigrations(tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadMigrations() = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadMigrations() = %v", err)
			}
			var names []string
			for _, m := range migs {
				names = append(names, m.Name)
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	migs, err := db.LoadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("IdempotentOnAMigratedDatabase", func(t *testing.T) {
		d := dbtest.NewDatabase(t)
		applied, err := db.Migrate(t.Context(), d.Owner, migs)
		if err != nil || len(applied) != 0 {
			t.Errorf("Migrate() = %v, %v; want nothing applied", applied, err)
		}
		if err := db.CheckMigrations(t.Context(), d.App, migs); err != nil {
			t.Errorf("CheckMigrations() = %v", err)
		}
	})

	t.Run("AppliesWhatIsMissing", func(t *testing.T) {
		d := dbtest.NewDatabase(t)
		more := append(append([]db.Migration{}, migs...), db.Migration{
			Version: len(migs) + 1, Name: "extra", SQL: "CREATE TABLE extra (id uuid PRIMARY KEY)", Checksum: "x",
		})
		if err := db.CheckMigrations(t.Context(), d.App, more); err == nil || !strings.Contains(err.Error(), "1 of") {
			t.Errorf("CheckMigrations(behind) = %v, want 1 pending", err)
		}
		applied, err := db.Migrate(t.Context(), d.Owner, more)
		if err != nil || len(applied) != 1 || applied[0].Name != "extra" {
			t.Fatalf("Migrate() = %v, %v; want extra applied", applied, err)
		}
		states, err := db.MigrationStatus(t.Context(), d.App, more)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if s.AppliedAt == nil {
				t.Errorf("migration %d not applied", s.Version)
			}
		}
	})

	t.Run("RefusesAChangedMigration", func(t *testing.T) {
		d := dbtest.NewDatabase(t)
		changed := append([]db.Migration{}, migs...)
		changed[0].Checksum = "edited"
		if _, err := db.Migrate(t.Context(), d.Owner, changed); err == nil || !strings.Contains(err.Error(), "was changed") {
			t.Errorf("Migrate(changed) = %v, want a changed-migration error", err)
		}
	})

	t.Run("RefusesAnUnknownMigration", func(t *testing.T) {
		d := dbtest.NewDatabase(t)
		if _, err := db.Migrate(t.Context(), d.Owner, migs[:len(migs)-1]); err == nil || !strings.Contains(err.Error(), "does not know") {
			t.Errorf("Migrate(older binary) = %v, want an unknown-migration error", err)
		}
	})

	t.Run("AFailingMigrationLeavesNothingBehind", func(t *testing.T) {
		d := dbtest.NewDatabase(t)
		bad := append(append([]db.Migration{}, migs...), db.Migration{
			Version: len(migs) + 1, Name: "bad", SQL: "CREATE TABLE half (id int); SELECT 1/0", Checksum: "y",
		})
		if _, err := db.Migrate(t.Context(), d.Owner, bad); err == nil {
			t.Fatal("Migrate(bad) = nil, want an error")
		}
		var exists bool
		if err := d.Owner.QueryRow(t.Context(), "SELECT to_regclass('half') IS NOT NULL").Scan(&exists); err != nil || exists {
			t.Errorf("table of the failed migration exists = %v (%v), want false", exists, err)
		}
	})
}

func TestCheckAppRole(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	if err := db.CheckAppRole(t.Context(), d.App); err != nil {
		t.Errorf("CheckAppRole(app) = %v, want nil", err)
	}
	if err := db.CheckAppRole(t.Context(), d.Owner); err == nil || !strings.Contains(err.Error(), "owns") {
		t.Errorf("CheckAppRole(owner) = %v, want an owns-tables error", err)
	}
}
