package tenants

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/net/idna"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/money"
)

// Status is whether a tenant is serving.
type Status string

// The statuses. A suspended tenant answers 404 everywhere but the platform
// API and console.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
)

// Branding is how a tenant's app and console pages look.
type Branding struct {
	PrimaryColor string `json:"primary_color"` // #rrggbb
	AccentColor  string `json:"accent_color"`  // #rrggbb
	LogoURL      string `json:"logo_url"`      // absolute https URL, or empty
}

// DefaultBranding is what a tenant gets when it names none.
var DefaultBranding = Branding{PrimaryColor: "#3b5bdb", AccentColor: "#f59f00"}

// Tenant is one community.
type Tenant struct {
	ID        uuid.UUID
	Slug      string
	Name      string
	Kind      string
	TimeZone  string
	Currency  string
	Branding  Branding
	Domains   []string
	Plugins   []string
	Status    Status
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HasPlugin reports whether t enabled the named plugin.
func (t Tenant) HasPlugin(name string) bool { return slices.Contains(t.Plugins, name) }

// Limits of the registry.
const (
	MaxDomains    = 10
	MaxNameLength = 100
	MaxURLLength  = 2048
)

// reservedSlugs would clash with the platform's own host names or paths.
var reservedSlugs = map[string]bool{
	"admin": true, "api": true, "app": true, "assets": true, "auth": true, "console": true,
	"docs": true, "help": true, "mail": true, "new": true, "platform": true, "static": true, "status": true,
	"support": true, "www": true, "guildhall": true, "login": true, "signin": true, "signup": true,
}

var (
	slugRe  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)
	colorRe = regexp.MustCompile(`^#[0-9a-f]{6}$`)
)

// checks collects field problems.
type checks []engine.FieldError

func (c *checks) add(field, msg string) {
	*c = append(*c, engine.FieldError{Field: field, Message: msg})
}

func (c *checks) slug(s string) {
	switch {
	case s == "":
		c.add("slug", "is required")
	case len(s) < 2 || len(s) > 40:
		c.add("slug", "must be 2 to 40 characters")
	case !slugRe.MatchString(s):
		c.add("slug", "may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit")
	case strings.Contains(s, "--"):
		c.add("slug", "must not contain two hyphens in a row")
	case reservedSlugs[s]:
		c.add("slug", "is reserved")
	}
}

// name trims and checks a display name, returning the trimmed value.
func (c *checks) name(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		c.add("name", "is required")
	case !utf8.ValidString(s):
		c.add("name", "is not valid UTF-8")
	case utf8.RuneCountInString(s) > MaxNameLength:
		c.add("name", "must be at most 100 characters")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		c.add("name", "must not contain control characters")
	}
	return s
}

func (c *checks) timeZone(s string) {
	if s == "" {
		c.add("time_zone", "is required")
		return
	}
	// "Local" would mean the server's zone, which is not the tenant's.
	if _, err := time.LoadLocation(s); err != nil || s == "Local" || len(s) > 64 {
		c.add("time_zone", "is not an IANA time zone such as Europe/Berlin or America/New_York")
	}
}

func (c *checks) currency(s string) {
	if s == "" {
		c.add("currency", "is required")
		return
	}
	if _, ok := money.LookupCurrency(s); !ok {
		c.add("currency", "is not an ISO 4217 currency code in use, such as EUR or USD")
	}
}

// branding normalizes and checks b in place.
func (c *checks) branding(b *Branding) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"branding.primary_color", &b.PrimaryColor}, {"branding.accent_color", &b.AccentColor}} {
		*f.v = strings.ToLower(strings.TrimSpace(*f.v))
		if len(*f.v) == 4 && (*f.v)[0] == '#' { // #abc → #aabbcc
			s := *f.v
			*f.v = "#" + strings.Repeat(s[1:2], 2) + strings.Repeat(s[2:3], 2) + strings.Repeat(s[3:4], 2)
		}
		if !colorRe.MatchString(*f.v) {
			c.add(f.name, "must be a colour in the form #rrggbb")
		}
	}
	b.LogoURL = strings.TrimSpace(b.LogoURL)
	if b.LogoURL == "" {
		return
	}
	u, err := url.Parse(b.LogoURL)
	switch {
	case len(b.LogoURL) > MaxURLLength:
		c.add("branding.logo_url", "must be at most 2048 characters")
	case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
		// https only: pages allow images from https origins (and our own).
		c.add("branding.logo_url", "must be an absolute https URL without credentials")
	}
}

// domains normalizes (lower case, punycode) and checks ds, returning the
// normalized list. baseDomain's own subdomains are refused: they already
// belong to the tenants whose slugs they spell.
func (c *checks) domains(ds []string, baseDomain string) []string {
	if len(ds) > MaxDomains {
		c.add("domains", "at most 10 custom domains are allowed")
		return nil
	}
	out := make([]string, 0, len(ds))
	for i, d := range ds {
		field := "domains[" + strconv.Itoa(i) + "]"
		n, ok := NormalizeDomain(d)
		switch {
		case !ok:
			c.add(field, "is not a valid domain name such as community.example.com")
			continue
		case baseDomain != "" && (n == baseDomain || strings.HasSuffix(n, "."+baseDomain)):
			c.add(field, "is part of the platform's own domain")
			continue
		case slices.Contains(out, n):
			c.add(field, "is listed twice")
			continue
		}
		out = append(out, n)
	}
	return out
}

func (c *checks) plugins(ps []string, known []string) []string {
	out := make([]string, 0, len(ps))
	for i, p := range ps {
		field := "plugins[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(known, p):
			c.add(field, "is not a plugin this server has (have: "+strings.Join(known, ", ")+")")
		case slices.Contains(out, p):
			c.add(field, "is listed twice")
		default:
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func (c *checks) status(s Status) {
	if s != StatusActive && s != StatusSuspended {
		c.add("status", "must be active or suspended")
	}
}

// NormalizeDomain returns the lower-case ASCII (punycode) form of a host
// name with at least two labels, and whether it is valid. Ports, paths,
// trailing dots, IP addresses and wildcards are invalid.
func NormalizeDomain(d string) (string, bool) {
	d = strings.TrimSpace(d)
	if d == "" || len(d) > 253 || strings.ContainsAny(d, ":/*@ ") || !utf8.ValidString(d) {
		return "", false
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", false
	}
	a = strings.ToLower(a)
	// A punycode label must decode back: "xn--" followed by garbage is not
	// a name anyone can register.
	if _, err := idna.Lookup.ToUnicode(a); err != nil {
		return "", false
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", false
			}
		}
	}
	// All-numeric last label: an IP address, not a domain.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", false
	}
	return a, true
}

// WebURL is the root URL of t's web app (no trailing slash): its first
// custom domain, else slug.baseDomain, with the scheme and port of the
// platform's base URL.
func WebURL(t Tenant, base *url.URL, baseDomain string) string {
	scheme, port := "https", ""
	if base != nil {
		scheme, port = base.Scheme, base.Port()
	}
	host := t.Slug + "." + baseDomain
	if len(t.Domains) > 0 {
		host, port = t.Domains[0], ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}
