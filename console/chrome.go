package console

import (
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/tenants"
)

// chrome is what the layout around every page shows: where the console
// is, who is signed in, what they may open, and the tenant's branding.
type chrome struct {
	Title   string
	Section string // the current navigation entry
	Base    string // the console's path without the trailing slash
	Tenant  *brand // the tenant of a tenant page; nil on the platform
	Nav     []navLink
	User    string // who is signed in; "" when nobody is
	// PlatformLink is set for a platform admin inside a tenant on the
	// platform host: a way back to the platform console.
	PlatformLink bool
	// Styles and Scripts are extra assets of the page (a plugin's), as
	// URLs.
	Styles  []string
	Scripts []string
}

// brand is a tenant's name and colours, as its console shows them.
type brand struct {
	Name    string
	Primary string
	Accent  string
	OnBrand string // text colour readable on Primary
	LogoURL string
}

// navLink is one entry of the navigation.
type navLink struct {
	ID    string // data-testid "nav-" + ID; matches chrome.Section
	Label string
	Href  string
}

// tenantNav is the tenant section's navigation and the permission each
// entry needs: an entry is shown only to those who may open it.
var tenantNav = []struct {
	navLink
	permission string
}{
	{navLink{ID: "dashboard", Label: "Dashboard", Href: "/"}, "members:read"},
	{navLink{ID: "members", Label: "Members", Href: "/members"}, "members:read"},
	{navLink{ID: "rules", Label: "Rules", Href: "/rules"}, "rules:manage"},
	{navLink{ID: "rewards", Label: "Rewards", Href: "/rewards"}, "rewards:write"},
	{navLink{ID: "orders", Label: "Orders", Href: "/orders"}, "orders:manage"},
	{navLink{ID: "jobs", Label: "Jobs", Href: "/jobs"}, "jobs:manage"},
	{navLink{ID: "invitations", Label: "Invitations", Href: "/invitations"}, "members:manage"},
	{navLink{ID: "api-keys", Label: "API keys", Href: "/api-keys"}, "api_keys:manage"},
	{navLink{ID: "audit", Label: "Audit log", Href: "/audit"}, "audit:read"},
	{navLink{ID: "settings", Label: "Settings", Href: "/settings"}, "settings:manage"},
}

// chrome returns the frame of a page of r titled title, with section the
// current navigation entry.
func (c *console) chrome(r *http.Request, title, section string) chrome {
	ctx := r.Context()
	ch := chrome{Title: title, Section: section, Base: consoleBase(ctx)}
	t, isTenant := tenants.FromContext(ctx)
	if isTenant {
		ch.Tenant = &brand{
			Name: t.Name, Primary: t.Branding.PrimaryColor, Accent: t.Branding.AccentColor,
			OnBrand: readableOn(t.Branding.PrimaryColor), LogoURL: t.Branding.LogoURL,
		}
	}
	s, ok := sessionFrom(ctx)
	if !ok {
		return ch
	}
	ch.User = s.Name
	if !isTenant {
		ch.Nav = []navLink{
			{ID: "tenants", Label: "Tenants", Href: ch.Base + "/tenants"},
			{ID: "two-step", Label: "Two-step sign-in", Href: ch.Base + "/two-step"},
		}
		return ch
	}
	for _, n := range tenantNav {
		if c.authz.Can(s.Principal, n.permission) {
			l := n.navLink
			l.Href = ch.Base + l.Href
			ch.Nav = append(ch.Nav, l)
		}
	}
	ch.Nav = append(ch.Nav, c.pluginNav(r, s, ch.Base)...)
	ch.PlatformLink = s.Principal.Kind == engine.PrincipalPlatform && tenants.BasePath(ctx) != ""
	return ch
}

// brandStyle sets the tenant's colours as CSS custom properties.
func (ch chrome) brandStyle() map[string]string {
	if ch.Tenant == nil {
		return map[string]string{}
	}
	return map[string]string{"--brand": ch.Tenant.Primary, "--brand-accent": ch.Tenant.Accent, "--on-brand": ch.Tenant.OnBrand}
}

// product names the console in titles and the header.
func (ch chrome) product() string {
	if ch.Tenant != nil {
		return ch.Tenant.Name + " console"
	}
	return "Guildhall console"
}

// readableOn returns black or white, whichever reads better on the colour
// hex (#rrggbb), by its relative luminance (WCAG 2).
func readableOn(hex string) string {
	if len(hex) != 7 || hex[0] != '#' {
		return "#ffffff"
	}
	var lum float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return "#ffffff"
		}
		ch := float64(v) / 255
		if ch <= 0.03928 {
			ch /= 12.92
		} else {
			ch = math.Pow((ch+0.055)/1.055, 2.4)
		}
		lum += weight * ch
	}
	// Contrast with white is 1.05/(lum+0.05), with black (lum+0.05)/0.05;
	// they are equal at lum ≈ 0.179.
	if lum > 0.179 {
		return "#1d2330"
	}
	return "#ffffff"
}

// pageURL is path with the non-empty params as its query: a list page with
// its filters and cursor.
func pageURL(path string, params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// parseYesNo reads a yes/no list filter: nil when empty, false when s is neither.
func parseYesNo(s string) (*bool, bool) {
	switch s {
	case "":
		return nil, true
	case "yes", "no":
		b := s == "yes"
		return &b, true
	}
	return nil, false
}
