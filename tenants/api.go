package tenants

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/plugin"
)

// BrandingBody is a tenant's branding in the API.
type BrandingBody struct {
	PrimaryColor string `json:"primary_color,omitempty" doc:"Main colour, #rrggbb." example:"#3b5bdb"`
	AccentColor  string `json:"accent_color,omitempty" doc:"Accent colour, #rrggbb." example:"#f59f00"`
	LogoURL      string `json:"logo_url,omitempty" doc:"Absolute https URL of the logo; empty for none." maxLength:"2048"`
}

// PublicTenant is what anyone may know of a tenant.
type PublicTenant struct {
	Slug     string       `json:"slug" example:"makers"`
	Name     string       `json:"name" example:"Makers' Guild"`
	Kind     string       `json:"kind" doc:"The community kind: a plugin name." example:"social"`
	TimeZone string       `json:"time_zone" doc:"IANA time zone; the tenant's days start at midnight here." example:"Europe/Berlin"`
	Currency string       `json:"currency" doc:"ISO 4217 code of the default currency." example:"EUR"`
	Branding BrandingBody `json:"branding"`
	Plugins  []string     `json:"plugins" doc:"Enabled plugins."`
}

// TenantBody is a tenant as the platform API shows it.
type TenantBody struct {
	ID string `json:"id" format:"uuid"`
	PublicTenant
	Domains   []string  `json:"domains" doc:"Custom domains, lower-case ASCII (punycode)."`
	Status    Status    `json:"status" enum:"active,suspended"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func publicBody(t Tenant) PublicTenant {
	return PublicTenant{
		Slug: t.Slug, Name: t.Name, Kind: t.Kind, TimeZone: t.TimeZone, Currency: t.Currency,
		Branding: BrandingBody(t.Branding), Plugins: nonNil(t.Plugins),
	}
}

// Body returns t as the platform API shows it.
func Body(t Tenant) TenantBody {
	return TenantBody{
		ID: t.ID.String(), PublicTenant: publicBody(t), Domains: nonNil(t.Domains),
		Status: t.Status, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetCurrentTenantOutput is the tenant of the request.
type GetCurrentTenantOutput struct {
	Body PublicTenant
}

// ListTenantsInput selects a page of tenants.
type ListTenantsInput struct {
	After  string `query:"after" doc:"The next cursor of the previous page."`
	Status string `query:"status" enum:"active,suspended" doc:"Only tenants with this status."`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
}

// ListTenantsOutput is a page of tenants, by slug.
type ListTenantsOutput struct {
	Body struct {
		Tenants []TenantBody `json:"tenants"`
		Next    string       `json:"next,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
	}
}

// CreateTenantInput is a new tenant.
type CreateTenantInput struct {
	Body struct {
		Slug     string        `json:"slug" doc:"DNS label: the tenant lives at slug.base-domain and /t/slug/. Never changes." example:"makers"`
		Name     string        `json:"name" maxLength:"100" example:"Makers' Guild"`
		Kind     string        `json:"kind" doc:"The community kind: a plugin that is a kind (see list-plugins)." example:"social"`
		TimeZone string        `json:"time_zone" example:"Europe/Berlin"`
		Currency string        `json:"currency" example:"EUR"`
		Branding *BrandingBody `json:"branding,omitempty"`
		Domains  []string      `json:"domains,omitempty" maxItems:"10" doc:"Custom domains."`
		Plugins  []string      `json:"plugins,omitempty" doc:"Plugins to enable; default: the plugin of its kind."`
	}
}

// TenantOutput is one tenant.
type TenantOutput struct {
	Body TenantBody
}

// SlugInput names a tenant in the path.
type SlugInput struct {
	Slug string `path:"slug" maxLength:"40"`
}

// UpdateTenantInput changes a tenant; absent fields stay as they are.
type UpdateTenantInput struct {
	Slug string `path:"slug" maxLength:"40"`
	Body struct {
		Name     *string       `json:"name,omitempty" maxLength:"100"`
		TimeZone *string       `json:"time_zone,omitempty"`
		Currency *string       `json:"currency,omitempty"`
		Branding *BrandingBody `json:"branding,omitempty" doc:"Replaces the whole branding."`
		Domains  *[]string     `json:"domains,omitempty" maxItems:"10" doc:"Replaces the list of custom domains."`
		Plugins  *[]string     `json:"plugins,omitempty" doc:"Replaces the list of enabled plugins."`
		Status   *Status       `json:"status,omitempty" enum:"active,suspended"`
	}
}

// ListAuditEventsInput selects a page of a tenant's audit log.
type ListAuditEventsInput struct {
	Slug string `path:"slug" maxLength:"40"`
	audit.ListInput
}

// PluginBody describes an installed plugin.
type PluginBody struct {
	Name        string             `json:"name"`
	Title       string             `json:"title"`
	Description string             `json:"description"`
	Kind        bool               `json:"kind" doc:"Whether a tenant can be a community of this kind."`
	EventTypes  []plugin.EventType `json:"event_types"`
	Features    []plugin.Feature   `json:"features"`
}

// ListPluginsOutput lists the plugins of this server.
type ListPluginsOutput struct {
	Body struct {
		Plugins []PluginBody `json:"plugins"`
	}
}

// RegisterAPI registers the tenant operations: the public view of the
// request's tenant and the platform registry operations.
func RegisterAPI(a huma.API, svc *Service, auditLog *audit.Service, plugins *plugin.Registry) {
	tags := []string{"Tenants"}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-current-tenant", Method: http.MethodGet, Path: api.Prefix + "/tenant", Tags: tags,
		Summary:     "Get the tenant of this address",
		Description: "Name, kind and branding of the community served at this host or /t/{slug}/ prefix, for client apps to brand themselves.",
	}, api.PublicTenant), func(ctx context.Context, _ *struct{}) (*GetCurrentTenantOutput, error) {
		t, ok := FromContext(ctx)
		if !ok {
			return nil, ErrNotFound
		}
		return &GetCurrentTenantOutput{Body: publicBody(t)}, nil
	})

	platform := []string{"Platform"}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-tenants", Method: http.MethodGet, Path: api.Prefix + "/platform/tenants", Tags: platform,
		Summary: "List tenants",
	}, api.Platform), func(ctx context.Context, in *ListTenantsInput) (*ListTenantsOutput, error) {
		ts, next, err := svc.List(ctx, ListParams{After: in.After, Status: Status(in.Status), Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		out := &ListTenantsOutput{}
		out.Body.Tenants = make([]TenantBody, len(ts))
		for i, t := range ts {
			out.Body.Tenants[i] = Body(t)
		}
		out.Body.Next = next
		return out, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "create-tenant", Method: http.MethodPost, Path: api.Prefix + "/platform/tenants", Tags: platform,
		Summary: "Create a tenant", DefaultStatus: http.StatusCreated,
		Description: "Creates an active tenant. Every invalid field is reported at once; a taken slug or domain is a conflict.",
	}, api.Platform), func(ctx context.Context, in *CreateTenantInput) (*TenantOutput, error) {
		p := CreateParams{
			Slug: in.Body.Slug, Name: in.Body.Name, Kind: in.Body.Kind, TimeZone: in.Body.TimeZone,
			Currency: in.Body.Currency, Domains: nonNil(in.Body.Domains), Plugins: in.Body.Plugins,
		}
		if in.Body.Branding != nil {
			p.Branding = Branding(*in.Body.Branding)
		}
		t, err := svc.Create(ctx, p)
		if err != nil {
			return nil, err
		}
		return &TenantOutput{Body: Body(t)}, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-tenant", Method: http.MethodGet, Path: api.Prefix + "/platform/tenants/{slug}", Tags: platform,
		Summary: "Get a tenant",
	}, api.Platform), func(ctx context.Context, in *SlugInput) (*TenantOutput, error) {
		t, err := svc.Get(ctx, in.Slug)
		if err != nil {
			return nil, err
		}
		return &TenantOutput{Body: Body(t)}, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "update-tenant", Method: http.MethodPatch, Path: api.Prefix + "/platform/tenants/{slug}", Tags: platform,
		Summary:     "Update a tenant",
		Description: "Changes the given fields; lists (domains, plugins) are replaced whole. Suspending a tenant makes its host and API answer 404 on every server within a second.",
	}, api.Platform), func(ctx context.Context, in *UpdateTenantInput) (*TenantOutput, error) {
		b := in.Body
		p := UpdateParams{Name: b.Name, TimeZone: b.TimeZone, Currency: b.Currency, Domains: b.Domains, Plugins: b.Plugins, Status: b.Status}
		if b.Branding != nil {
			br := Branding(*b.Branding)
			p.Branding = &br
		}
		t, err := svc.Update(ctx, in.Slug, p)
		if err != nil {
			return nil, err
		}
		return &TenantOutput{Body: Body(t)}, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-tenant-audit-events", Method: http.MethodGet, Path: api.Prefix + "/platform/tenants/{slug}/audit-events",
		Tags: platform, Summary: "List a tenant's audit log", Description: "Newest first, with cursor pagination.",
	}, api.Platform), func(ctx context.Context, in *ListAuditEventsInput) (*audit.ListOutput, error) {
		t, err := svc.Get(ctx, in.Slug)
		if err != nil {
			return nil, err
		}
		page, err := auditLog.List(engine.WithTenant(ctx, t.ID), in.Params())
		if err != nil {
			return nil, err
		}
		return audit.NewListOutput(page), nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-plugins", Method: http.MethodGet, Path: api.Prefix + "/platform/plugins", Tags: platform,
		Summary: "List the plugins of this server", Description: "The community kinds and add-ons a tenant can enable, with their coin event types and sellable features.",
	}, api.Platform), func(ctx context.Context, _ *struct{}) (*ListPluginsOutput, error) {
		out := &ListPluginsOutput{}
		for _, p := range plugins.All() {
			m := p.Manifest()
			out.Body.Plugins = append(out.Body.Plugins, PluginBody{
				Name: m.Name, Title: m.Title, Description: m.Description, Kind: m.Kind,
				EventTypes: append([]plugin.EventType{}, m.EventTypes...), Features: append([]plugin.Feature{}, m.Features...),
			})
		}
		return out, nil
	})
}
