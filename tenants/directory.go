package tenants

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/db"
)

// NotifyChannel is the channel the registry's triggers notify on every change.
const NotifyChannel = "guildhall_tenants_changed"

// Directory answers "which tenant is this?" from an in-memory snapshot of the
// registry. The snapshot is replaced whole (readers never lock) when any
// server instance changes the registry, and every RefreshEvery as a safety
// net. A slug or domain the snapshot does not know is looked up in the
// database before being declared unknown, so a tenant created a moment ago
// on another instance resolves at once.
type Directory struct {
	svc        *Service
	log        *slog.Logger
	baseDomain string
	snap       atomic.Pointer[snapshotIndex]
}

type snapshotIndex struct {
	bySlug   map[string]Tenant
	byDomain map[string]Tenant
	byID     map[uuid.UUID]Tenant
}

// RefreshEvery bounds how stale a snapshot can get if a notification is
// ever lost.
const RefreshEvery = time.Minute

// NewDirectory returns a Directory over svc with an empty snapshot; call
// Reload (or Run) before serving.
func NewDirectory(svc *Service, log *slog.Logger) *Directory {
	d := &Directory{svc: svc, log: log, baseDomain: svc.baseDomain}
	d.snap.Store(&snapshotIndex{})
	return d
}

// Reload replaces the snapshot with the registry as it is now.
func (d *Directory) Reload(ctx context.Context) error {
	ts, err := d.svc.all(ctx)
	if err != nil {
		return err
	}
	s := &snapshotIndex{bySlug: map[string]Tenant{}, byDomain: map[string]Tenant{}, byID: map[uuid.UUID]Tenant{}}
	for _, t := range ts {
		s.bySlug[t.Slug] = t
		s.byID[t.ID] = t
		for _, dom := range t.Domains {
			s.byDomain[dom] = t
		}
	}
	d.snap.Store(s)
	return nil
}

// Subscribe makes l reload the snapshot on every registry change.
func (d *Directory) Subscribe(l *db.Listener) {
	l.Subscribe(NotifyChannel, func(ctx context.Context, _ db.Notification) {
		if err := d.Reload(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "reload tenant directory", "error", err)
		}
	})
}

// Run reloads the snapshot every RefreshEvery until ctx is done.
func (d *Directory) Run(ctx context.Context) {
	t := time.NewTicker(RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Reload(ctx); err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "reload tenant directory", "error", err)
			}
		}
	}
}

// BySlug returns the tenant with slug, whatever its status.
func (d *Directory) BySlug(ctx context.Context, slug string) (Tenant, bool) {
	if t, ok := d.snap.Load().bySlug[slug]; ok {
		return t, true
	}
	if !slugRe.MatchString(slug) {
		return Tenant{}, false
	}
	return d.miss(ctx, slug, "")
}

// ByID returns the tenant with the given ID from the snapshot.
func (d *Directory) ByID(id uuid.UUID) (Tenant, bool) {
	t, ok := d.snap.Load().byID[id]
	return t, ok
}

// HostKind says what a request's host names.
type HostKind int

// The kinds of host.
const (
	// HostPlatform is the platform's own host: the base domain, a loopback
	// name or an IP address. It has no tenant unless the path says one.
	HostPlatform HostKind = iota
	// HostTenant is a tenant's host: slug.base-domain or a custom domain.
	HostTenant
)

// ByHost resolves a Host header (port allowed). For a tenant host it returns
// the tenant and whether it exists.
func (d *Directory) ByHost(ctx context.Context, host string) (Tenant, HostKind, bool) {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || h == d.baseDomain || h == "localhost" || net.ParseIP(strings.Trim(h, "[]")) != nil {
		return Tenant{}, HostPlatform, false
	}
	if d.baseDomain != "" && strings.HasSuffix(h, "."+d.baseDomain) {
		slug := strings.TrimSuffix(h, "."+d.baseDomain)
		if strings.Contains(slug, ".") {
			return Tenant{}, HostTenant, false
		}
		t, ok := d.BySlug(ctx, slug)
		return t, HostTenant, ok
	}
	if t, ok := d.snap.Load().byDomain[h]; ok {
		return t, HostTenant, true
	}
	if _, ok := NormalizeDomain(h); !ok {
		return Tenant{}, HostTenant, false
	}
	t, ok := d.miss(ctx, "", h)
	return t, HostTenant, ok
}

// miss looks a slug or domain up in the database; when found, the snapshot
// is behind, so it is reloaded.
func (d *Directory) miss(ctx context.Context, slug, domain string) (Tenant, bool) {
	t, err := d.svc.lookup(ctx, slug, domain)
	if err != nil {
		if !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
			d.log.WarnContext(ctx, "look up tenant", "error", err)
		}
		return Tenant{}, false
	}
	if err := d.Reload(ctx); err != nil && ctx.Err() == nil {
		d.log.WarnContext(ctx, "reload tenant directory", "error", err)
	}
	return t, true
}

// PluginEnabled reports whether the tenant of ctx has enabled plugin. It
// implements plugin.Enablement.
func (d *Directory) PluginEnabled(ctx context.Context, plugin string) bool {
	if t, ok := FromContext(ctx); ok {
		return t.HasPlugin(plugin)
	}
	id, ok := engine.TenantFrom(ctx)
	if !ok {
		return false
	}
	t, ok := d.ByID(id)
	return ok && t.HasPlugin(plugin)
}

type tenantKey struct{}

type basePathKey struct{}

// WithContext returns ctx carrying t (its ID through engine.WithTenant too)
// and the path prefix the tenant's pages live under ("" or "/t/slug").
func WithContext(ctx context.Context, t Tenant, basePath string) context.Context {
	api.Annotate(ctx, "tenant", t.Slug)
	ctx = engine.WithTenant(ctx, t.ID)
	ctx = context.WithValue(ctx, tenantKey{}, t)
	return context.WithValue(ctx, basePathKey{}, basePath)
}

// FromContext returns the tenant of the request.
func FromContext(ctx context.Context) (Tenant, bool) {
	t, ok := ctx.Value(tenantKey{}).(Tenant)
	return t, ok
}

// BasePath returns the prefix the tenant's pages live under in this
// request: "" on the tenant's own host, "/t/slug" on the platform host.
func BasePath(ctx context.Context) string {
	p, _ := ctx.Value(basePathKey{}).(string)
	return p
}
