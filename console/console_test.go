package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/tenants"
)

// validForm is a create form that passes every check.
func validForm(slug string) url.Values {
	return url.Values{
		"slug":          {slug},
		"name":          {"The Lindenstraße Runners"},
		"kind":          {"social"},
		"time_zone":     {"Europe/Berlin"},
		"currency":      {"eur"},
		"primary_color": {"#112233"},
		"accent_color":  {"#ABCDEF"},
		"logo_url":      {"https://example.com/logo.png"},
		"domains":       {slug + ".example.org\n\n www." + slug + ".example.org \n"},
		"plugins":       {"social", "badges"},
	}
}

func TestConsole_Home(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.do(t, http.MethodGet, "/console/", nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/tenants" {
		t.Errorf("GET /console/ = %d to %q, want 303 to /console/tenants", w.Code, w.Header().Get("Location"))
	}
}

func TestConsole_ListTenants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Tenants of other tests share the database: start the list just
	// before this test's slugs, which share a random prefix.
	prefix := dbtest.RandomSlug()
	a := b.createTenant(t, tenants.CreateParams{Slug: prefix + "-a", Domains: []string{prefix + ".example.net"}})
	bb := b.createTenant(t, tenants.CreateParams{Slug: prefix + "-b", Kind: "splits", Currency: "USD"})
	c := b.createTenant(t, tenants.CreateParams{Slug: prefix + "-c", Plugins: []string{"badges", "social"}})
	suspended := tenants.StatusSuspended
	if _, err := b.svc.Update(t.Context(), c.Slug, tenants.UpdateParams{Status: &suspended}); err != nil {
		t.Fatalf("Update() error = %v", err)
	}

	t.Run("All", func(t *testing.T) {
		w := b.do(t, http.MethodGet, "/console/tenants?after="+prefix, nil, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", w.Code)
		}
		d := doc(t, w)
		if d.Find(testID("tenants-table")).Length() != 1 {
			t.Fatalf("no tenants-table")
		}
		if href, _ := d.Find(testID("new-tenant")).Attr("href"); href != "/console/tenants/new" {
			t.Errorf("new-tenant href = %q, want /console/tenants/new", href)
		}
		rows := d.Find(testID("tenants-table") + " tbody tr")
		var got []string
		for i := range min(rows.Length(), 3) {
			got = append(got, strings.TrimPrefix(rows.Eq(i).AttrOr("data-testid", ""), "tenant-row-"))
		}
		if diff := cmp.Diff([]string{a.Slug, bb.Slug, c.Slug}, got); diff != "" {
			t.Errorf("first rows (-want +got):\n%s", diff)
		}
		row := d.Find(testID("tenant-row-" + a.Slug))
		if got := text(row.Find(testID("tenant-name"))); got != a.Name {
			t.Errorf("name = %q, want %q", got, a.Name)
		}
		for _, want := range []string{"social", "active", prefix + ".example.net"} {
			if !strings.Contains(row.Text(), want) {
				t.Errorf("row of %s does not show %q: %q", a.Slug, want, row.Text())
			}
		}
		if href, _ := row.Find(testID("tenant-link")).Attr("href"); href != "/console/tenants/"+a.Slug {
			t.Errorf("tenant link = %q, want /console/tenants/%s", href, a.Slug)
		}
		if href, _ := row.Find(testID("app-link")).Attr("href"); href != "/t/"+a.Slug+"/" {
			t.Errorf("app link = %q, want /t/%s/", href, a.Slug)
		}
		if got := text(d.Find(testID("tenant-row-"+c.Slug) + " " + testID("tenant-status"))); got != "suspended" {
			t.Errorf("status of %s = %q, want suspended", c.Slug, got)
		}
		if got := text(d.Find(testID("tenant-row-" + c.Slug))); !strings.Contains(got, "badges, social") {
			t.Errorf("row of %s does not list its plugins: %q", c.Slug, got)
		}
	})

	t.Run("FilterByStatus", func(t *testing.T) {
		w := b.do(t, http.MethodGet, "/console/tenants?status=suspended&after="+prefix, nil, nil)
		d := doc(t, w)
		first := d.Find(testID("tenants-table")+" tbody tr").First().AttrOr("data-testid", "")
		if first != "tenant-row-"+c.Slug {
			t.Errorf("first row = %q, want tenant-row-%s", first, c.Slug)
		}
		if d.Find(testID("tenant-row-"+a.Slug)).Length() != 0 {
			t.Errorf("active tenant %s listed under status=suspended", a.Slug)
		}
		if _, ok := d.Find(`#status-filter option[value="suspended"]`).Attr("selected"); !ok {
			t.Errorf("status filter does not show suspended as selected")
		}
	})

	t.Run("Paginates", func(t *testing.T) {
		b := *b
		c2 := *b.console
		c2.pageSize = 2
		b.handler = c2.routes()
		d := doc(t, b.do(t, http.MethodGet, "/console/tenants?after="+prefix, nil, nil))
		if n := d.Find(testID("tenants-table") + " tbody tr").Length(); n != 2 {
			t.Fatalf("rows = %d, want 2", n)
		}
		next, ok := d.Find(testID("next-page")).Attr("href")
		if !ok {
			t.Fatalf("no next-page link")
		}
		if want := "/console/tenants?after=" + url.QueryEscape(bb.Slug); next != want {
			t.Errorf("next-page = %q, want %q", next, want)
		}
		d = doc(t, b.do(t, http.MethodGet, next, nil, nil))
		first := d.Find(testID("tenants-table")+" tbody tr").First().AttrOr("data-testid", "")
		if first != "tenant-row-"+c.Slug {
			t.Errorf("first row of next page = %q, want tenant-row-%s", first, c.Slug)
		}
		if d.Find(testID("first-page")).Length() != 1 {
			t.Errorf("second page has no first-page link")
		}
	})

	t.Run("BadFilter", func(t *testing.T) {
		w := b.do(t, http.MethodGet, "/console/tenants?status=gone", nil, nil)
		if w.Code != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", w.Code)
		}
		if got := text(doc(t, w).Find(testID("form-error"))); !strings.Contains(got, "status must be active or suspended") {
			t.Errorf("form-error = %q, want the status problem", got)
		}
	})
}

func TestConsole_NewTenantForm(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("Page", func(t *testing.T) {
		w := b.do(t, http.MethodGet, "/console/tenants/new", nil, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", w.Code)
		}
		d := doc(t, w)
		form := d.Find(testID("tenant-form"))
		if form.Length() != 1 {
			t.Fatalf("no tenant-form")
		}
		if got := form.AttrOr("hx-post", ""); got != "/console/tenants" {
			t.Errorf("hx-post = %q, want /console/tenants", got)
		}
		if got := form.AttrOr("action", ""); got != "/console/tenants" {
			t.Errorf("action = %q, want /console/tenants", got)
		}
		for _, id := range []string{"slug", "name", "kind", "time_zone", "currency", "primary_color", "accent_color",
			"logo_url", "domains", "plugins", "plugin-social", "plugin-splits", "plugin-badges"} {
			if form.Find("#"+id).Length() != 1 {
				t.Errorf("no #%s in the form", id)
			}
		}
		if form.Find("#status").Length() != 0 {
			t.Errorf("the create form has a status field")
		}
		var kinds []string
		form.Find("#kind option").Each(func(_ int, s *goquery.Selection) { kinds = append(kinds, s.AttrOr("value", "")) })
		if diff := cmp.Diff([]string{"social", "splits"}, kinds); diff != "" {
			t.Errorf("kind options (-want +got):\n%s", diff)
		}
		if got := form.Find("#primary_color").AttrOr("type", ""); got != "color" {
			t.Errorf("primary_color type = %q, want color", got)
		}
		if got := form.Find("#primary_color").AttrOr("value", ""); got != tenants.DefaultBranding.PrimaryColor {
			t.Errorf("primary_color = %q, want the default", got)
		}
		if d.Find(`#currencies option[value="EUR"]`).Length() != 1 {
			t.Errorf("currency datalist lacks EUR")
		}
		if d.Find(`#time-zones option[value="Europe/Berlin"]`).Length() != 1 {
			t.Errorf("time zone datalist lacks Europe/Berlin")
		}
		if _, ok := form.Find("#plugin-social").Attr("checked"); !ok {
			t.Errorf("plugin-social is not ticked by default for kind social")
		}
		if _, ok := form.Find("#plugin-splits").Attr("checked"); ok {
			t.Errorf("plugin-splits is ticked by default")
		}
		if form.Find(testID("submit")).Length() != 1 {
			t.Errorf("no submit button")
		}
		if d.Find(`script:not([src])`).Length() != 0 || strings.Contains(w.Body.String(), " onclick=") {
			t.Errorf("page has inline script, which the CSP blocks")
		}
		if src := d.Find(`script[src]`).AttrOr("src", ""); !strings.HasPrefix(src, "/static/htmx.min.js") {
			t.Errorf("script src = %q, want /static/htmx.min.js", src)
		}
	})

	t.Run("PluginsOfKind", func(t *testing.T) {
		w := b.do(t, http.MethodGet, "/console/tenants/new?kind=splits", nil, htmx)
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", w.Code)
		}
		if strings.Contains(w.Body.String(), "<html") || strings.Contains(w.Body.String(), "<form") {
			t.Errorf("htmx kind change got more than the plugins fragment:\n%s", w.Body.String())
		}
		d := doc(t, w)
		if _, ok := d.Find("#plugin-splits").Attr("checked"); !ok {
			t.Errorf("plugin-splits is not ticked for kind splits")
		}
		if _, ok := d.Find("#plugin-social").Attr("checked"); ok {
			t.Errorf("plugin-social is ticked for kind splits")
		}
	})
}

func TestConsole_CreateTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct {
		name   string
		header http.Header
	}{
		{name: "HTMX", header: htmx},
		{name: "Plain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			slug := dbtest.RandomSlug()
			w := b.do(t, http.MethodPost, "/console/tenants", validForm(slug), tt.header)
			want := "/console/tenants/" + slug + "?saved=1"
			if tt.header != nil {
				if w.Code != http.StatusOK || w.Header().Get("HX-Redirect") != want {
					t.Fatalf("POST = %d, HX-Redirect %q, want 200 and %q; body:\n%s", w.Code, w.Header().Get("HX-Redirect"), want, w.Body.String())
				}
			} else if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
				t.Fatalf("POST = %d to %q, want 303 to %q; body:\n%s", w.Code, w.Header().Get("Location"), want, w.Body.String())
			}

			got, err := b.svc.Get(t.Context(), slug)
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			wantTenant := tenants.Tenant{
				Slug: slug, Name: "The Lindenstraße Runners", Kind: "social", TimeZone: "Europe/Berlin", Currency: "EUR",
				Branding: tenants.Branding{PrimaryColor: "#112233", AccentColor: "#abcdef", LogoURL: "https://example.com/logo.png"},
				Domains:  []string{slug + ".example.org", "www." + slug + ".example.org"},
				Plugins:  []string{"badges", "social"},
				Status:   tenants.StatusActive,
			}
			if diff := cmp.Diff(wantTenant, got, cmpopts.IgnoreFields(tenants.Tenant{}, "ID", "CreatedAt", "UpdatedAt")); diff != "" {
				t.Errorf("created tenant (-want +got):\n%s", diff)
			}

			page, err := audit.NewService(b.db).List(engine.WithTenant(t.Context(), mustGet(t, b, slug).ID), audit.ListParams{})
			if err != nil {
				t.Fatalf("audit List() error = %v", err)
			}
			if want := "platform_admin:" + b.adminEmail; len(page.Events) == 0 || page.Events[0].Actor != want || page.Events[0].UserAgent != "console-test" {
				t.Errorf("audit events = %+v, want tenant.created by %s", page.Events, want)
			}

			d := doc(t, b.do(t, http.MethodGet, want, nil, nil))
			if d.Find(testID("saved-notice")).Length() != 1 {
				t.Errorf("detail page after create has no saved-notice")
			}
			if got := text(d.Find("h1" + testID("tenant-name"))); got != "The Lindenstraße Runners" {
				t.Errorf("detail name = %q", got)
			}
		})
	}
}

func TestConsole_CreateTenantInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name  string
		edit  func(f url.Values)
		want  map[string]string // error testid → text it contains
		wantS string            // form-error contains
	}{
		{
			name:  "BadSlug",
			edit:  func(f url.Values) { f.Set("slug", "Bad Slug!") },
			want:  map[string]string{"error-slug": "Slug may contain only lowercase letters"},
			wantS: "Slug may contain only lowercase letters",
		},
		{
			name:  "ReservedSlug",
			edit:  func(f url.Values) { f.Set("slug", "console") },
			want:  map[string]string{"error-slug": "Slug is reserved."},
			wantS: "Slug is reserved.",
		},
		{
			name:  "UnknownTimeZone",
			edit:  func(f url.Values) { f.Set("time_zone", "Mars/Olympus_Mons") },
			want:  map[string]string{"error-time_zone": "Time zone is not an IANA time zone"},
			wantS: "Time zone is not an IANA time zone",
		},
		{
			name:  "BadCurrency",
			edit:  func(f url.Values) { f.Set("currency", "EURO") },
			want:  map[string]string{"error-currency": "Currency is not an ISO 4217 currency code"},
			wantS: "Currency is not",
		},
		{
			name:  "BadColour",
			edit:  func(f url.Values) { f.Set("primary_color", "red") },
			want:  map[string]string{"error-primary_color": "Primary colour must be a colour in the form #rrggbb."},
			wantS: "Primary colour must be",
		},
		{
			name:  "BadDomain",
			edit:  func(f url.Values) { f.Set("domains", "ok.example.org\nnot a domain") },
			want:  map[string]string{"error-domains": `Domain "not a domain" is not a valid domain name`},
			wantS: `Domain "not a domain"`,
		},
		{
			name:  "UnknownKind",
			edit:  func(f url.Values) { f.Set("kind", "chess") },
			want:  map[string]string{"error-kind": "Kind must be one of: social or splits."},
			wantS: "Kind must be one of",
		},
		{
			name: "Everything",
			edit: func(f url.Values) {
				f.Set("slug", "-x")
				f.Set("name", "  ")
				f.Set("time_zone", "Nowhere")
				f.Set("currency", "XYZ")
				f.Set("primary_color", "#12345")
				f.Set("accent_color", "blue")
				f.Set("logo_url", "javascript:alert(1)")
				f.Set("domains", "localhost")
			},
			want: map[string]string{
				"error-slug":          "Slug may contain only",
				"error-name":          "Name is required.",
				"error-time_zone":     "Time zone is not",
				"error-currency":      "Currency is not",
				"error-primary_color": "Primary colour must be",
				"error-accent_color":  "Accent colour must be",
				"error-logo_url":      "Logo URL must be an absolute https URL",
				"error-domains":       `Domain "localhost" is not`,
			},
			wantS: "8 fields are invalid. Correct the fields marked below.",
		},
	}
	for _, tt := range tests {
		for _, mode := range []string{"HTMX", "Plain"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				slug := dbtest.RandomSlug()
				form := validForm(slug)
				tt.edit(form)
				var header http.Header
				if mode == "HTMX" {
					header = htmx
				}
				w := b.do(t, http.MethodPost, "/console/tenants", form, header)
				if w.Code != http.StatusUnprocessableEntity {
					t.Fatalf("status = %d, want 422; body:\n%s", w.Code, w.Body.String())
				}
				body := w.Body.String()
				if isFull := strings.Contains(body, "<html"); isFull != (mode == "Plain") {
					t.Errorf("full page = %v, want %v (htmx gets the form alone)", isFull, mode == "Plain")
				}
				d := doc(t, w)
				f := d.Find(testID("tenant-form"))
				if f.Length() != 1 {
					t.Fatalf("no tenant-form in the response")
				}
				var gotIDs []string
				f.Find(`[data-testid^="error-"]`).Each(func(_ int, s *goquery.Selection) {
					gotIDs = append(gotIDs, s.AttrOr("data-testid", ""))
				})
				var wantIDs []string
				for id, msg := range tt.want {
					wantIDs = append(wantIDs, id)
					if got := text(f.Find(testID(id))); !strings.Contains(got, msg) {
						t.Errorf("%s = %q, want it to contain %q", id, got, msg)
					}
					field := strings.TrimPrefix(id, "error-")
					if got := f.Find("#"+field).AttrOr("aria-invalid", ""); got != "true" {
						t.Errorf("#%s aria-invalid = %q, want true", field, got)
					}
				}
				slices.Sort(gotIDs)
				slices.Sort(wantIDs)
				if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
					t.Errorf("field errors (-want +got):\n%s", diff)
				}
				if got := text(f.Find(testID("form-error"))); !strings.Contains(got, tt.wantS) {
					t.Errorf("form-error = %q, want it to contain %q", got, tt.wantS)
				}
				// What was sent comes back.
				for id, name := range map[string]string{"slug": "slug", "name": "name", "time_zone": "time_zone", "currency": "currency",
					"primary_color": "primary_color", "accent_color": "accent_color", "logo_url": "logo_url"} {
					want := strings.TrimSpace(form.Get(name))
					if name == "currency" {
						want = strings.ToUpper(want)
					}
					if name == "name" {
						want = form.Get(name)
					}
					if got := f.Find("#"+id).AttrOr("value", ""); got != want {
						t.Errorf("#%s value = %q, want %q", id, got, want)
					}
				}
				if got := f.Find("#domains").Text(); got != form.Get("domains") {
					t.Errorf("#domains = %q, want %q", got, form.Get("domains"))
				}
				if _, ok := f.Find("#plugin-badges").Attr("checked"); !ok {
					t.Errorf("plugin-badges not kept ticked")
				}
				if _, err := b.svc.Get(t.Context(), form.Get("slug")); engine.ErrorCode(err) != engine.CodeNotFound {
					t.Errorf("Get(%s) error = %v, want not_found: nothing is created", form.Get("slug"), err)
				}
			})
		}
	}

	t.Run("DuplicateSlug", func(t *testing.T) {
		t.Parallel()
		existing := b.createTenant(t, tenants.CreateParams{Slug: dbtest.RandomSlug(), Name: "First"})
		for _, header := range []http.Header{htmx, nil} {
			form := validForm(existing.Slug)
			form.Del("domains")
			w := b.do(t, http.MethodPost, "/console/tenants", form, header)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422; body:\n%s", w.Code, w.Body.String())
			}
			d := doc(t, w)
			if got := text(d.Find(testID("error-slug"))); got != "Slug is taken by another tenant." {
				t.Errorf("error-slug = %q", got)
			}
			if got := text(d.Find(testID("form-error"))); got != "That slug is taken." {
				t.Errorf("form-error = %q", got)
			}
			if got := mustGet(t, b, existing.Slug); got.Name != "First" {
				t.Errorf("existing tenant's name = %q, want First (unchanged)", got.Name)
			}
		}
	})

	t.Run("TakenDomain", func(t *testing.T) {
		t.Parallel()
		existing := b.createTenant(t, tenants.CreateParams{Slug: dbtest.RandomSlug()})
		dom := existing.Slug + ".example.com"
		if _, err := b.svc.Update(t.Context(), existing.Slug, tenants.UpdateParams{Domains: &[]string{dom}}); err != nil {
			t.Fatalf("Update() error = %v", err)
		}
		slug := dbtest.RandomSlug()
		form := validForm(slug)
		form.Set("domains", dom)
		w := b.do(t, http.MethodPost, "/console/tenants", form, htmx)
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, want 422", w.Code)
		}
		if got := text(doc(t, w).Find(testID("error-domains"))); !strings.Contains(got, dom) {
			t.Errorf("error-domains = %q, want it to name %s", got, dom)
		}
		if _, err := b.svc.Get(t.Context(), slug); engine.ErrorCode(err) != engine.CodeNotFound {
			t.Errorf("Get() error = %v, want not_found", err)
		}
	})
}

func TestConsole_CrossOrigin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	existing := b.createTenant(t, tenants.CreateParams{Slug: dbtest.RandomSlug(), Name: "Untouched"})
	tests := []struct {
		name   string
		target string
		header http.Header
	}{
		{name: "CreateSecFetchSite", target: "/console/tenants", header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{name: "CreateSameSite", target: "/console/tenants", header: http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{name: "CreateOrigin", target: "/console/tenants", header: http.Header{"Origin": {"https://evil.example"}}},
		{name: "CreateHTMX", target: "/console/tenants", header: http.Header{"Origin": {"https://evil.example"}, "Hx-Request": {"true"}}},
		{name: "Update", target: "/console/tenants/" + existing.Slug, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			slug := dbtest.RandomSlug()
			form := validForm(slug)
			form.Set("name", "Changed")
			form.Set("status", "suspended")
			w := b.do(t, http.MethodPost, tt.target, form, tt.header)
			if w.Code != http.StatusForbidden {
				t.Fatalf("status = %d, want 403", w.Code)
			}
			if d := doc(t, w); d.Find(testID("error-page")).Length() != 1 {
				t.Errorf("403 is not the console's readable page")
			}
			if _, err := b.svc.Get(t.Context(), slug); engine.ErrorCode(err) != engine.CodeNotFound {
				t.Errorf("Get(%s) error = %v, want not_found", slug, err)
			}
			if got := mustGet(t, b, existing.Slug); got.Name != "Untouched" || got.Status != tenants.StatusActive {
				t.Errorf("existing tenant = %q %s, want Untouched active", got.Name, got.Status)
			}
		})
	}

	t.Run("SameOriginAllowed", func(t *testing.T) {
		t.Parallel()
		slug := dbtest.RandomSlug()
		form := validForm(slug)
		form.Del("domains")
		w := b.do(t, http.MethodPost, "/console/tenants", form, http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://example.com"}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("status = %d, want 303; body:\n%s", w.Code, w.Body.String())
		}
	})
}

func TestConsole_UpdateTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)

	editForm := func(tn tenants.Tenant) url.Values {
		return url.Values{
			"name":          {tn.Name},
			"time_zone":     {tn.TimeZone},
			"currency":      {tn.Currency},
			"primary_color": {tn.Branding.PrimaryColor},
			"accent_color":  {tn.Branding.AccentColor},
			"logo_url":      {tn.Branding.LogoURL},
			"domains":       {strings.Join(tn.Domains, "\n")},
			"plugins":       tn.Plugins,
			"status":        {string(tn.Status)},
		}
	}

	t.Run("DetailPage", func(t *testing.T) {
		t.Parallel()
		slug := dbtest.RandomSlug()
		tn := b.createTenant(t, tenants.CreateParams{Slug: slug, Domains: []string{slug + ".example.io"}})
		d := doc(t, b.do(t, http.MethodGet, "/console/tenants/"+tn.Slug, nil, nil))
		form := d.Find(testID("tenant-form"))
		if got := form.AttrOr("hx-post", ""); got != "/console/tenants/"+tn.Slug {
			t.Errorf("hx-post = %q", got)
		}
		if got := form.Find("#name").AttrOr("value", ""); got != tn.Name {
			t.Errorf("#name = %q, want %q", got, tn.Name)
		}
		if got := form.Find("#domains").Text(); got != slug+".example.io" {
			t.Errorf("#domains = %q", got)
		}
		if form.Find("#slug").Length() != 0 || form.Find("#kind").Length() != 0 {
			t.Errorf("edit form offers to change slug or kind")
		}
		if _, ok := form.Find(`#status option[value="active"]`).Attr("selected"); !ok {
			t.Errorf("status active is not selected")
		}
		if d.Find(testID("saved-notice")).Length() != 0 {
			t.Errorf("saved-notice without ?saved=1")
		}
	})

	for _, tt := range []struct {
		name   string
		header http.Header
	}{{"HTMX", htmx}, {"Plain", nil}} {
		t.Run("Suspend"+tt.name, func(t *testing.T) {
			t.Parallel()
			tn := b.createTenant(t, tenants.CreateParams{Slug: dbtest.RandomSlug()})
			form := editForm(tn)
			form.Set("name", "Renamed")
			form.Set("status", "suspended")
			form.Set("currency", "usd")
			form.Set("domains", tn.Slug+".example.de")
			form["plugins"] = []string{"social", "splits"}
			w := b.do(t, http.MethodPost, "/console/tenants/"+tn.Slug, form, tt.header)
			want := "/console/tenants/" + tn.Slug + "?saved=1"
			if got := w.Header().Get("HX-Redirect") + w.Header().Get("Location"); got != want {
				t.Fatalf("POST = %d redirecting to %q, want %q; body:\n%s", w.Code, got, want, w.Body.String())
			}
			got := mustGet(t, b, tn.Slug)
			if got.Name != "Renamed" || got.Status != tenants.StatusSuspended || got.Currency != "USD" ||
				!slices.Equal(got.Domains, []string{tn.Slug + ".example.de"}) || !slices.Equal(got.Plugins, []string{"social", "splits"}) {
				t.Errorf("updated tenant = %+v", got)
			}
			d := doc(t, b.do(t, http.MethodGet, want, nil, nil))
			if got := text(d.Find(testID("saved-notice"))); got != "Saved." {
				t.Errorf("saved-notice = %q, want Saved.", got)
			}
			if got := text(d.Find("dd " + testID("tenant-status"))); got != "suspended" {
				t.Errorf("tenant-status = %q, want suspended", got)
			}
			if _, ok := d.Find(`#status option[value="suspended"]`).Attr("selected"); !ok {
				t.Errorf("status suspended is not selected in the form")
			}
		})
	}

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		tn := b.createTenant(t, tenants.CreateParams{Slug: dbtest.RandomSlug(), Name: "Kept"})
		for _, header := range []http.Header{htmx, nil} {
			form := editForm(tn)
			form.Set("name", "Not saved")
			form.Set("currency", "EURO")
			form.Set("status", "deleted")
			w := b.do(t, http.MethodPost, "/console/tenants/"+tn.Slug, form, header)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", w.Code)
			}
			d := doc(t, w)
			for _, id := range []string{"error-currency", "error-status", "form-error"} {
				if d.Find(testID(id)).Length() != 1 {
					t.Errorf("no %s", id)
				}
			}
			if got := d.Find("#name").AttrOr("value", ""); got != "Not saved" {
				t.Errorf("#name = %q, want the submitted value", got)
			}
			if header == nil {
				if got := text(d.Find("h1" + testID("tenant-name"))); got != "Kept" {
					t.Errorf("page heading = %q, want the stored name", got)
				}
			}
			if got := mustGet(t, b, tn.Slug); got.Name != "Kept" || got.Currency != "EUR" {
				t.Errorf("tenant changed: %+v", got)
			}
		}
	})

	t.Run("UnknownTenant", func(t *testing.T) {
		t.Parallel()
		w := b.do(t, http.MethodPost, "/console/tenants/"+dbtest.RandomSlug(), editForm(tenants.Tenant{Name: "x", Status: "active"}), htmx)
		if w.Code != http.StatusNotFound {
			t.Errorf("status = %d, want 404", w.Code)
		}
	})
}

func TestConsole_NotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, target := range []string{"/console/tenants/" + dbtest.RandomSlug(), "/console/nope", "/console/tenants/a/b"} {
		w := b.do(t, http.MethodGet, target, nil, nil)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", target, w.Code)
			continue
		}
		d := doc(t, w)
		if d.Find(testID("error-page")).Length() != 1 || text(d.Find(testID("error-message"))) == "" {
			t.Errorf("GET %s: 404 page has no readable message", target)
		}
	}
}

func TestConsole_EscapesTenantText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const name = `<script>alert(1)</script>`
	tn := b.createTenant(t, tenants.CreateParams{Slug: dbtest.RandomSlug(), Name: name})
	for _, target := range []string{"/console/tenants/" + tn.Slug, "/console/tenants?after=" + tn.Slug[:len(tn.Slug)-1]} {
		w := b.do(t, http.MethodGet, target, nil, nil)
		if strings.Contains(w.Body.String(), name) {
			t.Errorf("GET %s renders the name unescaped", target)
		}
		d := doc(t, w)
		if got := text(d.Find(testID("tenant-name")).First()); got != name {
			t.Errorf("GET %s: tenant-name = %q, want %q", target, got, name)
		}
		if d.Find("script:not([src])").Length() != 0 {
			t.Errorf("GET %s: page has an inline script", target)
		}
	}
}

func TestFieldMessage(t *testing.T) {
	t.Parallel()
	v := formValues{Domains: "a.example.com\n\n  b.example.com  \n", Plugins: []string{"social", "nope"}}
	tests := []struct {
		field, msg string
		wantName   string
		wantMsg    string
	}{
		{"slug", "is required", "slug", "Slug is required."},
		{"branding.primary_color", "must be a colour in the form #rrggbb", "primary_color", "Primary colour must be a colour in the form #rrggbb."},
		{"branding.logo_url", "must be at most 2048 characters", "logo_url", "Logo URL must be at most 2048 characters."},
		{"domains[1]", "is listed twice", "domains", `Domain "b.example.com" is listed twice.`},
		{"domains[7]", "is listed twice", "domains", `Domain 8 is listed twice.`},
		{"domains", "at most 10 custom domains are allowed", "domains", "Domains: at most 10 custom domains are allowed."},
		{"plugins[1]", "is not a plugin this server has", "plugins", `Plugin "nope" is not a plugin this server has.`},
		{"limit", "must be between 1 and 100", "", "Limit must be between 1 and 100."},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			t.Parallel()
			name, msg := fieldMessage(engine.FieldError{Field: tt.field, Message: tt.msg}, v)
			if name != tt.wantName || msg != tt.wantMsg {
				t.Errorf("fieldMessage(%s) = %q, %q, want %q, %q", tt.field, name, msg, tt.wantName, tt.wantMsg)
			}
		})
	}
}

func mustGet(t *testing.T, b *testBundle, slug string) tenants.Tenant {
	t.Helper()
	tn, err := b.svc.Get(t.Context(), slug)
	if err != nil {
		t.Fatalf("Get(%s) error = %v", slug, err)
	}
	return tn
}
