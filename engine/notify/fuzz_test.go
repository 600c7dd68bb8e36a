package notify

import (
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// secretMarker starts every fuzzed password, so that any piece of one in an
// error is recognisable.
const secretMarker = "Zq8x"

func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []struct {
		scheme     uint8
		pass, rest string
	}{
		{0, "pass", "mail.example.com:587?from=noreply@example.com"},
		{1, "p%40ss", "mail.example.com?from=noreply@example.com&timeout=5s&hello=app.example.com"},
		{2, "", "localhost:1025?from=noreply@example.com"},
		{2, "pw", "[::1]:1025/?from=Guildhall+%3Cnoreply%40example.com%3E"},
		{0, "pa/ss", "mail.example.com?from=noreply@example.com"},
		{0, "pa%zz", "mail.example.com?from=noreply@example.com"},
		{0, "p@ss", "mail.example.com:99999?from=noreply@example.com#frag"},
		{1, "pw", "mail.example.com?from=%zz"},
		{2, "pw", "192.0.2.1?from=a@b&x=y"},
		{0, "\n", ":25?from="},
	} {
		f.Add(s.scheme, s.pass, s.rest)
	}
	schemes := []string{"smtp", "smtps", "smtp+insecure"}
	f.Fuzz(func(t *testing.T, scheme uint8, pass, rest string) {
		// Any input either fails or yields a config NewSMTP accepts.
		for _, s := range []string{rest, schemes[int(scheme)%len(schemes)] + "://" + rest} {
			cfg, err := ParseSMTPURL(s)
			if err != nil {
				continue
			}
			if _, err := NewSMTP(cfg); err != nil {
				t.Errorf("ParseSMTPURL(%q) = %+v, which NewSMTP refuses: %v", s, cfg, err)
			}
			host, _, _ := net.SplitHostPort(cfg.Addr)
			if !slices.Contains([]string{TLSStartTLS, TLSImplicit, TLSNone}, cfg.TLS) || cfg.TLS == TLSNone && !isLoopback(host) {
				t.Errorf("ParseSMTPURL(%q) gave TLS %q to host %q", s, cfg.TLS, host)
			}
		}

		// No part of the password ever appears in an error.
		if strings.Contains(rest, secretMarker) {
			return
		}
		s := schemes[int(scheme)%len(schemes)] + "://user:" + secretMarker + pass + "@" + rest
		if _, err := ParseSMTPURL(s); err != nil && strings.Contains(err.Error(), secretMarker) {
			t.Errorf("ParseSMTPURL(%q) error %q contains the password", s, err)
		}
	})
}

// unsafeHeaderText is the specification checkHeaderText implements: text
// that is not UTF-8 or holds a C0 or C1 control character other than tab,
// or DEL.
func unsafeHeaderText(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r >= 0x7f && r <= 0x9f {
			return true
		}
	}
	return false
}

func FuzzBuildMessage(f *testing.F) {
	for _, s := range [][3]string{
		{"Your sign-in code", "Chess Club", "Your code is 123456."},
		{"Dein Anmeldecode für die Gilde ✓", "Gilde Süd", "Grüße\n.dot\r\n"},
		{"=?utf-8?q?hi?=", `The "Best" \o/`, "line  \nend "},
		{" leading and trailing ", "\t", "\r\r\n\n\r"},
		{strings.Repeat("long ", 40), strings.Repeat("ü", 40), strings.Repeat("x", 200)},
		{"a\r\nBcc: eve@example.net", "b\nc", "x"},
		{"\x00", "\u0085", "\xff"},
		{"", "", "="},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, subject, fromName, text string) {
		if text == "" {
			text = "x"
		}
		m := Email{To: "ada@example.org", Subject: subject, FromName: fromName, Text: text}
		_, err := checkEmail(m)
		if unsafeHeaderText(subject) || unsafeHeaderText(fromName) {
			if !errors.Is(err, ErrUnsafeHeader) {
				t.Fatalf("checkEmail(%q, %q) error = %v, want ErrUnsafeHeader", subject, fromName, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("checkEmail(%q, %q) error = %v", subject, fromName, err)
		}

		h := testHeader
		h.fromName = fromName
		raw := buildMessage(h, m)
		checkWireFormat(t, raw)

		// Exactly the headers written, each once: nothing was injected.
		msg := mustReadMessage(t, raw)
		var keys []string
		for k, vs := range msg.Header {
			if len(vs) != 1 {
				t.Errorf("header %s appears %d times", k, len(vs))
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		wantKeys := []string{"Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
		if diff := cmp.Diff(wantKeys, keys); diff != "" {
			t.Fatalf("header keys (-want +got):\n%s\n%s", diff, raw)
		}

		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || got != subject {
			t.Errorf("Subject reads back as %q, %v; want %q\n%s", got, err, subject, raw)
		}
		from, err := mail.ParseAddress(msg.Header.Get("From"))
		if err != nil || from.Name != fromName || from.Address != h.fromAddr {
			t.Errorf("From reads back as %v, %v; want %q <%s>\n%s", from, err, fromName, h.fromAddr, raw)
		}
		to, err := mail.ParseAddress(msg.Header.Get("To"))
		if err != nil || to.Address != "ada@example.org" {
			t.Errorf("To reads back as %v, %v", to, err)
		}

		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatalf("decode body: %v", err)
		}
		want := strings.NewReplacer("\r\n", "\r\n", "\r", "\r\n", "\n", "\r\n").Replace(text)
		if string(body) != want {
			t.Errorf("body reads back as %q, want %q", body, want)
		}
	})
}

func FuzzIsE164(f *testing.F) {
	for _, s := range []string{"+4915112345678", "+1234567", "+123456", "+0123456789", "+1234567890123456", "+49 151", "+١٢٣٤٥٦٧٨"} {
		f.Add(s)
	}
	e164 := regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isE164(s), e164.MatchString(s); got != want {
			t.Errorf("isE164(%q) = %t, want %t", s, got, want)
		}
	})
}
