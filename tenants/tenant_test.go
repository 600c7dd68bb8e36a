package tenants

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
)

func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"community.example.com", "community.example.com", true},
		{"  Community.Example.COM ", "community.example.com", true},
		{"bücher.example", "xn--bcher-kva.example", true},
		{"example", "", false},                 // one label
		{"example.com.", "", false},            // trailing dot
		{"exa mple.com", "", false},            // space
		{"example.com:8080", "", false},        // port
		{"https://example.com", "", false},     // URL
		{"*.example.com", "", false},           // wildcard
		{"-bad.example.com", "", false},        // leading hyphen
		{"bad-.example.com", "", false},        // trailing hyphen
		{"a..b.com", "", false},                // empty label
		{"10.0.0.1", "", false},                // IP address
		{"", "", false},                        //
		{"exam_ple.com", "", false},            // underscore
		{"user@example.com", "", false},        // credentials
		{string(make([]byte, 300)), "", false}, // too long
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := NormalizeDomain(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check func(c *checks)
		want  []engine.FieldError
	}{
		{"GoodSlug", func(c *checks) { c.slug("makers-guild2") }, nil},
		{"EmptySlug", func(c *checks) { c.slug("") }, []engine.FieldError{{Field: "slug", Message: "is required"}}},
		{"ShortSlug", func(c *checks) { c.slug("a") }, []engine.FieldError{{Field: "slug", Message: "must be 2 to 40 characters"}}},
		{"UpperSlug", func(c *checks) { c.slug("Makers") }, []engine.FieldError{{Field: "slug", Message: "may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit"}}},
		{"HyphenEdgeSlug", func(c *checks) { c.slug("-makers") }, []engine.FieldError{{Field: "slug", Message: "may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit"}}},
		{"DoubleHyphenSlug", func(c *checks) { c.slug("xn--punycode") }, []engine.FieldError{{Field: "slug", Message: "must not contain two hyphens in a row"}}},
		{"ReservedSlug", func(c *checks) { c.slug("console") }, []engine.FieldError{{Field: "slug", Message: "is reserved"}}},
		{"ControlInName", func(c *checks) { c.name("a\x00b") }, []engine.FieldError{{Field: "name", Message: "must not contain control characters"}}},
		{"BlankName", func(c *checks) { c.name("   ") }, []engine.FieldError{{Field: "name", Message: "is required"}}},
		{"GoodZone", func(c *checks) { c.timeZone("America/Argentina/Buenos_Aires") }, nil},
		{"UTC", func(c *checks) { c.timeZone("UTC") }, nil},
		{"BadZone", func(c *checks) { c.timeZone("Mars/Olympus") }, []engine.FieldError{{Field: "time_zone", Message: "is not an IANA time zone such as Europe/Berlin or America/New_York"}}},
		{"LocalZone", func(c *checks) { c.timeZone("Local") }, []engine.FieldError{{Field: "time_zone", Message: "is not an IANA time zone such as Europe/Berlin or America/New_York"}}},
		{"PathZone", func(c *checks) { c.timeZone("../../etc/passwd") }, []engine.FieldError{{Field: "time_zone", Message: "is not an IANA time zone such as Europe/Berlin or America/New_York"}}},
		{"BadCurrency", func(c *checks) { c.currency("EURO") }, []engine.FieldError{{Field: "currency", Message: "is not an ISO 4217 currency code in use, such as EUR or USD"}}},
		{"LowerCurrency", func(c *checks) { c.currency("eur") }, []engine.FieldError{{Field: "currency", Message: "is not an ISO 4217 currency code in use, such as EUR or USD"}}},
		{"ShortColour", func(c *checks) {
			b := Branding{PrimaryColor: "#ABC", AccentColor: "#00ff00"}
			c.branding(&b)
			if b.PrimaryColor != "#aabbcc" {
				c.add("normalized", b.PrimaryColor)
			}
		}, nil},
		{"BadColourAndLogo", func(c *checks) {
			c.branding(&Branding{PrimaryColor: "red", AccentColor: "#00ff00", LogoURL: "javascript:alert(1)"})
		}, []engine.FieldError{
			{Field: "branding.primary_color", Message: "must be a colour in the form #rrggbb"},
			{Field: "branding.logo_url", Message: "must be an absolute https URL without credentials"},
		}},
		{"LogoWithCredentials", func(c *checks) {
			c.branding(&Branding{PrimaryColor: "#000000", AccentColor: "#ffffff", LogoURL: "https://u:p@example.com/logo.png"})
		}, []engine.FieldError{{Field: "branding.logo_url", Message: "must be an absolute https URL without credentials"}}},
		{"Domains", func(c *checks) {
			c.domains([]string{"ok.example.com", "OK.example.com", "nope", "x.guildhall.test"}, "guildhall.test")
		}, []engine.FieldError{
			{Field: "domains[1]", Message: "is listed twice"},
			{Field: "domains[2]", Message: "is not a valid domain name such as community.example.com"},
			{Field: "domains[3]", Message: "is part of the platform's own domain"},
		}},
		{"Plugins", func(c *checks) { c.plugins([]string{"social", "chess", "social"}, []string{"social", "splits"}) },
			[]engine.FieldError{
				{Field: "plugins[1]", Message: "is not a plugin this server has (have: social, splits)"},
				{Field: "plugins[2]", Message: "is listed twice"},
			}},
		{"Status", func(c *checks) { c.status("deleted") }, []engine.FieldError{{Field: "status", Message: "must be active or suspended"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c checks
			tt.check(&c)
			if diff := cmp.Diff(tt.want, []engine.FieldError(c)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.com", "bücher.example", "a..b", "xn--bcher-kva.example", "-x.com", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := NormalizeDomain(s)
		if !ok {
			return
		}
		// A normalized domain is stable and valid itself.
		again, ok2 := NormalizeDomain(got)
		if !ok2 || again != got {
			t.Errorf("NormalizeDomain(%q) = %q, but normalizing that gives %q, %v", s, got, again, ok2)
		}
		if len(got) > 253 {
			t.Errorf("NormalizeDomain(%q) = %q: longer than 253", s, got)
		}
	})
}

func FuzzSlug(f *testing.F) {
	for _, s := range []string{"makers", "a", "-x", "x--y", "console", "Ünïcode"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var c checks
		c.slug(s)
		if len(c) == 0 && !slugRe.MatchString(s) {
			t.Errorf("slug %q accepted but does not match the database's CHECK", s)
		}
	})
}
