package tenants_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/tenants"
)

type testPlugin struct{ m plugin.Manifest }

func (p testPlugin) Manifest() plugin.Manifest { return p.m }

func testPlugins() *plugin.Registry {
	return plugin.NewRegistry(
		testPlugin{plugin.Manifest{Name: "social", Title: "Social", Kind: true}},
		testPlugin{plugin.Manifest{Name: "splits", Title: "Splits", Kind: true}},
		testPlugin{plugin.Manifest{Name: "extras", Title: "Extras"}},
	)
}

type testBundle struct {
	svc   *tenants.Service
	audit *audit.Service
	ctx   context.Context
}

func setup(t *testing.T) testBundle {
	t.Helper()
	d := db.New(dbtest.Pool(t))
	ctx := audit.WithActor(t.Context(), audit.Actor{Name: "test"})
	return testBundle{svc: tenants.NewService(d, testPlugins(), "guildhall.test"), audit: audit.NewService(d), ctx: ctx}
}

func validParams() tenants.CreateParams {
	return tenants.CreateParams{Slug: dbtest.RandomSlug(), Name: "Makers' Guild", Kind: "social", TimeZone: "Europe/Berlin", Currency: "EUR"}
}

func events(t *testing.T, b testBundle, tn tenants.Tenant) []audit.Event {
	t.Helper()
	page, err := b.audit.List(engine.WithTenant(b.ctx, tn.ID), audit.ListParams{})
	if err != nil {
		t.Fatalf("list audit events: %v", err)
	}
	return page.Events
}

func fieldsOf(err error) []string {
	var out []string
	for _, f := range engine.ErrorFields(err) {
		out = append(out, f.Field)
	}
	return out
}

func TestService_Create(t *testing.T) {
	t.Parallel()

	t.Run("Defaults", func(t *testing.T) {
		b := setup(t)
		p := validParams()
		domain := strings.TrimPrefix(dbtest.RandomSlug(), "t-") + ".example.org"
		p.Domains = []string{strings.ToUpper(domain)}
		got, err := b.svc.Create(b.ctx, p)
		if err != nil {
			t.Fatalf("Create() = %v", err)
		}
		want := tenants.Tenant{
			ID: got.ID, Slug: p.Slug, Name: "Makers' Guild", Kind: "social", TimeZone: "Europe/Berlin", Currency: "EUR",
			Branding: tenants.DefaultBranding, Domains: []string{domain}, Plugins: []string{"social"},
			Status: tenants.StatusActive, CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Create() (-want +got):\n%s", diff)
		}
		if got.ID.Version() != 7 {
			t.Errorf("ID version = %d, want a UUIDv7", got.ID.Version())
		}
		fetched, err := b.svc.Get(b.ctx, p.Slug)
		if err != nil || !cmp.Equal(fetched, got) {
			t.Errorf("Get() = %+v, %v; want the created tenant", fetched, err)
		}
		evs := events(t, b, got)
		if len(evs) != 1 || evs[0].Action != "tenant.created" || evs[0].Actor != "test" || evs[0].Target != "tenant:"+p.Slug {
			t.Errorf("audit events = %+v, want one tenant.created by test", evs)
		}
	})

	t.Run("EveryProblemAtOnceAndNothingWritten", func(t *testing.T) {
		b := setup(t)
		slug := dbtest.RandomSlug()
		_, err := b.svc.Create(b.ctx, tenants.CreateParams{
			Slug: slug + "-", Name: "", Kind: "chess", TimeZone: "Mars/Base", Currency: "XXX",
			Branding: tenants.Branding{PrimaryColor: "blue", LogoURL: "ftp://x"},
			Domains:  []string{"not a domain"}, Plugins: []string{"nope"},
		})
		want := []string{"slug", "name", "kind", "time_zone", "currency", "branding.primary_color", "branding.logo_url", "domains[0]", "plugins[0]"}
		if engine.ErrorCode(err) != engine.CodeInvalid || !cmp.Equal(fieldsOf(err), want) {
			t.Errorf("Create(bad) = %v with fields %v, want invalid with %v", err, fieldsOf(err), want)
		}
		if _, err := b.svc.Get(b.ctx, slug+"-"); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("Get() after a failed create = %v, want not found", err)
		}
	})

	t.Run("DuplicateSlug", func(t *testing.T) {
		b := setup(t)
		p := validParams()
		if _, err := b.svc.Create(b.ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Name = "Another"
		_, err := b.svc.Create(b.ctx, p)
		if engine.ErrorCode(err) != engine.CodeConflict || !cmp.Equal(fieldsOf(err), []string{"slug"}) {
			t.Errorf("Create(same slug) = %v, want conflict on slug", err)
		}
	})

	t.Run("DuplicateDomainWritesNothing", func(t *testing.T) {
		b := setup(t)
		domain := dbtest.RandomSlug() + ".example.net"
		p := validParams()
		p.Domains = []string{domain}
		if _, err := b.svc.Create(b.ctx, p); err != nil {
			t.Fatal(err)
		}
		q := validParams()
		q.Domains = []string{domain}
		_, err := b.svc.Create(b.ctx, q)
		if engine.ErrorCode(err) != engine.CodeConflict || !strings.Contains(engine.ErrorMessage(err), domain) {
			t.Errorf("Create(same domain) = %v, want conflict naming the domain", err)
		}
		if _, err := b.svc.Get(b.ctx, q.Slug); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("the tenant of the failed create exists: %v", err)
		}
	})

	t.Run("NotAKind", func(t *testing.T) {
		b := setup(t)
		p := validParams()
		p.Kind = "extras" // a plugin, but not a kind
		if _, err := b.svc.Create(b.ctx, p); !cmp.Equal(fieldsOf(err), []string{"kind"}) {
			t.Errorf("Create(kind extras) = %v, want a kind problem", err)
		}
	})

	t.Run("ConcurrentSameSlug", func(t *testing.T) {
		b := setup(t)
		p := validParams()
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = b.svc.Create(b.ctx, p) })
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch engine.ErrorCode(err) {
			case "":
				created++
			case engine.CodeConflict:
			default:
				t.Errorf("Create() = %v, want success or conflict", err)
			}
		}
		if created != 1 {
			t.Errorf("%d creates succeeded, want exactly 1", created)
		}
	})
}

func TestService_Update(t *testing.T) {
	t.Parallel()

	t.Run("ChangesAndAudits", func(t *testing.T) {
		b := setup(t)
		tn, err := b.svc.Create(b.ctx, validParams())
		if err != nil {
			t.Fatal(err)
		}
		name, tz := "Renamed", "Asia/Tokyo"
		plugins := []string{"social", "extras"}
		domains := []string{dbtest.RandomSlug() + ".example.com"}
		got, err := b.svc.Update(b.ctx, tn.Slug, tenants.UpdateParams{Name: &name, TimeZone: &tz, Plugins: &plugins, Domains: &domains})
		if err != nil {
			t.Fatalf("Update() = %v", err)
		}
		if got.Name != name || got.TimeZone != tz || !cmp.Equal(got.Plugins, []string{"extras", "social"}) || !cmp.Equal(got.Domains, domains) {
			t.Errorf("Update() = %+v", got)
		}
		if !got.UpdatedAt.After(tn.UpdatedAt) {
			t.Errorf("updated_at did not move")
		}
		evs := events(t, b, tn)
		if len(evs) != 2 || evs[0].Action != "tenant.updated" {
			t.Fatalf("audit events = %+v, want tenant.updated on top", evs)
		}
		changes, _ := evs[0].Details["changes"].(map[string]any)
		if len(changes) != 4 || changes["name"] == nil || changes["time_zone"] == nil {
			t.Errorf("recorded changes = %v, want name, time_zone, plugins, domains", changes)
		}
	})

	t.Run("NoChangeWritesNothing", func(t *testing.T) {
		b := setup(t)
		tn, err := b.svc.Create(b.ctx, validParams())
		if err != nil {
			t.Fatal(err)
		}
		same := tn.Name
		if _, err := b.svc.Update(b.ctx, tn.Slug, tenants.UpdateParams{Name: &same}); err != nil {
			t.Fatal(err)
		}
		if evs := events(t, b, tn); len(evs) != 1 {
			t.Errorf("audit events after a no-op update = %d, want 1", len(evs))
		}
	})

	t.Run("Suspend", func(t *testing.T) {
		b := setup(t)
		tn, err := b.svc.Create(b.ctx, validParams())
		if err != nil {
			t.Fatal(err)
		}
		s := tenants.StatusSuspended
		got, err := b.svc.Update(b.ctx, tn.Slug, tenants.UpdateParams{Status: &s})
		if err != nil || got.Status != tenants.StatusSuspended {
			t.Fatalf("Update(suspend) = %+v, %v", got, err)
		}
		if evs := events(t, b, tn); evs[0].Action != "tenant.suspended" {
			t.Errorf("audit action = %s, want tenant.suspended", evs[0].Action)
		}
	})

	t.Run("InvalidWritesNothing", func(t *testing.T) {
		b := setup(t)
		tn, err := b.svc.Create(b.ctx, validParams())
		if err != nil {
			t.Fatal(err)
		}
		name, cur := "Fine name", "ZZZ"
		_, err = b.svc.Update(b.ctx, tn.Slug, tenants.UpdateParams{Name: &name, Currency: &cur})
		if !cmp.Equal(fieldsOf(err), []string{"currency"}) {
			t.Errorf("Update(bad currency) = %v, want a currency problem", err)
		}
		if got, _ := b.svc.Get(b.ctx, tn.Slug); got.Name != tn.Name {
			t.Errorf("name after a failed update = %q, want %q", got.Name, tn.Name)
		}
	})

	t.Run("DomainTakenRollsBack", func(t *testing.T) {
		b := setup(t)
		taken := dbtest.RandomSlug() + ".example.com"
		p := validParams()
		p.Domains = []string{taken}
		if _, err := b.svc.Create(b.ctx, p); err != nil {
			t.Fatal(err)
		}
		tn, err := b.svc.Create(b.ctx, validParams())
		if err != nil {
			t.Fatal(err)
		}
		name := "Should not stick"
		ds := []string{taken}
		if _, err := b.svc.Update(b.ctx, tn.Slug, tenants.UpdateParams{Name: &name, Domains: &ds}); engine.ErrorCode(err) != engine.CodeConflict {
			t.Errorf("Update(taken domain) = %v, want conflict", err)
		}
		if got, _ := b.svc.Get(b.ctx, tn.Slug); got.Name != tn.Name {
			t.Errorf("name after a failed update = %q, want %q", got.Name, tn.Name)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		b := setup(t)
		name := "x"
		if _, err := b.svc.Update(b.ctx, "no-such-"+dbtest.RandomSlug(), tenants.UpdateParams{Name: &name}); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("Update(unknown) = %v, want not found", err)
		}
	})
}

func TestService_List(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prefix := "zz-" + strings.TrimPrefix(dbtest.RandomSlug(), "t-") + "-"
	for _, s := range []string{"a", "b", "c"} {
		p := validParams()
		p.Slug = prefix + s
		if _, err := b.svc.Create(b.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	page, next, err := b.svc.List(b.ctx, tenants.ListParams{After: prefix, Limit: 2})
	if err != nil || len(page) != 2 || page[0].Slug != prefix+"a" || page[1].Slug != prefix+"b" || next != prefix+"b" {
		t.Fatalf("List(first page) = %v, %q, %v", page, next, err)
	}
	page, _, err = b.svc.List(b.ctx, tenants.ListParams{After: next, Limit: 1})
	if err != nil || len(page) != 1 || page[0].Slug != prefix+"c" {
		t.Errorf("List(second page) = %v, %v", page, err)
	}
	if _, _, err := b.svc.List(b.ctx, tenants.ListParams{Limit: 101, Status: "gone"}); !cmp.Equal(fieldsOf(err), []string{"limit", "status"}) {
		t.Errorf("List(bad) = %v, want limit and status problems", err)
	}
}
