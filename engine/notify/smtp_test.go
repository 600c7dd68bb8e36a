package notify

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
)

// mustNewSMTP returns an SMTP mailer for cfg or fails the test.
func mustNewSMTP(t testing.TB, cfg SMTPConfig) *SMTP {
	t.Helper()
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP() error = %v", err)
	}
	return s
}

// mustReadMessage parses a received message or fails the test.
func mustReadMessage(t testing.TB, data []byte) *mail.Message {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	return msg
}

func TestSMTP_SendEmail(t *testing.T) {
	t.Parallel()

	email := Email{
		To:       "ada@example.org",
		Subject:  "Dein Anmeldecode für die Gilde ✓",
		Text:     "Dein Code: 123456\n.Diese Zeile beginnt mit einem Punkt.\n" + strings.Repeat("lang ", 30) + "\nGrüße",
		HTML:     "<p>Dein Code: <b>123456</b></p>\n<p>Grüße</p>",
		FromName: "Gilde Süd",
	}
	tests := []struct {
		tls  string
		want []smtpCommand
	}{
		{
			tls: TLSStartTLS,
			want: []smtpCommand{
				{"EHLO", false}, {"STARTTLS", false},
				{"EHLO", true}, {"AUTH", true}, {"MAIL", true}, {"RCPT", true}, {"DATA", true}, {"QUIT", true},
			},
		},
		{
			tls: TLSImplicit,
			want: []smtpCommand{
				{"EHLO", true}, {"AUTH", true}, {"MAIL", true}, {"RCPT", true}, {"DATA", true}, {"QUIT", true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.tls, func(t *testing.T) {
			t.Parallel()
			srv := newTestSMTPServer(t, testServerOptions{tls: tt.tls})
			now := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
			s := mustNewSMTP(t, SMTPConfig{
				Addr:      srv.addr,
				Username:  "user@example.com",
				Password:  "s3cret pass",
				From:      "noreply@example.com",
				TLS:       tt.tls,
				HelloName: "client.example.test",
				RootCAs:   srv.roots,
				Now:       func() time.Time { return now },
			})

			if err := s.SendEmail(t.Context(), email); err != nil {
				t.Fatalf("SendEmail() error = %v", err)
			}
			sess := srv.nextSession(t)

			if diff := cmp.Diff(tt.want, sess.Commands); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if sess.Hello != "client.example.test" {
				t.Errorf("EHLO %q, want client.example.test", sess.Hello)
			}
			if sess.AuthUser != "user@example.com" || sess.AuthPass != "s3cret pass" {
				t.Errorf("AUTH PLAIN %q/%q, want the configured credentials", sess.AuthUser, sess.AuthPass)
			}
			if sess.MailFrom != "noreply@example.com" {
				t.Errorf("MAIL FROM %q, want noreply@example.com", sess.MailFrom)
			}
			if diff := cmp.Diff([]string{"ada@example.org"}, sess.RcptTo); diff != "" {
				t.Errorf("RCPT TO (-want +got):\n%s", diff)
			}

			msg := mustReadMessage(t, sess.Data)
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatalf("decode Subject: %v", err)
			}
			if subject != email.Subject {
				t.Errorf("Subject = %q, want %q", subject, email.Subject)
			}
			from, err := mail.ParseAddress(msg.Header.Get("From"))
			if err != nil {
				t.Fatalf("parse From: %v", err)
			}
			if diff := cmp.Diff(&mail.Address{Name: "Gilde Süd", Address: "noreply@example.com"}, from); diff != "" {
				t.Errorf("From (-want +got):\n%s", diff)
			}
			to, err := msg.Header.AddressList("To")
			if err != nil {
				t.Fatalf("parse To: %v", err)
			}
			if diff := cmp.Diff([]*mail.Address{{Address: "ada@example.org"}}, to); diff != "" {
				t.Errorf("To (-want +got):\n%s", diff)
			}
			date, err := msg.Header.Date()
			if err != nil || !date.Equal(now) {
				t.Errorf("Date = %v, %v; want %v", date, err, now)
			}
			if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
				t.Errorf("Message-ID = %q, want <...@example.com>", id)
			}
			if v := msg.Header.Get("MIME-Version"); v != "1.0" {
				t.Errorf("MIME-Version = %q, want 1.0", v)
			}

			mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || mediaType != "multipart/alternative" {
				t.Fatalf("Content-Type = %q, %v; want multipart/alternative", msg.Header.Get("Content-Type"), err)
			}
			type part struct{ ContentType, Body string }
			var parts []part
			mr := multipart.NewReader(msg.Body, params["boundary"])
			for {
				p, err := mr.NextPart() // decodes quoted-printable
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("next part: %v", err)
				}
				body, err := io.ReadAll(p)
				if err != nil {
					t.Fatalf("read part: %v", err)
				}
				parts = append(parts, part{p.Header.Get("Content-Type"), string(body)})
			}
			want := []part{
				{"text/plain; charset=utf-8", email.Text},
				{"text/html; charset=utf-8", email.HTML},
			}
			if diff := cmp.Diff(want, parts); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSMTP_SendEmail_PlainTextToLoopback(t *testing.T) {
	t.Parallel()
	srv := newTestSMTPServer(t, testServerOptions{tls: TLSNone})
	s := mustNewSMTP(t, SMTPConfig{
		Addr:     srv.addr,
		Username: "dev",
		Password: "dev",
		From:     "Guildhall <noreply@example.com>",
		TLS:      TLSNone,
	})

	if err := s.SendEmail(t.Context(), Email{To: "ada@example.org", Subject: "Hi", Text: "Hello"}); err != nil {
		t.Fatalf("SendEmail() error = %v", err)
	}
	sess := srv.nextSession(t)
	want := []smtpCommand{{"EHLO", false}, {"AUTH", false}, {"MAIL", false}, {"RCPT", false}, {"DATA", false}, {"QUIT", false}}
	if diff := cmp.Diff(want, sess.Commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	msg := mustReadMessage(t, sess.Data)
	if got, want := msg.Header.Get("From"), `"Guildhall" <noreply@example.com>`; got != want {
		t.Errorf("From = %q, want %q (the configured display name)", got, want)
	}
	if got := msg.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=utf-8", got)
	}
}

// TestSMTP_SendEmail_NoCredentialsInClear: when TLS cannot be established
// as configured, the client gives up before AUTH or MAIL.
func TestSMTP_SendEmail_NoCredentialsInClear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		server  string
		trusted bool
		wantErr string
		want    []smtpCommand
	}{
		{
			name:    "STARTTLSNotOffered",
			server:  TLSNone,
			trusted: true,
			wantErr: "server does not offer STARTTLS",
			want:    []smtpCommand{{"EHLO", false}},
		},
		{
			name:    "UntrustedCertificate",
			server:  TLSStartTLS,
			wantErr: "certificate",
			want:    []smtpCommand{{"EHLO", false}, {"STARTTLS", false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestSMTPServer(t, testServerOptions{tls: tt.server})
			cfg := SMTPConfig{Addr: srv.addr, Username: "user", Password: "s3cret", From: "noreply@example.com"}
			if tt.trusted {
				cfg.RootCAs = srv.roots
			}
			err := mustNewSMTP(t, cfg).SendEmail(t.Context(), Email{To: "ada@example.org", Subject: "Hi", Text: "Hello"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SendEmail() error = %v, want one mentioning %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("SendEmail() error %q contains the password", err)
			}
			sess := srv.nextSession(t)
			if diff := cmp.Diff(tt.want, sess.Commands); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if sess.AuthUser != "" || sess.AuthPass != "" {
				t.Errorf("server received credentials %q/%q", sess.AuthUser, sess.AuthPass)
			}
		})
	}
}

// TestSMTP_SendEmail_RefusedBeforeConnecting: a message that fails the
// checks never opens a connection.
func TestSMTP_SendEmail_RefusedBeforeConnecting(t *testing.T) {
	t.Parallel()
	srv := newTestSMTPServer(t, testServerOptions{tls: TLSStartTLS})
	s := mustNewSMTP(t, SMTPConfig{Addr: srv.addr, From: "noreply@example.com", RootCAs: srv.roots})
	ok := Email{To: "ada@example.org", Subject: "Your code", Text: "123456", FromName: "Gilde"}

	tests := []struct {
		name    string
		edit    func(*Email)
		wantErr error
	}{
		{"NoAt", func(m *Email) { m.To = "ada.example.org" }, ErrInvalidRecipient},
		{"Empty", func(m *Email) { m.To = "" }, ErrInvalidRecipient},
		{"TwoAddresses", func(m *Email) { m.To = "ada@example.org, bob@example.org" }, ErrInvalidRecipient},
		{"DisplayName", func(m *Email) { m.To = "Ada <ada@example.org>" }, ErrInvalidRecipient},
		{"TooLong", func(m *Email) { m.To = strings.Repeat("a", 250) + "@example.org" }, ErrInvalidRecipient},
		{"InjectionInTo", func(m *Email) { m.To = "ada@example.org\r\nBcc: eve@example.net" }, ErrInvalidRecipient},
		{"InjectionInSubject", func(m *Email) { m.Subject = "Your code\r\nBcc: eve@example.net" }, ErrUnsafeHeader},
		{"BareLFInSubject", func(m *Email) { m.Subject = "Your code\nBcc: eve@example.net" }, ErrUnsafeHeader},
		{"InjectionInFromName", func(m *Email) { m.FromName = "Gilde\r\nBcc: eve@example.net" }, ErrUnsafeHeader},
		{"NULInSubject", func(m *Email) { m.Subject = "a\x00b" }, ErrUnsafeHeader},
		{"InvalidUTF8InFromName", func(m *Email) { m.FromName = "Gilde \xff" }, ErrUnsafeHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			err := s.SendEmail(t.Context(), m)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SendEmail() error = %v, want %v", err, tt.wantErr)
			}
			wantCode := engine.CodeInternal
			if tt.wantErr == ErrInvalidRecipient {
				wantCode = engine.CodeInvalid
			}
			if got := engine.ErrorCode(err); got != wantCode {
				t.Errorf("ErrorCode() = %q, want %q", got, wantCode)
			}
		})
	}
	if n := srv.connections(); n != 0 {
		t.Errorf("server accepted %d connections, want 0", n)
	}
}

// TestSMTP_SendEmail_Stalled: a server that never answers cannot hold a
// send beyond ctx or the configured timeout.
func TestSMTP_SendEmail_Stalled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func(t *testing.T) context.Context
		wantErr error
	}{
		{
			name: "ContextDeadline",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "ContextCanceled",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(200*time.Millisecond, cancel)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.Canceled,
		},
		{
			name:    "ConfiguredTimeout",
			timeout: 200 * time.Millisecond,
			ctx:     func(t *testing.T) context.Context { return t.Context() },
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestSMTPServer(t, testServerOptions{tls: TLSStartTLS, stall: true})
			s := mustNewSMTP(t, SMTPConfig{Addr: srv.addr, From: "noreply@example.com", Timeout: tt.timeout})

			start := time.Now()
			err := s.SendEmail(tt.ctx(t), Email{To: "ada@example.org", Subject: "Hi", Text: "Hello"})
			elapsed := time.Since(start)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("SendEmail() error = %v, want %v", err, tt.wantErr)
			}
			if elapsed > 3*time.Second {
				t.Errorf("SendEmail() returned after %v, want soon after 200ms", elapsed)
			}
			if srv.connections() != 1 {
				t.Errorf("server accepted %d connections, want 1", srv.connections())
			}
		})
	}
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     SMTPConfig
		wantErr string // "" for success
	}{
		{"Defaults", SMTPConfig{Addr: "mail.example.com:587", From: "noreply@example.com"}, ""},
		{"NoneToLocalhost", SMTPConfig{Addr: "localhost:1025", From: "noreply@example.com", TLS: TLSNone}, ""},
		{"NoneToIPv6Loopback", SMTPConfig{Addr: "[::1]:1025", From: "noreply@example.com", TLS: TLSNone}, ""},
		{"NoneToRemoteHost", SMTPConfig{Addr: "mail.example.com:25", From: "noreply@example.com", TLS: TLSNone}, "only allowed to a loopback host"},
		{"NoneToRemoteIP", SMTPConfig{Addr: "192.0.2.1:25", From: "noreply@example.com", TLS: TLSNone}, "only allowed to a loopback host"},
		{"UnknownTLS", SMTPConfig{Addr: "mail.example.com:25", From: "noreply@example.com", TLS: "ssl"}, `tls "ssl"`},
		{"NoPort", SMTPConfig{Addr: "mail.example.com", From: "noreply@example.com"}, "not host:port"},
		{"BadPort", SMTPConfig{Addr: "mail.example.com:0", From: "noreply@example.com"}, "no valid port"},
		{"NoFrom", SMTPConfig{Addr: "mail.example.com:587"}, "from address is missing"},
		{"BadFrom", SMTPConfig{Addr: "mail.example.com:587", From: "noreply"}, "from address"},
		{"InjectionInFrom", SMTPConfig{Addr: "mail.example.com:587", From: "noreply@example.com\r\nBcc: eve@example.net"}, "control characters"},
		{"NegativeTimeout", SMTPConfig{Addr: "mail.example.com:587", From: "noreply@example.com", Timeout: -time.Second}, "negative"},
		{"BadHelloName", SMTPConfig{Addr: "mail.example.com:587", From: "noreply@example.com", HelloName: "a b"}, "hello name"},
		{"PasswordWithoutUsername", SMTPConfig{Addr: "mail.example.com:587", From: "noreply@example.com", Password: "s3cret"}, "password without username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSMTP(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewSMTP() error = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("NewSMTP() error = %v, want one mentioning %q", err, tt.wantErr)
			case err != nil && tt.cfg.Password != "" && strings.Contains(err.Error(), tt.cfg.Password):
				t.Errorf("NewSMTP() error %q contains the password", err)
			}
		})
	}
}

func TestSMTPConfig_String(t *testing.T) {
	t.Parallel()
	cfg := SMTPConfig{Addr: "mail.example.com:587", Username: "user", Password: "s3cret", From: "noreply@example.com"}
	for _, s := range []string{cfg.String(), cfg.LogValue().String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("%q contains the password", s)
		}
		if !strings.Contains(s, "mail.example.com:587") {
			t.Errorf("%q does not name the server", s)
		}
	}
}
