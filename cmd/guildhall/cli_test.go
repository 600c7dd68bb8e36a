package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

func TestMigrateCLI(t *testing.T) {
	t.Parallel()
	// An empty database owned by the owner role, as an operator would make.
	admin := dbtest.AdminConfig(t)
	conn, err := pgx.ConnectConfig(t.Context(), admin.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	name := dbtest.DatabaseName()
	if err := db.Bootstrap(t.Context(), conn, db.BootstrapParams{Database: name}); err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	t.Cleanup(func() {
		conn, err := pgx.ConnectConfig(context.Background(), admin.ConnConfig)
		if err == nil {
			_ = db.DropDatabase(context.Background(), conn, name)
			conn.Close(context.Background())
		}
	})
	owner := map[string]string{"DATABASE_URL": dbtest.URL(db.ConfigAs(admin, db.OwnerRole, "", name))}
	n := migrationCount(t)

	code, out, errOut := runCLI(t, owner, "migrate", "status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("0 applied, %d pending", n)) || !strings.Contains(out, "app_role") {
		t.Errorf("migrate status (empty) = %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, owner, "migrate", "up")
	if code != 0 || strings.Count(out, "applied 0") != n || !strings.Contains(out, "applied 0001_app_role") || !strings.Contains(out, "applied job queue migration") {
		t.Errorf("migrate up = %d %q %q; want %d migrations applied", code, out, errOut, n)
	}
	code, out, _ = runCLI(t, owner, "migrate", "up")
	if code != 0 || out != fmt.Sprintf("database is up to date (%d migrations)\n", n) {
		t.Errorf("migrate up again = %d %q; want up to date", code, out)
	}
	code, out, _ = runCLI(t, owner, "migrate", "status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d applied, 0 pending", n)) {
		t.Errorf("migrate status = %d %q", code, out)
	}
}

func TestTenantCLI(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": appURL(d), "USER": "alice", "GUILDHALL_BASE_URL": "https://guildhall.test"}

	code, out, errOut := runCLI(t, env, "tenant", "create", "--slug", "acme", "--name", "Acme Makers", "--kind", "social",
		"--time-zone", "Europe/Berlin", "--currency", "EUR", "--domains", "Community.Acme.example", "--primary-color", "#ABC")
	if code != 0 || !strings.Contains(out, "slug:") || !strings.Contains(out, "acme") || !strings.Contains(out, "#aabbcc") {
		t.Fatalf("tenant create = %d %q %q", code, out, errOut)
	}

	t.Run("InvalidIsOneLineAndWritesNothing", func(t *testing.T) {
		code, _, errOut := runCLI(t, env, "tenant", "create", "--slug", "Bad_Slug", "--name", "", "--kind", "chess",
			"--time-zone", "Nowhere/City", "--currency", "EURO")
		want := "guildhall: slug may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit; " +
			"name is required; kind must be one of: social or splits; time_zone is not an IANA time zone such as Europe/Berlin or America/New_York; " +
			"currency is not an ISO 4217 currency code in use, such as EUR or USD\n"
		if code != 2 || errOut != want {
			t.Errorf("tenant create (bad) = %d %q; want 2 %q", code, errOut, want)
		}
		if code, _, _ := runCLI(t, env, "tenant", "show", "Bad_Slug"); code != 1 {
			t.Errorf("the invalid tenant exists")
		}
	})

	t.Run("DuplicateSlug", func(t *testing.T) {
		code, _, errOut := runCLI(t, env, "tenant", "create", "--slug", "acme", "--name", "Again", "--kind", "splits",
			"--time-zone", "UTC", "--currency", "USD")
		if code != 1 || errOut != "guildhall: slug is taken by another tenant\n" {
			t.Errorf("tenant create (duplicate) = %d %q", code, errOut)
		}
	})

	t.Run("DomainOfThePlatform", func(t *testing.T) {
		code, _, errOut := runCLI(t, env, "tenant", "create", "--slug", "beta", "--name", "Beta", "--kind", "splits",
			"--time-zone", "UTC", "--currency", "USD", "--domains", "beta.guildhall.test")
		if code != 2 || errOut != "guildhall: domains[0] is part of the platform's own domain\n" {
			t.Errorf("tenant create (platform domain) = %d %q", code, errOut)
		}
	})

	t.Run("UpdateAndShow", func(t *testing.T) {
		code, _, errOut := runCLI(t, env, "tenant", "update", "acme", "--name", "Acme Guild", "--plugins", "social,splits", "--status", "suspended", "--accent-color", "#112233")
		if code != 0 {
			t.Fatalf("tenant update = %d %q", code, errOut)
		}
		code, out, _ := runCLI(t, env, "tenant", "show", "--json", "acme")
		var got struct {
			Name     string   `json:"name"`
			Status   string   `json:"status"`
			Plugins  []string `json:"plugins"`
			Domains  []string `json:"domains"`
			Branding struct {
				PrimaryColor string `json:"primary_color"`
				AccentColor  string `json:"accent_color"`
			} `json:"branding"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
			t.Fatalf("tenant show --json = %d %q: %v", code, out, err)
		}
		if got.Name != "Acme Guild" || got.Status != "suspended" || strings.Join(got.Plugins, ",") != "social,splits" ||
			got.Branding.PrimaryColor != "#aabbcc" || got.Branding.AccentColor != "#112233" || strings.Join(got.Domains, ",") != "community.acme.example" {
			t.Errorf("tenant after update = %+v", got)
		}
	})

	t.Run("UpdateInvalid", func(t *testing.T) {
		code, _, errOut := runCLI(t, env, "tenant", "update", "acme", "--status", "deleted")
		if code != 2 || errOut != "guildhall: status must be active or suspended\n" {
			t.Errorf("tenant update (bad status) = %d %q", code, errOut)
		}
		code, _, errOut = runCLI(t, env, "tenant", "update", "nobody", "--name", "X")
		if code != 1 || errOut != "guildhall: No tenant has that slug.\n" {
			t.Errorf("tenant update (unknown) = %d %q", code, errOut)
		}
	})

	t.Run("List", func(t *testing.T) {
		code, out, _ := runCLI(t, env, "tenant", "list")
		if code != 0 || !strings.Contains(out, "SLUG") || !strings.Contains(out, "acme") {
			t.Errorf("tenant list = %d %q", code, out)
		}
		code, out, _ = runCLI(t, env, "tenant", "list", "--status", "active", "--json")
		if code != 0 || strings.Contains(out, `"acme"`) {
			t.Errorf("tenant list --status active = %d %q; want acme (suspended) left out", code, out)
		}
	})

	t.Run("AuditedAsTheOSUser", func(t *testing.T) {
		var actors []string
		ctx := tenantCtx(t, d, "acme")
		err := db.New(d.App).InTenant(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "SELECT actor || ' ' || action FROM audit_events ORDER BY occurred_at, id")
			if err != nil {
				return err
			}
			actors, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(actors, ",") != "cli:alice tenant.created,cli:alice tenant.suspended" {
			t.Errorf("audit log = %v", actors)
		}
	})
}

// tenantCtx returns a context carrying the tenant with slug.
func tenantCtx(t *testing.T, d *dbtest.Database, slug string) context.Context {
	t.Helper()
	var id uuid.UUID
	if err := d.App.QueryRow(t.Context(), "SELECT id FROM tenants WHERE slug = $1", slug).Scan(&id); err != nil {
		t.Fatalf("look up tenant %s: %v", slug, err)
	}
	return engine.WithTenant(t.Context(), id)
}
