package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		want    SMTPConfig
		wantErr string // "" for success
	}{
		{
			name: "STARTTLS",
			url:  "smtp://user:pass@mail.example.com:587?from=noreply@example.com",
			want: SMTPConfig{Addr: "mail.example.com:587", Username: "user", Password: "pass", From: "noreply@example.com", TLS: TLSStartTLS},
		},
		{
			name: "STARTTLSDefaultPort",
			url:  "smtp://user:pass@mail.example.com?from=noreply@example.com",
			want: SMTPConfig{Addr: "mail.example.com:587", Username: "user", Password: "pass", From: "noreply@example.com", TLS: TLSStartTLS},
		},
		{
			name: "ImplicitTLS",
			url:  "smtps://user:pass@mail.example.com:465?from=noreply@example.com",
			want: SMTPConfig{Addr: "mail.example.com:465", Username: "user", Password: "pass", From: "noreply@example.com", TLS: TLSImplicit},
		},
		{
			name: "ImplicitTLSDefaultPort",
			url:  "smtps://mail.example.com?from=noreply@example.com",
			want: SMTPConfig{Addr: "mail.example.com:465", From: "noreply@example.com", TLS: TLSImplicit},
		},
		{
			name: "InsecureLocalhost",
			url:  "smtp+insecure://localhost:1025?from=noreply@example.com",
			want: SMTPConfig{Addr: "localhost:1025", From: "noreply@example.com", TLS: TLSNone},
		},
		{
			name: "InsecureIPv6Loopback",
			url:  "smtp+insecure://[::1]:1025/?from=noreply@example.com",
			want: SMTPConfig{Addr: "[::1]:1025", From: "noreply@example.com", TLS: TLSNone},
		},
		{
			name: "EncodedCredentialsAndParameters",
			url:  "smtp://apikey%40example.com:p%40ss%2Fw%3Ard@mail.example.com:2525?from=Guildhall+%3Cnoreply%40example.com%3E&hello=app.example.com&timeout=5s",
			want: SMTPConfig{
				Addr: "mail.example.com:2525", Username: "apikey@example.com", Password: "p@ss/w:rd",
				From: "Guildhall <noreply@example.com>", TLS: TLSStartTLS, HelloName: "app.example.com", Timeout: 5 * time.Second,
			},
		},
		{
			name: "UppercaseScheme",
			url:  "SMTPS://mail.example.com?from=noreply@example.com",
			want: SMTPConfig{Addr: "mail.example.com:465", From: "noreply@example.com", TLS: TLSImplicit},
		},
		{name: "InsecureRemote", url: "smtp+insecure://user:pass@mail.example.com:1025?from=noreply@example.com", wantErr: "loopback"},
		{name: "UnknownScheme", url: "https://user:pass@mail.example.com?from=noreply@example.com", wantErr: "scheme"},
		{name: "NoScheme", url: "mail.example.com:587", wantErr: "scheme"},
		{name: "NoHost", url: "smtp://?from=noreply@example.com", wantErr: "missing host"},
		{name: "NoHostWithUser", url: "smtp://user:pass@:587?from=noreply@example.com", wantErr: "missing host"},
		{name: "Opaque", url: "smtp:mail.example.com?from=noreply@example.com", wantErr: "missing host"},
		{name: "Path", url: "smtp://mail.example.com/inbox?from=noreply@example.com", wantErr: "path"},
		{name: "Fragment", url: "smtp://mail.example.com?from=noreply@example.com#x", wantErr: "fragment"},
		{name: "NoFrom", url: "smtp://user:pass@mail.example.com", wantErr: "from address is missing"},
		{name: "BadFrom", url: "smtp://mail.example.com?from=noreply", wantErr: "from address"},
		{name: "FromTwice", url: "smtp://mail.example.com?from=a@example.com&from=b@example.com", wantErr: `"from" given 2 times`},
		{name: "UnknownParameter", url: "smtp://mail.example.com?from=noreply@example.com&tls=none", wantErr: `unknown parameter "tls"`},
		{name: "BadTimeout", url: "smtp://mail.example.com?from=noreply@example.com&timeout=soon", wantErr: "timeout"},
		{name: "NegativeTimeout", url: "smtp://mail.example.com?from=noreply@example.com&timeout=-1s", wantErr: "negative"},
		{name: "BadPort", url: "smtp://user:pass@mail.example.com:99999?from=noreply@example.com", wantErr: "port"},
		{name: "UnencodedSlashInPassword", url: "smtp://user:pa/ss@mail.example.com?from=noreply@example.com", wantErr: "malformed URL"},
		{name: "BadEscapeInPassword", url: "smtp://user:pa%zzss@mail.example.com?from=noreply@example.com", wantErr: "malformed URL"},
		{name: "ControlCharacter", url: "smtp://user:pa\nss@mail.example.com?from=noreply@example.com", wantErr: "malformed URL"},
		{name: "MalformedQuery", url: "smtp://mail.example.com?from=%zz", wantErr: "malformed query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSMTPURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSMTPURL(%q) error = %v, want one mentioning %q", tt.url, err, tt.wantErr)
				}
				for _, secret := range []string{"pass", "pa/ss", "pa%zzss", "%zz", "pa\nss"} {
					if strings.Contains(tt.url, secret) && strings.Contains(err.Error(), secret) {
						t.Errorf("ParseSMTPURL(%q) error %q contains the password", tt.url, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSMTPURL(%q) error = %v", tt.url, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(SMTPConfig{}, "RootCAs", "Now")); diff != "" {
				t.Errorf("ParseSMTPURL(%q) (-want +got):\n%s", tt.url, diff)
			}
			if _, err := NewSMTP(got); err != nil {
				t.Errorf("NewSMTP(ParseSMTPURL(%q)) error = %v", tt.url, err)
			}
		})
	}
}
