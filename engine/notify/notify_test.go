package notify

import (
	"errors"
	"testing"
)

func TestParseRecipient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" for ErrInvalidRecipient
	}{
		{"ada@example.org", "ada@example.org"},
		{" ada@example.org ", "ada@example.org"},
		{"<ada@example.org>", ""},
		{`"ada lovelace"@example.org`, ""},
		{"Ada.Lovelace+codes@Example.ORG", "Ada.Lovelace+codes@Example.ORG"},
		{"jürgen@bücher.example", "jürgen@bücher.example"},
		{"", ""},
		{"ada", ""},
		{"ada@", ""},
		{"@example.org", ""},
		{"ada@@example.org", ""},
		{"Ada <ada@example.org>", ""},
		{"ada@example.org (Ada)", ""},
		{"ada@example.org, bob@example.org", ""},
		{"team: ada@example.org;", ""},
		{"ada@example.org\r\nBcc: eve@example.net", ""},
		{"ada@example.org\n", ""},
		{"ada\x00@example.org", ""},
		{"ada@example.org\xff", ""},
	}
	for _, tt := range tests {
		got, err := parseRecipient(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidRecipient) {
				t.Errorf("parseRecipient(%q) = %q, %v; want ErrInvalidRecipient", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRecipient(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestIsE164(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"+4915112345678", true},
		{"+14155550123", true},
		{"+1234567", true},           // 7 digits, the fewest
		{"+123456789012345", true},   // 15 digits, the most
		{"+123456", false},           // 6 digits
		{"+1234567890123456", false}, // 16 digits
		{"+0123456789", false},
		{"4915112345678", false},
		{"++4915112345678", false},
		{"+49 151 12345678", false},
		{"+49-151-12345678", false},
		{"+4915112345678\n", false},
		{"+49151١٢٣٤٥٦٧", false}, // Arabic-Indic digits
		{"", false},
	}
	for _, tt := range tests {
		if got := isE164(tt.in); got != tt.want {
			t.Errorf("isE164(%q) = %t, want %t", tt.in, got, tt.want)
		}
	}
}
