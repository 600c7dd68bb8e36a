package tenants

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/plugin"
)

// Service creates, updates and lists tenants.
type Service struct {
	db         *db.DB
	plugins    *plugin.Registry
	baseDomain string
}

// NewService returns a Service. baseDomain is the platform's domain
// (tenants live at slug.baseDomain); custom domains under it are refused.
func NewService(d *db.DB, plugins *plugin.Registry, baseDomain string) *Service {
	return &Service{db: d, plugins: plugins, baseDomain: baseDomain}
}

// CreateParams describes a new tenant. Branding fields left empty take
// DefaultBranding; Plugins nil means just the plugin of its kind.
type CreateParams struct {
	Slug     string
	Name     string
	Kind     string
	TimeZone string
	Currency string
	Branding Branding
	Domains  []string
	Plugins  []string
}

// Create validates p and creates the tenant, active, with an audit event.
// Errors: invalid (every field problem listed), conflict (slug or domain
// taken).
func (s *Service) Create(ctx context.Context, p CreateParams) (Tenant, error) {
	var c checks
	c.slug(p.Slug)
	t := Tenant{
		ID:       uuid.Must(uuid.NewV7()),
		Slug:     p.Slug,
		Name:     c.name(p.Name),
		Kind:     p.Kind,
		TimeZone: p.TimeZone,
		Currency: p.Currency,
		Branding: p.Branding,
		Status:   StatusActive,
	}
	validKind := slices.Contains(s.plugins.Kinds(), p.Kind)
	if !validKind {
		c.add("kind", "must be one of: "+joinOr(s.plugins.Kinds()))
	}
	c.timeZone(p.TimeZone)
	c.currency(p.Currency)
	if t.Branding.PrimaryColor == "" {
		t.Branding.PrimaryColor = DefaultBranding.PrimaryColor
	}
	if t.Branding.AccentColor == "" {
		t.Branding.AccentColor = DefaultBranding.AccentColor
	}
	c.branding(&t.Branding)
	t.Domains = c.domains(p.Domains, s.baseDomain)
	if p.Plugins == nil && validKind {
		p.Plugins = []string{p.Kind}
	}
	t.Plugins = c.plugins(p.Plugins, s.plugins.Names())
	if err := engine.Invalid(c); err != nil {
		return Tenant{}, err
	}
	ctx = engine.WithTenant(ctx, t.ID)
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if err := checkTimeZone(ctx, tx, t.TimeZone); err != nil {
			return err
		}
		if err := insertTenant(ctx, tx, t); err != nil {
			return err
		}
		if err := replaceDomains(ctx, tx, t.ID, t.Domains); err != nil {
			return err
		}
		created, err := selectTenantBySlug(ctx, tx, t.Slug)
		if err != nil {
			return err
		}
		t = created
		return audit.Record(ctx, tx, "tenant.created", "tenant:"+t.Slug, snapshot(t))
	})
	if err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// UpdateParams changes a tenant. Nil fields are left as they are; Domains
// and Plugins, when set, replace the whole list. Slug and kind never change:
// URLs and data depend on them.
type UpdateParams struct {
	Name     *string
	TimeZone *string
	Currency *string
	Branding *Branding
	Domains  *[]string
	Plugins  *[]string
	Status   *Status
}

// Update applies p to the tenant with the given slug and records what
// changed in the audit log. An update that changes nothing writes nothing.
// Errors: not_found, invalid (every field problem listed), conflict (domain
// taken).
func (s *Service) Update(ctx context.Context, slug string, p UpdateParams) (Tenant, error) {
	var before Tenant
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		var err error
		before, err = selectTenantBySlug(ctx, tx, slug)
		return err
	})
	if err != nil {
		return Tenant{}, err
	}
	var out Tenant
	ctx = engine.WithTenant(ctx, before.ID)
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		cur, err := selectTenantForUpdate(ctx, tx, slug)
		if err != nil {
			return err
		}
		next, err := s.apply(cur, p)
		if err != nil {
			return err
		}
		changes := diff(cur, next)
		if len(changes) == 0 {
			out = cur
			return nil
		}
		if next.TimeZone != cur.TimeZone {
			if err := checkTimeZone(ctx, tx, next.TimeZone); err != nil {
				return err
			}
		}
		if err := updateTenant(ctx, tx, next); err != nil {
			return err
		}
		if !slices.Equal(next.Domains, cur.Domains) {
			if err := replaceDomains(ctx, tx, next.ID, next.Domains); err != nil {
				return err
			}
		}
		if out, err = selectTenantBySlug(ctx, tx, slug); err != nil {
			return err
		}
		action := "tenant.updated"
		if next.Status != cur.Status {
			action = "tenant." + map[Status]string{StatusActive: "activated", StatusSuspended: "suspended"}[next.Status]
		}
		return audit.Record(ctx, tx, action, "tenant:"+slug, map[string]any{"changes": changes})
	})
	return out, err
}

// apply validates p against t and returns the changed tenant.
func (s *Service) apply(t Tenant, p UpdateParams) (Tenant, error) {
	var c checks
	if p.Name != nil {
		t.Name = c.name(*p.Name)
	}
	if p.TimeZone != nil {
		c.timeZone(*p.TimeZone)
		t.TimeZone = *p.TimeZone
	}
	if p.Currency != nil {
		c.currency(*p.Currency)
		t.Currency = *p.Currency
	}
	if p.Branding != nil {
		b := *p.Branding
		c.branding(&b)
		t.Branding = b
	}
	if p.Domains != nil {
		t.Domains = c.domains(*p.Domains, s.baseDomain)
		slices.Sort(t.Domains)
	}
	if p.Plugins != nil {
		t.Plugins = c.plugins(*p.Plugins, s.plugins.Names())
	}
	if p.Status != nil {
		c.status(*p.Status)
		t.Status = *p.Status
	}
	return t, engine.Invalid(c)
}

// Get returns the tenant with the given slug.
// Errors: not_found.
func (s *Service) Get(ctx context.Context, slug string) (Tenant, error) {
	var t Tenant
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = selectTenantBySlug(ctx, tx, slug)
		return err
	})
	return t, err
}

// ListParams selects a page of tenants, ordered by slug.
type ListParams struct {
	After  string // the last slug of the previous page
	Status Status // "" for every status
	Limit  int    // 1..100; 0 means 50
}

// List returns a page of tenants and the cursor (the last slug) of the next
// page, empty when there is none.
// Errors: invalid (bad limit or status).
func (s *Service) List(ctx context.Context, p ListParams) ([]Tenant, string, error) {
	var c checks
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > 100 {
		c.add("limit", "must be between 1 and 100")
	}
	if p.Status != "" {
		c.status(p.Status)
	}
	if err := engine.Invalid(c); err != nil {
		return nil, "", err
	}
	var ts []Tenant
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		var err error
		ts, err = selectTenantPage(ctx, tx, listFilter{After: p.After, Status: p.Status, Limit: p.Limit + 1})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ts) > p.Limit {
		ts = ts[:p.Limit]
		next = ts[len(ts)-1].Slug
	}
	return ts, next, nil
}

// all returns every tenant, for the directory snapshot.
func (s *Service) all(ctx context.Context) ([]Tenant, error) {
	var ts []Tenant
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		var err error
		ts, err = selectAllTenants(ctx, tx)
		return err
	})
	return ts, err
}

// lookup finds one tenant by slug or by custom domain, for requests the
// snapshot does not know yet.
func (s *Service) lookup(ctx context.Context, slug, domain string) (Tenant, error) {
	var t Tenant
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		var err error
		if slug != "" {
			t, err = selectTenantBySlug(ctx, tx, slug)
		} else {
			t, err = selectTenantByDomain(ctx, tx, domain)
		}
		return err
	})
	return t, err
}

// snapshot is what the audit log records of a new tenant.
func snapshot(t Tenant) map[string]any {
	return map[string]any{
		"slug": t.Slug, "name": t.Name, "kind": t.Kind, "time_zone": t.TimeZone, "currency": t.Currency,
		"branding": t.Branding, "domains": t.Domains, "plugins": t.Plugins, "status": t.Status,
	}
}

// diff returns the fields that differ between a and b, as {"from", "to"}.
func diff(a, b Tenant) map[string]any {
	out := map[string]any{}
	sa, sb := snapshot(a), snapshot(b)
	for k, va := range sa {
		if !equalValue(va, sb[k]) {
			out[k] = map[string]any{"from": va, "to": sb[k]}
		}
	}
	return out
}

func equalValue(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	default:
		return a == b
	}
}

func joinOr(xs []string) string {
	switch len(xs) {
	case 0:
		return "(none)"
	case 1:
		return xs[0]
	}
	out := ""
	for i, x := range xs {
		switch {
		case i == len(xs)-1:
			out += " or " + x
		case i > 0:
			out += ", " + x
		default:
			out = x
		}
	}
	return out
}
