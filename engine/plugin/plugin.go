package plugin

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Plugin is a community kind or add-on. Manifest is all a plugin must
// provide; the Provider interfaces below are optional.
type Plugin interface {
	Manifest() Manifest
}

// Manifest describes a plugin.
type Manifest struct {
	// Name is the plugin's stable identifier: lowercase, [a-z][a-z0-9_]*.
	// It names the tenant kind when Kind is true, and appears in URLs.
	Name        string
	Title       string
	Description string
	// Kind is true when a tenant can be a community of this kind.
	Kind bool
	// Welcome greets members on the home page of a community of this kind.
	Welcome string
	// EventTypes are the coin events the plugin emits, with default awards.
	EventTypes []EventType
	// Features are what a tenant can sell to its members in feature packs.
	Features []Feature
}

// EventType is a coin event a plugin emits. Type is namespaced with a dot
// (post.created); DefaultCoins is what a new tenant's rule awards for it.
type EventType struct {
	Type         string `json:"type"`
	Description  string `json:"description"`
	DefaultCoins int64  `json:"default_coins"`
}

// Feature is a capability a plugin can gate behind a paid pack.
type Feature struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// APIProvider is a plugin with REST operations. api is a group whose
// operations answer 404 for tenants that have not enabled the plugin; paths
// are absolute (/api/v1/...).
type APIProvider interface {
	RegisterAPI(api huma.API)
}

// Page is one page (or form action) of the web app or console a plugin
// provides. Path is an http.ServeMux path pattern relative to the tenant's
// root in the web app ("/feed", "/posts/{id}") or to the tenant section in
// the console ("/moderation"); Method limits it to one method ("" answers
// any). Nav puts it in the navigation with Title (only for a Path without
// wildcards). Permission, in the console, is what the signed-in staff
// member needs (authz permission "object:action"); the console refuses the
// page without it, and shows the nav entry only to those who have it.
//
// The host calls Handler with a Frame in the request context (FrameFrom),
// the signed-in principal in it when there is one, and cross-site
// state-changing requests already refused.
type Page struct {
	Method     string
	Path       string
	Title      string
	Nav        bool
	Permission string
	Handler    http.Handler
}

// Pattern is the page's http.ServeMux pattern.
func (p Page) Pattern() string {
	if p.Method == "" {
		return p.Path
	}
	return p.Method + " " + p.Path
}

// WebProvider is a plugin with pages in the tenant's end-user web app.
type WebProvider interface {
	WebPages() []Page
}

// ConsoleProvider is a plugin with pages in the tenant section of the
// console.
type ConsoleProvider interface {
	ConsolePages() []Page
}

// Job is daily work a plugin needs done for each tenant that enabled it:
// Run is called with the tenant in ctx once per tenant-local day, at
// Hour:Minute in the tenant's time zone, with that date (midnight UTC of
// the civil date). It runs as a River job: at least once, retried on
// error, so Run must be idempotent for a day.
type Job struct {
	Kind   string // dotted, namespaced by the plugin: social.cleanup
	Hour   int
	Minute int
	Run    func(ctx context.Context, day time.Time) error
}

// JobProvider is a plugin with periodic jobs.
type JobProvider interface {
	Jobs() []Job
}

var (
	nameRe      = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	eventTypeRe = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
)

// Validate reports the first problem with m.
func (m Manifest) Validate() error {
	if !nameRe.MatchString(m.Name) {
		return fmt.Errorf("plugin name %q: want [a-z][a-z0-9_]{0,31}", m.Name)
	}
	if m.Title == "" {
		return fmt.Errorf("plugin %s: title is empty", m.Name)
	}
	seen := map[string]bool{}
	for _, e := range m.EventTypes {
		if !eventTypeRe.MatchString(e.Type) {
			return fmt.Errorf("plugin %s: event type %q: want dotted lowercase words", m.Name, e.Type)
		}
		if seen[e.Type] {
			return fmt.Errorf("plugin %s: event type %q declared twice", m.Name, e.Type)
		}
		if e.DefaultCoins < 0 {
			return fmt.Errorf("plugin %s: event type %q: default coins are negative", m.Name, e.Type)
		}
		seen[e.Type] = true
	}
	for _, f := range m.Features {
		if !eventTypeRe.MatchString(f.Key) {
			return fmt.Errorf("plugin %s: feature %q: want dotted lowercase words", m.Name, f.Key)
		}
		if seen[f.Key] {
			return fmt.Errorf("plugin %s: feature %q declared twice", m.Name, f.Key)
		}
		seen[f.Key] = true
	}
	return nil
}

// Registry holds the plugins of a running engine, in registration order.
// It is filled at wiring, before serving, and read-only afterwards.
type Registry struct {
	plugins []Plugin

	assetsOnce sync.Once
	assetIndex map[string]asset // plugin/name → asset
}

// NewRegistry returns a registry of ps. It panics on an invalid manifest or
// a duplicate name or event type: both are programmer errors at wiring.
func NewRegistry(ps ...Plugin) *Registry {
	r := &Registry{}
	names := map[string]bool{}
	events := map[string]string{}
	for _, p := range ps {
		m := p.Manifest()
		if err := m.Validate(); err != nil {
			panic(err)
		}
		if names[m.Name] {
			panic(fmt.Sprintf("plugin %s registered twice", m.Name))
		}
		names[m.Name] = true
		for _, e := range m.EventTypes {
			if other, ok := events[e.Type]; ok {
				panic(fmt.Sprintf("event type %s declared by both %s and %s", e.Type, other, m.Name))
			}
			events[e.Type] = m.Name
		}
		r.plugins = append(r.plugins, p)
	}
	return r
}

// All returns the plugins in registration order.
func (r *Registry) All() []Plugin { return slices.Clone(r.plugins) }

// Get returns the plugin named name.
func (r *Registry) Get(name string) (Plugin, bool) {
	for _, p := range r.plugins {
		if p.Manifest().Name == name {
			return p, true
		}
	}
	return nil, false
}

// Names returns every plugin's name.
func (r *Registry) Names() []string {
	out := make([]string, len(r.plugins))
	for i, p := range r.plugins {
		out[i] = p.Manifest().Name
	}
	return out
}

// Kinds returns the names of plugins a tenant can be a community of.
func (r *Registry) Kinds() []string {
	var out []string
	for _, p := range r.plugins {
		if m := p.Manifest(); m.Kind {
			out = append(out, m.Name)
		}
	}
	return out
}

// Enablement answers whether the tenant of a request has enabled a plugin.
// The tenant registry implements it; the engine uses it to gate routes.
type Enablement interface {
	PluginEnabled(ctx context.Context, plugin string) bool
}
