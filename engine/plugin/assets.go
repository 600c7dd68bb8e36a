package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// AssetProvider is a plugin with static files its pages load (stylesheets,
// scripts, icons). The engine serves them under AssetPrefix/{plugin}/.
type AssetProvider interface {
	Assets() fs.FS
}

// AssetPrefix is the URL path plugin assets are served under.
const AssetPrefix = "/static/plugins/"

type asset struct {
	fsys    fs.FS
	name    string // within fsys
	version string
	etag    string
}

// assets indexes every plugin's files by plugin/name, hashing each once.
func (r *Registry) assets() map[string]asset {
	r.assetsOnce.Do(func() {
		r.assetIndex = map[string]asset{}
		for _, p := range r.plugins {
			ap, ok := p.(AssetProvider)
			if !ok {
				continue
			}
			fsys := ap.Assets()
			plugin := p.Manifest().Name
			err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := fs.ReadFile(fsys, name)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				h := hex.EncodeToString(sum[:])
				r.assetIndex[plugin+"/"+name] = asset{fsys: fsys, name: name, version: h[:12], etag: `"` + h[:32] + `"`}
				return nil
			})
			if err != nil {
				panic("index assets of plugin " + plugin + ": " + err.Error()) // embedded: fixed at build time
			}
		}
	})
	return r.assetIndex
}

// AssetURL returns the URL path of a plugin's asset with its content
// version in the query, so browsers cache it until it changes. An unknown
// asset gets its plain path, which answers 404.
func (r *Registry) AssetURL(plugin, name string) string {
	key := plugin + "/" + strings.TrimPrefix(name, "/")
	a, ok := r.assets()[key]
	if !ok {
		return AssetPrefix + key
	}
	return AssetPrefix + key + "?v=" + a.version
}

// AssetHandler serves the plugins' assets; mount it at AssetPrefix without
// stripping it. GET and HEAD only; a request carrying the current ?v= may be
// cached for a year, any other revalidates (ETag). Content-Type comes from
// the file's extension.
func (r *Registry) AssetHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		key, ok := strings.CutPrefix(req.URL.Path, AssetPrefix)
		a, known := r.assets()[key]
		if !ok || !known || path.Clean(key) != key {
			http.Error(w, "Not found.", http.StatusNotFound)
			return
		}
		f, err := a.fsys.Open(a.name)
		if err != nil {
			http.Error(w, "Not found.", http.StatusNotFound)
			return
		}
		defer f.Close()
		rs, ok := f.(io.ReadSeeker)
		if !ok {
			http.Error(w, "Not found.", http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if req.URL.Query().Get("v") == a.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, req, a.name, time.Time{}, rs)
	})
}
