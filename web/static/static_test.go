package static

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// vendored is every third-party file and the SHA-256 of its published
// release, as VENDOR.md records it.
var vendored = map[string]string{
	"htmx.min.js":                           "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
	"vendor/elements/web-components.min.js": "9cafd468c21bf31b9be0b1b470474d23b6f733e370af7db08f1d3130c538474f",
	"vendor/elements/styles.min.css":        "a52002228108fb567b75caff209c4d8aa256ae591de3dea7d3b1a384b1a27b06",
}

func TestVendoredFiles(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("VENDOR.md")
	if err != nil {
		t.Fatalf("read VENDOR.md: %v", err)
	}
	for name, want := range vendored {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Errorf("embedded %s: %v", name, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("sha256(%s) = %s, want %s (the published release)", name, got, want)
		}
		if !strings.Contains(string(doc), want) {
			t.Errorf("VENDOR.md does not record the sha256 of %s", name)
		}
	}
	for _, name := range []string{"htmx.min.js.LICENSE.txt", "vendor/elements/LICENSE"} {
		if _, err := files.ReadFile(name); err != nil {
			t.Errorf("license %s is not embedded: %v", name, err)
		}
	}
	if !strings.Contains(string(doc), "2.0.11") || !strings.Contains(string(doc), "9.0.15") {
		t.Errorf("VENDOR.md does not name the versions 2.0.11 (htmx) and 9.0.15 (Elements)")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h := Handler()
	tests := []struct {
		name        string
		method      string
		target      string
		header      http.Header
		wantStatus  int
		wantType    string
		wantCache   string
		wantBodyHas string
	}{
		{name: "HTMX", method: http.MethodGet, target: "/static/htmx.min.js", wantStatus: 200,
			wantType: "text/javascript; charset=utf-8", wantCache: "no-cache", wantBodyHas: "htmx"},
		{name: "VersionedIsImmutable", method: http.MethodGet, target: URL("app.css"), wantStatus: 200,
			wantType: "text/css; charset=utf-8", wantCache: "public, max-age=31536000, immutable", wantBodyHas: "--brand-primary"},
		{name: "StaleVersionRevalidates", method: http.MethodGet, target: "/static/console.css?v=000000000000", wantStatus: 200,
			wantType: "text/css; charset=utf-8", wantCache: "no-cache"},
		{name: "LiveJS", method: http.MethodGet, target: URL("live.js"), wantStatus: 200,
			wantType: "text/javascript; charset=utf-8", wantCache: "public, max-age=31536000, immutable", wantBodyHas: "/notifications/live"},
		{name: "Elements", method: http.MethodGet, target: "/static/vendor/elements/styles.min.css", wantStatus: 200,
			wantType: "text/css; charset=utf-8"},
		{name: "Head", method: http.MethodHead, target: "/static/app.css", wantStatus: 200},
		{name: "NotModified", method: http.MethodGet, target: "/static/app.css",
			header: http.Header{"If-None-Match": {assets()["app.css"].etag}}, wantStatus: 304},
		{name: "Unknown", method: http.MethodGet, target: "/static/nope.js", wantStatus: 404},
		{name: "Directory", method: http.MethodGet, target: "/static/vendor/", wantStatus: 404},
		{name: "DirectoryNoSlash", method: http.MethodGet, target: "/static/vendor", wantStatus: 404},
		{name: "Root", method: http.MethodGet, target: "/static/", wantStatus: 404},
		{name: "WithoutPrefix", method: http.MethodGet, target: "/app.css", wantStatus: 404},
		{name: "Traversal", method: http.MethodGet, target: "/static/../static.go", wantStatus: 404},
		{name: "Post", method: http.MethodPost, target: "/static/app.css", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.target, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("%s %s: status = %d, want %d", tt.method, tt.target, w.Code, tt.wantStatus)
			}
			if tt.wantType != "" {
				if got := w.Header().Get("Content-Type"); got != tt.wantType {
					t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
				}
			}
			if tt.wantCache != "" {
				if got := w.Header().Get("Cache-Control"); got != tt.wantCache {
					t.Errorf("Cache-Control = %q, want %q", got, tt.wantCache)
				}
			}
			if tt.wantBodyHas != "" && !strings.Contains(w.Body.String(), tt.wantBodyHas) {
				t.Errorf("body does not contain %q", tt.wantBodyHas)
			}
		})
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	if got := URL("app.css"); !strings.HasPrefix(got, "/static/app.css?v=") || len(got) != len("/static/app.css?v=")+12 {
		t.Errorf("URL(app.css) = %q, want /static/app.css?v= and 12 hex digits", got)
	}
	if got, want := URL("missing.css"), "/static/missing.css"; got != want {
		t.Errorf("URL(missing.css) = %q, want %q", got, want)
	}
}

// TestLiveJS checks that live.js is embedded, versioned, and keeps to what
// the Content-Security-Policy and its own contract allow: no code from
// strings and no HTML from the server's text.
func TestLiveJS(t *testing.T) {
	t.Parallel()
	if got := URL("live.js"); !strings.HasPrefix(got, "/static/live.js?v=") || len(got) != len("/static/live.js?v=")+12 {
		t.Errorf("URL(live.js) = %q, want /static/live.js?v= and 12 hex digits", got)
	}
	b, err := files.ReadFile("live.js")
	if err != nil {
		t.Fatalf("live.js is not embedded: %v", err)
	}
	src := string(b)
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", `setTimeout("`} {
		if strings.Contains(src, banned) {
			t.Errorf("live.js uses %s", banned)
		}
	}
	for _, want := range []string{"data-live-base", "data-live-seq", "/notifications/live", "?after=", "unread-count", "header-balance",
		"live-toast", "notification-list", "textContent", `'heartbeat'`, `'notification'`} {
		if !strings.Contains(src, want) {
			t.Errorf("live.js does not mention %s", want)
		}
	}
}
