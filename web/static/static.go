package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed app.css console.css htmx.min.js htmx.min.js.LICENSE.txt live.js vendor
var files embed.FS

// Prefix is the URL path the assets are served under.
const Prefix = "/static/"

// asset is what the handler knows of one file before serving it.
type asset struct {
	// version is a short hex digest of the content: URL puts it in the
	// query, and a request carrying it may be cached forever.
	version string
	etag    string
}

// assets indexes every embedded file by its name relative to Prefix
// ("vendor/elements/styles.min.css"), hashing each once.
var assets = sync.OnceValue(func() map[string]asset {
	out := map[string]asset{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		out[name] = asset{version: h[:12], etag: `"` + h[:32] + `"`}
		return nil
	})
	if err != nil {
		panic("index embedded assets: " + err.Error()) // the embed is fixed at build time
	}
	return out
})

// URL returns the URL path of the named asset ("app.css",
// "vendor/elements/styles.min.css") with its content version in the query,
// "/static/app.css?v=1a2b3c4d5e6f", so browsers cache it until it changes.
// An unknown name gets its plain path: the request will answer 404.
func URL(name string) string {
	a, ok := assets()[name]
	if !ok {
		return Prefix + name
	}
	return Prefix + name + "?v=" + a.version
}

// Handler serves the embedded assets. It expects the full request path,
// /static/{name}: mount it at "/static/" without stripping the prefix.
// Only GET and HEAD are answered; directories and unknown names are 404.
// A request whose ?v= matches the content is cacheable for a year
// (immutable); any other must revalidate, and gets 304 on a matching
// If-None-Match.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	a, known := assets()[name]
	if !ok || !known {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	f, err := files.Open(name)
	if err != nil {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker) // embedded files always are
	if !ok {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("ETag", a.etag)
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	// The zero time: embedded files have no modification time, so the ETag
	// alone drives conditional requests.
	http.ServeContent(w, r, name, time.Time{}, rs)
}

// HTMXConfig is the htmx configuration every page puts in
// <meta name="htmx-config" content="...">, since our Content-Security-Policy
// allows no inline script to set it. It turns off everything that would
// evaluate strings as code (which the CSP would block anyway) and the
// running of scripts in swapped content, and swaps 422 responses in like
// successes: a 422 is a form coming back with its field errors.
const HTMXConfig = `{"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"422","swap":true},{"code":"[45]..","swap":false,"error":true},{"code":"...","swap":false}]}`
