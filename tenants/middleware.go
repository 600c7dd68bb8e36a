package tenants

import (
	"net/http"
	"strings"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
)

// Middleware resolves the tenant of each request and puts it in the
// context (WithContext):
//
//   - /t/{slug}/... on any host: the tenant with that slug; the prefix is
//     stripped and becomes the BasePath of the tenant's links. /t/{slug}
//     without the slash redirects to it.
//   - slug.base-domain or a custom domain: that tenant.
//   - the platform host (the base domain itself, localhost, an IP address):
//     no tenant.
//
// A tenant that does not exist or is suspended answers 404: a problem on API
// paths, notFoundPage otherwise. The Host header is the one the client
// sent, unless api.Forwarded replaced it from a trusted proxy.
func (d *Directory) Middleware(notFoundPage http.HandlerFunc) api.Middleware {
	notFound := func(w http.ResponseWriter, r *http.Request, path string) {
		if api.IsAPIPath(path) {
			api.WriteProblem(w, r, http.StatusNotFound, engine.Errorf(engine.CodeNotFound, "There is no community at this address."))
			return
		}
		notFoundPage(w, r)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if rest, ok := strings.CutPrefix(r.URL.Path, "/t/"); ok {
				slug, tail, slash := strings.Cut(rest, "/")
				t, found := d.BySlug(ctx, slug)
				if !found || t.Status != StatusActive {
					notFound(w, r, "/"+tail)
					return
				}
				if !slash {
					u := *r.URL
					u.Path, u.RawPath = "/t/"+slug+"/", ""
					http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
					return
				}
				r2 := r.Clone(WithContext(ctx, t, "/t/"+slug))
				r2.URL.Path, r2.URL.RawPath = "/"+tail, ""
				next.ServeHTTP(w, r2)
				return
			}
			t, kind, found := d.ByHost(ctx, r.Host)
			if kind == HostPlatform {
				next.ServeHTTP(w, r)
				return
			}
			if !found || t.Status != StatusActive {
				notFound(w, r, r.URL.Path)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithContext(ctx, t, "")))
		})
	}
}
