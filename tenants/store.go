package tenants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

type tenantRow struct {
	ID           uuid.UUID `db:"id"`
	Slug         string    `db:"slug"`
	Name         string    `db:"name"`
	Kind         string    `db:"kind"`
	TimeZone     string    `db:"time_zone"`
	Currency     string    `db:"currency"`
	PrimaryColor string    `db:"primary_color"`
	AccentColor  string    `db:"accent_color"`
	LogoURL      string    `db:"logo_url"`
	Plugins      []string  `db:"plugins"`
	Status       string    `db:"status"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
	Domains      []string  `db:"domains"`
}

func (r tenantRow) tenant() Tenant {
	return Tenant{
		ID: r.ID, Slug: r.Slug, Name: r.Name, Kind: r.Kind, TimeZone: r.TimeZone, Currency: r.Currency,
		Branding: Branding{PrimaryColor: r.PrimaryColor, AccentColor: r.AccentColor, LogoURL: r.LogoURL},
		Domains:  r.Domains, Plugins: r.Plugins, Status: Status(r.Status), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

const selectTenants = `
SELECT t.id, t.slug, t.name, t.kind, t.time_zone, t.currency, t.primary_color, t.accent_color,
	t.logo_url, t.plugins, t.status, t.created_at, t.updated_at,
	ARRAY(SELECT d.domain FROM tenant_domains d WHERE d.tenant_id = t.id ORDER BY d.domain) AS domains
FROM tenants t`

func collectTenants(rows pgx.Rows, err error) ([]Tenant, error) {
	if err != nil {
		return nil, fmt.Errorf("select tenants: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[tenantRow])
	if err != nil {
		return nil, fmt.Errorf("select tenants: %w", err)
	}
	out := make([]Tenant, len(rs))
	for i, r := range rs {
		out[i] = r.tenant()
	}
	return out, nil
}

// ErrNotFound is returned when no tenant has the slug (or ID) asked for.
var ErrNotFound = &engine.Error{Code: engine.CodeNotFound, Message: "No tenant has that slug."}

func selectTenant(ctx context.Context, tx pgx.Tx, where string, arg any) (Tenant, error) {
	ts, err := collectTenants(tx.Query(ctx, selectTenants+` WHERE `+where, arg))
	if err != nil {
		return Tenant{}, err
	}
	if len(ts) == 0 {
		return Tenant{}, ErrNotFound
	}
	return ts[0], nil
}

func selectTenantBySlug(ctx context.Context, tx pgx.Tx, slug string) (Tenant, error) {
	return selectTenant(ctx, tx, `t.slug = $1`, slug)
}

func selectTenantForUpdate(ctx context.Context, tx pgx.Tx, slug string) (Tenant, error) {
	return selectTenant(ctx, tx, `t.slug = $1 FOR UPDATE OF t`, slug)
}

func selectTenantByDomain(ctx context.Context, tx pgx.Tx, domain string) (Tenant, error) {
	return selectTenant(ctx, tx, `t.id = (SELECT tenant_id FROM tenant_domains WHERE domain = $1)`, domain)
}

// listFilter selects tenants for a listing page.
type listFilter struct {
	After  string
	Status Status
	Limit  int
}

func selectTenantPage(ctx context.Context, tx pgx.Tx, f listFilter) ([]Tenant, error) {
	sql := selectTenants + ` WHERE t.slug > $1`
	args := []any{f.After}
	if f.Status != "" {
		sql += ` AND t.status = $2`
		args = append(args, string(f.Status))
	}
	sql += fmt.Sprintf(` ORDER BY t.slug LIMIT %d`, f.Limit)
	return collectTenants(tx.Query(ctx, sql, args...))
}

func selectAllTenants(ctx context.Context, tx pgx.Tx) ([]Tenant, error) {
	return collectTenants(tx.Query(ctx, selectTenants+` ORDER BY t.slug`))
}

func insertTenant(ctx context.Context, tx pgx.Tx, t Tenant) error {
	_, err := tx.Exec(ctx, `
INSERT INTO tenants (id, slug, name, kind, time_zone, currency, primary_color, accent_color, logo_url, plugins, status)
VALUES (@id, @slug, @name, @kind, @time_zone, @currency, @primary_color, @accent_color, @logo_url, @plugins, @status)`,
		pgx.NamedArgs{
			"id": t.ID, "slug": t.Slug, "name": t.Name, "kind": t.Kind, "time_zone": t.TimeZone,
			"currency": t.Currency, "primary_color": t.Branding.PrimaryColor, "accent_color": t.Branding.AccentColor,
			"logo_url": t.Branding.LogoURL, "plugins": t.Plugins, "status": string(t.Status),
		})
	return mapError(err)
}

func updateTenant(ctx context.Context, tx pgx.Tx, t Tenant) error {
	_, err := tx.Exec(ctx, `
UPDATE tenants SET name = @name, time_zone = @time_zone, currency = @currency,
	primary_color = @primary_color, accent_color = @accent_color, logo_url = @logo_url,
	plugins = @plugins, status = @status, updated_at = now()
WHERE id = @id`,
		pgx.NamedArgs{
			"id": t.ID, "name": t.Name, "time_zone": t.TimeZone, "currency": t.Currency,
			"primary_color": t.Branding.PrimaryColor, "accent_color": t.Branding.AccentColor,
			"logo_url": t.Branding.LogoURL, "plugins": t.Plugins, "status": string(t.Status),
		})
	return mapError(err)
}

// replaceDomains makes the tenant's domains exactly ds.
func replaceDomains(ctx context.Context, tx pgx.Tx, id uuid.UUID, ds []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM tenant_domains WHERE tenant_id = $1 AND domain <> ALL($2)`, id, ds); err != nil {
		return fmt.Errorf("delete domains: %w", err)
	}
	for _, d := range ds {
		_, err := tx.Exec(ctx, `
INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2) ON CONFLICT (domain) DO NOTHING`, d, id)
		if err != nil {
			return mapError(err)
		}
		// Nothing was inserted when the tenant already had the domain, or
		// when another tenant has it: tell the two apart.
		var owner uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT tenant_id FROM tenant_domains WHERE domain = $1`, d).Scan(&owner); err != nil {
			return fmt.Errorf("check domain: %w", err)
		}
		if owner != id {
			return &engine.Error{Code: engine.CodeConflict, Message: "The domain " + d + " is already used by another tenant.",
				Fields: []engine.FieldError{{Field: "domains", Message: d + " is already used by another tenant"}}}
		}
	}
	return nil
}

// checkTimeZone asks PostgreSQL whether it knows the zone too: tenant-local
// days are computed by the database's clock.
func checkTimeZone(ctx context.Context, tx pgx.Tx, tz string) error {
	var known bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_timezone_names WHERE name = $1)`, tz).Scan(&known)
	if err != nil {
		return fmt.Errorf("check time zone: %w", err)
	}
	if !known {
		return engine.Invalid([]engine.FieldError{{Field: "time_zone", Message: "is not a time zone the database knows"}})
	}
	return nil
}

func mapError(err error) error {
	if err == nil {
		return nil
	}
	switch name, _ := db.Constraint(err); name {
	case "tenants_slug_key":
		return &engine.Error{Code: engine.CodeConflict, Message: "That slug is taken.",
			Fields: []engine.FieldError{{Field: "slug", Message: "is taken by another tenant"}}, Err: err}
	case "tenants_pkey":
		return &engine.Error{Code: engine.CodeConflict, Message: "That tenant already exists.", Err: err}
	case "":
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return fmt.Errorf("write tenant: %w", err)
	default:
		// A CHECK the service should have caught first.
		return &engine.Error{Code: engine.CodeInvalid, Message: "The tenant is not valid.", Err: err}
	}
}
