package plugin

import (
	"context"
	"net/http"

	"github.com/a-h/templ"
)

// Frame is the host of a plugin's pages: the web app or the console puts
// one in the request context of every plugin page, so the page shows inside
// the host's layout (the tenant's branding, the navigation, the signed-in
// account) without the plugin importing the host.
type Frame interface {
	// Render writes v inside the host's layout with status. For an htmx
	// request that swaps part of a page, a plugin renders its fragment
	// itself instead.
	Render(w http.ResponseWriter, r *http.Request, status int, v View)
	// Fail answers err with the host's page for it: not found, not allowed,
	// too many requests (with Retry-After), or a generic error for an
	// internal one, which is logged.
	Fail(w http.ResponseWriter, r *http.Request, err error)
	// Path returns p ("/posts/1") as a link in this host for the request's
	// tenant: the web app adds the tenant's base path, the console the
	// tenant section's.
	Path(r *http.Request, p string) string
	// SignIn sends a visitor who is not signed in to the host's sign-in
	// page, and back to r's page afterwards.
	SignIn(w http.ResponseWriter, r *http.Request)
}

// View is a plugin page for Frame.Render.
type View struct {
	Title string
	Body  templ.Component
	// Section marks the current navigation entry: the Path of the plugin's
	// Nav page this page belongs to ("/feed").
	Section string
	// Styles and Scripts name files of the plugin's assets (AssetProvider)
	// the page needs, in order; scripts load deferred.
	Styles  []string
	Scripts []string
}

type frameKey struct{}

// WithFrame returns ctx carrying f, for the plugin page the host calls.
func WithFrame(ctx context.Context, f Frame) context.Context {
	return context.WithValue(ctx, frameKey{}, f)
}

// FrameFrom returns the Frame of a plugin page's request. Hosts always set
// one; ok is false only outside a host (a test calling a handler alone).
func FrameFrom(ctx context.Context) (Frame, bool) {
	f, ok := ctx.Value(frameKey{}).(Frame)
	return f, ok
}
