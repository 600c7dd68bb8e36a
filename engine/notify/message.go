package notify

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// messageHeader holds what the message's header says besides the Email.
type messageHeader struct {
	date      time.Time
	messageID string // with angle brackets
	fromName  string
	fromAddr  string
	to        string // the bare recipient address
}

// buildMessage renders m as an RFC 5322 message with CRLF line endings, all
// lines within 998 octets and a 7-bit clean header and body: header text is
// RFC 2047 encoded when needed, and each body part is quoted-printable
// UTF-8. m must have passed checkEmail: only the folds written here put a
// line break in the header.
func buildMessage(h messageHeader, m Email) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("Date", h.date.Format(time.RFC1123Z))
	header("Message-ID", h.messageID)
	header("From", formatAddress(h.fromName, h.fromAddr))
	header("To", formatAddress("", h.to))
	header("Subject", encodeText(m.Subject, len("Subject: ")))
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQuotedPrintable(&b, m.Text)
		return b.Bytes()
	}
	// Writes to a bytes.Buffer cannot fail, so the multipart errors are nil.
	mw := multipart.NewWriter(&b)
	header("Content-Type", "multipart/alternative;\r\n boundary="+mw.Boundary())
	b.WriteString("\r\n")
	// The last alternative is the preferred one (RFC 2046, 5.1.4).
	for _, p := range []struct{ contentType, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		w, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		writeQuotedPrintable(w, p.body)
	}
	_ = mw.Close()
	return b.Bytes()
}

// writeQuotedPrintable writes s quoted-printable encoded; every line break
// in s (LF, CRLF or a lone CR) becomes CRLF.
func writeQuotedPrintable(w io.Writer, s string) {
	// The writer turns CR, LF and CRLF into CRLF itself, but loses an LF
	// after a CR and an encoded byte ("\r\x01\n"); handing it LFs only
	// avoids that.
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	qw := quotedprintable.NewWriter(w)
	_, _ = io.WriteString(qw, s)
	_ = qw.Close()
}

// formatAddress renders an address with an optional display name for a
// From or To header.
func formatAddress(name, addr string) string {
	a := &mail.Address{Address: addr}
	if name == "" {
		return a.String()
	}
	// Short printable ASCII goes out as a quoted string; anything else as
	// encoded words, which may appear in a display name (RFC 2047, 5(3)).
	if plainText(name, 40) {
		a.Name = name
		return a.String()
	}
	return encodeWords(name) + " " + a.String()
}

// encodeText renders s for an unstructured header field (Subject) whose
// name and ": " take used octets of the first line.
func encodeText(s string, used int) string {
	if plainText(s, 78-used) {
		return s
	}
	return encodeWords(s)
}

// plainText reports whether s can be written in a header as it is, read
// back unchanged and fit in max octets: printable ASCII without "=?" (which
// would read as an encoded word) and without leading or trailing spaces
// (which unfolding trims).
func plainText(s string, max int) bool {
	if len(s) > max || strings.Contains(s, "=?") || strings.TrimSpace(s) != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// encodedChunk is how many octets of text one encoded word carries: 42
// octets make 56 base64 characters and a 68 character word, so even the
// first line of a Subject stays within 78 characters.
const encodedChunk = 42

// encodeWords renders s as RFC 2047 "B" encoded words of whole UTF-8
// characters, one per folded line. Decoders ignore the folding white space
// between adjacent encoded words, so the text reads back exactly.
func encodeWords(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		n := min(len(s), encodedChunk)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		if b.Len() > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString("=?utf-8?b?")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(s[:n])))
		b.WriteString("?=")
		s = s[n:]
	}
	return b.String()
}
