package web

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/a-h/templ"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/tenants"
)

// framed is a plugin whose pages render through the host's Frame.
type framed struct{ testPlugin }

func (framed) Assets() fs.FS {
	return fstest.MapFS{"framed.css": {Data: []byte("p{}")}, "live.js": {Data: []byte("1")}}
}

func framedRegistry() *plugin.Registry {
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := plugin.FrameFrom(r.Context())
		if !ok {
			http.Error(w, "no frame", 500)
			return
		}
		errs := map[string]error{
			"not_found": engine.Errorf(engine.CodeNotFound, "No such post."),
			"forbidden": engine.Errorf(engine.CodeForbidden, "You are suspended until Friday."),
			"invalid":   engine.Errorf(engine.CodeInvalid, "A post needs some text."),
			"limited":   ratelimit.Refused(ratelimit.Decision{Limit: 1, RetryAfter: 90 * time.Second}),
			"internal":  fmt.Errorf("db: %w", fmt.Errorf("secret detail")),
			"signin":    engine.Errorf(engine.CodeUnauthenticated, "Sign in first."),
		}
		if err, ok := errs[r.URL.Query().Get("fail")]; ok {
			f.Fail(w, r, err)
			return
		}
		if r.URL.Query().Get("signin") != "" {
			f.SignIn(w, r)
			return
		}
		f.Render(w, r, http.StatusOK, plugin.View{
			Title: "Feed", Section: "/feed", Styles: []string{"framed.css"}, Scripts: []string{"live.js"},
			Body: rawComponent(`<p data-testid="framed-body">link <a href="` + f.Path(r, "/posts/1") + `">post</a></p>`),
		})
	})
	posted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "posted") })
	return plugin.NewRegistry(framed{testPlugin{
		m: plugin.Manifest{Name: "social", Title: "Social", Kind: true},
		pages: []plugin.Page{
			{Path: "/feed", Title: "Feed", Nav: true, Handler: show},
			{Method: "GET", Path: "/feed/page", Handler: show},
			{Method: "POST", Path: "/feed/page", Handler: posted},
		},
	}})
}

func TestFrame(t *testing.T) {
	t.Parallel()
	b := setupWith(t, framedRegistry())
	tn := b.createTenant(t, tenants.CreateParams{})
	base := "/t/" + tn.Slug

	w := b.get(t, &tn, base, "/feed/page")
	d := doc(t, w)
	if w.Code != 200 || d.Find(testID("framed-body")).Length() != 1 {
		t.Fatalf("framed page = %d:\n%s", w.Code, w.Body)
	}
	if got := d.Find("title").Text(); got != "Feed · "+tn.Name {
		t.Errorf("title = %q", got)
	}
	if got := d.Find(testID("framed-body")+" a").AttrOr("href", ""); got != base+"/posts/1" {
		t.Errorf("Frame.Path = %q, want it under the base path", got)
	}
	if got := d.Find(testID("app-nav")+` a[aria-current="page"]`).AttrOr("href", ""); got != base+"/feed" {
		t.Errorf("current nav entry = %q, want the section's", got)
	}
	css := d.Find(`link[rel="stylesheet"][href^="/static/plugins/social/framed.css?v="]`).Length()
	js := d.Find(`script[defer][src^="/static/plugins/social/live.js?v="]`).Length()
	if css != 1 || js != 1 {
		t.Errorf("plugin assets linked: css %d, js %d; want 1 each", css, js)
	}
	if d.Find(testID("tenant-name")).Length() == 0 && !strings.Contains(w.Body.String(), tn.Name) {
		t.Errorf("the page is not in the tenant's layout")
	}

	// Method-specific pages.
	r := httptest.NewRequestWithContext(tenants.WithContext(t.Context(), tn, base), http.MethodPost, "/feed/page", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	pw := httptest.NewRecorder()
	b.handler.ServeHTTP(pw, r)
	if pw.Code != 200 || pw.Body.String() != "posted" {
		t.Errorf("POST /feed/page = %d %q", pw.Code, pw.Body)
	}

	for _, tt := range []struct {
		fail   string
		status int
		want   string
	}{
		{"not_found", 404, "Page not found"},
		{"forbidden", 403, "You are suspended until Friday."},
		{"invalid", 422, "A post needs some text."},
		{"limited", 429, "Try again in 90 seconds"},
		{"internal", 500, "Something went wrong on our side"},
	} {
		t.Run("Fail_"+tt.fail, func(t *testing.T) {
			w := b.get(t, &tn, base, "/feed/page?fail="+tt.fail)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("Fail(%s) = %d, want %d with %q:\n%s", tt.fail, w.Code, tt.status, tt.want, w.Body)
			}
			if strings.Contains(w.Body.String(), "secret detail") {
				t.Errorf("an internal error's cause is shown")
			}
			if tt.fail == "limited" && w.Header().Get("Retry-After") != "90" {
				t.Errorf("Retry-After = %q, want 90", w.Header().Get("Retry-After"))
			}
		})
	}
	for _, q := range []string{"signin=1", "fail=signin"} {
		w := b.get(t, &tn, base, "/feed/page?"+q)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != base+"/sign-in?next=%2Ffeed%2Fpage%3F"+strings.ReplaceAll(q, "=", "%3D") {
			t.Errorf("%s = %d to %q", q, w.Code, w.Header().Get("Location"))
		}
	}
}

// rawComponent writes html as is (test markup only).
func rawComponent(html string) templ.Component { return templ.Raw(html) }
