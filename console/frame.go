package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/tenants"
)

// pluginRoutes are the console pages of the plugins (plugin.ConsoleProvider),
// in the tenant section under /console: each needs its declared
// permission, like the console's own routes, and answers the not-found
// page for a tenant that has not enabled its plugin. A page without a
// permission, or with a path outside the section, is a wiring error.
func (c *console) pluginRoutes() []route {
	var out []route
	for _, p := range c.plugins.All() {
		cp, ok := p.(plugin.ConsoleProvider)
		if !ok {
			continue
		}
		name := p.Manifest().Name
		for _, pg := range cp.ConsolePages() {
			if pg.Permission == "" || pg.Permission == PermissionPublic || pg.Permission == PermissionPlatform || !strings.HasPrefix(pg.Path, "/") {
				panic("console: plugin " + name + " page " + pg.Pattern() + " must declare a tenant permission and a path starting with /")
			}
			h := pg.Handler
			out = append(out, route{
				Route: Route{Method: pg.Method, Pattern: "/console" + pg.Path, Section: SectionTenant, Permission: pg.Permission},
				handle: func(c *console, w http.ResponseWriter, r *http.Request) {
					if t, ok := tenants.FromContext(r.Context()); !ok || !t.HasPlugin(name) {
						c.notFound(w, r)
						return
					}
					h.ServeHTTP(w, r.WithContext(plugin.WithFrame(r.Context(), consoleFrame{c: c, plugin: name})))
				},
			})
		}
	}
	return out
}

// pluginNav is the navigation of the plugins' console pages that the
// tenant enabled and s may open.
func (c *console) pluginNav(r *http.Request, s session, base string) []navLink {
	t, ok := tenants.FromContext(r.Context())
	if !ok {
		return nil
	}
	var out []navLink
	for _, p := range c.plugins.All() {
		cp, ok := p.(plugin.ConsoleProvider)
		name := p.Manifest().Name
		if !ok || !t.HasPlugin(name) {
			continue
		}
		for _, pg := range cp.ConsolePages() {
			if pg.Nav && (pg.Method == "" || pg.Method == http.MethodGet) && c.authz.Can(s.Principal, pg.Permission) {
				out = append(out, navLink{ID: pluginNavID(name, pg.Path), Label: pg.Title, Href: base + pg.Path})
			}
		}
	}
	return out
}

// pluginNavID is the nav entry ID (and data-testid "nav-" + ID) of a
// plugin's console page: social-moderation for /moderation.
func pluginNavID(plugin, path string) string {
	return plugin + "-" + strings.ReplaceAll(strings.Trim(path, "/"), "/", "-")
}

// consoleFrame is the console as the host of one plugin's pages.
type consoleFrame struct {
	c      *console
	plugin string
}

// Render implements plugin.Frame.
func (f consoleFrame) Render(w http.ResponseWriter, r *http.Request, status int, v plugin.View) {
	ch := f.c.chrome(r, v.Title, pluginNavID(f.plugin, v.Section))
	for _, s := range v.Styles {
		ch.Styles = append(ch.Styles, f.c.plugins.AssetURL(f.plugin, s))
	}
	for _, s := range v.Scripts {
		ch.Scripts = append(ch.Scripts, f.c.plugins.AssetURL(f.plugin, s))
	}
	f.c.render(w, r, status, pluginPage(ch, v.Body))
}

// Fail implements plugin.Frame.
func (f consoleFrame) Fail(w http.ResponseWriter, r *http.Request, err error) {
	switch engine.ErrorCode(err) {
	case engine.CodeNotFound:
		f.c.notFound(w, r)
		return
	case engine.CodeUnauthenticated:
		f.c.toSignIn(w, r)
		return
	case engine.CodeRateLimited:
		if ee, ok := errors.AsType[*engine.Error](err); ok {
			for k, vs := range ee.GetHeaders() {
				w.Header()[k] = vs
			}
		}
	}
	f.c.fail(w, r, err)
}

// Path implements plugin.Frame.
func (f consoleFrame) Path(r *http.Request, p string) string { return consoleBase(r.Context()) + p }

// SignIn implements plugin.Frame.
func (f consoleFrame) SignIn(w http.ResponseWriter, r *http.Request) { f.c.toSignIn(w, r) }
