package tenants_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/tenants"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestDirectory_ByHost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := validParams()
	domain := strings.TrimPrefix(dbtest.RandomSlug(), "t-") + ".example.org"
	p.Domains = []string{domain}
	tn, err := b.svc.Create(b.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	dir := tenants.NewDirectory(b.svc, discard)
	if err := dir.Reload(b.ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host  string
		kind  tenants.HostKind
		found bool
	}{
		{"guildhall.test", tenants.HostPlatform, false},
		{"guildhall.test:8080", tenants.HostPlatform, false},
		{"localhost:8080", tenants.HostPlatform, false},
		{"127.0.0.1:8080", tenants.HostPlatform, false},
		{"[::1]:8080", tenants.HostPlatform, false},
		{tn.Slug + ".guildhall.test", tenants.HostTenant, true},
		{strings.ToUpper(tn.Slug) + ".GUILDHALL.TEST:443", tenants.HostTenant, true},
		{tn.Slug + ".guildhall.test.", tenants.HostTenant, true},
		{domain, tenants.HostTenant, true},
		{domain + ":8443", tenants.HostTenant, true},
		{"nobody-" + tn.Slug + ".guildhall.test", tenants.HostTenant, false},
		{"a.b.guildhall.test", tenants.HostTenant, false},
		{"unknown.example.com", tenants.HostTenant, false},
		{"<script>.example.com", tenants.HostTenant, false},
	}
	for _, tt := range tests {
		got, kind, found := dir.ByHost(b.ctx, tt.host)
		if kind != tt.kind || found != tt.found || (found && got.ID != tn.ID) {
			t.Errorf("ByHost(%q) = %s, %v, %v; want kind %v, found %v", tt.host, got.Slug, kind, found, tt.kind, tt.found)
		}
	}
}

// TestDirectory_FollowsChanges: a directory subscribed to the registry's
// notifications sees a suspension without being asked to reload.
func TestDirectory_FollowsChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn, err := b.svc.Create(b.ctx, validParams())
	if err != nil {
		t.Fatal(err)
	}
	dir := tenants.NewDirectory(b.svc, discard)
	l := db.NewListener(dbtest.Pool(t), discard)
	dir.Subscribe(l)
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	<-l.Ready()
	waitFor(t, func() bool { got, ok := dir.ByID(tn.ID); return ok && got.Status == tenants.StatusActive })

	s := tenants.StatusSuspended
	if _, err := b.svc.Update(b.ctx, tn.Slug, tenants.UpdateParams{Status: &s}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, func() bool { got, _ := dir.ByID(tn.ID); return got.Status == tenants.StatusSuspended })
	if d := time.Since(start); d > time.Second {
		t.Errorf("suspension reached the directory after %v, want within a second", d)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDirectory_Middleware(t *testing.T) {
	t.Parallel()
	b := setup(t)
	active, err := b.svc.Create(b.ctx, validParams())
	if err != nil {
		t.Fatal(err)
	}
	suspended, err := b.svc.Create(b.ctx, validParams())
	if err != nil {
		t.Fatal(err)
	}
	s := tenants.StatusSuspended
	if _, err := b.svc.Update(b.ctx, suspended.Slug, tenants.UpdateParams{Status: &s}); err != nil {
		t.Fatal(err)
	}
	dir := tenants.NewDirectory(b.svc, discard)
	if err := dir.Reload(b.ctx); err != nil {
		t.Fatal(err)
	}
	// The handler behind reports what it was given.
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := engine.TenantFrom(r.Context())
		tn, _ := tenants.FromContext(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]string{
			"path": r.URL.Path, "tenant": id.String(), "slug": tn.Slug, "base": tenants.BasePath(r.Context()),
		})
	})
	page := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "page not found", http.StatusNotFound) }
	h := dir.Middleware(page)(next)

	tests := []struct {
		name, host, path string
		status           int
		want             map[string]string
		contentType      string
	}{
		{"PathPrefix", "127.0.0.1", "/t/" + active.Slug + "/api/v1/tenant?x=1", 200,
			map[string]string{"path": "/api/v1/tenant", "tenant": active.ID.String(), "slug": active.Slug, "base": "/t/" + active.Slug}, ""},
		{"PathPrefixRoot", "localhost", "/t/" + active.Slug + "/", 200,
			map[string]string{"path": "/", "tenant": active.ID.String(), "slug": active.Slug, "base": "/t/" + active.Slug}, ""},
		{"Subdomain", active.Slug + ".guildhall.test", "/feed", 200,
			map[string]string{"path": "/feed", "tenant": active.ID.String(), "slug": active.Slug, "base": ""}, ""},
		{"Platform", "guildhall.test", "/api/v1/platform/tenants", 200,
			map[string]string{"path": "/api/v1/platform/tenants", "tenant": "00000000-0000-0000-0000-000000000000", "slug": "", "base": ""}, ""},
		{"UnknownPrefixAPI", "localhost", "/t/nope-" + active.Slug + "/api/v1/tenant", 404, nil, "application/problem+json"},
		{"UnknownPrefixPage", "localhost", "/t/nope-" + active.Slug + "/", 404, nil, "text/plain; charset=utf-8"},
		{"SuspendedPrefix", "localhost", "/t/" + suspended.Slug + "/api/v1/tenant", 404, nil, "application/problem+json"},
		{"SuspendedHost", suspended.Slug + ".guildhall.test", "/", 404, nil, "text/plain; charset=utf-8"},
		{"UnknownHost", "unknown.example.com", "/api/v1/tenant", 404, nil, "application/problem+json"},
		{"Redirect", "localhost", "/t/" + active.Slug, 308, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.contentType != "" && w.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", w.Header().Get("Content-Type"), tt.contentType)
			}
			if tt.status == 308 && w.Header().Get("Location") != "/t/"+active.Slug+"/" {
				t.Errorf("Location = %q", w.Header().Get("Location"))
			}
			if tt.want != nil {
				var got map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				for k, v := range tt.want {
					if got[k] != v {
						t.Errorf("%s = %q, want %q", k, got[k], v)
					}
				}
			}
		})
	}
}
