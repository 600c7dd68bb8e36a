package plugin_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/guildhall/guildhall/engine/plugin"
)

type withAssets struct {
	name  string
	files fstest.MapFS
}

func (p withAssets) Manifest() plugin.Manifest { return plugin.Manifest{Name: p.name, Title: p.name} }
func (p withAssets) Assets() fs.FS             { return p.files }

type bare struct{}

func (bare) Manifest() plugin.Manifest { return plugin.Manifest{Name: "bare", Title: "Bare"} }

func TestRegistry_Assets(t *testing.T) {
	t.Parallel()
	reg := plugin.NewRegistry(
		withAssets{"social", fstest.MapFS{"social.css": {Data: []byte("a{color:red}")}, "js/live.js": {Data: []byte("1")}}},
		withAssets{"splits", fstest.MapFS{"social.css": {Data: []byte("b{}")}}},
		bare{},
	)
	get := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		reg.AssetHandler().ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}

	u := reg.AssetURL("social", "social.css")
	if !strings.HasPrefix(u, "/static/plugins/social/social.css?v=") {
		t.Fatalf("AssetURL() = %q", u)
	}
	if other := reg.AssetURL("splits", "social.css"); other == u || !strings.HasPrefix(other, "/static/plugins/splits/social.css?v=") {
		t.Errorf("AssetURL(splits) = %q: want its own file and version", other)
	}

	w := get("GET", u)
	if w.Code != 200 || w.Body.String() != "a{color:red}" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") ||
		!strings.Contains(w.Header().Get("Cache-Control"), "immutable") || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET %s = %d %q %v", u, w.Code, w.Body, w.Header())
	}
	etag := w.Header().Get("ETag")
	if w := get("GET", "/static/plugins/social/social.css"); w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("ETag") != etag {
		t.Errorf("unversioned GET: Cache-Control %q, ETag %q", w.Header().Get("Cache-Control"), w.Header().Get("ETag"))
	}
	req := httptest.NewRequest("GET", "/static/plugins/social/social.css", nil)
	req.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	reg.AssetHandler().ServeHTTP(w, req)
	if w.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", w.Code)
	}
	if w := get("GET", reg.AssetURL("social", "js/live.js")); w.Code != 200 || w.Body.String() != "1" {
		t.Errorf("nested asset = %d %q", w.Code, w.Body)
	}

	for _, target := range []string{
		"/static/plugins/social/missing.css",
		"/static/plugins/bare/x.css",
		"/static/plugins/social/../splits/social.css",
		"/static/plugins/social/js/../social.css",
		"/static/plugins/",
	} {
		if w := get("GET", target); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", target, w.Code)
		}
	}
	if w := get("POST", u); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if got := reg.AssetURL("bare", "x.css"); got != "/static/plugins/bare/x.css" {
		t.Errorf("AssetURL(unknown) = %q", got)
	}
}

func TestPage_Pattern(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		p    plugin.Page
		want string
	}{
		{plugin.Page{Path: "/feed"}, "/feed"},
		{plugin.Page{Method: "POST", Path: "/posts/{id}/like"}, "POST /posts/{id}/like"},
	} {
		if got := tt.p.Pattern(); got != tt.want {
			t.Errorf("Pattern(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
