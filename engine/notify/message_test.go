package notify

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testHeader is the envelope side of a test message.
var testHeader = messageHeader{
	date:      time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC),
	messageID: "<id@example.com>",
	fromAddr:  "noreply@example.com",
	to:        "ada@example.org",
}

// checkWireFormat fails the test unless raw is 7-bit, has only CRLF line
// endings and no line longer than 998 octets (RFC 5322, 2.1.1 and 2.3).
func checkWireFormat(t testing.TB, raw []byte) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) && len(raw) > 0 {
		// The body may end without a line break: SMTP's DATA adds one.
		raw = append(raw, '\r', '\n')
	}
	for i, line := range bytes.SplitAfter(raw, []byte("\r\n")) {
		body := bytes.TrimSuffix(line, []byte("\r\n"))
		if bytes.ContainsAny(body, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(body) > 998 {
			t.Fatalf("line %d is %d octets long", i+1, len(body))
		}
		for _, c := range body {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i+1, line)
			}
		}
	}
}

func TestBuildMessage_TextOnly(t *testing.T) {
	t.Parallel()
	m := Email{
		To:      "ada@example.org",
		Subject: "Your sign-in code",
		Text:    "Your code is 123456.\r\nIt expires in 10 minutes. " + strings.Repeat("Größe ", 30) + "\n\nGuildhall",
	}
	raw := buildMessage(testHeader, m)
	checkWireFormat(t, raw)

	msg := mustReadMessage(t, raw)
	wantHeader := mail.Header{
		"Date":                      {"Sun, 01 Mar 2026 12:30:00 +0000"},
		"Message-Id":                {"<id@example.com>"},
		"From":                      {"<noreply@example.com>"},
		"To":                        {"<ada@example.org>"},
		"Subject":                   {"Your sign-in code"},
		"Mime-Version":              {"1.0"},
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	}
	if diff := cmp.Diff(wantHeader, msg.Header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	want := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")
	if got := string(body); got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func TestBuildMessage_HeaderText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		subject     string
		fromName    string
		wantSubject string // the raw header value, folds included
		wantFrom    string
	}{
		{
			name:        "PlainASCII",
			subject:     "Your sign-in code",
			fromName:    "Chess Club",
			wantSubject: "Your sign-in code",
			wantFrom:    `"Chess Club" <noreply@example.com>`,
		},
		{
			name:        "QuotesInName",
			subject:     "Hi",
			fromName:    `The "Best" Club \o/`,
			wantSubject: "Hi",
			wantFrom:    `"The \"Best\" Club \\o/" <noreply@example.com>`,
		},
		{
			name:        "NonASCII",
			subject:     "Grüße",
			fromName:    "Gilde Süd",
			wantSubject: "=?utf-8?b?R3LDvMOfZQ==?=",
			wantFrom:    "=?utf-8?b?R2lsZGUgU8O8ZA==?= <noreply@example.com>",
		},
		{
			name:        "LooksEncoded",
			subject:     "=?utf-8?q?hi?=",
			fromName:    "=?utf-8?q?hi?=",
			wantSubject: "=?utf-8?b?PT91dGYtOD9xP2hpPz0=?=",
			wantFrom:    "=?utf-8?b?PT91dGYtOD9xP2hpPz0=?= <noreply@example.com>",
		},
		{
			name:        "LeadingSpace",
			subject:     " hi",
			wantSubject: "=?utf-8?b?IGhp?=",
			wantFrom:    "<noreply@example.com>",
		},
		{
			name:        "LongIsFolded",
			subject:     strings.Repeat("0123456789", 8),
			wantSubject: "=?utf-8?b?" + b64(strings.Repeat("0123456789", 4)+"01") + "?=\r\n =?utf-8?b?" + b64("23456789"+strings.Repeat("0123456789", 3)) + "?=",
			wantFrom:    "<noreply@example.com>",
		},
		{
			name:        "FoldsKeepCharactersWhole",
			subject:     strings.Repeat("ü", 22), // 44 octets: the first word takes 20
			wantSubject: "=?utf-8?b?" + b64(strings.Repeat("ü", 21)) + "?=\r\n =?utf-8?b?" + b64("ü") + "?=",
			wantFrom:    "<noreply@example.com>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := testHeader
			h.fromName = tt.fromName
			raw := buildMessage(h, Email{To: "ada@example.org", Subject: tt.subject, Text: "x"})
			checkWireFormat(t, raw)
			if !bytes.Contains(raw, []byte("\r\nSubject: "+tt.wantSubject+"\r\n")) {
				t.Errorf("message has no line Subject: %q\n%s", tt.wantSubject, raw)
			}
			if !bytes.Contains(raw, []byte("\r\nFrom: "+tt.wantFrom+"\r\n")) {
				t.Errorf("message has no line From: %q\n%s", tt.wantFrom, raw)
			}

			msg := mustReadMessage(t, raw)
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || subject != tt.subject {
				t.Errorf("decoded Subject = %q, %v; want %q", subject, err, tt.subject)
			}
			from, err := mail.ParseAddress(msg.Header.Get("From"))
			if err != nil || from.Name != tt.fromName {
				t.Errorf("decoded From = %v, %v; want name %q", from, err, tt.fromName)
			}
		})
	}
}

func b64(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}
