package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/guildhall/guildhall/engine"
)

// Email is one message to one person.
type Email struct {
	// To is the recipient's bare address ("ada@example.org"); a display
	// name is not accepted.
	To string
	// Subject is one line of any UTF-8 text without control characters; it
	// is RFC 2047 encoded on the wire when needed.
	Subject string
	// Text is the plain-text body, required: every email has a text part.
	Text string
	// HTML is an optional HTML body, sent as the preferred alternative to
	// Text.
	HTML string
	// FromName is an optional display name for the sender, such as the
	// tenant's name. The sender's address is always the configured one.
	FromName string
}

// Mailer sends email.
type Mailer interface {
	// SendEmail sends m. It returns ErrInvalidRecipient for a bad To and
	// ErrUnsafeHeader for a Subject or FromName that cannot be a header,
	// without sending anything; any other error is internal.
	SendEmail(ctx context.Context, m Email) error
}

// SMS is one text message to one phone.
type SMS struct {
	// To is the recipient's number in E.164 form: "+" and 7 to 15 digits,
	// the first not 0 ("+4915112345678").
	To string
	// Text is the message, required.
	Text string
}

// Texter sends text messages.
type Texter interface {
	// SendSMS sends m. It returns ErrInvalidRecipient for a To that is not
	// in E.164 form, without sending anything; any other error is internal.
	SendSMS(ctx context.Context, m SMS) error
}

// Errors callers branch on.
var (
	// ErrInvalidRecipient answers an email address or phone number that
	// cannot receive messages. Its message is safe to show the person who
	// typed it.
	ErrInvalidRecipient = &engine.Error{Code: engine.CodeInvalid, Message: "This email address or phone number is not valid."}
	// ErrUnsafeHeader answers a Subject or FromName with control characters
	// (such as CR or LF) or invalid UTF-8. It is a bug or a bad setting, not
	// the recipient's fault, so it is internal.
	ErrUnsafeHeader = errors.New("header text contains control characters or invalid UTF-8")
)

// maxAddressLen is the longest address SMTP can carry (RFC 5321, 4.5.3.1.3).
const maxAddressLen = 254

// parseRecipient returns the address in to, which must be one bare address
// (surrounding spaces aside) that net/mail reads back unchanged. That rules
// out display names, comments, groups and quoted local parts, which could
// not be used as they are in RCPT TO.
func parseRecipient(to string) (string, error) {
	if strings.ContainsFunc(to, unsafeRune) || !utf8.ValidString(to) {
		return "", ErrInvalidRecipient
	}
	to = strings.Trim(to, " \t")
	a, err := mail.ParseAddress(to)
	if err != nil || a.Address != to || len(to) > maxAddressLen {
		return "", ErrInvalidRecipient
	}
	return a.Address, nil
}

// checkEmail validates m and returns the recipient's address.
func checkEmail(m Email) (string, error) {
	to, err := parseRecipient(m.To)
	if err != nil {
		return "", fmt.Errorf("check recipient: %w", err)
	}
	if err := checkHeaderText(m.Subject); err != nil {
		return "", fmt.Errorf("check subject: %w", err)
	}
	if err := checkHeaderText(m.FromName); err != nil {
		return "", fmt.Errorf("check sender name: %w", err)
	}
	if m.Text == "" {
		return "", errors.New("email has no text")
	}
	return to, nil
}

// checkSMS validates m.
func checkSMS(m SMS) error {
	if !isE164(m.To) {
		return fmt.Errorf("check recipient: %w", ErrInvalidRecipient)
	}
	if m.Text == "" {
		return errors.New("sms has no text")
	}
	return nil
}

// checkHeaderText refuses text that could break out of a header line or
// that a mail client could not display.
func checkHeaderText(s string) error {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unsafeRune) {
		return ErrUnsafeHeader
	}
	return nil
}

// unsafeRune reports control characters other than horizontal tab: CR and
// LF would end a header line, the rest have no place in one.
func unsafeRune(r rune) bool {
	return r != '\t' && unicode.IsControl(r)
}

// isE164 reports whether s matches ^\+[1-9]\d{6,14}$.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
