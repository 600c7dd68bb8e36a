package web

import (
	"errors"
	"net/http"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/plugin"
)

// frame is the web app as the host of one plugin's pages (plugin.Frame).
type frame struct {
	a      *app
	plugin string
}

// Render implements plugin.Frame: the page in the tenant's layout, with
// the plugin's nav entry of v.Section marked current.
func (f frame) Render(w http.ResponseWriter, r *http.Request, status int, v plugin.View) {
	b := f.a.pageBrand(r)
	if v.Section != "" {
		section := link(r.Context(), v.Section)
		for i := range b.Nav {
			b.Nav[i].Current = b.Nav[i].URL == section
		}
	}
	for _, s := range v.Styles {
		b.Styles = append(b.Styles, f.a.plugins.AssetURL(f.plugin, s))
	}
	for _, s := range v.Scripts {
		b.Scripts = append(b.Scripts, f.a.plugins.AssetURL(f.plugin, s))
	}
	title := v.Title
	if title == "" {
		title = b.Name
	} else {
		title += " · " + b.Name
	}
	f.a.render(w, r, status, pluginPage(b, title, v.Body))
}

// Fail implements plugin.Frame: the app's page for err's code.
func (f frame) Fail(w http.ResponseWriter, r *http.Request, err error) {
	code := engine.ErrorCode(err)
	switch code {
	case engine.CodeNotFound:
		f.a.notFound(w, r)
		return
	case engine.CodeUnauthenticated:
		f.SignIn(w, r)
		return
	case engine.CodeInternal, engine.CodeUnavailable:
		f.a.pageError(w, r, err)
		return
	}
	v := messageView{Brand: f.a.pageBrand(r), Message: engine.ErrorMessage(err), TestID: "error-" + string(code)}
	switch code {
	case engine.CodeForbidden:
		v.Title = "Not allowed"
	case engine.CodeRateLimited:
		v.Title = "Slow down"
		if ee, ok := errors.AsType[*engine.Error](err); ok {
			for k, vs := range ee.GetHeaders() {
				w.Header()[k] = vs
			}
		}
	default:
		v.Title = "That didn't work"
	}
	f.a.render(w, r, api.StatusFor(code), messagePage(v))
}

// Path implements plugin.Frame.
func (f frame) Path(r *http.Request, p string) string { return link(r.Context(), p) }

// SignIn implements plugin.Frame.
func (f frame) SignIn(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, link(r.Context(), "/sign-in", "next", safeNext(here(r))))
}
